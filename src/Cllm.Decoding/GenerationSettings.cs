using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>Per-call settings of <see cref="CllmEngine.Generate"/>; unset values take the engine's defaults.</summary>
public sealed record GenerationSettings
{
    /// <summary>Upper bound on generated tokens. Default 128.</summary>
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Token choice; greedy by default.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Extra token ids that end generation, besides the model's EOS ids.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>Token-id sequences that end generation.</summary>
    public IReadOnlyList<IReadOnlyList<int>> StopSequences { get; init; } = Array.Empty<IReadOnlyList<int>>();

    /// <summary>When false, the model's own EOS ids do not stop generation. Default true.</summary>
    public bool StopAtEos { get; init; } = true;

    /// <summary>The decoder for this call; null = the engine's.</summary>
    public DecoderOptions? Decoder { get; init; }
}
