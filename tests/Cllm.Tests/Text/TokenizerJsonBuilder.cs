using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Cllm.Core;

namespace Cllm.Tests.Text;

/// <summary>
/// Writes small byte-level BPE <c>tokenizer.json</c> files: the 256 byte symbols get ids 0..255 (id = byte
/// value), then each merge result gets the next free id (skipping the ids of added tokens), then any extra
/// vocabulary entries.
/// </summary>
internal sealed class TokenizerJsonBuilder
{
    /// <summary>The GPT-2 ByteLevel pre-tokenizer (its built-in regex).</summary>
    public const string Gpt2PreTokenizer = """{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}""";

    /// <summary>The LLaMA-3 pre-tokenizer pattern.</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly List<(string Left, string Right)> _merges = [];
    private readonly List<string> _extraVocab = [];
    private readonly List<(string Content, int Id, bool Special)> _added = [];

    public string PreTokenizer { get; set; } = Gpt2PreTokenizer;

    public string? PostProcessor { get; set; }

    public string? Normalizer { get; set; }

    public bool MergesAsPairs { get; set; }

    public bool IgnoreMerges { get; set; }

    /// <summary>A LLaMA-3 style pre-tokenizer: Split with <see cref="Llama3Pattern"/>, then ByteLevel without regex.</summary>
    public static string SplitThenByteLevel(string pattern) => new JsonObject
    {
        ["type"] = "Sequence",
        ["pretokenizers"] = new JsonArray(
            new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern }, ["behavior"] = "Isolated", ["invert"] = false },
            JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}""")),
    }.ToJsonString();

    /// <summary>A TemplateProcessing post-processor that puts <paramref name="token"/> (id <paramref name="id"/>) first.</summary>
    public static string PrependTemplate(string token, int id) => new JsonObject
    {
        ["type"] = "Sequence",
        ["processors"] = new JsonArray(
            JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}"""),
            new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject
                {
                    [token] = new JsonObject { ["id"] = token, ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(token) },
                },
            }),
    }.ToJsonString();

    /// <summary>Adds a merge of two vocabulary strings (byte-level form: "Ġ" for a space).</summary>
    public TokenizerJsonBuilder Merge(string left, string right)
    {
        _merges.Add((left, right));
        return this;
    }

    /// <summary>Adds a vocabulary entry that no merge produces.</summary>
    public TokenizerJsonBuilder Vocab(string token)
    {
        _extraVocab.Add(token);
        return this;
    }

    public TokenizerJsonBuilder Added(string content, int id, bool special = true)
    {
        _added.Add((content, id, special));
        return this;
    }

    /// <summary>The id the vocabulary gives <paramref name="token"/>.</summary>
    public int IdOf(string token) => Vocabulary().First(p => p.Key == token).Value;

    public List<KeyValuePair<string, int>> Vocabulary()
    {
        var vocab = new List<KeyValuePair<string, int>>();
        var seen = new HashSet<string>();
        var taken = _added.Select(a => a.Id).ToHashSet();
        int next = 0;
        void Add(string token)
        {
            if (seen.Add(token))
            {
                while (taken.Contains(next))
                {
                    next++;
                }

                vocab.Add(new(token, next++));
            }
        }

        for (int b = 0; b < 256; b++)
        {
            Add(ByteLevelAlphabet.CharFor((byte)b).ToString());
        }

        _merges.ForEach(m => Add(m.Left + m.Right));
        _extraVocab.ForEach(Add);
        return vocab;
    }

    public string ToJson()
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in Vocabulary())
        {
            vocab[token] = id;
        }

        var merges = new JsonArray(_merges
            .Select(m => MergesAsPairs ? (JsonNode)new JsonArray(m.Left, m.Right) : JsonValue.Create(m.Left + " " + m.Right)!)
            .ToArray());
        var added = new JsonArray(_added
            .Select(a => (JsonNode)new JsonObject
            {
                ["id"] = a.Id, ["content"] = a.Content, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = a.Special,
            })
            .ToArray());
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = Normalizer is null ? null : JsonNode.Parse(Normalizer),
            ["pre_tokenizer"] = JsonNode.Parse(PreTokenizer),
            ["post_processor"] = PostProcessor is null ? null : JsonNode.Parse(PostProcessor),
            ["decoder"] = JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}"""),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["ignore_merges"] = IgnoreMerges, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        return root.ToJsonString();
    }
}
