namespace Cllm.Core;

/// <summary>What a Hugging Face <c>Split</c> pre-tokenizer does with the pieces its pattern matches.</summary>
internal enum SplitBehavior
{
    /// <summary>Matches and the text between them all become pieces.</summary>
    Isolated,

    /// <summary>Matches are dropped.</summary>
    Removed,

    /// <summary>A match is glued to the end of the piece before it.</summary>
    MergedWithPrevious,

    /// <summary>A match is glued to the start of the piece after it.</summary>
    MergedWithNext,

    /// <summary>Runs of consecutive matches (and of non-matches) become single pieces.</summary>
    Contiguous,
}
