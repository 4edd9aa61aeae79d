using System;
using System.IO;
using System.Linq;
using Cllm.Reproduction.Pipeline;
using Cllm.Reproduction.Shipping;
using Cllm.Tests.TestKit;
using TorchSharp;

namespace Cllm.Reproduction.Tests;

/// <summary>
/// Every stage of the reproduction on the tiny configuration (well under a minute): data, base model, trajectories,
/// CLLM, evaluation table, report, resume, and shipping in half precision.
/// </summary>
public sealed class PipelineTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_tiny_pipeline_runs_every_stage_resumes_and_ships()
    {
        var settings = ReproductionSettings.Tiny;
        string output = _folder.File("run");
        var log = new StringWriter();
        var pipeline = new ReproductionPipeline(output, settings, log);
        var evaluation = pipeline.Run();

        // Every stage left its outputs and its summary.
        foreach (var file in new[] { "data/sql-test.jsonl", "data/tokenizer/tokenizer.json", "base/model.safetensors", "base/pretrain.json",
                     "trajectories/trajectories.jsonl", "trajectories/summary.json", "cllm/model.safetensors", "cllm/training.json", "eval/results.json", "report.md" })
        {
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        }

        Assert.False(Directory.Exists(Path.Combine(output, "cllm-checkpoints")));
        Assert.All(pipeline.Timings, t => Assert.False(t.SkippedNow));
        var collection = ReportJson.Read<CollectionReport>(Path.Combine(output, "trajectories", "summary.json"));
        Assert.Equal(settings.CollectPrompts, collection.Prompts);
        Assert.True(collection.Records >= settings.CollectPrompts);

        // The table: base and CLLM × AR, Jacobi (16 and the chosen n), lookahead; greedy Jacobi reproduces AR.
        Assert.Contains(evaluation.ChosenBlockSize, settings.BlockSizes);
        Assert.Equal(settings.BlockSizes.Count, evaluation.BlockSearch.Count);
        var decoders = evaluation.ChosenBlockSize == 16 ? 3 : 4;
        Assert.Equal(2 * decoders, evaluation.Rows.Count);
        Assert.All(evaluation.Rows, r => Assert.Equal(settings.EvalTasks, r.Tasks));
        var baseAr = evaluation.Rows.Single(r => r.Model == "base" && r.Decoder == "ar");
        Assert.Equal(1.0, baseAr.SpeedupVsBaseAr, 9);
        Assert.All(evaluation.Rows, r => Assert.True(r.EqualsOwnAr >= 0.75, $"{r.Model} {r.Decoder}: {r.EqualsOwnAr}"));
        string report = File.ReadAllText(pipeline.ReportPath);
        Assert.Contains("| cllm | jacobi:16 |", report, StringComparison.Ordinal);
        Assert.Contains("## Stage wall times", report, StringComparison.Ordinal);
        Assert.Contains("\"cllm_label_smoothing\": 0,", report, StringComparison.Ordinal);     // the answer trainer smooths nothing

        // The folder records its settings; a rerun with other settings is refused before touching anything.
        Assert.Empty(SettingsFile.Differences(pipeline.SettingsPath, settings));
        var reportWritten = File.GetLastWriteTimeUtc(pipeline.ReportPath);
        var changed = new ReproductionPipeline(output, settings with { CllmEpochs = 2, Pretrain = settings.Pretrain with { Steps = 31 } }, new StringWriter());
        var refused = Assert.Throws<InvalidOperationException>(() => changed.Run());
        Assert.Contains("pretrain.steps (30 → 31), cllm_epochs (1 → 2); use a new --output", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.Empty(changed.Timings);
        Assert.Equal(reportWritten, File.GetLastWriteTimeUtc(pipeline.ReportPath));

        // A rerun with the same settings finds every stage done and only rewrites the report.
        var again = new ReproductionPipeline(output, settings, new StringWriter());
        var second = again.Run();
        Assert.All(again.Timings, t => Assert.True(t.SkippedNow));
        Assert.Equal(evaluation.ChosenBlockSize, second.ChosenBlockSize);

        // The same stage with the AR loss on the whole sequence (as the reference): other settings, so
        // only after the stages they change and settings.json are deleted (the pipeline then records the new ones).
        File.Delete(Path.Combine(output, "cllm", "training.json"));
        File.Delete(Path.Combine(output, "eval", "results.json"));
        File.Delete(pipeline.SettingsPath);
        var libraryLog = new StringWriter();
        var library = new ReproductionPipeline(output, settings with { CllmAnswerOnlyAr = false }, libraryLog);
        library.Run();
        Assert.Contains("settings.json missing", libraryLog.ToString(), StringComparison.Ordinal);
        Assert.Empty(SettingsFile.Differences(library.SettingsPath, library.Settings));
        Assert.Contains("\"cllm_label_smoothing\": 0.1,", File.ReadAllText(library.ReportPath), StringComparison.Ordinal);
        Assert.False(ReportJson.Read<CllmTrainingReport>(Path.Combine(output, "cllm", "training.json")).AnswerOnlyAr);
        Assert.False(Directory.Exists(Path.Combine(output, "cllm-checkpoints")));
        Assert.Equal(new[] { true, true, true, false, false }, library.Timings.Select(t => t.SkippedNow));

        // Shipping: half-precision folders that load back into float32 and decode.
        string models = _folder.File("models");
        var shipped = ModelShipper.Ship(output, models, torch.ScalarType.Float16, 16, new StringWriter());
        Assert.Equal(new[] { "sql-base", "sql-cllm" }, shipped.Select(s => s.Name));
        foreach (var s in shipped)
        {
            Assert.Equal("float16", s.StoredAs);
            Assert.True(File.Exists(Path.Combine(models, s.Name, "tokenizer.json")));
            Assert.True(File.Exists(Path.Combine(models, s.Name, ModelShipper.ReportFileName)));
            var float32 = new FileInfo(Path.Combine(output, s.Name == "sql-base" ? "base" : "cllm", "model.safetensors")).Length;
            Assert.True(s.WeightBytes < 0.6 * float32, $"{s.WeightBytes} vs {float32}");
            Assert.Equal(settings.TestTasks, s.Tasks);
        }
    }
}
