using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// The <c>tokenizer.ggml.*</c> metadata of a GGUF export: model "llama" (SentencePiece pieces, scores and types from
/// <c>tokenizer.model</c>) or "gpt2" (byte-level BPE tokens, types and merges from <c>tokenizer.json</c>), padded to the
/// model's vocab size, plus the special token ids.
/// </summary>
internal static class GgufVocabulary
{
    // llama.cpp token types (= SentencePiece piece types).
    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    /// <summary>
    /// Adds the tokenizer metadata of <paramref name="directory"/> to <paramref name="writer"/>; <paramref name="config"/>
    /// gives the vocab size and special ids. With <paramref name="placeholder"/> and no tokenizer file, writes a
    /// LLaMA-2-shaped placeholder vocabulary (for random-weight models) instead of failing.
    /// </summary>
    public static void Add(GgufWriter writer, HfModelDirectory directory, LlamaConfig config, bool placeholder)
    {
        string model;
        List<(string Token, float Score, int Type)> vocab;
        string[]? merges = null;
        bool defaultAddBos;
        if (directory.TokenizerModelPath is { } spm)
        {
            (model, vocab, defaultAddBos) = ("llama", ReadSentencePiece(spm), true);
        }
        else if (directory.TokenizerJsonPath is { } json)
        {
            (vocab, merges) = ReadByteLevelBpe(json);
            (model, defaultAddBos) = ("gpt2", false);
        }
        else if (placeholder)
        {
            (model, vocab, defaultAddBos) = ("llama", Placeholder(config.VocabSize), true);
        }
        else
        {
            throw new CheckpointException(directory.Path, "model folder has no tokenizer.model or tokenizer.json to export");
        }

        if (vocab.Count > config.VocabSize)
        {
            throw new CheckpointException(directory.ConfigPath, $"tokenizer has {vocab.Count} tokens but vocab_size is {config.VocabSize}");
        }

        for (int id = vocab.Count; id < config.VocabSize; id++)
        {
            vocab.Add(($"[PAD{id}]", 0f, Unused));
        }

        writer.Add("tokenizer.ggml.model", GgufMetadataValue.Of(model));
        if (model == "gpt2")
        {
            writer.Add("tokenizer.ggml.pre", GgufMetadataValue.Of("default"));
        }

        writer.Add("tokenizer.ggml.tokens", GgufMetadataValue.Of(vocab.Select(v => v.Token).ToArray()));
        if (model == "llama")
        {
            writer.Add("tokenizer.ggml.scores", GgufMetadataValue.Of(vocab.Select(v => v.Score).ToArray()));
        }

        writer.Add("tokenizer.ggml.token_type", GgufMetadataValue.Of(vocab.Select(v => v.Type).ToArray()));
        if (merges is not null)
        {
            writer.Add("tokenizer.ggml.merges", GgufMetadataValue.Of(merges));
        }

        if (config.BosTokenId is { } bos)
        {
            writer.Add("tokenizer.ggml.bos_token_id", GgufMetadataValue.Of((uint)bos));
        }

        if (config.EosTokenIds.Count > 0)
        {
            writer.Add("tokenizer.ggml.eos_token_id", GgufMetadataValue.Of((uint)config.EosTokenIds[0]));
        }

        int unk = vocab.FindIndex(v => v.Type == Unknown);
        if (unk < 0)
        {
            unk = vocab.FindIndex(v => v.Token == "<unk>");
        }

        if (unk >= 0)
        {
            writer.Add("tokenizer.ggml.unknown_token_id", GgufMetadataValue.Of((uint)unk));
        }

        if (config.PadTokenId is { } pad)
        {
            writer.Add("tokenizer.ggml.padding_token_id", GgufMetadataValue.Of((uint)pad));
        }

        var tokenizerConfig = directory.TokenizerConfigPath is { } tc ? TokenizerConfig.Read(tc) : TokenizerConfig.Empty;
        writer.Add("tokenizer.ggml.add_bos_token", GgufMetadataValue.Of(tokenizerConfig.AddBos ?? defaultAddBos));
        writer.Add("tokenizer.ggml.add_eos_token", GgufMetadataValue.Of(tokenizerConfig.AddEos ?? false));
    }

