using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// The auto setting of multiblock decoding: n, K and P from the model's measured forward-cost curve. The token budget
/// of one forward, B, is the largest measured T whose forward costs at most <see cref="CostBudget"/> times a 1-token
/// forward: a forward must emit more tokens than it costs AR steps, and a consistency-trained model's Jacobi forward
/// emits about 3–4 (sql-cllm: 3.7 with jacobi:16), so wider forwards cannot pay. On a CPU B is small (16 for the shipped
/// models on 2 cores), on a GPU large. The budget goes to the block size first, then to more blocks, then to recycled
/// candidates (a forward feeds at most K·n + P·(n − 1) tokens): n is the largest of 4, 8, 16, 32 within B (else B, at
/// least 2), K = B / n (at most 4), and P the candidates of n − 1 tokens that still fit (at most 4).
/// </summary>
internal static class MultiblockPlan
{
    /// <summary>Most cost of one forward, in 1-token forwards.</summary>
    public const double CostBudget = 3.0;

    private static readonly int[] BlockSizes = { 32, 16, 8, 4 };
    private static readonly ConditionalWeakTable<LlamaForCausalLM, IReadOnlyList<ForwardCost>> Curves = new();

    /// <summary>B: the largest measured T within <see cref="CostBudget"/> (1 when only T = 1 is).</summary>
    public static int Budget(IReadOnlyList<ForwardCost> curve)
    {
        ArgumentNullException.ThrowIfNull(curve);
        var one = curve.FirstOrDefault(c => c.Tokens == 1) ?? throw new ArgumentException("the forward-cost curve must include T = 1.", nameof(curve));
        double unit = Math.Max(one.CostVsOne, 1e-9);
        return curve.Where(c => c.Tokens >= 1 && c.CostVsOne / unit <= CostBudget).Max(c => c.Tokens);
    }

    /// <summary>The settings for <paramref name="curve"/>, keeping <paramref name="options"/>' spawn ratio, guesses and seed.</summary>
    public static MultiblockOptions Choose(IReadOnlyList<ForwardCost> curve, MultiblockOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int budget = Budget(curve);
        int n = BlockSizes.FirstOrDefault(size => size <= budget, Math.Clamp(budget, 2, 32));
        int blocks = Math.Clamp(budget / n, 1, 4);
        int pool = Math.Clamp((budget - blocks * n) / (n - 1), 0, 4);
        return options with { Auto = false, BlockSize = n, Blocks = blocks, PoolSize = pool };
    }

    /// <summary>The settings for <paramref name="model"/>: its curve (T = 1 … 64) is measured on the first call, about 10 rounds.</summary>
    public static MultiblockOptions For(LlamaForCausalLM model, MultiblockOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyList<ForwardCost> curve;
        lock (Curves)
        {
            if (!Curves.TryGetValue(model, out curve!))
            {
                int context = model.Config.MaxPositionEmbeddings;
                var sizes = new[] { 1, 2, 4, 8, 16, 24, 32, 48, 64 }.Where(s => s == 1 || s < context / 2).ToArray();
                curve = ForwardCostCurve.Measure(model, sizes, past: Math.Min(64, context / 2), rounds: 10, warmup: 3);
                Curves.Add(model, curve);
            }
        }

        return Choose(curve, options);
    }
}
