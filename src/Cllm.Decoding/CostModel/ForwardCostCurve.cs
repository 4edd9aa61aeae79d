using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// What one forward of T tokens costs relative to one token, on the loaded model and this machine,
/// with <c>past</c> tokens already cached (measured by <see cref="ForwardCostMeasurement"/>: sizes interleaved inside
/// each round, the ratio the median of per-round ratios, so machine noise hits every size alike). This curve decides which Jacobi
/// block size can pay off: a block of n needs more than cost(n)/cost(1) tokens per forward.
/// </summary>
internal static class ForwardCostCurve
{
    /// <summary>Measures the curve for <paramref name="sizes"/> (must include 1), all at once on the calling thread.</summary>
    public static IReadOnlyList<ForwardCost> Measure(LlamaForCausalLM model, IReadOnlyList<int> sizes, int past = 128, int rounds = 30, int warmup = 5)
    {
        using var measurement = new ForwardCostMeasurement(model, sizes, past, rounds, warmup);
        while (!measurement.Step())
        {
        }

        return measurement.Result;
    }

    /// <summary>
    /// A measured curve as its ascending sizes and their costs relative to T = 1 (each floored at 1e-6), the form
    /// <see cref="Interpolate"/> reads; throws when T = 1 is missing.
    /// </summary>
    internal static (int[] Sizes, double[] Costs) Relative(IReadOnlyList<ForwardCost> curve)
    {
        ArgumentNullException.ThrowIfNull(curve);
        var points = curve.Where(c => c.Tokens >= 1).OrderBy(c => c.Tokens).ToArray();
        if (points.Length == 0 || points[0].Tokens != 1)
        {
            throw new ArgumentException("the forward-cost curve must include T = 1.", nameof(curve));
        }

        double one = Math.Max(points[0].CostVsOne, 1e-6);
        return (points.Select(c => c.Tokens).ToArray(), points.Select(c => Math.Max(c.CostVsOne, 1e-6) / one).ToArray());
    }

    /// <summary>
    /// The cost at <paramref name="tokens"/> from a curve's ascending <paramref name="sizes"/> and their
    /// <paramref name="costs"/>: measured where it was, linear between measured sizes and beyond the largest.
    /// </summary>
    internal static double Interpolate(int[] sizes, double[] costs, int tokens)
    {
        int i = Array.BinarySearch(sizes, tokens);
        if (i >= 0)
        {
            return costs[i];
        }

        if (sizes.Length == 1)
        {
            return costs[0] * tokens;
        }

        int hi = Math.Min(~i, sizes.Length - 1);
        int lo = hi - 1;
        double slope = (costs[hi] - costs[lo]) / (sizes[hi] - sizes[lo]);
        return Math.Max(costs[0], costs[lo] + slope * (tokens - sizes[lo]));
    }
}
