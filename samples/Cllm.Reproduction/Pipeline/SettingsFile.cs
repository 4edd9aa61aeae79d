using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cllm.Reproduction.Pipeline;

/// <summary>
/// settings.json of a pipeline output folder: the settings its stages were made with, compared with a rerun's so that
/// no report mixes stages made under different settings.
/// </summary>
public static class SettingsFile
{
    /// <summary>The file name inside the output folder.</summary>
    public const string FileName = "settings.json";

    /// <summary>Top-level fields that change how a run executes, not what it produces; never compared.</summary>
    public static IReadOnlyList<string> OperationalFields { get; } = ["threads"];

    /// <summary>Writes <paramref name="settings"/>, defaults resolved (<see cref="ReproductionSettings.Resolved"/>), to <paramref name="path"/>.</summary>
    public static void Write(string path, ReproductionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ReportJson.Write(path, settings.Resolved());
    }

    /// <summary>
    /// The fields whose values in <paramref name="path"/> and <paramref name="current"/> (defaults resolved) differ, as
    /// <c>name (saved → current)</c>; nested fields are dotted (<c>pretrain.steps</c>). Empty when they match.
    /// </summary>
    public static List<string> Differences(string path, ReproductionSettings current)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(current);
        var saved = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
        var now = JsonNode.Parse(JsonSerializer.Serialize(current.Resolved(), ReportJson.Options))!.AsObject();   // parsed, as the saved side is
        var differences = new List<string>();
        Compare(saved, now, prefix: "", differences);
        return differences;
    }

    private static void Compare(JsonObject saved, JsonObject current, string prefix, List<string> differences)
    {
        foreach (string name in saved.Select(p => p.Key).Union(current.Select(p => p.Key)))
        {
            if (prefix.Length == 0 && OperationalFields.Contains(name))
            {
                continue;
            }

            saved.TryGetPropertyValue(name, out var before);
            current.TryGetPropertyValue(name, out var after);
            if (before is JsonObject a && after is JsonObject b)
            {
                Compare(a, b, prefix + name + ".", differences);
            }
            else if (!JsonNode.DeepEquals(before, after))
            {
                differences.Add($"{prefix}{name} ({Show(before)} → {Show(after)})");
            }
        }
    }

    private static string Show(JsonNode? value) => value?.ToJsonString() ?? "null";
}
