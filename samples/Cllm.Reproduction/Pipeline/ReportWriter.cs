using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Cllm.Reproduction.Pipeline;

/// <summary>Writes the pipeline's markdown report: machine, settings, stage wall times and the paper-style table.</summary>
public static class ReportWriter
{
    /// <summary>The report of one pipeline output folder.</summary>
    public static string Markdown(
        ReproductionSettings settings,
        IReadOnlyList<StageTiming> timings,
        PretrainSummary pretrain,
        CollectionReport collection,
        CllmTrainingReport training,
        EvaluationReport evaluation)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(timings);
        ArgumentNullException.ThrowIfNull(pretrain);
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(evaluation);
        var md = new StringBuilder();
        void Line(FormattableString text) => md.AppendLine(text.ToString(CultureInfo.InvariantCulture));

        Line($"## Machine");
        Line($"");
        Line($"- CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores; libtorch threads: {settings.Threads}");
        Line($"- {RuntimeInformation.OSDescription}, .NET {Environment.Version}, TorchSharp (CPU libtorch)");
        Line($"");
        Line($"## Targets");
        Line($"");
        foreach (var (target, met, value) in Targets(settings, timings, evaluation))
        {
            Line($"- {(met ? "met" : "**missed**")}: {target} — {value}");
        }

        Line($"");
        Line($"## Stage wall times");
        Line($"");
        Line($"| stage | minutes |");
        Line($"|---|---:|");
        foreach (var t in timings)
        {
            Line($"| {t.Stage} | {t.Seconds / 60:F1} |");
        }

        Line($"| **total** | **{timings.Sum(t => t.Seconds) / 60:F1}** |");
        Line($"");
        Line($"## Stages");
        Line($"");
        Line($"- Base model {pretrain.Shape} ({pretrain.Parameters:N0} parameters), {pretrain.Steps} AdamW steps of {pretrain.BatchSize} sequences, peak lr {pretrain.LearningRate}, loss on {(pretrain.AnswerOnly ? "answer tokens only" : "all tokens")}: final loss {pretrain.FinalLoss:F4}, dev execution accuracy {100 * pretrain.DevExecution:F1}% (exact {100 * pretrain.DevExact:F1}%, {pretrain.DevTasks} tasks).");
        Line($"- Trajectories: {collection.Prompts} training prompts, n = {collection.BlockSize}, {collection.Records} records ({collection.Dropped} dropped by cleaning), {collection.States} non-final states; the base model's Jacobi ran at {collection.TokensPerForward:F2} tokens per forward during collection; augmentation {(collection.Augment ? "on" : "off")}.");
        Line($"- CLLM: {training.Steps} steps of {training.BatchSize} records, peak lr {training.LearningRate}, global consistency (forward KL) + {training.ArWeight} x AR ({(training.AnswerOnlyAr ? "answer tokens only" : "whole sequence")}, label smoothing {settings.Resolved().CllmLabelSmoothing}): consistency loss {training.FirstConsistency:F3} → {training.LastConsistency:F3}, AR loss {training.FirstAutoregressive:F3} → {training.LastAutoregressive:F3} (means of the first and last 20 steps).");
        Line($"");
        Line($"## Forward cost and block size");
        Line($"");
        Line($"| tokens in one forward | {string.Join(" | ", evaluation.CostCurve.Select(p => ((int)p[0]).ToString(CultureInfo.InvariantCulture)))} |");
        Line($"|---|{string.Concat(evaluation.CostCurve.Select(_ => "---:|"))}");
        Line($"| cost relative to 1 | {string.Join(" | ", evaluation.CostCurve.Select(p => p[1].ToString("F2", CultureInfo.InvariantCulture)))} |");
        Line($"");
        Line($"| CLLM Jacobi n (dev) | tokens / forward | cost(n) | estimate = tokens per forward / cost | measured tokens/s |");
        Line($"|---:|---:|---:|---:|---:|");
        foreach (var c in evaluation.BlockSearch)
        {
            Line($"| {c.BlockSize}{(c.BlockSize == evaluation.ChosenBlockSize ? " (chosen)" : "")} | {c.TokensPerForward:F2} | {c.CostVsOne:F2} | {c.EstimatedSpeedup:F2} | {c.MeasuredTokensPerSecond:F0} |");
        }

