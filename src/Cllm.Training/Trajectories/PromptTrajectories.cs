using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>What collection produced for one prompt.</summary>
public sealed record PromptTrajectories
{
    /// <summary>The prompt's index in the prompt list (its records' <c>data_id</c> is "data_&lt;index&gt;").</summary>
    public required int PromptIndex { get; init; }

    /// <summary>The records kept (after cleaning and augmentation), in block order.</summary>
    public required IReadOnlyList<TrajectoryRecord> Records { get; init; }

    /// <summary>Blocks decoded (kept and dropped).</summary>
    public int BlocksCollected { get; init; }

    /// <summary>Blocks dropped by cleaning.</summary>
    public int BlocksDropped { get; init; }

    /// <summary>States changed by augmentation.</summary>
    public int StatesAugmented { get; init; }

    /// <summary>Tokens in the decoded blocks' fixed points.</summary>
    public int TokensGenerated { get; init; }

    /// <summary>Model forward passes, the prefill included.</summary>
    public int ForwardPasses { get; init; }

    /// <summary>True when the prompt left no room for a single block in the model's context; nothing was decoded.</summary>
    public bool TooLong { get; init; }

    /// <summary>True when decoding stopped at a block containing EOS (rather than at the token cap or the context end).</summary>
    public bool ReachedEos { get; init; }

    /// <summary>Wall time spent on the prompt.</summary>
    public TimeSpan Elapsed { get; init; }
}
