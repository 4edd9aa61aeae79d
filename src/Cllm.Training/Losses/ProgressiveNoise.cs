using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>
/// Jacobi Forcing's choice of the noisy state of each block (the reference's progressive-noise data preparation): the
/// noise of a state is its unconverged fraction <c>(n − w) / n</c>, w the index of its first token that differs from
/// the fixed point; block b of a prompt gets the target <c>linspace(min, max, W)[b mod W]</c> (W the window), and the
/// state whose noise is nearest the target is taken (the earliest, i.e. noisiest, of equally near ones). The choice is
/// a pure function of the record and its block index, so a resumed run makes the same choices without drawing anything.
/// </summary>
internal static class ProgressiveNoise
{
    /// <summary>The unconverged fraction of <paramref name="state"/> against <paramref name="fixedPoint"/>, in [0, 1].</summary>
    public static double NoiseOf(IReadOnlyList<int> state, IReadOnlyList<int> fixedPoint)
    {
        int n = fixedPoint.Count, w = 0;
        while (w < n && state[w] == fixedPoint[w])
        {
            w++;
        }

        return (double)(n - w) / n;
    }

    /// <summary>The target noise of block <paramref name="blockIndex"/>: step (blockIndex mod W) of W evenly spaced levels from min to max.</summary>
    public static double Target(int blockIndex, int window, double min, double max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blockIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        int k = blockIndex % window;
        return window == 1 ? min : min + ((max - min) * k / (window - 1));
    }

    /// <summary>The index of the state of <paramref name="record"/> nearest <paramref name="target"/> (first of ties).</summary>
    public static int Select(TrajectoryRecord record, double target)
    {
        ArgumentNullException.ThrowIfNull(record);
        var fixedPoint = record.FixedPoint;
        int best = 0;
        double bestDistance = double.PositiveInfinity;
        for (int i = 0; i < record.Trajectory.Count; i++)
        {
            double distance = Math.Abs(NoiseOf(record.Trajectory[i], fixedPoint) - target);
            if (distance < bestDistance)
            {
                best = i;
                bestDistance = distance;
            }
        }

        return best;
    }
}
