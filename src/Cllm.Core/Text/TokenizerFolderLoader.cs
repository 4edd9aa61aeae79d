using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.ML.Tokenizers;

namespace Cllm.Core;

/// <summary>Loads the tokenizer of a Hugging Face model folder (see <see cref="CllmTokenizer.FromDirectory"/>).</summary>
internal static class TokenizerFolderLoader
{
    /// <summary>The SentencePiece model file name.</summary>
    public const string SentencePieceFileName = "tokenizer.model";

    public static CllmTokenizer Load(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        if (!Directory.Exists(dir))
        {
            throw new CheckpointException(dir, "tokenizer folder not found");
        }

        string configPath = Path.Combine(dir, TokenizerConfig.FileName);
        TokenizerConfig config = TokenizerConfig.Read(configPath);
        string spPath = Path.Combine(dir, SentencePieceFileName);
        string jsonPath = Path.Combine(dir, TokenizerJsonReader.FileName);
        if (File.Exists(spPath))
        {
            return LoadSentencePiece(spPath, configPath, config);
        }

        if (File.Exists(jsonPath))
        {
            return LoadTokenizerJson(jsonPath, configPath, config);
        }

        throw new CheckpointException(dir, $"no tokenizer found: expected {SentencePieceFileName} (SentencePiece) or {TokenizerJsonReader.FileName} (byte-level BPE)");
    }

    private static CllmTokenizer LoadSentencePiece(string spPath, string configPath, TokenizerConfig config)
    {
        LlamaTokenizer sp;
        if (new FileInfo(spPath).Length == 0)
        {
            throw new CheckpointException(spPath, "the SentencePiece model is empty (0 bytes); the file was probably cut short: copy or download it again");
        }

        try
        {
            using FileStream stream = File.OpenRead(spPath);
            sp = LlamaTokenizer.Create(
                stream,
                addBeginOfSentence: false,
                addEndOfSentence: false,
                specialTokens: config.AddedTokens.Count > 0 ? config.AddedTokens : null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The protobuf reader fails on a damaged file with whatever it tripped over (often a NullReferenceException).
            string why = e is NullReferenceException or IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidCastException
                ? "not a valid SentencePiece model file"
                : e.Message;
            throw new CheckpointException(spPath, $"cannot read the SentencePiece model: {why}", e);
        }

        var specials = new Dictionary<string, int>(config.SpecialAddedTokens, StringComparer.Ordinal)
        {
            [sp.BeginningOfSentenceToken] = sp.BeginningOfSentenceId,
            [sp.EndOfSentenceToken] = sp.EndOfSentenceId,
            [sp.UnknownToken] = sp.UnknownId,
        };

        // Hugging Face's LlamaTokenizer adds BOS and not EOS unless the config says otherwise.
        int? bos = Lookup(config.BosToken, specials, sp.Vocabulary) ?? sp.BeginningOfSentenceId;
        int? eos = Lookup(config.EosToken, specials, sp.Vocabulary) ?? sp.EndOfSentenceId;
        int[] prefix = config.AddBos ?? true ? [bos.Value] : [];
        int[] suffix = config.AddEos ?? false ? [eos.Value] : [];
        return new CllmTokenizer(sp, prefix, suffix, bos, eos, specials);
    }

    private static CllmTokenizer LoadTokenizerJson(string jsonPath, string configPath, TokenizerConfig config)
    {
        TokenizerJson json = TokenizerJsonReader.Read(jsonPath);
        IReadOnlyDictionary<string, int> vocabulary = json.Tokenizer.Vocabulary;
        int? bos = Lookup(config.BosToken, json.AddedTokens, vocabulary);
        int? eos = Lookup(config.EosToken, json.AddedTokens, vocabulary);

        // An explicit add_bos_token/add_eos_token wins (as in LlamaTokenizerFast); otherwise the
        // post-processor template of tokenizer.json decides (LLaMA-3 puts <|begin_of_text|> first).
        int[] prefix = config.AddBos is bool addBos
            ? (addBos ? [bos ?? throw Missing(configPath, "add_bos_token", "bos_token", config.BosToken)] : [])
            : json.TemplatePrefix ?? [];
        int[] suffix = config.AddEos is bool addEos
            ? (addEos ? [eos ?? throw Missing(configPath, "add_eos_token", "eos_token", config.EosToken)] : [])
            : json.TemplateSuffix ?? [];
        bos ??= json.TemplatePrefix is [int first] ? first : null;
        return new CllmTokenizer(json.Tokenizer, prefix, suffix, bos, eos, json.SpecialTokens, json.IgnoreMerges);
    }

    private static int? Lookup(string? token, IReadOnlyDictionary<string, int> specials, IReadOnlyDictionary<string, int> vocabulary)
    {
        if (token is null)
        {
            return null;
        }

        if (specials.TryGetValue(token, out int id) || vocabulary.TryGetValue(token, out id))
        {
            return id;
        }

        return null;
    }

    private static CheckpointException Missing(string configPath, string flag, string field, string? token) =>
        new(configPath, token is null
            ? $"{flag} is true but there is no {field}"
            : $"{flag} is true but {field} '{token}' is not in the vocabulary");
}
