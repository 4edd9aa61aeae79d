using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Training;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Trainer;

/// <summary>Plain causal-LM training on the shared step loop: targets, learning, resume, final model.</summary>
public class CausalLmTrainerTests
{
    private static readonly List<CausalLmSequence> Sequences = Enumerable.Range(0, 12)
        .Select(i => new CausalLmSequence(Enumerable.Range(0, 6 + i % 4).Select(j => 1 + (i * 7 + j * 3) % 30).ToArray(), AnswerStart: 3))
        .ToList();

    private static LlamaForCausalLM Model() => TinyLlama.Create(31, TinyLlama.Config(layers: 1));

    private static TrainingOptions Options(string? output = null) => new()
    {
        LearningRate = 1e-2,
        BatchSize = 4,
        MaxSteps = 8,
        WarmupSteps = 1,
        LabelSmoothing = 0,
        Seed = 3,
        OutputDirectory = output,
        SaveEvery = 4,
        KeepCheckpoints = 0,
    };

    [Fact]
    public void RowsAreContinuedWithTheirLastTokenAndTrainedToTheEndPaddingOnly()
    {
        var a = new CausalLmSequence([1, 10, 11, 20, 21, 2], AnswerStart: 3);
        var b = new CausalLmSequence([1, 10, 20, 2], AnswerStart: 2);
        var (x, trained, width) = CausalLmTrainer.BuildBatch([a, b], endPadding: 2);
        Assert.Equal(8, width);
        Assert.Equal(new long[] { 1, 10, 11, 20, 21, 2, 2, 2 }, x[..8]);
        Assert.Equal(new long[] { 1, 10, 20, 2, 2, 2, 2, 2 }, x[8..]);
        Assert.Equal(new[] { 1, 10, 11, 20, 21, 2, 2, 2 }, trained[0]);                          // EOS after EOS is trained
        Assert.Equal(new[] { 1, 10, 20, 2, 2, 2, 2, 2 }, trained[1]);

        var (_, unpadded, _) = CausalLmTrainer.BuildBatch([a, b], endPadding: 0);
        Assert.Equal(new[] { 1, 10, 20, 2 }, unpadded[1]);                                     // padding is never a target
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.1, true)]
    public void TheLossIsTorchsTokenMeanCrossEntropyOverTheTargets(double smoothing, bool answerOnly)
    {
        // The one AR loss in its token-mean form equals cross_entropy(ignore_index, label_smoothing) over the same targets.
        var a = new CausalLmSequence([1, 10, 11, 20, 21, 2], AnswerStart: 3);
        var b = new CausalLmSequence([1, 10, 20, 2], AnswerStart: 2);
        var (_, trained, t) = CausalLmTrainer.BuildBatch([a, b], endPadding: 1);
        using var scope = NewDisposeScope();
        using var generator = new TorchSharp.torch.Generator(5);
        var logits = randn(new long[] { 2 * t, 40 }, generator: generator);                   // (B·T, V)
        var starts = answerOnly ? new[] { a.AnswerStart, b.AnswerStart } : null;
        float ours = new AutoregressiveLoss(smoothing).TokenMean(logits, trained, (e, p) => e * t + p, starts).item<float>();

        var targets = Enumerable.Repeat(-100L, 2 * t).ToArray();
        for (int e = 0; e < 2; e++)
        {
            int first = starts is null ? 0 : starts[e] - 1;
            for (int p = first; p + 1 < trained[e].Count; p++)
            {
                targets[e * t + p] = trained[e][p + 1];
            }
        }

        float torchs = nn.functional.cross_entropy(logits, tensor(targets), ignore_index: -100, label_smoothing: smoothing).item<float>();
        Assert.Equal(torchs, ours, 5);
    }

    [Fact]
    public void TrainingLowersTheLossAndLeavesTheModelInTheOutputFolder()
    {
        using var folder = new TempFolder();
        using var model = Model();
        var result = new CausalLmTrainer(model, Options(folder.Path) with { MaxSteps = 30 }).Train(Sequences);
        Assert.Equal(30, result.Losses.Count);
        Assert.All(result.Losses, l => Assert.Equal(0, l.Consistency));
        Assert.True(result.Losses[^1].Autoregressive < 0.7 * result.Losses[0].Autoregressive, $"{result.Losses[0].Autoregressive:F3} → {result.Losses[^1].Autoregressive:F3}");
        Assert.Equal(folder.Path, result.Model);
        Assert.True(File.Exists(Path.Combine(folder.Path, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(folder.Path, "checkpoint-30", "optimizer.safetensors")));
        Assert.False(model.training);
    }

    [Fact]
    public void ResumingAfterCancellationEndsWithTheUninterruptedWeights()
    {
        ResumeContract.CancelAndResumeEndsWithTheUninterruptedWeights(
            Model, Model, o => Options(o), (m, o, p, c) => new CausalLmTrainer(m, o).Train(Sequences, p, c), cancelAt: 3);

        using var folderB = new TempFolder();
        using (var model = Model())
        {
            new CausalLmTrainer(model, Options(folderB.Path)).Train(Sequences);
        }

        using (var model = Model())
        {
            var refused = Assert.Throws<InvalidOperationException>(() => new CausalLmTrainer(model, Options(folderB.Path) with { Resume = true, EndPadding = 4 }).Train(Sequences));
            Assert.Contains("EndPadding", refused.Message, StringComparison.Ordinal);
        }
    }
}
