using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cllm.Core;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Evaluation;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using TorchSharp;

namespace Cllm.Reproduction.Shipping;

/// <summary>
/// Copies the pipeline's base model and CLLM into a models folder in half precision (small enough for a repository),
/// loads each copy back into float32 and checks that greedy decoding still gives the float32 model's outputs.
/// </summary>
public static class ModelShipper
{
    /// <summary>The file each shipped folder carries with its <see cref="ShippedModelReport"/>.</summary>
    public const string ReportFileName = "reproduction.json";

    /// <summary>
    /// Writes <c>sql-base</c> and <c>sql-cllm</c> under <paramref name="modelsDir"/> from the pipeline folder
    /// <paramref name="pipelineDir"/>, stored as <paramref name="storeAs"/>, and verifies them on the test split.
    /// </summary>
    public static IReadOnlyList<ShippedModelReport> Ship(string pipelineDir, string modelsDir, torch.ScalarType storeAs, int blockSize, TextWriter log)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pipelineDir);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelsDir);
        ArgumentNullException.ThrowIfNull(log);
        string dataDir = Path.Combine(pipelineDir, "data");
        var encoder = new SqlSequenceEncoder(CllmTokenizer.FromDirectory(Path.Combine(dataDir, "tokenizer")));
        var test = SqlTaskJsonl.Read(Path.Combine(dataDir, "sql-test.jsonl"));
        using var scorer = new ExecutionScorer();
        var evaluator = new SqlEvaluator(encoder, scorer);
        var reports = new List<ShippedModelReport>();
        foreach (var (source, name) in new[] { ("base", "sql-base"), ("cllm", "sql-cllm") })
        {
            string target = Path.Combine(modelsDir, name);
            using var original = ModelFolder.Load(Path.Combine(pipelineDir, source));
            original.Save(target, Path.Combine(pipelineDir, source), storeAs);
            using var shipped = ModelFolder.Load(target);
            var reference = evaluator.Run(original, DecoderOptions.Autoregressive, test);
            var ar = evaluator.Run(shipped, DecoderOptions.Autoregressive, test);
            var jacobi = evaluator.Run(shipped, DecoderOptions.Parse($"jacobi:{blockSize}"), test);
            var report = new ShippedModelReport
            {
                Name = name,
                StoredAs = storeAs == torch.ScalarType.BFloat16 ? "bfloat16" : storeAs == torch.ScalarType.Float16 ? "float16" : storeAs.ToString(),
                WeightBytes = Directory.GetFiles(target, "*.safetensors").Sum(f => new FileInfo(f).Length),
                Tasks = test.Count,
                ArEqualToFloat32 = Same(reference, ar),
                JacobiEqualToAr = Same(ar, jacobi),
                Float32Execution = reference.Score.ExecutionAccuracy,
                ShippedExecution = ar.Score.ExecutionAccuracy,
                JacobiTokensPerForward = jacobi.Results.Sum(r => (double)r.Stats.GeneratedTokens) / jacobi.Results.Sum(r => r.Stats.ForwardPasses),
                BlockSize = blockSize,
            };
            ReportJson.Write(Path.Combine(target, ReportFileName), report);
            log.WriteLine($"{name}: {report.StoredAs}, {report.WeightBytes:N0} bytes; AR = float32 AR on {report.ArEqualToFloat32}/{report.Tasks}; " +
                $"jacobi:{blockSize} = AR on {report.JacobiEqualToAr}/{report.Tasks} ({report.JacobiTokensPerForward:F2} tokens/forward); " +
                $"execution {100 * report.Float32Execution:F1}% (float32) vs {100 * report.ShippedExecution:F1}% (shipped)");
            reports.Add(report);
        }

        return reports;
    }

    private static int Same(SqlDecodeRun a, SqlDecodeRun b) =>
        Enumerable.Range(0, a.Results.Count).Count(i => a.Results[i].OutputIds.SequenceEqual(b.Results[i].OutputIds));
}
