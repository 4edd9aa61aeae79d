using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Trainer;

public class ConsistencyTrainerTests
{
    private static readonly Lazy<List<TrajectoryRecord>> Records = new(() =>
    {
        using var teacher = TinyLlama.Create(31, TinyLlama.Config(layers: 1));
        return TinyTrajectories.Collect(teacher, prompts: 6);
    });

    /// <summary>The shared starting model (TinyLlama.Create's own generator gives the same weights in every test), or another one.</summary>
    private static LlamaForCausalLM Model(int seed = 31) => TinyLlama.Create(seed, TinyLlama.Config(layers: 1));

    private static TrainingOptions Options(string? output = null) => new()
    {
        LearningRate = 3e-3,
        BatchSize = 3,
        GradientAccumulation = 2,
        MaxSteps = 12,
        WarmupRatio = 0.1,
        Seed = 7,
        OutputDirectory = output,
        SaveEvery = 4,
        KeepCheckpoints = 0,
        StatesPerRecord = 2,
    };

    private static Dictionary<string, float[]> Weights(LlamaForCausalLM model)
        => model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu().contiguous().view(-1).data<float>().ToArray());

    private static double MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
        => a.Max(kv => kv.Value.Zip(b[kv.Key], (x, y) => (double)Math.Abs(x - y)).DefaultIfEmpty(0).Max());

    [Fact]
    public void CollectedRecordsHaveSeveralStates()
    {
        Assert.True(Records.Value.Count >= 12, $"{Records.Value.Count} records");
        Assert.True(Records.Value.Count(r => r.Trajectory.Count > 2) >= 6);
    }

    [Theory]
    [InlineData(10.0)]
    [InlineData(0.0)]
    public void TrainingLowersTheLoss(double arWeight)
    {
        using var model = Model();
        var options = Options() with { MaxSteps = 40, LearningRate = 1e-2, BatchSize = 4, GradientAccumulation = 1, AutoregressiveWeight = arWeight, StatesPerRecord = 1 };
        var objective = options.CreateObjective();
        var fixedBatch = new ConsistencyBatch(Records.Value.Select(r => ConsistencyExample.FromRecord(r, new ConsistencyPair(0, r.Trajectory.Count - 1))).ToList());
        var before = objective.Evaluate(model, fixedBatch);
        var result = new ConsistencyTrainer(model, options).Train(Records.Value);
        var after = objective.Evaluate(model, fixedBatch);
        Assert.Equal(40, result.Losses.Count);
        Assert.True(after.Total < 0.8 * before.Total, $"loss {before.Total:F3} → {after.Total:F3}");
        if (arWeight == 0)
        {
            Assert.True(after.Consistency < 0.5 * before.Consistency, $"consistency {before.Consistency:F3} → {after.Consistency:F3}");
        }
    }

    [Fact]
    public void SameSeedRepeatsTheRunAndAnotherSeedDoesNot()
    {
        var runs = new[] { 7, 7, 8 }.Select(seed =>
        {
            using var model = Model();
            new ConsistencyTrainer(model, Options() with { Seed = seed, MaxSteps = 4 }).Train(Records.Value);
            return Weights(model);
        }).ToArray();
        Assert.Equal(0.0, MaxDifference(runs[0], runs[1]));
        Assert.True(MaxDifference(runs[0], runs[2]) > 1e-5);
    }

    [Fact]
    public void ResumeAfterACrashEndsWithTheWeightsOfAnUninterruptedRun()
    {
        using var folderA = new TempFolder();
        using var folderB = new TempFolder();
        Dictionary<string, float[]> uninterrupted;
        using (var model = Model())
        {
            new ConsistencyTrainer(model, Options(folderA.Path)).Train(Records.Value);
            uninterrupted = Weights(model);
        }

        // Crash (not a cancellation: nothing is saved) during step 7; checkpoint-4 is the last one.
        using (var model = Model())
        {
            var crash = new SynchronousProgress<TrainingProgress>(p =>
            {
                if (p.Step == 6)
                {
                    throw new IOException("simulated crash");
                }
            });
            Assert.Throws<IOException>(() => new ConsistencyTrainer(model, Options(folderB.Path)).Train(Records.Value, crash));
        }

        Assert.True(Directory.Exists(folderB.File("checkpoint-4")));
        Assert.False(Directory.Exists(folderB.File("checkpoint-8")));

        // A differently initialised model: the weights must come from the checkpoint.
        using (var model = Model(seed: 99))
        {
            var result = new ConsistencyTrainer(model, Options(folderB.Path) with { Resume = true }).Train(Records.Value);
            Assert.Equal(4, result.StartStep);
            Assert.Equal(8, result.Losses.Count);
            Assert.Equal(folderB.File("checkpoint-12"), result.FinalCheckpoint);
            double diff = MaxDifference(uninterrupted, Weights(model));
            Assert.Equal(0.0, diff);                                                           // bit-exact
        }
    }

    [Fact]
    public void CancellationSavesTheCompletedStepsAndResumeFinishesTheRun()
        => ResumeContract.CancelAndResumeEndsWithTheUninterruptedWeights(
            () => Model(), () => Model(seed: 99), Options, (m, o, p, c) => new ConsistencyTrainer(m, o).Train(Records.Value, p, c), cancelAt: 6);

    [Fact]
    public void ResumeRefusesAnotherRunsCheckpoint()
    {
        using var folder = new TempFolder();
        using var model = Model();
        new ConsistencyTrainer(model, Options(folder.Path) with { MaxSteps = 4 }).Train(Records.Value);
        var error = Assert.Throws<InvalidOperationException>(() =>
            new ConsistencyTrainer(model, Options(folder.Path) with { MaxSteps = 4, Seed = 8, Resume = true }).Train(Records.Value));
        Assert.Contains("seed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFreshRunRefusesAFolderHoldingAnotherRunsCheckpointsAndLeavesThemAlone()
    {
        using var folder = new TempFolder();
        using var model = Model();
        new ConsistencyTrainer(model, Options(folder.Path) with { MaxSteps = 6, SaveEvery = 3 }).Train(Records.Value);
        var before = Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { "checkpoint-3", "checkpoint-6" }, before);

        var error = Assert.Throws<InvalidOperationException>(() =>
            new ConsistencyTrainer(model, Options(folder.Path) with { MaxSteps = 2 }).Train(Records.Value));
        Assert.Contains("--resume", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().ToArray());
    }

    [Fact]
    public void CheckpointsAreHuggingFaceFoldersThatLoadBack()
    {
        using var folder = new TempFolder();
        using var model = Model();
        var reports = new List<TrainingProgress>();
        var result = new ConsistencyTrainer(model, Options(folder.Path) with { KeepCheckpoints = 2 }).Train(Records.Value, new SynchronousProgress<TrainingProgress>(reports.Add));

        var names = Directory.GetDirectories(folder.Path).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "checkpoint-12", "checkpoint-8" }, names);
        Assert.Equal(new[] { 4, 8, 12 }, reports.Where(r => r.Checkpoint is not null).Select(r => r.Step));
        foreach (var file in new[] { "config.json", "generation_config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json" })
        {
            Assert.True(File.Exists(Path.Combine(result.FinalCheckpoint!, file)), file);
        }

        using var loaded = new LlamaForCausalLM(HfModelDirectory.Open(result.FinalCheckpoint!).ReadConfig());
        CheckpointLoader.LoadWeights(loaded, HfModelDirectory.Open(result.FinalCheckpoint!), tiedEmbeddings: false);
        Assert.Equal(0.0, MaxDifference(Weights(model), Weights(loaded)));

        // The final model is the output folder itself (as Hugging Face's save_model), checkpoints beside it.
        Assert.Equal(folder.Path, result.Model);
        using var final = new LlamaForCausalLM(HfModelDirectory.Open(folder.Path).ReadConfig());
        CheckpointLoader.LoadWeights(final, HfModelDirectory.Open(folder.Path), tiedEmbeddings: false);
        Assert.Equal(0.0, MaxDifference(Weights(model), Weights(final)));

        Assert.All(reports, r => Assert.Equal(12, r.TotalSteps));
        Assert.Equal(Enumerable.Range(1, 12), reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.True(r.TokensPerSecond > 0 && r.LearningRate > 0 && r.GradientNorm > 0));
        Assert.Equal(TimeSpan.Zero, reports[^1].Eta);
    }

    [SkippableFact]
    public void CheckpointsCarryTheBaseModelsTokenizer()
    {
        using var folder = new TempFolder();
        var directory = HfModelDirectory.Open(ShippedModels.Stories260K);
        using var model = new LlamaForCausalLM(directory.ReadConfig());
        CheckpointLoader.LoadWeights(model, directory, tiedEmbeddings: true);
        var records = Records.Value.Select(r => r with { }).ToList();
        var result = new ConsistencyTrainer(model, Options(folder.Path) with { MaxSteps = 1, TokenizerSource = ShippedModels.Stories260K }).Train(records);
        Assert.True(File.Exists(Path.Combine(result.FinalCheckpoint!, "tokenizer.model")));
        using var engine = CllmBuilder.FromCheckpoint(result.FinalCheckpoint!).Build();
        Assert.NotEmpty(engine.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 4 }).OutputIds);
    }

    [Theory]
    [InlineData(TrainingObjective.Consistency)]
    [InlineData(TrainingObjective.JacobiForcing)]
    public void LiveTensorCountStaysFlatAcrossSteps(TrainingObjective objective)
    {
        using var model = Model();
        // Per-thread net counts (made minus disposed on this thread): their sign means nothing, since a test thread may
        // dispose tensors that another thread made; only equality across steps does.
        long? atStep3 = null, atStep12 = null;
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var watch = new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Step == 3)
            {
                atStep3 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }

            if (p.Step == 12)
            {
                atStep12 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
        });
        new ConsistencyTrainer(model, Options() with { Objective = objective, MaxSteps = 12 }).Train(Records.Value, watch);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.NotNull(atStep3);
        Assert.Equal(atStep3, atStep12);
        Assert.Equal(before, after);
    }

    [Fact]
    public void RejectsRecordsOutsideTheVocabulary()
    {
        using var model = Model();
        var bad = Records.Value[0] with { PromptIds = new[] { 1, 500 }, TeacherOutputIds = new[] { 1, 500 }.Concat(Records.Value[0].FixedPoint).ToArray() };
        var error = Assert.Throws<ArgumentException>(() => new ConsistencyTrainer(model, Options()).Train(new[] { bad }));
        Assert.Contains("record 0", error.Message, StringComparison.Ordinal);
    }
}
