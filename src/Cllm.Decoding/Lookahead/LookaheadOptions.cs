using System;
using System.Globalization;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// Lookahead decoding: a 2-D Jacobi window of <see cref="NGram"/> − 1 levels by
/// <see cref="Window"/> columns, an n-gram pool harvested from it, and up to <see cref="Guesses"/>
/// pooled candidates verified per step. One forward carries 1 + (W − 1) + (N − 2)·W + G·(N − 1) tokens.
/// </summary>
public sealed record LookaheadOptions : DecoderOptions
{
    /// <summary>W: columns of the lookahead window (how far ahead it looks). Default 5.</summary>
    public int Window { get; init; } = 5;

    /// <summary>N: n-gram size; the window has N − 1 levels and candidates N − 1 tokens. Default 4.</summary>
    public int NGram { get; init; } = 4;

    /// <summary>G: most candidates verified per step (and kept per key in the pool). Default 5.</summary>
    public int Guesses { get; init; } = 5;

    /// <summary>Seed the pool with every n-gram of the prompt (cheap; helps when the output quotes the prompt). Default on.</summary>
    public bool PoolFromPrompt { get; init; } = true;

    /// <summary>Seed of the generator that fills the window initially.</summary>
    public int Seed { get; init; }

    /// <summary>Draft tokens of one step at most.</summary>
    public int MaxDraftTokens => (Window - 1) + (NGram - 2) * Window + Guesses * (NGram - 1);

    /// <summary>"lookahead:WxNxG".</summary>
    public override string Label => string.Create(CultureInfo.InvariantCulture, $"lookahead:{Window}x{NGram}x{Guesses}");

    private protected override long WidestForward => (long)Window + (NGram - 2L) * Window + (long)Guesses * (NGram - 1);

    /// <summary>Throws for W &lt; 2, N &lt; 3 or G &lt; 0.</summary>
    public override void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Window, 2, nameof(Window));
        ArgumentOutOfRangeException.ThrowIfLessThan(NGram, 3, nameof(NGram));
        ArgumentOutOfRangeException.ThrowIfNegative(Guesses, nameof(Guesses));
    }

    private protected override DraftVerifyDecoder Build(LlamaForCausalLM model)
        => new(model, Label, () => new LookaheadProposer(this));
}
