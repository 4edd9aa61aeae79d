using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm;
using Cllm.Core;

namespace Cllm.Benchmarking;

/// <summary>
/// Runs several decoders — on one model, or on several models such as a base and its CLLM — on the same
/// requests in one process, interleaved request by request (the order rotates so drift and caching hit every
/// decoder alike), after one whole warm-up request each, and reports throughput as ratios against
/// autoregressive decoding measured in the same run: of the same model, and of the first (baseline) model.
/// </summary>
public static class DecoderBenchmark
{
    /// <summary>Runs the decoders on one model (rows labelled <c>model</c>); <paramref name="progress"/> receives each finished request.</summary>
    public static (IReadOnlyList<BenchmarkRow> Rows, IReadOnlyList<BenchmarkOutcome> Outcomes) Run(
        LlamaForCausalLM model,
        IReadOnlyList<DecodeRequest> requests,
        IReadOnlyList<DecoderOptions> decoders,
        IProgress<BenchmarkOutcome>? progress = null,
        CancellationToken cancellationToken = default) =>
        Run(new[] { new BenchmarkModel("model", model) }, requests, decoders, progress, cancellationToken);

    /// <summary>
    /// Runs every decoder on every model. The first model is the baseline: <see cref="BenchmarkRow.SpeedupVsBaselineAr"/>
    /// divides by its AR throughput. The models must share a tokenizer (the requests carry token ids).
    /// </summary>
    public static (IReadOnlyList<BenchmarkRow> Rows, IReadOnlyList<BenchmarkOutcome> Outcomes) Run(
        IReadOnlyList<BenchmarkModel> models,
        IReadOnlyList<DecodeRequest> requests,
        IReadOnlyList<DecoderOptions> decoders,
        IProgress<BenchmarkOutcome>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(decoders);
        if (models.Count == 0 || requests.Count == 0 || decoders.Count == 0)
        {
            throw new ArgumentException("a benchmark needs at least one model, one request and one decoder.");
        }

        if (models.Select(m => m.Label).Distinct(StringComparer.Ordinal).Count() != models.Count)
        {
            throw new ArgumentException("benchmark model labels must be unique.", nameof(models));
        }

        // Warm-up: a whole request per decoder, so every forward shape it uses has been seen once (oneDNN
        // builds a kernel per shape; the first call of a shape can cost 10–100x a steady one).
        var built = models.SelectMany(m => decoders.Select(d => (m.Label, Decoder: d.CreateDecoder(m.Model), m.TorchThreads))).ToArray();
        foreach (var (_, decoder, threads) in built)
        {
            UseThreads(threads);
            decoder.DecodeToEnd(requests[0], cancellationToken);
        }

        var outcomes = new List<BenchmarkOutcome>();
        for (int r = 0; r < requests.Count; r++)
        {
            for (int k = 0; k < built.Length; k++)
            {
                var (label, decoder, threads) = built[(r + k) % built.Length];
                UseThreads(threads);
                var outcome = new BenchmarkOutcome(label, decoder.Name, r, decoder.DecodeToEnd(requests[r], cancellationToken));
                outcomes.Add(outcome);
                progress?.Report(outcome);
            }
        }

        bool greedy = requests.All(q => q.Options.Temperature is null or 0);
        double baselineAr = ArSpeed(outcomes, models[0].Label);
        var rows = models.SelectMany(m => Summarize(m.Label, built.Where(b => b.Label == m.Label).Select(b => b.Decoder.Name).Distinct().ToArray(), outcomes, greedy, baselineAr)).ToList();
        if (models.Count > 1)
        {
            // Quality beside speed: how likely the baseline finds each row's text (per generated token). Each distinct
            // continuation is scored once: under greedy decoding every decoder of a model writes the same text.
            var scores = new Dictionary<string, (double Sum, int Tokens)>(StringComparer.Ordinal);
            (double Sum, int Tokens) Score(BenchmarkOutcome o)
            {
                string key = $"{o.Request}:{string.Join(',', o.Result.OutputIds)}";
                if (!scores.TryGetValue(key, out var score))
                {
                    scores[key] = score = ContinuationScorer.NegativeLogLikelihood(models[0].Model, requests[o.Request].PromptIds, o.Result.OutputIds);
                }

                return score;
            }

            rows = rows.Select(row =>
            {
                var scored = outcomes.Where(o => o.Model == row.Model && o.Decoder == row.Decoder).Select(Score).ToList();
                int tokens = scored.Sum(s => s.Tokens);
                return row with { BaselineNll = tokens == 0 ? double.NaN : scored.Sum(s => s.Sum) / tokens };
            }).ToList();
        }

        return (rows, outcomes);
    }

