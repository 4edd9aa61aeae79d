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
        Line($"- CLLM: {training.Steps} steps of {training.BatchSize} records, peak lr {training.LearningRate}, global consistency (forward KL) + {training.ArWeight} x AR ({(training.AnswerOnlyAr ? "answer tokens only, no label smoothing; the sample's AnswerCllmTrainer" : "whole sequence, library ConsistencyTrainer")}): consistency loss {training.FirstConsistency:F3} → {training.LastConsistency:F3}, AR loss {training.FirstAutoregressive:F3} → {training.LastAutoregressive:F3} (means of the first and last 20 steps).");
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
