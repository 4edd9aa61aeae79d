using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm;

/// <summary>How a Jacobi request's blocks converged: reachable from its result as <see cref="DecodeStats.Jacobi"/>.</summary>
/// <param name="BlockIterations">
/// Forward passes spent on each block (its iterations), in order; the prefill is the first block's first iteration when
/// that block's draft rode on it, else no block's.
/// </param>
/// <param name="FastForwarded">
/// The paper's fast-forwarded count: the mean growth, per iteration, of the block prefix that already equals the fixed
/// point, averaged over blocks (1.0 when every iteration fixes one token).
/// </param>
/// <param name="Stationary">
/// The paper's stationary tokens: tokens that reached their final value while some token before them was still wrong,
/// and never changed again; summed over the request's blocks.
/// </param>
public sealed record JacobiStats(IReadOnlyList<int> BlockIterations, double FastForwarded, int Stationary)
{
    /// <summary>No block (e.g. a request that ended at its first token).</summary>
    public static JacobiStats Empty { get; } = new(Array.Empty<int>(), 0, 0);

    /// <summary>Mean iterations per block (0 without blocks).</summary>
    public double IterationsPerBlock => BlockIterations.Count == 0 ? 0 : BlockIterations.Average();
}
