using System;

namespace Cllm.Jacobi;

/// <summary>Settings of the Jacobi decoder.</summary>
public sealed record JacobiOptions
{
    /// <summary>Block size n: tokens refined together per block (the paper's n-token sequence). Default 16.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Initial guess policy; see <see cref="JacobiInitialGuess"/>.</summary>
    public JacobiInitialGuess InitialGuess { get; init; } = JacobiInitialGuess.ContextSample;

    /// <summary>Seed of the initial-guess generator (each request starts from it, so runs repeat exactly).</summary>
    public int Seed { get; init; }

    /// <summary>Optional receiver of every block trajectory.</summary>
    public IJacobiObserver? Observer { get; init; }

    /// <summary>Throws for a block size below 1.</summary>
    public void Validate() => ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
}