    private static void UseThreads(int? threads)
    {
        if (threads is { } count && TorchSharp.torch.get_num_threads() != count)
        {
            TorchSharp.torch.set_num_threads(count);
        }
    }

    private static double ArSpeed(List<BenchmarkOutcome> outcomes, string model)
    {
        var ar = outcomes.Where(o => o.Model == model && o.Decoder == "ar").ToList();
        return ar.Count == 0 ? double.NaN : ar.Sum(o => o.Result.Stats.GeneratedTokens) / ar.Sum(o => o.Result.Stats.Elapsed.TotalSeconds);
    }

    private static List<BenchmarkRow> Summarize(string model, string[] labels, List<BenchmarkOutcome> all, bool greedy, double baselineAr)
    {
        var outcomes = all.Where(o => o.Model == model).ToList();
        var ar = outcomes.Where(o => o.Decoder == "ar").ToDictionary(o => o.Request, o => o.Result);
        double arSpeed = ArSpeed(all, model);
        var rows = new List<BenchmarkRow>();
        foreach (var label in labels)
        {
            var mine = outcomes.Where(o => o.Decoder == label).ToList();
            var stats = mine.Select(o => o.Result.Stats).ToList();
            int tokens = stats.Sum(s => s.GeneratedTokens);
            int forwards = stats.Sum(s => s.ForwardPasses);
            double seconds = stats.Sum(s => s.Elapsed.TotalSeconds);
            int decodeTokens = tokens - stats.Sum(s => s.PrefillTokens);
            double decodeSeconds = seconds - stats.Sum(s => s.PrefillElapsed.TotalSeconds);
            var withBlocks = stats.Where(s => s.BlockIterations.Count > 0).ToList();
            var blocks = withBlocks.SelectMany(j => j.BlockIterations).ToList();
            double exact = ar.Count == 0 || !greedy
                ? double.NaN
                : mine.Count(o => ar.TryGetValue(o.Request, out var a) && a.OutputIds.SequenceEqual(o.Result.OutputIds)) / (double)mine.Count;
            rows.Add(new BenchmarkRow
            {
                Model = model,
                Decoder = label,
                Requests = mine.Count,
                Tokens = tokens,
                ForwardPasses = forwards,
                Seconds = seconds,
                TokensPerSecond = tokens / seconds,
                DecodeTokensPerSecond = decodeTokens == 0 || decodeSeconds <= 0 ? double.NaN : decodeTokens / decodeSeconds,
                SpeedupVsAr = tokens / seconds / arSpeed,
                SpeedupVsBaselineAr = tokens / seconds / baselineAr,
                TokensPerForward = (double)tokens / forwards,
                IterationsPerBlock = blocks.Count == 0 ? double.NaN : blocks.Average(),
                FastForwarded = withBlocks.Count == 0 ? double.NaN : withBlocks.Average(j => j.FastForwarded),
                Stationary = withBlocks.Count == 0 ? double.NaN : withBlocks.Average(j => j.Stationary),
                AcceptedPerStep = stats.Sum(s => s.AcceptedPerStep * (s.ForwardPasses - 1)) / Math.Max(1, forwards - mine.Count),   // tokens after each prefill per later step
                ExactMatchRate = exact,
                MinLogitMargin = stats.Min(s => s.MinLogitMargin),
                BaselineNll = double.NaN,
            });
        }

        return rows;
    }
}
