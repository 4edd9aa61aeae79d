using System;

namespace Cllm;

/// <summary>Per-request figures: what was produced, how many forward passes it took; per-strategy figures in <see cref="Jacobi"/>.</summary>
public sealed class DecodeStats
{
    /// <summary>Prompt length in tokens.</summary>
    public int PromptTokens { get; internal set; }

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

    /// <summary>Jacobi decoders only: how the blocks converged; null for other decoders.</summary>
    public JacobiStats? Jacobi { get; internal set; }

    /// <summary>
    /// Greedy only: the smallest gap between the best and second-best logit over the positions that
    /// chose an emitted token. A gap near float32 noise (≲1e-4) means a block forward and a one-token
    /// forward could choose differently; in bfloat16 the two differ by a few bfloat16 ulps of the logits (up to
    /// 0.25 measured on logits of ~10), so there a gap below ~0.5 is a near-tie, and logits (bfloat16 values) tie
    /// exactly now and then. <see cref="double.NaN"/> when not measured.
    /// </summary>
    public double MinLogitMargin { get; internal set; } = double.NaN;
}