    /// <summary>
    /// Reads the pieces of a SentencePiece <c>ModelProto</c>: field 1 (repeated SentencePiece) holds piece (1, string),
    /// score (2, float) and type (3, enum, default NORMAL). Every other field is skipped.
    /// </summary>
    public static List<(string Token, float Score, int Type)> ReadSentencePiece(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var pieces = new List<(string, float, int)>();
        int pos = 0;
        try
        {
            while (pos < bytes.Length)
            {
                var (field, wire) = ReadTag(bytes, ref pos);
                if (field == 1 && wire == 2)
                {
                    int length = checked((int)ReadVarint(bytes, ref pos));
                    int end = pos + length;
                    string piece = string.Empty;
                    float score = 0f;
                    int type = Normal;
                    while (pos < end)
                    {
                        var (f, w) = ReadTag(bytes, ref pos);
                        if (f == 1 && w == 2)
                        {
                            int n = checked((int)ReadVarint(bytes, ref pos));
                            piece = Encoding.UTF8.GetString(bytes, pos, n);
                            pos += n;
                        }
                        else if (f == 2 && w == 5)
                        {
                            score = BitConverter.ToSingle(bytes, pos);
                            pos += 4;
                        }
                        else if (f == 3 && w == 0)
                        {
                            type = (int)ReadVarint(bytes, ref pos);
                        }
                        else
                        {
                            Skip(bytes, ref pos, w);
                        }
                    }

                    if (pos != end)
                    {
                        throw new FormatException("a piece overruns its length");
                    }

                    pieces.Add((piece, score, type));
                }
                else
                {
                    Skip(bytes, ref pos, wire);
                }
            }
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            throw new CheckpointException(path, $"not a SentencePiece model: {ex.Message}", ex);
        }

        if (pieces.Count == 0)
        {
            throw new CheckpointException(path, "SentencePiece model has no pieces");
        }

        return pieces;
    }

    /// <summary>Tokens (by id) and merges of a byte-level BPE <c>tokenizer.json</c>; added special tokens are CONTROL, other added tokens USER_DEFINED.</summary>
    public static (List<(string Token, float Score, int Type)> Vocab, string[] Merges) ReadByteLevelBpe(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        if (!root.TryGetProperty("model", out var model) || !model.TryGetProperty("type", out var type) || type.GetString() != "BPE"
            || !model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException(path, "tokenizer.json is not a BPE model with a vocab; GGUF export supports byte-level BPE and SentencePiece tokenizers");
        }

        var byId = new SortedDictionary<int, (string Token, float Score, int Type)>();
        foreach (var entry in vocabJson.EnumerateObject())
        {
            byId[entry.Value.GetInt32()] = (entry.Name, 0f, Normal);
        }

        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                bool special = token.TryGetProperty("special", out var s) && s.GetBoolean();
                byId[token.GetProperty("id").GetInt32()] = (token.GetProperty("content").GetString()!, 0f, special ? Control : UserDefined);
            }
        }

        var vocab = new List<(string, float, int)>();
        foreach (var (id, token) in byId)
        {
            if (id != vocab.Count)
            {
                throw new CheckpointException(path, $"token ids are not contiguous: id {vocab.Count} is missing");
            }

            vocab.Add(token);
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var mergesJson))
        {
            foreach (var merge in mergesJson.EnumerateArray())
            {
                merges.Add(merge.ValueKind == JsonValueKind.Array
                    ? string.Join(' ', merge.EnumerateArray().Select(p => p.GetString()))
                    : merge.GetString()!);
            }
        }

        return (vocab, merges.ToArray());
    }

    /// <summary>LLaMA-2-shaped stand-in: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte pieces, then numbered pieces.</summary>
    private static List<(string Token, float Score, int Type)> Placeholder(int vocabSize)
    {
        var vocab = new List<(string, float, int)> { ("<unk>", 0f, Unknown), ("<s>", 0f, Control), ("</s>", 0f, Control) };
        for (int b = 0; b < 256 && vocab.Count < vocabSize; b++)
        {
            vocab.Add(($"<0x{b:X2}>", 0f, Byte));
        }

        while (vocab.Count < vocabSize)
        {
            vocab.Add(($"\u2581t{vocab.Count}", -vocab.Count, Normal));
        }

        return vocab;
    }

    private static (int Field, int Wire) ReadTag(byte[] bytes, ref int pos)
    {
        ulong tag = ReadVarint(bytes, ref pos);
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    private static ulong ReadVarint(byte[] bytes, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = bytes[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new FormatException("varint longer than 10 bytes");
    }

    private static void Skip(byte[] bytes, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0: ReadVarint(bytes, ref pos); break;
            case 1: pos += 8; break;
            case 2:
                int length = checked((int)ReadVarint(bytes, ref pos)); // read before adding: pos moves past the varint
                pos += length;
                break;
            case 5: pos += 4; break;
            default: throw new FormatException($"unsupported wire type {wire}");
        }

        if (pos > bytes.Length)
        {
            throw new FormatException("field runs past the end of the file");
        }
    }
}
