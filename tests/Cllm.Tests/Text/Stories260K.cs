using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Text;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Text;

/// <summary>The stories260K tokenizer and its reference outputs (see the folder's README).</summary>
internal static class Stories260K
{
    public const string SkipMessage = "The shared model folder ../shared/models/stories260K was not found next to the repository.";

    /// <summary>Skips the calling test when the model folder is absent.</summary>
    public static string RequireFolder()
    {
        string? dir = SharedModels.Stories260K;
        Skip.If(dir is null, SkipMessage);
        return dir!;
    }

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
