using System;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

public class PaddingTests
{
    private static ConsistencyExample[] UnevenExamples(int studentState)
    {
        var shortRecord = LossFixtures.Record(new[] { 1, 5, 9, 14 });
        var longRecord = LossFixtures.Record(new[] { 1, 33, 8, 2, 61, 70, 12, 13, 90, 4, 4 }, salt: 7);
        var cut = longRecord with
        {
            Trajectory = longRecord.Trajectory.Select(s => s[..4]).ToArray(),             // a shorter block too
            TeacherOutputIds = longRecord.PromptIds.Concat(longRecord.FixedPoint[..4]).ToArray(),
        };
        return new[]
        {
            ConsistencyExample.FromRecord(shortRecord, new ConsistencyPair(studentState, 3)),
            ConsistencyExample.FromRecord(cut, new ConsistencyPair(studentState, 3)),
        };
    }

    [Theory]
    [InlineData(ConsistencyDistance.ForwardKl)]
    [InlineData(ConsistencyDistance.ReverseKl)]
    [InlineData(ConsistencyDistance.JensenShannon)]
    public void PaddingDoesNotChangeAnExamplesConsistencyLoss(ConsistencyDistance distance)
    {
        using var model = TinyLlama.Create(9);
        var examples = UnevenExamples(0);
        var loss = new ConsistencyLoss(distance: distance);
        using var scope = NewDisposeScope();
        var together = loss.Compute(model, new ConsistencyBatch(examples));
        var alone = examples.Select(e => loss.Compute(model, new ConsistencyBatch(new[] { e })).Item).ToArray();
        Assert.True(alone.All(a => a > 1e-3));
        Assert.Equal(alone[0], together.PerExample[0], 1e-5);
        Assert.Equal(alone[1], together.PerExample[1], 1e-5);
        Assert.Equal(alone.Average(), together.Item, 1e-5);
    }

    [Fact]
    public void PaddingDoesNotChangeAnExamplesAutoregressiveLoss()
    {
        using var model = TinyLlama.Create(9);
        var examples = UnevenExamples(1);
        var loss = new AutoregressiveLoss();
        using var scope = NewDisposeScope();
        var together = loss.Compute(model, examples.Select(e => e.Labels).ToList());
        var alone = examples.Select(e => loss.Compute(model, new[] { e.Labels }).Item).ToArray();
        Assert.Equal(alone[0], together.PerExample[0], 1e-5);
        Assert.Equal(alone[1], together.PerExample[1], 1e-5);
        Assert.Equal(alone.Average(), together.Item, 1e-5);
    }

    [Fact]
    public void ObjectiveOfABatchIsTheMeanOfItsExamples()
    {
        using var model = TinyLlama.Create(9);
        var examples = UnevenExamples(0);
        var objective = new CllmObjective(new ConsistencyLoss());
        var together = objective.Evaluate(model, new ConsistencyBatch(examples));
        var alone = examples.Select(e => objective.Evaluate(model, new ConsistencyBatch(new[] { e }))).ToArray();
        Assert.Equal(alone.Average(a => a.Consistency), together.Consistency, 1e-5);
        Assert.Equal(alone.Average(a => a.Autoregressive), together.Autoregressive, 1e-5);
        Assert.Equal(alone.Average(a => a.Total), together.Total, 1e-4);
    }
}
