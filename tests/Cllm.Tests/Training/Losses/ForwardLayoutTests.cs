using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training.Losses;
using Cllm.Training.Trajectories;

namespace Cllm.Tests.Training.Losses;

public class ForwardLayoutTests
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
    public void PackedAndPaddedLayoutsGiveTheSameLossesAndGradients(bool local, bool groundTruthLabels)
    {
        using var model = TinyLlama.Create(21);
        var batch = new ConsistencyBatch(Examples(local, groundTruthLabels));
        IConsistencyLoss loss = local ? new LocalConsistencyLoss() : new GlobalConsistencyLoss();
        var results = new Dictionary<ForwardLayout, (LossComponents Loss, Dictionary<string, float[]> Grads)>();
        foreach (var layout in new[] { ForwardLayout.Padded, ForwardLayout.Packed })
        {
            var objective = new CllmObjective(loss, new AutoregressiveLoss(0.1), 10, layout);
            LossFixtures.ZeroGradients(model);
            var components = objective.Backward(model, batch, scale: 0.25);
            results[layout] = (components, LossFixtures.Gradients(model));
            var evaluated = objective.Evaluate(model, batch);
            Assert.Equal(components.Consistency, evaluated.Consistency, 1e-5);
            Assert.Equal(components.Autoregressive, evaluated.Autoregressive, 1e-5);
        }

        var padded = results[ForwardLayout.Padded];
        var packed = results[ForwardLayout.Packed];
        Assert.True(padded.Loss.Consistency > 1e-3);
        Assert.Equal(padded.Loss.Consistency, packed.Loss.Consistency, 1e-5);
        Assert.Equal(padded.Loss.Autoregressive, packed.Loss.Autoregressive, 1e-5);
        double scale = LossFixtures.MaxAbs(padded.Grads);
        double diff = LossFixtures.MaxDifference(padded.Grads, packed.Grads);
        Assert.True(diff < 1e-5 * Math.Max(1, scale), $"gradients differ by {diff} (scale {scale})");
    }

    [Fact]
    public void PackingNeedsABuiltInConsistencyLoss()
        => Assert.Throws<ArgumentException>(() => new CllmObjective(new OtherLoss(), layout: ForwardLayout.Packed));

    private sealed class OtherLoss : IConsistencyLoss
    {
        public string Name => "other";

        public ConsistencyDistance Distance => ConsistencyDistance.ForwardKl;

        public ConsistencyPair SelectPair(TrajectoryRecord record, Random random) => new(0, 0);

        public LossTerm Compute(Cllm.Modeling.LlamaForCausalLM model, ConsistencyBatch batch, TorchSharp.torch.Tensor? teacherLogits = null)
            => throw new NotSupportedException();
    }
}
