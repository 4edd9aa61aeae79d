using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Cllm.Tests.TestKit;

/// <summary>One line of stories260K's reference-greedy.jsonl: greedy ids from an independent implementation.</summary>
internal sealed record ReferenceGreedy(string Prompt, int[] PromptIds, int[] GreedyIds, string Text, double MinMargin)
{
    public static IReadOnlyList<ReferenceGreedy> Load(string modelDirectory)
        => File.ReadLines(Path.Combine(modelDirectory, "reference-greedy.jsonl"))
            .Where(l => l.Length > 0)
            .Select(l =>
            {
                using var doc = JsonDocument.Parse(l);
                var r = doc.RootElement;
                return new ReferenceGreedy(
                    r.GetProperty("prompt").GetString()!,
                    r.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                    r.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                    r.GetProperty("text").GetString()!,
                    r.GetProperty("min_margin").GetDouble());
            })
            .ToList();
}
