using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tests.Training.Trainer;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.JacobiForcing;

/// <summary>The Jacobi Forcing objective on the trainer's step loop: learning, repeatability, resume.</summary>
public class JacobiForcingTrainerTests
{
    private static readonly Lazy<List<TrajectoryRecord>> Records = new(() =>
    {
        using var teacher = TinyLlama.Create(31, TinyLlama.Config(layers: 1));
        return TinyTrajectories.Collect(teacher, prompts: 6, blockSize: 4, maxNewTokens: 16);
    });

    private static LlamaForCausalLM Model(int seed = 31) => TinyLlama.Create(seed, TinyLlama.Config(layers: 1));

    private static TrainingOptions Options(string? output = null) => new()
    {
        Objective = TrainingObjective.JacobiForcing,
        NoiseWindow = 3,
        LearningRate = 3e-3,
        AutoregressiveWeight = 1,
        BatchSize = 2,
        GradientAccumulation = 2,
        MaxSteps = 10,
        WarmupRatio = 0.1,
        Seed = 7,
        OutputDirectory = output,
        SaveEvery = 4,
        KeepCheckpoints = 0,
    };

    private static double MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
        => a.Max(kv => kv.Value.Zip(b[kv.Key], (x, y) => (double)Math.Abs(x - y)).DefaultIfEmpty(0).Max());

    private static List<JacobiForcingSequence> AllSequences(TrainingOptions options)
        => JacobiForcingSequence.Chains(Records.Value, options.NoiseWindow)
            .Select(c => JacobiForcingSequence.FromChain(c.Select(i => Records.Value[i]).ToArray(), options.NoiseWindow, options.MinNoise, options.MaxNoise, answerOnly: false))
            .ToList();

    [Fact]
    public void CollectedRecordsFormMultiBlockChainsWithNoisyStates()
    {
        var sequences = AllSequences(Options());
        Assert.True(sequences.Count(s => s.Blocks > 1) >= 4, $"{sequences.Count(s => s.Blocks > 1)} chains of several blocks");
        Assert.True(sequences.Sum(s => s.ConsistencyRows().Count) >= 10);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public void TrainingLowersTheLoss(double arWeight)
    {
        using var model = Model();
        var options = Options() with { MaxSteps = 40, LearningRate = 1e-2, GradientAccumulation = 1, AutoregressiveWeight = arWeight };
        var objective = new JacobiForcingObjective(new AutoregressiveLoss(options.LabelSmoothing), arWeight);
        var all = AllSequences(options);
        var before = objective.Evaluate(model, all);
        var result = new ConsistencyTrainer(model, options).Train(Records.Value);
        var after = objective.Evaluate(model, all);
        Assert.Equal(40, result.Losses.Count);
        Assert.True(after.Total < 0.8 * before.Total, $"loss {before.Total:F3} → {after.Total:F3}");
        Assert.True(after.Consistency < 0.8 * before.Consistency, $"consistency {before.Consistency:F3} → {after.Consistency:F3}");
    }

    [Fact]
    public void BatchGradientIsTheMeanOfTheSequencesGradients()
    {
        using var model = Model();
        var objective = new JacobiForcingObjective(new AutoregressiveLoss(0.1), 1);
        var all = AllSequences(Options()).Take(2).ToList();
        Dictionary<string, float[]> Gradient(IReadOnlyList<JacobiForcingSequence> batch, double scale)
        {
            foreach (var p in model.parameters())
            {
                p.grad?.zero_();
            }

            objective.Backward(model, batch, scale);
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.contiguous().view(-1).data<float>().ToArray());
        }

        var together = Gradient(all, 1.0);
        var first = Gradient(all.Take(1).ToList(), 0.5);
        var second = Gradient(all.Skip(1).ToList(), 0.5);
        var sum = first.ToDictionary(kv => kv.Key, kv => kv.Value.Zip(second[kv.Key], (a, b) => a + b).ToArray());
        double scale = together.Values.SelectMany(g => g).Max(x => Math.Abs((double)x));
        Assert.True(scale > 0);
        Assert.True(MaxDifference(together, sum) < 1e-5 * Math.Max(1, scale));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CancellationSavesTheCompletedStepsAndResumeEndsWithTheUninterruptedWeights(bool randomNoise)
        => ResumeContract.CancelAndResumeEndsWithTheUninterruptedWeights(
            () => Model(), () => Model(seed: 99), output => Options(output) with { RandomNoise = randomNoise },
            (m, o, p, c) => new ConsistencyTrainer(m, o).Train(Records.Value, p, c), cancelAt: 6);

    [Fact]
    public void RandomScheduleTrainsOnOtherStatesThanTheLinearOne()
    {
        // Same seed, same data order: only the noisy states differ, so the weights after a few steps differ.
        Dictionary<string, float[]> Train(bool random)
        {
            using var model = Model();
            new ConsistencyTrainer(model, Options() with { MaxSteps = 3, RandomNoise = random }).Train(Records.Value);
            using var scope = NewDisposeScope();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().contiguous().view(-1).data<float>().ToArray());
        }

        var linear = Train(false);
        Assert.Equal(0, MaxDifference(linear, Train(false)));
        Assert.True(MaxDifference(linear, Train(true)) > 1e-6);
    }

    [Fact]
    public void ResumeRefusesAChangedObjectiveOrNoiseWindow()
    {
        using var folder = new TempFolder();
        using (var model = Model())
        {
            new ConsistencyTrainer(model, Options(folder.Path) with { MaxSteps = 4, SaveEvery = 2 }).Train(Records.Value);
        }

        using var again = Model();
        var cllm = Options(folder.Path) with { MaxSteps = 4, Resume = true, Objective = TrainingObjective.Consistency };
        var error = Assert.Throws<InvalidOperationException>(() => new ConsistencyTrainer(again, cllm).Train(Records.Value));
        Assert.Contains("--objective is cllm, the checkpoint's run used jacobi-forcing", error.Message, StringComparison.Ordinal);
        var window = Options(folder.Path) with { MaxSteps = 4, Resume = true, NoiseWindow = 4 };
        error = Assert.Throws<InvalidOperationException>(() => new ConsistencyTrainer(again, window).Train(Records.Value));
        Assert.Contains("--noise-window is 4", error.Message, StringComparison.Ordinal);
        var prefix = Options(folder.Path) with { MaxSteps = 4, Resume = true, CleanPrefix = true };
        error = Assert.Throws<InvalidOperationException>(() => new ConsistencyTrainer(again, prefix).Train(Records.Value));
        Assert.Contains("--clean-prefix is true", error.Message, StringComparison.Ordinal);
        var schedule = Options(folder.Path) with { MaxSteps = 4, Resume = true, RandomNoise = true };
        error = Assert.Throws<InvalidOperationException>(() => new ConsistencyTrainer(again, schedule).Train(Records.Value));
        Assert.Contains("--noise-schedule is random, the checkpoint's run used linear", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionsRefuseSettingsJacobiForcingDoesNotUse()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (Options() with { NoiseWindow = 0 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (Options() with { MinNoise = 0.6, MaxNoise = 0.5 }).Validate());
        Assert.Throws<ArgumentException>(() => (Options() with { Distance = ConsistencyDistance.JensenShannon }).Validate());
        Assert.Throws<ArgumentException>(() => (Options() with { UseLabelIds = true }).Validate());
        (Options() with { Objective = TrainingObjective.Consistency, NoiseWindow = 0 }).Validate();      // unused by the CLLM objective
    }
}
