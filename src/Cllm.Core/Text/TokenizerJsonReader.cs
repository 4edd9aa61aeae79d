using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Cllm.Core;

/// <summary>
/// Builds a Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/> from a Hugging Face <c>tokenizer.json</c>
/// with a byte-level BPE model (GPT-2, LLaMA-3, Qwen, DeepSeek...). Other models are refused.
/// </summary>
internal static class TokenizerJsonReader
{
    /// <summary>The file name inside a model folder.</summary>
    public const string FileName = "tokenizer.json";

    /// <summary>The pattern of the GPT-2 <c>ByteLevel</c> pre-tokenizer (used when <c>use_regex</c> is on).</summary>
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static TokenizerJson Read(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            try
            {
                return Build(path, doc.RootElement);
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or IndexOutOfRangeException)
            {
                throw new CheckpointException(path, $"unexpected tokenizer.json structure: {e.Message}", e);
            }
        }
    }

    private static TokenizerJson Build(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException(path, "has no \"model\" object");
        }

        string? type = model.TryGetProperty("type", out JsonElement t) ? t.GetString() : null;
        bool hasMerges = model.TryGetProperty("merges", out JsonElement mergesNode);
        if (type is not null ? type != "BPE" : !hasMerges)
        {
            throw new NotSupportedException(
                $"{path}: tokenizer model type '{type ?? "unknown"}' is not supported. Cllm reads byte-level BPE tokenizer.json files " +
                "or SentencePiece tokenizer.model files.");
        }

        if (!model.TryGetProperty("vocab", out JsonElement vocabNode) || vocabNode.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException(path, "model.vocab is missing or not an object");
        }

        var vocab = vocabNode.EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = hasMerges ? mergesNode.EnumerateArray().Select(ReadMerge).ToList() : [];

        var steps = new List<SplitStep>();
        var unsupported = new List<string>();
        bool byteLevel = false;
        if (root.TryGetProperty("pre_tokenizer", out JsonElement pre) && pre.ValueKind == JsonValueKind.Object)
        {
            CollectPreTokenizer(path, pre, steps, unsupported, ref byteLevel);
        }

        if (!byteLevel)
        {
            throw new NotSupportedException(
                $"{path}: this BPE tokenizer is not byte-level (its pre_tokenizer has no ByteLevel step; it looks like a " +
                "SentencePiece-style BPE with '\u2581' pieces). Put the SentencePiece tokenizer.model file in the same folder; Cllm prefers it.");
        }

        if (unsupported.Count > 0)
        {
            throw new NotSupportedException($"{path}: pre_tokenizer type '{unsupported[0]}' is not supported.");
        }

        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out JsonElement addedNode) && addedNode.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement token in addedNode.EnumerateArray())
            {
                string content = token.GetProperty("content").GetString() ?? throw new CheckpointException(path, "an added token has no content");
                int id = token.GetProperty("id").GetInt32();
                added[content] = id;
                if (token.TryGetProperty("special", out JsonElement isSpecial) && isSpecial.GetBoolean())
                {
                    special[content] = id;
                }
            }
        }

        IReadOnlyDictionary<string, int>? addedOrNull = added.Count > 0 ? added : null;
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = addedOrNull,
            PreTokenizer = steps is [{ Behavior: SplitBehavior.Isolated, Invert: false } only]
                ? new RegexPreTokenizer(only.Pattern, addedOrNull)
                : new SplitPreTokenizer(steps, addedOrNull),
            Normalizer = ReadNormalizer(path, root),
            UnknownToken = ReadString(model, "unk_token"),
            ContinuingSubwordPrefix = ReadString(model, "continuing_subword_prefix"),
            EndOfWordSuffix = ReadString(model, "end_of_word_suffix"),
            FuseUnknownTokens = ReadBool(model, "fuse_unk"),
        };

        BpeTokenizer tokenizer;
        try
        {
            tokenizer = BpeTokenizer.Create(options);
        }
        catch (InvalidOperationException e)
        {
            throw new CheckpointException(path, $"the BPE model cannot be built: {e.Message}", e);
        }

        (int[]? prefix, int[]? suffix) = ReadTemplate(path, root);
        return new TokenizerJson(tokenizer, added, special, prefix, suffix, ReadBool(model, "ignore_merges"));
    }

    /// <summary>Merges come as <c>"a b"</c> strings or, in newer files, as <c>["a", "b"]</c> pairs.</summary>
    private static string ReadMerge(JsonElement merge) => merge.ValueKind == JsonValueKind.Array
        ? merge[0].GetString() + " " + merge[1].GetString()
        : merge.GetString() ?? throw new InvalidOperationException("a merge is null");

    private static void CollectPreTokenizer(string path, JsonElement node, List<SplitStep> steps, List<string> unsupported, ref bool byteLevel)
    {
        string? type = node.GetProperty("type").GetString();
        switch (type)
        {
            case "Sequence":
                foreach (JsonElement child in node.GetProperty("pretokenizers").EnumerateArray())
                {
                    CollectPreTokenizer(path, child, steps, unsupported, ref byteLevel);
                }

                break;
            case "ByteLevel":
                byteLevel = true;
                if (ReadBool(node, "add_prefix_space"))
                {
                    throw new NotSupportedException($"{path}: a ByteLevel pre-tokenizer with add_prefix_space=true is not supported.");
                }

                if (ReadBool(node, "use_regex", defaultValue: true))
                {
                    steps.Add(new SplitStep(MakeRegex(path, Gpt2Pattern), SplitBehavior.Isolated));
                }

                break;
            case "Split":
                JsonElement pattern = node.GetProperty("pattern");
                string regex = pattern.TryGetProperty("Regex", out JsonElement r)
                    ? r.GetString()!
                    : Regex.Escape(pattern.GetProperty("String").GetString()!);
                string behavior = node.GetProperty("behavior").GetString()!;
                if (!Enum.TryParse(behavior, out SplitBehavior parsed))
                {
                    throw new NotSupportedException($"{path}: Split behaviour '{behavior}' is not supported.");
                }

                steps.Add(new SplitStep(MakeRegex(path, regex), parsed, ReadBool(node, "invert")));
                break;
            case "Digits":
                string digits = ReadBool(node, "individual_digits") ? @"\p{N}" : @"\p{N}+";
                steps.Add(new SplitStep(MakeRegex(path, digits), SplitBehavior.Isolated));
                break;
            default:
                unsupported.Add(type ?? "null");
                break;
        }
    }

    private static Regex MakeRegex(string path, string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($"{path}: the pre-tokenizer pattern cannot be used by .NET Regex ({e.Message}): {pattern}", e);
        }
    }

    private static UnicodeFormNormalizer? ReadNormalizer(string path, JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out JsonElement node) || node.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var forms = new List<NormalizationForm>();
        CollectNormalizer(path, node, forms);
        return forms.Count > 0 ? new UnicodeFormNormalizer(forms) : null;
    }

    private static void CollectNormalizer(string path, JsonElement node, List<NormalizationForm> forms)
    {
        string? type = node.GetProperty("type").GetString();
        switch (type)
        {
            case "Sequence":
                foreach (JsonElement child in node.GetProperty("normalizers").EnumerateArray())
                {
                    CollectNormalizer(path, child, forms);
                }

                break;
            case "NFC": forms.Add(NormalizationForm.FormC); break;
            case "NFD": forms.Add(NormalizationForm.FormD); break;
            case "NFKC": forms.Add(NormalizationForm.FormKC); break;
            case "NFKD": forms.Add(NormalizationForm.FormKD); break;
            default:
                throw new NotSupportedException($"{path}: normalizer type '{type}' is not supported.");
        }
    }

    /// <summary>
    /// Reads a <c>TemplateProcessing</c> post-processor (alone or inside a <c>Sequence</c>): the special
    /// tokens of its <c>single</c> template before and after the text. A <c>ByteLevel</c> one changes no ids.
    /// </summary>
    private static (int[]? Prefix, int[]? Suffix) ReadTemplate(string path, JsonElement root)
    {
        if (!root.TryGetProperty("post_processor", out JsonElement node) || node.ValueKind == JsonValueKind.Null)
        {
            return (null, null);
        }

        JsonElement? template = FindTemplate(path, node);
        if (template is not JsonElement tp)
        {
            return (null, null);
        }

        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenText = false;
        foreach (JsonElement item in tp.GetProperty("single").EnumerateArray())
        {
            if (item.TryGetProperty("Sequence", out _))
            {
                seenText = true;
                continue;
            }

            string name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
            JsonElement ids = tp.GetProperty("special_tokens").GetProperty(name).GetProperty("ids");
            (seenText ? suffix : prefix).AddRange(ids.EnumerateArray().Select(e => e.GetInt32()));
        }

        return ([.. prefix], [.. suffix]);
    }

    private static JsonElement? FindTemplate(string path, JsonElement node)
    {
        string? type = node.GetProperty("type").GetString();
        switch (type)
        {
            case "TemplateProcessing":
                return node;
            case "ByteLevel":
                return null;
            case "Sequence":
                foreach (JsonElement child in node.GetProperty("processors").EnumerateArray())
                {
                    if (FindTemplate(path, child) is JsonElement found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                throw new NotSupportedException($"{path}: post_processor type '{type}' is not supported.");
        }
    }

    private static string? ReadString(JsonElement node, string name) =>
        node.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s
            ? s
            : null;

    private static bool ReadBool(JsonElement node, string name, bool defaultValue = false) =>
        node.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : defaultValue;
}
