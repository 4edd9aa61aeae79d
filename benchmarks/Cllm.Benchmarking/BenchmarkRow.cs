namespace Cllm.Benchmarking;

/// <summary>One decoder's figures over a benchmark's requests, with ratios against AR measured in the same run.</summary>
public sealed record BenchmarkRow
{
    /// <summary>Model label (<c>model</c> for a one-model benchmark; e.g. <c>base</c>, <c>cllm</c> otherwise).</summary>
    public string Model { get; init; } = "model";

    /// <summary>Decoder label (ar, jacobi:16, lookahead:5x4x5).</summary>
    public required string Decoder { get; init; }

    /// <summary>Requests decoded (warm-up excluded).</summary>
    public int Requests { get; init; }

    /// <summary>Generated tokens, all requests.</summary>
    public int Tokens { get; init; }

    /// <summary>Forward passes, all requests, prefills included.</summary>
    public int ForwardPasses { get; init; }

    /// <summary>Total decode time in seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>Tokens per second over all requests.</summary>
    public double TokensPerSecond { get; init; }

    /// <summary>
    /// Decode-only tokens per second: the tokens after those the prefill forward emitted, over the time after the prefill
    /// (NaN when no request decoded past its prefill).
    /// </summary>
    public double DecodeTokensPerSecond { get; init; } = double.NaN;

    /// <summary>Tokens per second divided by the same model's AR in the same run (1 for AR; NaN without an AR row).</summary>
    public double SpeedupVsAr { get; init; }

    /// <summary>Tokens per second divided by the first (baseline) model's AR in the same run (NaN without its AR row).</summary>
    public double SpeedupVsBaselineAr { get; init; }

    /// <summary>Generated tokens per forward pass.</summary>
    public double TokensPerForward { get; init; }

    /// <summary>Jacobi: mean iterations (forward passes) per block.</summary>
    public double IterationsPerBlock { get; init; }

    /// <summary>Jacobi: mean fast-forwarded tokens per iteration.</summary>
    public double FastForwarded { get; init; }

    /// <summary>Jacobi: mean stationary tokens per request.</summary>
    public double Stationary { get; init; }

    /// <summary>Mean tokens emitted per step after the prefill.</summary>
    public double AcceptedPerStep { get; init; }

    /// <summary>Share of requests whose output equals the same model's AR output token for token (NaN without an AR row or when sampling).</summary>
    public double ExactMatchRate { get; init; }

    /// <summary>Smallest top-1/top-2 logit gap met on any emitted token (greedy).</summary>
    public double MinLogitMargin { get; init; }

    /// <summary>
    /// With several models: the baseline (first) model's mean negative log-likelihood per generated token of this row's
    /// outputs (<see cref="ContinuationScorer"/>) — near the baseline's own AR row means the text kept its quality. NaN with one model.
    /// </summary>
    public double BaselineNll { get; init; } = double.NaN;
}
