using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Text;

/// <summary>The stories260K tokenizer and its reference outputs (samples/models/stories260K, see its README).</summary>
internal static class Stories260K
{
    /// <summary>The shipped model folder (samples/models/stories260K).</summary>
    public static string RequireFolder() => ShippedModels.Stories260K;

    public static CllmTokenizer LoadTokenizer() => CllmTokenizer.FromDirectory(RequireFolder());

    public static List<Reference> References()
    {
        string file = Path.Combine(RequireFolder(), "reference-greedy.jsonl");
        return File.ReadLines(file)
            .Where(line => line.Length > 0)
            .Select(line =>
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                JsonElement root = doc.RootElement;
                return new Reference(
                    root.GetProperty("prompt").GetString()!,
                    root.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                    root.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                    root.GetProperty("text").GetString()!);
            })
            .ToList();
    }

    internal sealed record Reference(string Prompt, int[] PromptIds, int[] GreedyIds, string Text)
    {
        public int[] AllIds => [.. PromptIds, .. GreedyIds];
    }
}
