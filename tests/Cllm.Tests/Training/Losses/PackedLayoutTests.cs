using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

/// <summary>The objective's packed layout against the reference's padded batches.</summary>
public class PackedLayoutTests
{
    /// <summary>Two records of uneven context and block lengths, three states of each (one student equal to its teacher).</summary>
    private static ConsistencyExample[] Examples(bool local, bool groundTruthLabels = false)
    {
        var a = LossFixtures.Record(new[] { 1, 5, 9, 14 });
        var longer = LossFixtures.Record(new[] { 1, 33, 8, 2, 61, 70, 12, 13, 90, 4, 4 }, salt: 7);
        var b = longer with
        {
            Trajectory = longer.Trajectory.Select(s => s[..4]).ToArray(),
            TeacherOutputIds = longer.PromptIds.Concat(longer.FixedPoint[..4]).ToArray(),
            LabelIds = groundTruthLabels ? new[] { 1, 33, 8, 2, 61, 70, 12, 13, 90, 4, 4, 11, 12, 13, 14, 15, 16 } : null,
        };
        var list = new List<ConsistencyExample>();
        foreach (var r in new TrajectoryRecord[] { a, b })
        {
            foreach (int i in new[] { 0, 1, 3 })
            {
                int teacher = local ? Math.Min(i + 1, 3) : 3;
                list.Add(ConsistencyExample.FromRecord(r, new ConsistencyPair(i, teacher), useLabelIds: groundTruthLabels));
            }
        }

        return list.ToArray();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void PackedObjectiveGivesThePaddedReferenceLossesAndGradients(bool local, bool groundTruthLabels)
    {
        using var model = TinyLlama.Create(21);
        var batch = new ConsistencyBatch(Examples(local, groundTruthLabels));
        var loss = new ConsistencyLoss(local ? ConsistencyKind.Local : ConsistencyKind.Global);
        var objective = new CllmObjective(loss, new AutoregressiveLoss(0.1), 10);
        LossFixtures.ZeroGradients(model);
        var packed = objective.Backward(model, batch, scale: 0.25);
        var packedGrads = LossFixtures.Gradients(model);
        var evaluated = objective.Evaluate(model, batch);
        Assert.Equal(packed.Consistency, evaluated.Consistency, 1e-5);
        Assert.Equal(packed.Autoregressive, evaluated.Autoregressive, 1e-5);

        // The reference's padded layout: one batched forward per input kind, means over the examples.
        LossFixtures.ZeroGradients(model);
        double c, ar;
        using (NewDisposeScope())
        {
            var consistency = loss.Compute(model, batch);
            var autoregressive = new AutoregressiveLoss(0.1).Compute(model, batch.Examples.Select(e => e.Labels).ToList());
            c = consistency.Item;
            ar = autoregressive.Item;
            using var ten = 10.0.ToScalar();
            using var quarter = 0.25.ToScalar();
            (consistency.Value.add(autoregressive.Value, ten) * quarter).backward();
        }

        var paddedGrads = LossFixtures.Gradients(model);
        Assert.True(c > 1e-3);
        Assert.Equal(c, packed.Consistency, 1e-5);
        Assert.Equal(ar, packed.Autoregressive, 1e-5);
        double scale = LossFixtures.MaxAbs(paddedGrads);
        double diff = LossFixtures.MaxDifference(paddedGrads, packedGrads);
        Assert.True(diff < 1e-5 * Math.Max(1, scale), $"gradients differ by {diff} (scale {scale})");
    }
}
