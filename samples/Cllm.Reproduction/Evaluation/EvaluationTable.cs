using System;
using System.Collections.Generic;
using System.Linq;
using Cllm;
using Cllm.Reproduction.Sql;

namespace Cllm.Reproduction.Evaluation;

/// <summary>Turns interleaved decode results into the paper-style rows.</summary>
public static class EvaluationTable
{
    /// <summary>
    /// One row per setup. Speedups divide tokens per second by the AR setup of the base model (the paper's speedup) and
    /// of the same model; accuracy is scored on <paramref name="tasks"/>.
    /// </summary>
    public static List<EvaluationRow> Build(IReadOnlyList<DecodeSetup> setups, IReadOnlyList<SqlTask> tasks, IReadOnlyList<IReadOnlyList<DecodeResult>> results, SqlEvaluator evaluator)
    {
        ArgumentNullException.ThrowIfNull(setups);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(evaluator);
        double Speed(IReadOnlyList<DecodeResult> r) => r.Sum(x => (double)x.Stats.GeneratedTokens) / r.Sum(x => x.Stats.Elapsed.TotalSeconds);
        int ArOf(string model) => setups.ToList().FindIndex(s => s.ModelName == model && s.Decoder is AutoregressiveOptions);
        int baseAr = ArOf("base");
        double baseSpeed = baseAr < 0 ? double.NaN : Speed(results[baseAr]);
        var rows = new List<EvaluationRow>();
        for (int i = 0; i < setups.Count; i++)
        {
            var mine = results[i];
            var stats = mine.Select(r => r.Stats).ToList();
            var run = evaluator.Score(setups[i].Decoder.Label, tasks, mine);
            int ownAr = ArOf(setups[i].ModelName);
            double equal = ownAr < 0 ? double.NaN : Enumerable.Range(0, mine.Count).Count(r => mine[r].OutputIds.SequenceEqual(results[ownAr][r].OutputIds)) / (double)mine.Count;
            var jacobi = stats.Where(s => s.BlockIterations.Count > 0).ToList();
            long tokens = stats.Sum(s => (long)s.GeneratedTokens);
            long forwards = stats.Sum(s => (long)s.ForwardPasses);
            double seconds = stats.Sum(s => s.Elapsed.TotalSeconds);
            rows.Add(new EvaluationRow
            {
                Model = setups[i].ModelName,
                Decoder = setups[i].Decoder.Label,
                Tasks = mine.Count,
                ExecutionAccuracy = run.Score.ExecutionAccuracy,
                ExactMatch = run.Score.ExactMatchAccuracy,
                EqualsOwnAr = equal,
                Tokens = tokens,
                ForwardPasses = forwards,
                TokensPerForward = (double)tokens / forwards,
                FastForwarded = jacobi.Count == 0 ? double.NaN : jacobi.Average(s => s.FastForwarded),
                Stationary = jacobi.Count == 0 ? double.NaN : jacobi.Average(s => s.Stationary),
                IterationsPerBlock = jacobi.Count == 0 ? double.NaN : jacobi.SelectMany(j => j.BlockIterations).Average(),
                Seconds = seconds,
                TokensPerSecond = tokens / seconds,
                SpeedupVsBaseAr = tokens / seconds / baseSpeed,
                SpeedupVsOwnAr = ownAr < 0 ? double.NaN : tokens / seconds / Speed(results[ownAr]),
            });
        }

        return rows;
    }
}
