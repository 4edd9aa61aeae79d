using TorchSharp;
using System;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

public class CllmObjectiveTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BackwardEqualsOneBackwardOfTheWeightedSum(bool local)
    {
        using var model = TinyLlama.Create(12);
        var record = LossFixtures.Record();
        var consistency = new ConsistencyLoss(local ? ConsistencyKind.Local : ConsistencyKind.Global);
        var example = ConsistencyExample.FromRecord(record, new ConsistencyPair(1, local ? 2 : 3));
        var batch = new ConsistencyBatch(new[] { example });
        Assert.Equal(!local, batch.LabelsAreTeacherSequences);
        var objective = new CllmObjective(consistency, new AutoregressiveLoss(0.1), 10);

        LossFixtures.ZeroGradients(model);
        var components = objective.Backward(model, batch, scale: 0.5);
        var viaObjective = LossFixtures.Gradients(model);

        LossFixtures.ZeroGradients(model);
        double expectedC, expectedAr;
        using (NewDisposeScope())
        {
            var c = consistency.Compute(model, batch);
            var ar = new AutoregressiveLoss(0.1).Compute(model, new[] { example.Labels });
            expectedC = c.Item;
            expectedAr = ar.Item;
            using var ten = 10.0.ToScalar();
            using var half = 0.5.ToScalar();
            (c.Value.add(ar.Value, ten) * half).backward();
        }

        var direct = LossFixtures.Gradients(model);
        Assert.Equal(expectedC, components.Consistency, 1e-5);
        Assert.Equal(expectedAr, components.Autoregressive, 1e-5);
        Assert.Equal(expectedC + 10 * expectedAr, components.Total, 1e-4);
        double diff = LossFixtures.MaxDifference(viaObjective, direct);
        Assert.True(diff < 1e-5 * Math.Max(1, LossFixtures.MaxAbs(direct)), $"gradients differ by {diff} (scale {LossFixtures.MaxAbs(direct)})");
    }

    [Fact]
    public void ZeroArWeightTrainsConsistencyOnly()
    {
        using var model = TinyLlama.Create(12);
        var batch = new ConsistencyBatch(new[] { ConsistencyExample.FromRecord(LossFixtures.Record(), new ConsistencyPair(0, 3)) });
        var components = new CllmObjective(new ConsistencyLoss(), autoregressiveWeight: 0).Backward(model, batch);
        Assert.Equal(0, components.Autoregressive);
        Assert.Equal(components.Consistency, components.Total);
        Assert.True(components.Consistency > 0);
    }
}
