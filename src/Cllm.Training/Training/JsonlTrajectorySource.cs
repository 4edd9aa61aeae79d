using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Threading;

namespace Cllm.Training.Trajectories;

/// <summary>
/// TEMPORARY minimal reader so <c>cllm train</c> runs before the trajectory agent's reader lands: one reference-format
/// JSON record per line (<c>data_id</c>, <c>jacobian_itr_id</c>, <c>prompt_ids_len</c>, <c>prompt_ids</c>,
/// <c>answer_trajectory_ids</c>, <c>teacher_output_ids</c>, optional <c>complete_teacher_output_ids</c> and
/// <c>labels_ids</c>); id arrays may be nested up to three levels and are flattened. Delete this file when
/// <c>Trajectories/JsonlTrajectorySource.cs</c> is merged (same name, same constructor and Read signature).
/// </summary>
public sealed class JsonlTrajectorySource : ITrajectorySource
{
    private readonly string _path;

    /// <param name="path">A JSONL file.</param>
    public JsonlTrajectorySource(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    /// <inheritdoc />
    public IEnumerable<TrajectoryRecord> Read(CancellationToken cancellationToken = default)
    {
        int lineNumber = 0;
        foreach (var line in File.ReadLines(_path))
        {
            lineNumber++;
            cancellationToken.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            TrajectoryRecord record;
            try
            {
                using var document = JsonDocument.Parse(line);
                record = Parse(document.RootElement);
                record.Validate();
            }
            catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"{_path}:{lineNumber}: {ex.Message}", ex);
            }

            yield return record;
        }
    }

    private static TrajectoryRecord Parse(JsonElement e)
    {
        var prompt = Flatten(e.GetProperty("prompt_ids"));
        var states = new List<int[]>();
        foreach (var state in e.GetProperty("answer_trajectory_ids").EnumerateArray())
        {
            states.Add(Flatten(state));
        }

        return new TrajectoryRecord
        {
            DataId = e.TryGetProperty("data_id", out var id) ? id.ToString() : "data_0",
            BlockIndex = e.TryGetProperty("jacobian_itr_id", out var itr) ? Index(itr) : 0,
            PromptLength = e.TryGetProperty("prompt_ids_len", out var len) ? Flatten(len) is { Length: > 0 } l ? l[0] : prompt.Length : prompt.Length,
            PromptIds = prompt,
            Trajectory = states,
            TeacherOutputIds = Flatten(e.GetProperty("teacher_output_ids")),
            CompleteTeacherOutputIds = e.TryGetProperty("complete_teacher_output_ids", out var complete) && complete.ValueKind == JsonValueKind.Array ? Flatten(complete) : null,
            LabelIds = e.TryGetProperty("labels_ids", out var labels) && labels.ValueKind == JsonValueKind.Array ? Flatten(labels) : null,
        };
    }

    private static int Index(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            return e.GetInt32();
        }

        var text = e.GetString() ?? string.Empty;
        var digits = text.StartsWith("itr_", StringComparison.Ordinal) ? text[4..] : text;
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : throw new FormatException($"jacobian_itr_id '{text}' is not itr_<k>.");
    }

    private static int[] Flatten(JsonElement e)
    {
        var ids = new List<int>();
        void Walk(JsonElement x, int depth)
        {
            if (x.ValueKind == JsonValueKind.Number)
            {
                ids.Add(x.GetInt32());
            }
            else if (x.ValueKind == JsonValueKind.Array && depth < 3)
            {
                foreach (var item in x.EnumerateArray())
                {
                    Walk(item, depth + 1);
                }
            }
            else
            {
                throw new FormatException($"expected token ids (arrays nested at most 3 deep), found {x.ValueKind}.");
            }
        }

        Walk(e, 0);
        return ids.ToArray();
    }
}
