using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm;

/// <summary>Per-request figures: what was produced, how many forward passes it took; Jacobi decoders' block figures in <see cref="BlockIterations"/>, <see cref="FastForwarded"/> and <see cref="Stationary"/>.</summary>
public sealed class DecodeStats
{
    /// <summary>Prompt length in tokens.</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>
    /// Prompt tokens this request did not compute: their keys and values were already in the engine's cache, computed
    /// for another request that began the same way, running beside it or just before it (docs/serving.md). 0 for a
    /// request decoded outside an engine.
    /// </summary>
    public int CachedPromptTokens { get; internal set; }

    /// <summary>Tokens generated (the stop token not counted).</summary>
    public int GeneratedTokens { get; internal set; }

    /// <summary>Model forward passes, the prefill included (every chunk of a chunked prefill).</summary>
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
    public double AcceptedPerStep => ForwardPasses <= PrefillForwards ? 0 : (double)(GeneratedTokens - PrefillTokens) / (ForwardPasses - PrefillForwards);

    /// <summary>Generated tokens that the prefill forward emitted: 1, or more when a draft rode on it (at most 1 after a stop).</summary>
    internal int PrefillTokens { get; set; }

    /// <summary>Forward passes of the prefill: 1, or more when the engine prefilled the prompt in chunks next to other requests (docs/serving.md).</summary>
    internal int PrefillForwards { get; set; } = 1;

    /// <summary>Wall-clock time from the start of the request to the end of the prefill forward (its tokens emitted); the rest of <see cref="Elapsed"/> is decoding.</summary>
    internal TimeSpan PrefillElapsed { get; set; }

    /// <summary>Generated tokens per second.</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : GeneratedTokens / Elapsed.TotalSeconds;

    /// <summary>
    /// Jacobi decoders: forward passes spent on each block (its iterations), in order; the prefill is the first block's
    /// first iteration when that block's draft rode on it, else no block's. Empty for other decoders.
    /// </summary>
    public IReadOnlyList<int> BlockIterations { get; internal set; } = Array.Empty<int>();

    /// <summary>Jacobi decoders: mean iterations per block (0 without blocks).</summary>
    public double IterationsPerBlock => BlockIterations.Count == 0 ? 0 : BlockIterations.Average();

    /// <summary>
    /// Jacobi decoders: the paper's fast-forwarded count, the mean growth per iteration of the block prefix that already
    /// equals the fixed point, averaged over blocks (1.0 when every iteration fixes one token; 0 without blocks).
    /// </summary>
    public double FastForwarded { get; internal set; }

    /// <summary>
    /// Jacobi decoders: the paper's stationary tokens, tokens that reached their final value while some token before them
    /// was still wrong and never changed again, summed over the request's blocks.
    /// </summary>
    public int Stationary { get; internal set; }

    /// <summary>
    /// Greedy only: the smallest gap between the best and second-best logit over the positions that
    /// chose an emitted token. A gap near float32 noise (≲1e-4) means a block forward and a one-token
    /// forward could choose differently; in bfloat16 the two differ by a few bfloat16 ulps of the logits (up to
    /// 0.25 measured on logits of ~10), so there a gap below ~0.5 is a near-tie, and logits (bfloat16 values) tie
    /// exactly now and then. <see cref="double.NaN"/> when not measured.
    /// </summary>
    public double MinLogitMargin { get; internal set; } = double.NaN;
}
