using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>Settings of Jacobi trajectory collection (the paper's Algorithm 1).</summary>
public sealed record TrajectoryCollectionOptions
{
    /// <summary>
    /// Block size n (the reference calls it <c>max_new_tokens</c>). Every record's states have exactly n
    /// tokens; training must use the same n. Default 16.
    /// </summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>
    /// Cap on generated tokens per prompt (the reference's <c>max_new_seq_len</c>). Every record holds one whole block,
    /// so a prompt yields up to ⌊MaxNewTokens / n⌋ blocks and never more than this many tokens (the reference decodes
    /// blocks while <c>itr · n &lt; max_new_seq_len</c>, which rounds up and overshoots by up to n − 1). At least
    /// <see cref="BlockSize"/>. Default 256.
    /// </summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>
    /// End-of-sequence ids: collection of a prompt ends after the block whose fixed point contains one.
    /// Null = the model config's EOS ids.
    /// </summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    /// <summary>Seed of the initial guesses and of augmentation; each prompt derives its own generators from it and its index.</summary>
    public int Seed { get; init; }

    /// <summary>Randomly correct wrong tokens of early states (reference section 2.5.1). Default off.</summary>
    public bool Augment { get; init; }

    /// <summary>Drop records whose teacher output repeats one token 10 times in a row (reference section 2.5.2). Default off.</summary>
    public bool Clean { get; init; }

    /// <summary>Which prompts this process collects. Default: all.</summary>
    internal TrajectoryShard Shard { get; init; } = TrajectoryShard.All;

    /// <summary>Blocks a prompt yields at most: ⌊<see cref="MaxNewTokens"/> / <see cref="BlockSize"/>⌋.</summary>
    internal int BlocksPerPrompt => MaxNewTokens / BlockSize;

    /// <summary>Throws for settings out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNewTokens, 1, nameof(MaxNewTokens));
        if (MaxNewTokens < BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, $"MaxNewTokens ({MaxNewTokens}) is less than BlockSize ({BlockSize}): every record holds one whole block, so at least one block must fit.");
        }

        Shard.Validate();
    }
}