        Line($"");
        Line($"## Test table ({evaluation.Rows.FirstOrDefault()?.Tasks ?? 0} tasks, greedy, batch size 1, interleaved in one process)");
        Line($"");
        Line($"| model | decoder | execution acc. | exact match | = own AR | tokens / forward | fast-forwarded | stationary | iterations / block | tokens/s | speedup vs base AR | vs own AR |");
        Line($"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in evaluation.Rows)
        {
            Line($"| {r.Model} | {r.Decoder} | {100 * r.ExecutionAccuracy:F1}% | {100 * r.ExactMatch:F1}% | {100 * r.EqualsOwnAr:F1}% | {r.TokensPerForward:F2} | {Na(r.FastForwarded)} | {Na(r.Stationary)} | {Na(r.IterationsPerBlock)} | {r.TokensPerSecond:F0} | {r.SpeedupVsBaseAr:F2}x | {r.SpeedupVsOwnAr:F2}x |");
        }

        Line($"");
        Line($"Outputs that differ from the same model's AR output: {(evaluation.Mismatches.Count == 0 ? "none" : string.Join("; ", evaluation.Mismatches))}.");
        Line($"");
        Line($"## Settings");
        Line($"");
        md.AppendLine("```json");
        md.AppendLine(JsonSerializer.Serialize(settings, ReportJson.Options));
        md.AppendLine("```");
        return md.ToString();
    }

    /// <summary>The brief's targets, each with whether it was met and the measured value.</summary>
    public static List<(string Target, bool Met, string Value)> Targets(ReproductionSettings settings, IReadOnlyList<StageTiming> timings, EvaluationReport evaluation)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(timings);
        ArgumentNullException.ThrowIfNull(evaluation);
        var rows = evaluation.Rows;
        var targets = new List<(string, bool, string)>();
        string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
        var baseAr = rows.FirstOrDefault(r => r.Model == "base" && r.Decoder == "ar");
        var cllmAr = rows.FirstOrDefault(r => r.Model == "cllm" && r.Decoder == "ar");
        var cllmJacobi = rows.Where(r => r.Model == "cllm" && r.Decoder.StartsWith("jacobi", StringComparison.Ordinal)).ToList();
        var n16 = cllmJacobi.FirstOrDefault(r => r.Decoder == $"jacobi:{settings.BlockSize}");
        var chosen = cllmJacobi.FirstOrDefault(r => r.Decoder == $"jacobi:{evaluation.ChosenBlockSize}");
        if (baseAr is null || cllmAr is null || n16 is null || chosen is null)
        {
            return targets;
        }

        targets.Add(("CLLM greedy Jacobi output = CLLM greedy AR output on every test prompt", cllmJacobi.All(r => r.EqualsOwnAr == 1),
            string.Join(", ", cllmJacobi.Select(r => F($"{r.Decoder}: {r.EqualsOwnAr * r.Tasks:F0}/{r.Tasks}")))));
        double drop = baseAr.ExecutionAccuracy - cllmAr.ExecutionAccuracy;
        targets.Add(("CLLM execution accuracy within 2 points of the base", drop <= 0.02 + 1e-9,
            F($"{100 * cllmAr.ExecutionAccuracy:F1}% vs {100 * baseAr.ExecutionAccuracy:F1}% ({(drop == 0 ? 0.0 : -100 * drop):+0.0;-0.0;0.0} points)")));
        targets.Add((F($"CLLM Jacobi n = {settings.BlockSize} at ≥ 3.0 tokens per forward (base ~1)"), n16.TokensPerForward >= 3.0,
            F($"{n16.TokensPerForward:F2} (base {rows.First(r => r.Model == "base" && r.Decoder == n16.Decoder).TokensPerForward:F2})")));
        targets.Add((F($"CLLM Jacobi (n = {evaluation.ChosenBlockSize}, chosen from the cost curve) ≥ 1.5x faster than AR (aim 2x)"), chosen.SpeedupVsBaseAr >= 1.5,
            F($"{chosen.SpeedupVsBaseAr:F2}x vs base AR, {chosen.SpeedupVsOwnAr:F2}x vs the CLLM's own AR")));
        double minutes = timings.Sum(t => t.Seconds) / 60;
        targets.Add(("whole pipeline under 60 minutes on this machine", minutes < 60, F($"{minutes:F1} min")));
        return targets;
    }

    private static string Na(double value) => double.IsNaN(value) ? "–" : value.ToString("F2", CultureInfo.InvariantCulture);

    private static string CpuModel()
    {
        try
        {
            var line = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
            return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
