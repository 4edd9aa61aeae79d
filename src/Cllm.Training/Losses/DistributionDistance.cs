using System;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>Per-position distances between two sets of logits (the formulas of <see cref="ConsistencyDistance"/>).</summary>
internal static class DistributionDistance
{
    /// <summary>
    /// D(teacher ‖ student) for every position. teacherLogits and studentLogits: (…, V), any floating type; both are
    /// upcast to float32. Returns (…) float32 in the caller's dispose scope. The teacher is used as given: detach it
    /// (or compute it under no-grad) to make it a stop-gradient target.
    /// </summary>
    public static Tensor Compute(ConsistencyDistance distance, Tensor teacherLogits, Tensor studentLogits)
    {
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(studentLogits);
        if (!teacherLogits.shape.AsSpan().SequenceEqual(studentLogits.shape))
        {
            throw new ArgumentException($"teacher logits {Shape(teacherLogits)} and student logits {Shape(studentLogits)} differ in shape.");
        }

        using var scope = NewDisposeScope();
        var logT = teacherLogits.to_type(ScalarType.Float32).log_softmax(-1);             // (…, V)
        var logS = studentLogits.to_type(ScalarType.Float32).log_softmax(-1);             // (…, V)
        var result = distance switch
        {
            ConsistencyDistance.ForwardKl => (logT.exp() * (logT - logS)).sum(-1),
            ConsistencyDistance.ReverseKl => (logS.exp() * (logS - logT)).sum(-1),
            ConsistencyDistance.JensenShannon => JensenShannon(logT, logS),
            _ => throw new ArgumentOutOfRangeException(nameof(distance), distance, "unknown distance"),
        };
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor JensenShannon(Tensor logT, Tensor logS)
    {
        using var log2 = Math.Log(2.0).ToScalar();
        using var half = 0.5.ToScalar();
        var logM = stack(new[] { logT, logS }).logsumexp(0) - log2;                       // log ½(p_T + p_S), stable
        return (logT.exp() * (logT - logM)).sum(-1).add((logS.exp() * (logS - logM)).sum(-1), Scalars.One) * half;
    }

    private static string Shape(Tensor t) => "(" + string.Join(", ", t.shape) + ")";
}
