using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Modeling;

namespace Cllm.Benchmarking;

/// <summary>
/// Runs several decoders on the same requests in one process, interleaved request by request (the
/// order rotates so drift and caching hit every decoder alike), after one whole warm-up request each, and
/// reports throughput as ratios against autoregressive decoding measured in the same run.
/// </summary>
public static class DecoderBenchmark
{
    /// <summary>Per-request outcome: decoder label, request index, result.</summary>
    public sealed record RequestOutcome(string Decoder, int Request, DecodeResult Result);

    /// <summary>Runs the benchmark; <paramref name="progress"/> receives each finished request.</summary>
    public static (IReadOnlyList<BenchmarkRow> Rows, IReadOnlyList<RequestOutcome> Outcomes) Run(
        LlamaForCausalLM model,
        IReadOnlyList<DecodeRequest> requests,
        IReadOnlyList<DecoderOptions> decoders,
        IProgress<RequestOutcome>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(decoders);
        if (requests.Count == 0 || decoders.Count == 0)
        {
            throw new ArgumentException("a benchmark needs at least one request and one decoder.");
        }

        // Warm-up: a whole request per decoder, so every forward shape it uses has been seen once (oneDNN
        // builds a kernel per shape; the first call of a shape can cost 10–100x a steady one).
        var built = decoders.Select(d => d.CreateDecoder(model)).ToArray();
        foreach (var decoder in built)
        {
            decoder.DecodeToEnd(requests[0], cancellationToken);
        }

        var outcomes = new List<RequestOutcome>();
        for (int r = 0; r < requests.Count; r++)
        {
            for (int k = 0; k < built.Length; k++)
            {
                var decoder = built[(r + k) % built.Length];
                var outcome = new RequestOutcome(decoder.Name, r, decoder.DecodeToEnd(requests[r], cancellationToken));
                outcomes.Add(outcome);
                progress?.Report(outcome);
            }
        }

        return (Summarize(built.Select(d => d.Name).ToArray(), outcomes, requests.All(q => q.Sampling.IsGreedy)), outcomes);
    }

    private static List<BenchmarkRow> Summarize(string[] labels, List<RequestOutcome> outcomes, bool greedy)
    {
        var ar = outcomes.Where(o => o.Decoder == "ar").ToDictionary(o => o.Request, o => o.Result);
        double arSpeed = ar.Count == 0 ? double.NaN : ar.Values.Sum(r => r.Stats.GeneratedTokens) / ar.Values.Sum(r => r.Stats.Elapsed.TotalSeconds);
        var rows = new List<BenchmarkRow>();
        foreach (var label in labels)
        {
            var mine = outcomes.Where(o => o.Decoder == label).ToList();
            var stats = mine.Select(o => o.Result.Stats).ToList();
            int tokens = stats.Sum(s => s.GeneratedTokens);
            int forwards = stats.Sum(s => s.ForwardPasses);
            double seconds = stats.Sum(s => s.Elapsed.TotalSeconds);
            var blocks = stats.SelectMany(s => s.BlockIterations).ToList();
            var withBlocks = stats.Where(s => s.BlockIterations.Count > 0).ToList();
            double exact = ar.Count == 0 || !greedy
                ? double.NaN
                : mine.Count(o => ar.TryGetValue(o.Request, out var a) && a.OutputIds.SequenceEqual(o.Result.OutputIds)) / (double)mine.Count;
            rows.Add(new BenchmarkRow
            {
                Decoder = label,
                Requests = mine.Count,
                Tokens = tokens,
                ForwardPasses = forwards,
                Seconds = seconds,
                TokensPerSecond = tokens / seconds,
                SpeedupVsAr = tokens / seconds / arSpeed,
                TokensPerForward = (double)tokens / forwards,
                IterationsPerBlock = blocks.Count == 0 ? double.NaN : blocks.Average(),
                FastForwarded = withBlocks.Count == 0 ? double.NaN : withBlocks.Average(s => s.FastForwarded),
                Stationary = withBlocks.Count == 0 ? double.NaN : withBlocks.Average(s => s.Stationary),
                AcceptedPerStep = (double)(tokens - mine.Count) / Math.Max(1, forwards - mine.Count),
                ExactMatchRate = exact,
                MinLogitMargin = stats.Min(s => s.MinLogitMargin),
            });
        }

        return rows;
    }
}
