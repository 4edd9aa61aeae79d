using System;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

public class AutoregressiveLossTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void MatchesTheManualLabelSmoothedCrossEntropy(double epsilon)
    {
        using var model = TinyLlama.Create(8);
        var ids = new[] { 1, 5, 9, 14, 20, 21, 22, 30 };
        var logits = LossFixtures.Logits(model, ids);
        int v = logits.GetLength(1);
        double expected = 0;
        for (int p = 0; p < ids.Length - 1; p++)
        {
            var logp = LossFixtures.LogSoftmax(logits, p);
            double nll = -logp[ids[p + 1]];
            double smooth = -logp.Sum() / v;
            expected += (1 - epsilon) * nll + epsilon * smooth;
        }

        expected /= ids.Length - 1;
        using var scope = NewDisposeScope();
        var term = new AutoregressiveLoss(epsilon).Compute(model, new[] { ids });
        Assert.Equal(ids.Length - 1, term.Positions[0]);
        Assert.Equal(expected, term.Item, 1e-5);
    }

    [Fact]
    public void AnswerStartLimitsTheLossToTheTokensAfterThePrompt()
    {
        // Answer start 3: logits 2 … 6 predict tokens 3 … 7; the prompt's own tokens are never targets.
        using var model = TinyLlama.Create(8);
        var ids = new[] { 1, 5, 9, 14, 20, 21, 22, 30 };
        var logits = LossFixtures.Logits(model, ids);
        double expected = 0;
        for (int p = 2; p < ids.Length - 1; p++)
        {
            expected -= LossFixtures.LogSoftmax(logits, p)[ids[p + 1]];
        }

        expected /= ids.Length - 3;
        using var scope = NewDisposeScope();
        var full = model.Forward(ConsistencyBatch.Pad(new[] { ids }, model.Device));
        var term = new AutoregressiveLoss(0).Compute(full, new[] { ids }, new[] { 3 });
        Assert.Equal(ids.Length - 3, term.Positions[0]);
        Assert.Equal(expected, term.Item, 1e-5);
    }

    [Fact]
    public void RejectsSmoothingOutsideTheUnitInterval()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AutoregressiveLoss(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AutoregressiveLoss(1.0));
    }
}
