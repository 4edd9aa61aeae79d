using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace Cllm.Core;

/// <summary>The parts of a Hugging Face <c>tokenizer_config.json</c> that affect encoding and decoding.</summary>
internal sealed class TokenizerConfig
{
    /// <summary>The file name inside a model folder.</summary>
    public const string FileName = "tokenizer_config.json";

    /// <summary>The config of a folder without the file: nothing set.</summary>
    public static readonly TokenizerConfig Empty = new(null, null, null, null, new Dictionary<string, int>(), new Dictionary<string, int>());

    private TokenizerConfig(
        bool? addBos, bool? addEos, string? bosToken, string? eosToken,
        IReadOnlyDictionary<string, int> addedTokens, IReadOnlyDictionary<string, int> specialAddedTokens)
    {
        AddBos = addBos;
        AddEos = addEos;
        BosToken = bosToken;
        EosToken = eosToken;
        AddedTokens = addedTokens;
        SpecialAddedTokens = specialAddedTokens;
    }

    /// <summary><c>add_bos_token</c>, or null when absent.</summary>
    public bool? AddBos { get; }

    /// <summary><c>add_eos_token</c>, or null when absent.</summary>
    public bool? AddEos { get; }

    /// <summary>The content of <c>bos_token</c> (a string or a <c>{content: ...}</c> object).</summary>
    public string? BosToken { get; }

    /// <summary>The content of <c>eos_token</c>.</summary>
    public string? EosToken { get; }

    /// <summary>Every entry of <c>added_tokens_decoder</c>, content to id.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>The entries of <c>added_tokens_decoder</c> marked <c>special</c>.</summary>
    public IReadOnlyDictionary<string, int> SpecialAddedTokens { get; }

    /// <summary>Reads the file, or returns <see cref="Empty"/> when it does not exist.</summary>
    public static TokenizerConfig Read(string path)
    {
        if (!File.Exists(path))
        {
            return Empty;
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointException(path, "expected a JSON object");
            }

            var added = new Dictionary<string, int>(StringComparer.Ordinal);
            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens_decoder", out JsonElement decoder) && decoder.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty entry in decoder.EnumerateObject())
                {
                    int id = int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture);
                    string content = entry.Value.GetProperty("content").GetString()
                        ?? throw new CheckpointException(path, $"added_tokens_decoder[{id}] has no content");
                    added[content] = id;
                    if (entry.Value.TryGetProperty("special", out JsonElement isSpecial) && isSpecial.GetBoolean())
                    {
                        special[content] = id;
                    }
                }
            }

            return new TokenizerConfig(
                ReadBool(root, "add_bos_token"), ReadBool(root, "add_eos_token"),
                ReadToken(root, "bos_token"), ReadToken(root, "eos_token"),
                added, special);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or OverflowException)
        {
            throw new CheckpointException(path, $"cannot read tokenizer config: {e.Message}", e);
        }
    }

    private static bool? ReadBool(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;

    /// <summary>A special token is written either as a plain string or as an object with <c>content</c>.</summary>
    internal static string? ReadToken(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out JsonElement content) => content.GetString(),
            _ => null,
        };
    }
}
