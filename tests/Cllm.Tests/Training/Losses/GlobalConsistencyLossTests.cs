using System;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

public class GlobalConsistencyLossTests
{
    [Fact]
    public void IsExactlyZeroWithNoPositionsAtTheFixedPoint()
    {
        using var model = TinyLlama.Create(3);
        var record = LossFixtures.Record();
        var batch = new ConsistencyBatch(new[] { ConsistencyExample.FromRecord(record, new ConsistencyPair(3, 3)) });
        using var scope = NewDisposeScope();
        var term = new ConsistencyLoss().Compute(model, batch);
        Assert.Equal(0.0, term.Item);
        Assert.Equal(0, term.Positions[0]);
        Assert.False(term.Value.requires_grad);
    }

    [Fact]
    public void IsZeroUpToFloatErrorWhenOnlyTheLastTokenDiffers()
    {
        // The one loss position predicts the wrong token from a prefix that both sequences share.
        using var model = TinyLlama.Create(3);
        var record = LossFixtures.Record();
        var student = record.FixedPoint.ToArray();
        student[^1] = 77;
        var example = new ConsistencyExample { Context = record.PromptIds, Student = student, Teacher = record.FixedPoint, Labels = record.TeacherOutputIds };
        using var scope = NewDisposeScope();
        foreach (var distance in Enum.GetValues<ConsistencyDistance>())
        {
            var term = new ConsistencyLoss(distance: distance).Compute(model, new ConsistencyBatch(new[] { example }));
            Assert.Equal(1, term.Positions[0]);
            Assert.True(Math.Abs(term.Item) < 1e-6, $"{distance}: {term.Item}");
        }
    }

    [Fact]
    public void IsPositiveOffTheFixedPointAndMatchesTheHostFormula()
    {
        using var model = TinyLlama.Create(3);
        var record = LossFixtures.Record();
        using var scope = NewDisposeScope();
        var loss = new ConsistencyLoss();
        int[] expectedPositions = { 5, 3, 1 };                                     // first mismatch at 1, 3, 5 of 6
        for (int i = 0; i < 3; i++)
        {
            var example = ConsistencyExample.FromRecord(record, new ConsistencyPair(i, 3));
            var term = loss.Compute(model, new ConsistencyBatch(new[] { example }));
            double expected = LossFixtures.Consistency(model, record.PromptIds, record.Trajectory[i], record.FixedPoint, LossFixtures.ForwardKl);
            Assert.Equal(expectedPositions[i], term.Positions[0]);
            if (i < 2)
            {
                Assert.True(term.Item > 1e-3, $"state {i}: {term.Item}");
            }
            else
            {
                Assert.True(Math.Abs(term.Item) < 1e-6, "y(2) is wrong only in its last token, whose logit sees a shared prefix");
            }

            Assert.Equal(expected, term.Item, 1e-5);
        }
    }

    [Fact]
    public void BlockEndOptionAddsTheLogitAfterTheBlock()
    {
        using var model = TinyLlama.Create(3);
        var record = LossFixtures.Record();
        var example = ConsistencyExample.FromRecord(record, new ConsistencyPair(1, 3));
        using var scope = NewDisposeScope();
        var term = new ConsistencyLoss(positions: ConsistencyPositions.FromFirstMismatchWithBlockEnd).Compute(model, new ConsistencyBatch(new[] { example }));
        Assert.Equal(4, term.Positions[0]);
    }

    [Fact]
    public void DrawsTheStudentUniformlyFromNonFinalStatesAndTheFixedPointAsTeacher()
    {
        var record = LossFixtures.Record();
        var loss = new ConsistencyLoss();
        var random = new Random(5);
        var counts = new int[4];
        for (int draw = 0; draw < 3000; draw++)
        {
            var pair = loss.SelectPair(record, random);
            Assert.Equal(3, pair.TeacherState);
            counts[pair.StudentState]++;
        }

        Assert.Equal(0, counts[3]);
        Assert.All(counts.Take(3), c => Assert.InRange(c, 850, 1150));

        var single = record with { Trajectory = new[] { record.FixedPoint } };
        Assert.Equal(new ConsistencyPair(0, 0), loss.SelectPair(single, random));
    }

    [Fact]
    public void GradientsFlowThroughTheStudentOnly()
    {
        using var model = TinyLlama.Create(4);
        model.train();
        var record = LossFixtures.Record();
        var example = ConsistencyExample.FromRecord(record, new ConsistencyPair(0, 3));
        var batch = new ConsistencyBatch(new[] { example });
        var loss = new ConsistencyLoss();

        // (a) as the trainer calls it: teacher computed inside, under no-grad.
        LossFixtures.ZeroGradients(model);
        using (NewDisposeScope())
        {
            loss.Compute(model, batch).Value.backward();
        }

        var viaLoss = LossFixtures.Gradients(model);

        // (b) teacher logits handed in with a live graph: the loss must detach them.
        LossFixtures.ZeroGradients(model);
        using (NewDisposeScope())
        {
            var teacherWithGraph = model.Forward(batch.TeacherInput());
            Assert.True(teacherWithGraph.requires_grad);
            loss.Compute(model, batch, teacherWithGraph).Value.backward();
        }

        var viaAttachedTeacher = LossFixtures.Gradients(model);

        // (c) the student-only computation written out: constant teacher, KL at the kept positions.
        var kept = Enumerable.Range(4 + 1 - 1, 5).Select(p => (long)p).ToArray();         // C = 4, w = 1, n = 6
        LossFixtures.ZeroGradients(model);
        using (NewDisposeScope())
        {
            Tensor teacher;
            using (no_grad())
            {
                teacher = model.Forward(batch.TeacherInput())[0].index_select(0, tensor(kept)).log_softmax(-1);
            }

            var student = model.Forward(batch.StudentInput())[0].index_select(0, tensor(kept)).log_softmax(-1);
            ((teacher.exp() * (teacher - student)).sum(-1).mean()).backward();
        }

        var manual = LossFixtures.Gradients(model);

        // (d) control: letting gradients into the teacher changes them, so the comparisons above can fail.
        LossFixtures.ZeroGradients(model);
        using (NewDisposeScope())
        {
            var teacher = model.Forward(batch.TeacherInput())[0].index_select(0, tensor(kept)).log_softmax(-1);
            var student = model.Forward(batch.StudentInput())[0].index_select(0, tensor(kept)).log_softmax(-1);
            ((teacher.exp() * (teacher - student)).sum(-1).mean()).backward();
        }

        var leaky = LossFixtures.Gradients(model);

        double scale = LossFixtures.MaxAbs(manual);
        Assert.True(scale > 1e-4, $"gradients too small to compare: {scale}");
        Assert.Equal(0.0, LossFixtures.MaxDifference(viaLoss, viaAttachedTeacher));
        Assert.True(LossFixtures.MaxDifference(viaLoss, manual) < 1e-6 * Math.Max(1, scale), $"student-only mismatch {LossFixtures.MaxDifference(viaLoss, manual)}");
        Assert.True(LossFixtures.MaxDifference(leaky, manual) > 1e-3 * scale, "control: teacher gradients made no difference");
    }
}
