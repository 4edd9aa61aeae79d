using System;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

public class DistributionDistanceTests
{
    [Theory]
    [InlineData(ConsistencyDistance.ForwardKl)]
    [InlineData(ConsistencyDistance.ReverseKl)]
    [InlineData(ConsistencyDistance.JensenShannon)]
    public void MatchesTheManualFormula(ConsistencyDistance distance)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(17);
        var teacher = randn(new long[] { 5, 11 }, generator: generator) * Cllm.Core.Scalars.Two;
        var student = randn(new long[] { 5, 11 }, generator: generator) * Cllm.Core.Scalars.Two;
        var actual = DistributionDistance.Compute(distance, teacher, student).data<float>().ToArray();
        var t = LossFixtures.ToMatrix(teacher);
        var s = LossFixtures.ToMatrix(student);
        Func<double[], double[], double> formula = distance switch
        {
            ConsistencyDistance.ForwardKl => LossFixtures.ForwardKl,
            ConsistencyDistance.ReverseKl => LossFixtures.ReverseKl,
            _ => LossFixtures.JensenShannon,
        };
        for (int row = 0; row < 5; row++)
        {
            double expected = formula(LossFixtures.LogSoftmax(t, row), LossFixtures.LogSoftmax(s, row));
            Assert.True(expected > 0);
            Assert.Equal(expected, actual[row], 1e-5);
        }
    }

    [Theory]
    [InlineData(ConsistencyDistance.ForwardKl)]
    [InlineData(ConsistencyDistance.ReverseKl)]
    [InlineData(ConsistencyDistance.JensenShannon)]
    public void IsZeroForEqualLogitsAndComputedInFloat32(ConsistencyDistance distance)
    {
        using var scope = NewDisposeScope();
        var logits = randn(new long[] { 3, 7 }, generator: new Generator(3)).to_type(ScalarType.BFloat16);
        var d = DistributionDistance.Compute(distance, logits, logits);
        Assert.Equal(ScalarType.Float32, d.dtype);
        Assert.All(d.data<float>().ToArray(), x => Assert.True(Math.Abs(x) < 1e-6));
    }

    [Fact]
    public void JensenShannonIsSymmetricAndBoundedByLn2()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 30, 0, 0, 0 }).view(1, 4);
        var b = tensor(new float[] { 0, 0, 0, 30 }).view(1, 4);
        double ab = DistributionDistance.Compute(ConsistencyDistance.JensenShannon, a, b).item<float>();
        double ba = DistributionDistance.Compute(ConsistencyDistance.JensenShannon, b, a).item<float>();
        Assert.Equal(ab, ba, 1e-6);
        Assert.InRange(ab, Math.Log(2) - 1e-4, Math.Log(2) + 1e-6);
    }

    [Fact]
    public void ForwardKlHasTheSoftCrossEntropyGradient()
    {
        // KL(p_T ‖ p_S) and −Σ p_T log p_S differ by the teacher's entropy, a constant for the student.
        using var scope = NewDisposeScope();
        var teacher = randn(new long[] { 4, 9 }, generator: new Generator(8));
        var student1 = randn(new long[] { 4, 9 }, generator: new Generator(9)).requires_grad_();
        var student2 = student1.detach().clone().requires_grad_();
        DistributionDistance.Compute(ConsistencyDistance.ForwardKl, teacher, student1).sum().backward();
        (-(teacher.softmax(-1) * student2.log_softmax(-1)).sum()).backward();
        Assert.True((student1.grad! - student2.grad!).abs().max().item<float>() < 1e-6);
    }
}
