using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;
using static Cllm.ForwardCostMeasurement;

namespace Cllm.Benchmarking;

/// <summary>
/// Where one forward's time goes: milliseconds per op class (embedding, norms, q/k/v projection, …) per forward of T tokens with
/// <c>past</c> tokens cached, the decoder's readback (top-2 and the copy to the host), the unprofiled wall time,
/// and the cost of one tiny libtorch op from C# (the managed + dispatch overhead every op pays).
/// </summary>
public static class ForwardBreakdown
{
    /// <summary>Measures <paramref name="tokens"/>-token forwards on <paramref name="model"/>.</summary>
    public static ForwardBreakdownResult Measure(LlamaForCausalLM model, int tokens, int past = 128, int rounds = 100, int warmup = 10)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        var random = new Random(0);
        long[] RandomIds(int n) => Enumerable.Range(0, n).Select(_ => (long)random.Next(model.Config.VocabSize)).ToArray();
        using var cache = model.CreateCache(past + tokens + 1);
        using (var _ = NewDisposeScope())
        using (inference_mode())
        {
            model.Forward(tensor(RandomIds(past)).view(1, past), cache, lastPositions: 1);
        }

        var ids = RandomIds(tokens);
        var wall = new List<double>();
        var readback = new List<double>();
        var perOp = Enum.GetValues<ForwardOp>().ToDictionary(op => op, _ => new List<double>());
        bool wasEnabled = ForwardProfiler.Enabled;
        try
        {
            // Unprofiled wall time, then the profiled rounds.
            for (int round = 0; round < warmup + rounds; round++)
            {
                using var scope = NewDisposeScope();
                using var inference = inference_mode();
                var clock = Stopwatch.StartNew();
                Step(model, cache, ids);
                clock.Stop();
                cache.TruncateTo(past);
                if (round >= warmup)
                {
                    wall.Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            ForwardProfiler.Reset();
            ForwardProfiler.Enabled = true;
            for (int round = 0; round < rounds; round++)
            {
                using var scope = NewDisposeScope();
                using var inference = inference_mode();
                var before = ForwardProfiler.Snapshot();
                readback.Add(Step(model, cache, ids));
                cache.TruncateTo(past);
                var after = ForwardProfiler.Snapshot();
                foreach (var (op, list) in perOp)
                {
                    list.Add(after[(int)op] - before[(int)op]);
                }
            }
        }
        finally
        {
            ForwardProfiler.Enabled = wasEnabled;
        }

        var ops = perOp.Select(kv => (kv.Key.ToString(), Median(kv.Value))).ToList();
        return new ForwardBreakdownResult(tokens, Median(wall), Median(readback), ops, TinyOpMicroseconds());
    }

    /// <summary>
    /// What a forward of T tokens costs relative to one token on <paramref name="model"/> and this machine, T over
    /// <paramref name="sizes"/> (which must include 1), after <paramref name="past"/> cached tokens: per T its median wall
    /// time and its median ratio to a 1-token forward measured alongside (sizes interleaved in each round).
    /// </summary>
    public static IReadOnlyList<(int Tokens, double MedianMilliseconds, double CostVsOne)> CostCurve(LlamaForCausalLM model, IReadOnlyList<int> sizes, int past = 128)
        => ForwardCostCurve.Measure(model, sizes, past: past).Select(c => (c.Tokens, c.MedianMilliseconds, c.CostVsOne)).ToList();

    /// <summary>One decode step's model work: forward, top-2, ids and margins to the host. Returns the readback's milliseconds.</summary>
    private static double Step(LlamaForCausalLM model, KvCache cache, long[] ids)
    {
        var logits = model.Forward(tensor(ids).view(1, ids.Length), cache)[0];              // (T, V)
        var clock = Stopwatch.StartNew();
        var (top, index) = logits.topk(2, dim: -1);                                      // (T, 2), read as the decoder does
        _ = index.data<long>().ToArray();
        _ = top.data<float>().ToArray();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static double TinyOpMicroseconds()
    {
        using var a = ones(1);
        using var b = ones(1);
        using var one = 1.ToScalar();
        var samples = new List<double>();
        for (int round = 0; round < 20; round++)
        {
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                for (int i = 0; i < 200; i++)
                {
                    _ = a.add(b, one);
                }
            }

            samples.Add(clock.Elapsed.TotalMilliseconds * 1000 / 200);
        }

        return Median(samples);
    }
}
