using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Tokenizers;

namespace Cllm.Core;

/// <summary>
/// A text tokenizer for a causal language model: a Microsoft.ML.Tokenizers <see cref="Tokenizer"/> plus the
/// BOS/EOS rules of the model folder, so that <see cref="Encode"/> gives the ids Hugging Face
/// <c>tokenizer(text)</c> gives and <see cref="Decode"/> the text of <c>tokenizer.decode(ids)</c>.
/// </summary>
public sealed class CllmTokenizer
{
    private readonly int[] _prefix;
    private readonly int[] _suffix;
    private readonly HashSet<int> _specialIds;
    private readonly bool _ignoreMerges;
    private readonly SentencePieceDecoder? _sentencePieceDecoder;

    internal CllmTokenizer(
        Tokenizer inner,
        int[] prefix,
        int[] suffix,
        int? bosTokenId,
        int? eosTokenId,
        IReadOnlyDictionary<string, int> specialTokens,
        bool ignoreMerges = false)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _prefix = prefix;
        _suffix = suffix;
        BosTokenId = bosTokenId;
        EosTokenId = eosTokenId;
        SpecialTokens = specialTokens;
        _specialIds = [.. specialTokens.Values];
        _ignoreMerges = ignoreMerges && inner is BpeTokenizer { ByteLevel: true };

        IEnumerable<int> knownIds = VocabularyIdsOf(inner)
            .Concat(SpecialTokensOf(inner)?.Values ?? [])
            .Concat(specialTokens.Values).Concat(prefix).Concat(suffix);
        if (bosTokenId is int bos)
        {
            knownIds = knownIds.Append(bos);
        }

        if (eosTokenId is int eos)
        {
            knownIds = knownIds.Append(eos);
        }

