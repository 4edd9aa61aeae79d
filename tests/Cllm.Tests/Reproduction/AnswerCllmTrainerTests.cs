using TorchSharp;
using System.Collections.Generic;
using System.Linq;
using Cllm.Reproduction.Training;
using Cllm.Training.Trajectories;
using static TorchSharp.torch;

namespace Cllm.Tests.Reproduction;

/// <summary>The sample's consistency trainer: answer-only AR targets, schedule, and that both losses fall.</summary>
public sealed class AnswerCllmTrainerTests
{
    [Fact]
    public void Ar_targets_start_at_the_last_prompt_token()
    {
        IReadOnlyList<int>[] labels = [[1, 5, 6, 7, 8, 2], [1, 5, 9, 2]];
        long[] t = AnswerCllmTrainer.AnswerTargets(labels, [3, 2], 6);
        Assert.Equal(new long[] { -100, -100, 7, 8, 2, -100 }, t[..6]);                    // prompt 1 5 6 predicts nothing until its last token
        Assert.Equal(new long[] { -100, 9, 2, -100, -100, -100 }, t[6..]);
    }

    [Fact]
    public void Schedule_warms_up_and_decays_to_zero()
    {
        var o = new AnswerCllmOptions { LearningRate = 1e-3, WarmupRatio = 0.1, BatchSize = 4, Epochs = 2 };
        Assert.Equal(50, o.TotalSteps(100));
        Assert.Equal(2e-4, o.LearningRateAt(0, 50), 12);
        Assert.Equal(1e-3, o.LearningRateAt(4, 50), 12);
        Assert.True(o.LearningRateAt(49, 50) < 1e-5);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(10.0)]
    public void Training_lowers_the_losses_on_collected_trajectories(double arWeight)
    {
        var config = ModelShape.Tiny.ToConfig(vocabSize: 64, bos: 1, eos: 2);
        using var model = ModelShape.CreateModel(config, seed: 5);
        using (no_grad())
        {
            foreach (var p in model.parameters())
            {
                using var factor = (p.dim() > 1 ? 6.0 : 1.0).ToScalar();
                p.mul_(factor);                                            // peaked distributions: long, non-trivial trajectories
            }
        }

        var random = new System.Random(7);
        var prompts = Enumerable.Range(0, 8).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, 10).Select(i => i == 0 ? 1 : random.Next(3, 64)).ToArray()).ToList();
        var collector = new JacobiTrajectoryCollector(model, prompts, new TrajectoryCollectionOptions { BlockSize = 8, MaxNewTokens = 8, Seed = 1 });
        var records = collector.Read().ToList();
        Assert.Equal(8, records.Count);
        var losses = new AnswerCllmTrainer(model, new AnswerCllmOptions { BatchSize = 4, Epochs = 15, LearningRate = 3e-3, ArWeight = arWeight }).Train(records);
        Assert.Equal(30, losses.Count);
        double gc0 = losses.Take(3).Average(l => l.Consistency), gc1 = losses.TakeLast(3).Average(l => l.Consistency);
        double ar0 = losses.Take(3).Average(l => l.Autoregressive), ar1 = losses.TakeLast(3).Average(l => l.Autoregressive);
        if (arWeight == 0)
        {
            Assert.True(gc1 < 0.5 * gc0, $"consistency {gc0:F3} → {gc1:F3}");
        }
        else
        {
            Assert.True(ar1 < 0.5 * ar0, $"AR {ar0:F3} → {ar1:F3}");
        }

        Assert.False(model.training);
    }

    [Fact]
    public void Label_smoothing_mixes_the_uniform_cross_entropy_into_the_ar_loss()
    {
        // The first step's AR loss is measured before any update, on the same batch for every ε (same seeds), and
        // (1 − ε)·NLL + ε·mean_v(−log p_v) is linear in ε: the losses at ε = 0, 0.1, 0.2 lie on a line.
        var config = ModelShape.Tiny.ToConfig(vocabSize: 64, bos: 1, eos: 2);
        var random = new System.Random(3);
        var prompts = Enumerable.Range(0, 4).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, 6).Select(i => i == 0 ? 1 : random.Next(3, 64)).ToArray()).ToList();
        List<TrajectoryRecord> records;
        using (var collecting = ModelShape.CreateModel(config, seed: 5))
        {
            records = new JacobiTrajectoryCollector(collecting, prompts, new TrajectoryCollectionOptions { BlockSize = 4, MaxNewTokens = 4, Seed = 1 }).Read().ToList();
        }

        double FirstAr(double epsilon)
        {
            using var model = ModelShape.CreateModel(config, seed: 5);
            var options = new AnswerCllmOptions { BatchSize = 4, Epochs = 1, LabelSmoothing = epsilon };
            return new AnswerCllmTrainer(model, options).Train(records)[0].Autoregressive;
        }

        double l0 = FirstAr(0), l1 = FirstAr(0.1), l2 = FirstAr(0.2);
        Assert.True(System.Math.Abs(l1 - l0) > 1e-3, $"ε = 0.1 left the AR loss at {l1} (ε = 0: {l0})");
        Assert.Equal((l0 + l2) / 2, l1, 4);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Label_smoothing_outside_0_to_1_is_refused(double epsilon)
    {
        using var model = ModelShape.CreateModel(ModelShape.Tiny.ToConfig(vocabSize: 64, bos: 1, eos: 2), seed: 5);
        var e = Assert.Throws<System.ArgumentOutOfRangeException>(() => new AnswerCllmTrainer(model, new AnswerCllmOptions { LabelSmoothing = epsilon }));
        Assert.Contains("label smoothing must be in [0, 1)", e.Message, System.StringComparison.Ordinal);
    }
}
