using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm;

/// <summary>
/// What one forward of T tokens costs relative to one token, on the loaded model and this machine,
/// with <c>past</c> tokens already cached. Sizes are interleaved inside each round and the ratio is the
/// median of per-round ratios, so machine noise hits every size alike. This curve decides which Jacobi
/// block size can pay off: a block of n needs more than cost(n)/cost(1) tokens per forward.
/// </summary>
internal static class ForwardCostCurve
{
    /// <summary>Measures the curve for <paramref name="sizes"/> (must include 1).</summary>
    public static IReadOnlyList<ForwardCost> Measure(LlamaForCausalLM model, IReadOnlyList<int> sizes, int past = 128, int rounds = 30, int warmup = 5)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sizes);
        if (!sizes.Contains(1))
        {
            throw new ArgumentException("the sizes must include 1, the reference.", nameof(sizes));
        }

        var random = new Random(0);
        long[] RandomIds(int n) => Enumerable.Range(0, n).Select(_ => (long)random.Next(model.Config.VocabSize)).ToArray();
        using var cache = model.CreateCache(past + sizes.Max() + 1);
        using (var _ = NewDisposeScope())
        using (no_grad())
        {
            model.Forward(tensor(RandomIds(past), device: model.Device).view(1, past), cache, lastPositions: 1);
        }

        var times = sizes.ToDictionary(s => s, _ => new List<double>());
        var ratios = sizes.ToDictionary(s => s, _ => new List<double>());
        var inputs = sizes.ToDictionary(s => s, s => RandomIds(s));
        for (int round = 0; round < warmup + rounds; round++)
        {
            var thisRound = new Dictionary<int, double>();
            foreach (var size in sizes.OrderBy(_ => random.Next()))
            {
                using var scope = NewDisposeScope();
                using var grad = no_grad();
                var ids = tensor(inputs[size], device: model.Device).view(1, size);
                var clock = Stopwatch.StartNew();
                var logits = model.Forward(ids, cache);
                _ = logits.topk(2, dim: -1);                                                    // what a decode step reads
                clock.Stop();
                cache.TruncateTo(past);
                thisRound[size] = clock.Elapsed.TotalMilliseconds;
            }

            if (round >= warmup)
            {
                foreach (var size in sizes)
                {
                    times[size].Add(thisRound[size]);
                    ratios[size].Add(thisRound[size] / thisRound[1]);
                }
            }
        }

        return sizes.Select(s => new ForwardCost(s, Median(times[s]), Median(ratios[s]))).ToList();
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

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
