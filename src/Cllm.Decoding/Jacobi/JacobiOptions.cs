using System;

namespace Cllm;

/// <summary>Settings of the Jacobi decoder.</summary>
public sealed record JacobiOptions
{
    /// <summary>Block size n: tokens refined together per block (the paper's n-token sequence). Default 16.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>
    /// Choose n per block at run time (<see cref="BlockSizePolicy"/>) instead of <see cref="BlockSize"/>: from the model's
    /// measured forward-cost curve and the acceptance seen so far, falling back to AR steps when no block pays off.
    /// </summary>
    public bool AutoBlockSize { get; init; }

    /// <summary>
    /// With <see cref="AutoBlockSize"/>: the policy to use (shared by every decoder built from these options); null uses the
    /// model's own policy (<see cref="BlockSizePolicy.For"/>), whose curve is measured when the first such decoder is built.
    /// </summary>
    internal BlockSizePolicy? BlockSizePolicy { get; init; }

    /// <summary>Initial guess policy; see <see cref="JacobiInitialGuess"/>.</summary>
    public JacobiInitialGuess InitialGuess { get; init; } = JacobiInitialGuess.ContextSample;

    /// <summary>Seed of the initial-guess generator (each request starts from it, so runs repeat exactly).</summary>
    public int Seed { get; init; }

    /// <summary>Throws for a block size below 1.</summary>
    public void Validate() => ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
}
