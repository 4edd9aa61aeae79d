using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>Per-request figures: what was produced, how many forward passes it took, and how Jacobi blocks converged.</summary>
public sealed class DecodeStats
{
    /// <summary>Prompt length in tokens.</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>Tokens generated (the stop token not counted).</summary>
    public int GeneratedTokens { get; internal set; }

    /// <summary>Model forward passes, the prefill included.</summary>
    public int ForwardPasses { get; internal set; }

    /// <summary>Wall-clock time of the whole request, prefill included.</summary>
    public TimeSpan Elapsed { get; internal set; }

    /// <summary>Tokens drafted (guessed) and sent to the model for verification.</summary>
    public int DraftedTokens { get; internal set; }

    /// <summary>Drafted tokens that verification accepted.</summary>
    public int AcceptedDraftTokens { get; internal set; }

    /// <summary>Generated tokens per forward pass (1.0 for autoregressive decoding).</summary>
    public double TokensPerForward => ForwardPasses == 0 ? 0 : (double)GeneratedTokens / ForwardPasses;

    /// <summary>Mean tokens emitted per decode step after the prefill (lookahead's "accepted per step").</summary>
    public double AcceptedPerStep => ForwardPasses <= 1 ? 0 : (double)(GeneratedTokens - 1) / (ForwardPasses - 1);

    /// <summary>Generated tokens per second.</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : GeneratedTokens / Elapsed.TotalSeconds;

    /// <summary>Jacobi: forward passes spent on each block (its iterations), in order.</summary>
    public IReadOnlyList<int> BlockIterations { get; internal set; } = Array.Empty<int>();

    /// <summary>Jacobi: mean iterations per block.</summary>
    public double IterationsPerBlock => BlockIterations.Count == 0 ? 0 : Mean(BlockIterations);

    /// <summary>
    /// Jacobi: the paper's fast-forwarded count — the mean growth, per iteration, of the block prefix
    /// that already equals the fixed point, averaged over blocks (1.0 when every iteration fixes one token).
    /// </summary>
    public double FastForwarded { get; internal set; }

    /// <summary>
    /// Jacobi: the paper's stationary tokens — tokens that reached their final value while some token
    /// before them was still wrong, and never changed again; summed over the request's blocks.
    /// </summary>
    public int Stationary { get; internal set; }

    /// <summary>
    /// Greedy only: the smallest gap between the best and second-best logit over the positions that
    /// chose an emitted token. A gap near float32 noise (≲1e-4) means a block forward and a one-token
    /// forward could choose differently; <see cref="double.NaN"/> when not measured.
    /// </summary>
    public double MinLogitMargin { get; internal set; } = double.NaN;

    private static double Mean(IReadOnlyList<int> values)
    {
        double sum = 0;
        foreach (var v in values)
        {
            sum += v;
        }

        return sum / values.Count;
    }
}
