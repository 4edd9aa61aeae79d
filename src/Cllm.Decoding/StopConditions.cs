using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// When a request ends besides its token budget: any end-of-sequence id, or any stop sequence of
/// token ids appearing at the end of the output. Neither the EOS token nor the stop sequence is
/// part of the output.
/// </summary>
internal sealed record StopConditions
{
    /// <summary>No stop besides the token budget.</summary>
    public static StopConditions None { get; } = new();

    /// <summary>End-of-sequence token ids.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>Token-id sequences that end the output.</summary>
    public IReadOnlyList<IReadOnlyList<int>> StopSequences { get; init; } = Array.Empty<IReadOnlyList<int>>();
}
