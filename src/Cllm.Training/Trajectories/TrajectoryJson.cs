using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace Cllm.Training;

/// <summary>
/// The JSON form of a <see cref="TrajectoryRecord"/>, with the reference's field names. Writes flat id
/// lists; reads the reference's inconsistent nesting (one to three levels of single-element lists) and
/// normalises it to flat lists. Problems are reported as <see cref="FormatException"/> without a location;
/// callers prefix "file:line: ".
/// </summary>
internal static class TrajectoryJson
{
    public const string DataId = "data_id";
    public const string ItrId = "jacobian_itr_id";
    public const string PromptIdsLen = "prompt_ids_len";
    public const string PromptIds = "prompt_ids";
    public const string AnswerTrajectoryIds = "answer_trajectory_ids";
    public const string TeacherOutputIds = "teacher_output_ids";
    public const string CompleteTeacherOutputIds = "complete_teacher_output_ids";
    public const string LabelsIds = "labels_ids";

    /// <summary>
    /// Not a reference field: how many records of this <c>data_id</c> were written in the same batch. Resuming
    /// uses it to tell a completely written prompt from one cut short by a crash; other readers ignore it.
    /// </summary>
    public const string PromptRecordCount = "prompt_record_count";

    private const string DataPrefix = "data_";
    private const string ItrPrefix = "itr_";

    /// <summary>"data_&lt;i&gt;".</summary>
    public static string FormatDataId(int promptIndex) => DataPrefix + promptIndex.ToString(CultureInfo.InvariantCulture);

    /// <summary>The i of "data_&lt;i&gt;", or −1 when <paramref name="dataId"/> has another form.</summary>
    public static int ParsePromptIndex(string dataId)
        => dataId.StartsWith(DataPrefix, StringComparison.Ordinal)
            && int.TryParse(dataId.AsSpan(DataPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            ? index
            : -1;

    /// <summary>Writes one record as a JSON object.</summary>
    public static void Write(Utf8JsonWriter json, TrajectoryRecord record, int? promptRecordCount, CollectionStamp? stamp = null)
    {
        json.WriteStartObject();
        json.WriteString(DataId, record.DataId);
        json.WriteString(ItrId, ItrPrefix + record.BlockIndex.ToString(CultureInfo.InvariantCulture));
        json.WriteStartArray(PromptIdsLen);
        json.WriteNumberValue(record.PromptLength);
        json.WriteEndArray();
        WriteIds(json, PromptIds, record.PromptIds);
        json.WriteStartArray(AnswerTrajectoryIds);
        foreach (var state in record.Trajectory)
        {
            WriteIds(json, null, state);
        }

        json.WriteEndArray();
        WriteIds(json, TeacherOutputIds, record.TeacherOutputIds);
        if (record.CompleteTeacherOutputIds is { } complete)
        {
            WriteIds(json, CompleteTeacherOutputIds, complete);
        }

        if (record.LabelIds is { } labels)
        {
            WriteIds(json, LabelsIds, labels);
        }

        if (promptRecordCount is { } count)
        {
            json.WriteNumber(PromptRecordCount, count);
        }

        stamp?.Write(json);

        json.WriteEndObject();
    }

    /// <summary>Reads and validates one record; <paramref name="promptRecordCount"/> is the optional batch size.</summary>
    public static TrajectoryRecord Read(JsonElement root, out int? promptRecordCount)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"expected a JSON object, found {Kind(root)}.");
        }

        var dataId = Required(root, DataId);
        if (dataId.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(dataId.GetString()))
        {
            throw new FormatException($"{DataId} must be a non-empty string such as \"data_0\", found {Kind(dataId)}.");
        }

        var states = Required(root, AnswerTrajectoryIds);
        if (states.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{AnswerTrajectoryIds} must be a list of states, found {Kind(states)}.");
        }

        var trajectory = new List<int[]>(states.GetArrayLength());
        foreach (var state in states.EnumerateArray())
        {
            trajectory.Add(Ids(state, AnswerTrajectoryIds + "[" + trajectory.Count.ToString(CultureInfo.InvariantCulture) + "]", maxDepth: 2));
        }

