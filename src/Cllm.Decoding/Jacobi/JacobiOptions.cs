using System;
using System.Collections.Generic;
using System.Globalization;
using Cllm.Core;

namespace Cllm;

/// <summary>Jacobi decoding: refine an n-token block in parallel until it is a fixed point.</summary>
public sealed record JacobiOptions : DecoderOptions
{
    /// <summary>Block size n: tokens refined together per block (the paper's n-token sequence). Default 16.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>
    /// Choose n per block at run time instead of <see cref="BlockSize"/>: from the model's measured forward-cost curve
    /// (measured once per model, when the first such decoder is built) and the acceptance seen so far, falling back to AR
    /// steps when no block pays off.
    /// </summary>
    public bool AutoBlockSize { get; init; }

    /// <summary>Initial guess policy; see <see cref="JacobiInitialGuess"/>.</summary>
    public JacobiInitialGuess InitialGuess { get; init; } = JacobiInitialGuess.ContextSample;

    /// <summary>Seed of the initial-guess generator (each request starts from it, so runs repeat exactly).</summary>
    public int Seed { get; init; }

    /// <summary>"jacobi:N", or "jacobi:auto" with <see cref="AutoBlockSize"/>.</summary>
    public override string Label => AutoBlockSize ? "jacobi:auto" : string.Create(CultureInfo.InvariantCulture, $"jacobi:{BlockSize}");

    /// <summary>The block: the pending token and n − 1 guesses.</summary>
    private protected override long WidestForward => AutoBlockSize ? 1 : BlockSize;

    /// <summary>Throws for a block size below 1.</summary>
    public override void Validate() => ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));

    /// <summary>With <see cref="AutoBlockSize"/>, the model's shared block-size policy (<see cref="BlockSizePolicy.For"/>).</summary>
    private protected override DraftVerifyDecoder Build(LlamaForCausalLM model)
        => Build(model, AutoBlockSize ? BlockSizePolicy.For(model) : null);

    /// <summary>
    /// The decoder with a given run-time block-size policy (used with <see cref="AutoBlockSize"/>, shared by all its
    /// requests) instead of the model's own: the policy is live state, so it is passed here and never held by the options.
    /// </summary>
    internal DraftVerifyDecoder Build(LlamaForCausalLM model, BlockSizePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(model);
        Validate();
        var firstTokens = new JacobiFirstTokens();
        Func<BlockSizePolicy>? shared = policy is null ? null : () => policy;
        return new DraftVerifyDecoder(model, Label, () => new JacobiProposer(this, shared, firstTokens), Observers);
    }

    /// <summary>Jacobi requests report their block statistics (<see cref="DecodeStats.BlockIterations"/>).</summary>
    private static IReadOnlyList<IDecodeObserver> Observers() => new IDecodeObserver[] { new JacobiBlockTracker() };
}