        VocabSize = knownIds.DefaultIfEmpty(-1).Max() + 1;
        if (inner is SentencePieceTokenizer { TreatWhitespaceAsSuffix: false } sp)
        {
            _sentencePieceDecoder = new SentencePieceDecoder(sp);
        }
    }

    /// <summary>The underlying Microsoft.ML.Tokenizers object.</summary>
    /// <remarks>
    /// Its own methods do not apply the rules of this class: they add no BOS from the folder's config, and
    /// differ from <see cref="Encode"/>/<see cref="Decode"/> on a few inputs (SentencePiece: one-character
    /// text, byte tokens before the first word; byte-level BPE: <c>ignore_merges</c>).
    /// </remarks>
    public Tokenizer Inner { get; }

    /// <summary>The beginning-of-sequence token id, when the model has one.</summary>
    public int? BosTokenId { get; }

    /// <summary>The end-of-sequence token id, when the model has one.</summary>
    public int? EosTokenId { get; }

    /// <summary>True when <see cref="Encode"/> puts a BOS (or a template's leading special token) first.</summary>
    public bool AddsBos => _prefix.Length > 0;

    /// <summary>True when <see cref="Encode"/> appends an EOS (or a template's trailing special token).</summary>
    public bool AddsEos => _suffix.Length > 0;

    /// <summary>One more than the largest id the tokenizer knows (vocabulary and added tokens).</summary>
    public int VocabSize { get; }

    /// <summary>The special tokens (content to id): the ones <see cref="Decode"/> drops when asked to skip them.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>
    /// Loads the tokenizer of a Hugging Face model folder: <c>tokenizer.model</c> (SentencePiece) when present,
    /// else a byte-level BPE <c>tokenizer.json</c>, with the BOS/EOS rules of <c>tokenizer_config.json</c>.
    /// </summary>
    /// <exception cref="Cllm.Core.CheckpointException">The folder has no usable tokenizer file, or a file is corrupt.</exception>
    /// <exception cref="NotSupportedException">The tokenizer.json describes a tokenizer Cllm cannot build.</exception>
    public static CllmTokenizer FromDirectory(string dir) => TokenizerFolderLoader.Load(dir);

    /// <summary>Wraps an existing tokenizer (mainly for tests).</summary>
    /// <param name="tokenizer">The tokenizer. For a SentencePiece tokenizer, BOS/EOS ids default to its own.</param>
    /// <param name="bosTokenId">The BOS id.</param>
    /// <param name="eosTokenId">The EOS id.</param>
    /// <param name="addBos">Whether <see cref="Encode"/> puts BOS first.</param>
    /// <param name="addEos">Whether <see cref="Encode"/> appends EOS.</param>
    /// <param name="specialTokens">Tokens <see cref="Decode"/> may skip; defaults to the tokenizer's own special tokens.</param>
    public static CllmTokenizer FromTokenizer(
        Tokenizer tokenizer,
        int? bosTokenId = null,
        int? eosTokenId = null,
        bool addBos = false,
        bool addEos = false,
        IReadOnlyDictionary<string, int>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (tokenizer is SentencePieceTokenizer sp)
        {
            bosTokenId ??= sp.BeginningOfSentenceId;
            eosTokenId ??= sp.EndOfSentenceId;
            specials[sp.BeginningOfSentenceToken] = sp.BeginningOfSentenceId;
            specials[sp.EndOfSentenceToken] = sp.EndOfSentenceId;
            specials[sp.UnknownToken] = sp.UnknownId;
        }

        foreach (KeyValuePair<string, int> pair in specialTokens ?? SpecialTokensOf(tokenizer) ?? new Dictionary<string, int>())
        {
            specials[pair.Key] = pair.Value;
        }

        if (addBos && bosTokenId is null)
        {
            throw new ArgumentException("addBos needs a BOS token id.", nameof(bosTokenId));
        }

        if (addEos && eosTokenId is null)
        {
            throw new ArgumentException("addEos needs an EOS token id.", nameof(eosTokenId));
        }

        return new CllmTokenizer(
            tokenizer,
            addBos ? [bosTokenId!.Value] : [],
            addEos ? [eosTokenId!.Value] : [],
            bosTokenId,
            eosTokenId,
            specials);
    }

    /// <summary>Encodes text to token ids.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecial">Add BOS/EOS as the model's tokenizer config says (Hugging Face <c>add_special_tokens</c>).</param>
    public int[] Encode(string text, bool addSpecial = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<int> body = Inner switch
        {
            SentencePieceTokenizer sp => EncodeSentencePiece(sp, text),
            BpeTokenizer bpe when _ignoreMerges => EncodeWholeWordsFirst(bpe, text),
            _ => Inner.EncodeToIds(text),
        };

        if (!addSpecial)
        {
            return [.. body];
        }

        return [.. _prefix, .. body, .. _suffix];
    }

    /// <summary>
    /// Decodes token ids to text. Ids the tokenizer does not know decode to nothing. SentencePiece ids are
    /// decoded as Hugging Face's LLaMA tokenizer does (see the remarks).
    /// </summary>
    /// <remarks>
    /// For SentencePiece, "▁" becomes a space, byte-fallback tokens are joined into UTF-8 (one U+FFFD per
    /// byte of an invalid sequence), special tokens kept give their own text, and one leading space is
    /// dropped. Microsoft.ML.Tokenizers' own decoder differs when byte tokens precede the first word.
    /// </remarks>
    /// <param name="ids">The token ids.</param>
    /// <param name="skipSpecialTokens">Drop the <see cref="SpecialTokens"/> (Hugging Face <c>skip_special_tokens</c>).</param>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        IEnumerable<int> kept = skipSpecialTokens ? ids.Where(id => !_specialIds.Contains(id)) : ids;
        if (_sentencePieceDecoder is not null)
        {
            return _sentencePieceDecoder.Decode(kept);
        }

        return Inner switch
        {
            SentencePieceTokenizer sp => sp.Decode(kept, considerSpecialTokens: true),
            BpeTokenizer bpe => bpe.Decode(kept, considerSpecialTokens: true),
            _ => Inner.Decode(kept),
        };
    }

    /// <summary>True when <paramref name="id"/> is one of the <see cref="SpecialTokens"/>.</summary>
    public bool IsSpecialToken(int id) => _specialIds.Contains(id);

    /// <summary>
    /// Encodes without BOS/EOS. Works around Microsoft.ML.Tokenizers 2.0.1 normalising a single character
    /// to nothing when remove_extra_whitespaces is on ("u" gave [] instead of [▁u]).
    /// </summary>
    private static IReadOnlyList<int> EncodeSentencePiece(SentencePieceTokenizer sp, string text)
    {
        if (sp.Normalizer is SentencePieceNormalizer { RemoveExtraWhiteSpaces: true } normalizer && text.Trim(' ') is { Length: 1 } single)
        {
            string space = normalizer.EscapeWhiteSpaces ? "\u2581" : " ";
            string normalized = !normalizer.AddDummyPrefix ? single
                : normalizer.TreatWhitespaceAsSuffix ? single + space
                : space + single;
            return sp.EncodeToIds(normalized, addBeginningOfSentence: false, addEndOfSentence: false, considerNormalization: false);
        }

        return sp.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
    }

    /// <summary>
    /// Hugging Face <c>ignore_merges</c>: a pre-token that is itself in the vocabulary becomes that one token;
    /// the others go through the BPE merges.
    /// </summary>
    private List<int> EncodeWholeWordsFirst(BpeTokenizer bpe, string text)
    {
        string normalized = bpe.Normalizer?.Normalize(text) ?? text;
        IEnumerable<(int Offset, int Length)> pieces = bpe.PreTokenizer?.PreTokenize(normalized) ?? [(0, normalized.Length)];
        IReadOnlyDictionary<string, int> vocabulary = bpe.Vocabulary;
        var ids = new List<int>();
        foreach ((int offset, int length) in pieces)
        {
            string piece = normalized.Substring(offset, length);
            if (bpe.SpecialTokens?.TryGetValue(piece, out int special) == true)
            {
                ids.Add(special);
            }
            else if (vocabulary.TryGetValue(ByteLevelAlphabet.Encode(piece), out int whole))
            {
                ids.Add(whole);
            }
            else
            {
                ids.AddRange(bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
            }
        }

        return ids;
    }

    private static IEnumerable<int> VocabularyIdsOf(Tokenizer tokenizer) => tokenizer switch
    {
        SentencePieceTokenizer sp => sp.Vocabulary.Values,
        BpeTokenizer bpe => bpe.Vocabulary.Values,
        CodeGenTokenizer codeGen => codeGen.Vocabulary.Values,
        _ => [],
    };

    private static IReadOnlyDictionary<string, int>? SpecialTokensOf(Tokenizer tokenizer) => tokenizer switch
    {
        SentencePieceTokenizer sp => sp.SpecialTokens,
        BpeTokenizer bpe => bpe.SpecialTokens,
        TiktokenTokenizer tiktoken => tiktoken.SpecialTokens,
        CodeGenTokenizer codeGen => codeGen.SpecialTokens,
        _ => null,
    };
}
