using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// What one decode step produced: the tokens it emitted (possibly several, possibly none after a stop
/// was trimmed). The last step of a request carries <see cref="Finish"/> and <see cref="Stats"/>.
/// </summary>
public sealed record DecodeStep
{
    /// <summary>Tokens emitted by this step, in order.</summary>
    public required IReadOnlyList<int> Tokens { get; init; }

    /// <summary>0 for the prefill, then 1, 2, … (one forward pass each).</summary>
    public int StepIndex { get; init; }

    /// <summary>Why the request ended, on its last step; <see cref="FinishReason.None"/> before.</summary>
    public FinishReason Finish { get; init; }

    /// <summary>Request figures, on the last step only.</summary>
    public DecodeStats? Stats { get; init; }
}
