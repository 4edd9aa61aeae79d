using System.Collections.Generic;
using Microsoft.ML.Tokenizers;

namespace Cllm.Core;

/// <summary>What <see cref="TokenizerJsonReader"/> makes of a Hugging Face <c>tokenizer.json</c>.</summary>
internal sealed class TokenizerJson
{
    public TokenizerJson(
        BpeTokenizer tokenizer,
        IReadOnlyDictionary<string, int> addedTokens,
        IReadOnlyDictionary<string, int> specialTokens,
        int[]? templatePrefix,
        int[]? templateSuffix,
        bool ignoreMerges)
    {
        Tokenizer = tokenizer;
        AddedTokens = addedTokens;
        SpecialTokens = specialTokens;
        TemplatePrefix = templatePrefix;
        TemplateSuffix = templateSuffix;
        IgnoreMerges = ignoreMerges;
    }

    /// <summary>The byte-level BPE tokenizer.</summary>
    public BpeTokenizer Tokenizer { get; }

    /// <summary>Every entry of <c>added_tokens</c>: never split, matched before pre-tokenization.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>The added tokens marked <c>special</c> (dropped by skip-special-tokens decoding).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Ids a <c>TemplateProcessing</c> post-processor puts before the text, or null without one.</summary>
    public int[]? TemplatePrefix { get; }

    /// <summary>Ids a <c>TemplateProcessing</c> post-processor puts after the text, or null without one.</summary>
    public int[]? TemplateSuffix { get; }

    /// <summary><c>model.ignore_merges</c>: a pre-token found whole in the vocabulary is one token.</summary>
    public bool IgnoreMerges { get; }
}