        var promptIds = Ids(Required(root, PromptIds), PromptIds, maxDepth: 3);
        var record = new TrajectoryRecord
        {
            DataId = dataId.GetString()!,
            BlockIndex = BlockIndex(Required(root, ItrId)),
            PromptLength = PromptLength(Required(root, PromptIdsLen), promptIds.Length),
            PromptIds = promptIds,
            Trajectory = trajectory,
            TeacherOutputIds = Ids(Required(root, TeacherOutputIds), TeacherOutputIds, maxDepth: 3),
            CompleteTeacherOutputIds = Optional(root, CompleteTeacherOutputIds) is { } complete ? Ids(complete, CompleteTeacherOutputIds, maxDepth: 3) : null,
            LabelIds = Optional(root, LabelsIds) is { } labels ? Ids(labels, LabelsIds, maxDepth: 3) : null,
        };
        record.Validate();

        promptRecordCount = null;
        if (Optional(root, PromptRecordCount) is { } count)
        {
            if (count.ValueKind != JsonValueKind.Number || !count.TryGetInt32(out int value) || value < 1)
            {
                throw new FormatException($"{PromptRecordCount} must be a positive whole number, found {count.GetRawText()}.");
            }

            promptRecordCount = value;
        }

        return record;
    }

    private static JsonElement Required(JsonElement root, string name)
        => Optional(root, name) ?? throw new FormatException($"missing field \"{name}\".");

    private static JsonElement? Optional(JsonElement root, string name)
        => root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary>"itr_&lt;k&gt;" or a plain number.</summary>
    private static int BlockIndex(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out int number) && number >= 0)
        {
            return number;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            var text = element.GetString()!;
            if (text.StartsWith(ItrPrefix, StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(ItrPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                return index;
            }
        }

        throw new FormatException($"{ItrId} must be \"itr_<k>\", found {element.GetRawText()}.");
    }

    /// <summary>[P0] (reference), P0, or deeper single-element nesting; 1 ≤ P0 ≤ |prompt_ids|.</summary>
    private static int PromptLength(JsonElement element, int promptIdsCount)
    {
        var value = element;
        while (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 1)
        {
            value = value[0];
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int length))
        {
            throw new FormatException($"{PromptIdsLen} must be [length], found {element.GetRawText()}.");
        }

        if (length < 1 || length > promptIdsCount)
        {
            throw new FormatException($"{PromptIdsLen} is {length}; prompt_ids has {promptIdsCount} tokens.");
        }

        return length;
    }

    /// <summary>A list of token ids wrapped in up to <paramref name="maxDepth"/> − 1 single-element lists.</summary>
    private static int[] Ids(JsonElement element, string field, int maxDepth)
    {
        var list = element;
        int depth = 1;
        while (list.ValueKind == JsonValueKind.Array && list.GetArrayLength() == 1 && list[0].ValueKind == JsonValueKind.Array)
        {
            list = list[0];
            depth++;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{field} must be a list of token ids, found {Kind(element)}.");
        }

        if (depth > maxDepth)
        {
            throw new FormatException($"{field} is nested {depth} lists deep; at most {maxDepth} expected.");
        }

        var ids = new int[list.GetArrayLength()];
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                throw new FormatException($"{field} holds a batch of {ids.Length} lists; one list of token ids expected.");
            }

            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int id) || id < 0)
            {
                throw new FormatException($"{field}[{i}] is {item.GetRawText()}, not a token id.");
            }

            ids[i++] = id;
        }

        return ids;
    }

    private static void WriteIds(Utf8JsonWriter json, string? name, IReadOnlyList<int> ids)
    {
        if (name is null)
        {
            json.WriteStartArray();
        }
        else
        {
            json.WriteStartArray(name);
        }

        for (int i = 0; i < ids.Count; i++)
        {
            json.WriteNumberValue(ids[i]);
        }

        json.WriteEndArray();
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
