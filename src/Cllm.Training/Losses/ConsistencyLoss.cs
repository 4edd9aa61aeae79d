using System;
using System.Collections.Generic;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// The consistency loss: the model on a trajectory state y(i) (the student, gradients flow), i uniform over the
/// non-final states, is pulled towards the same model's stop-gradient predictions on another state of the same
/// trajectory (the teacher): the fixed point y* for global consistency (the paper's L_GC, the only one of the reference
/// code), the next state y(i+1) for local consistency (L_LC, with the same position rule). For example b with context
/// length C, block length n and first student/teacher mismatch w, the loss covers logits p = C + w − 1 … C + n − 2 (see
/// <see cref="ConsistencyPositions"/>) and is <c>(1/|kept|) Σ_p D(teacher_p ‖ student_p)</c>; the batch loss is the
/// mean over examples.
/// </summary>
internal sealed class ConsistencyLoss
{
    /// <param name="teacher">Which state is the teacher: the fixed point (global, the default) or the next state (local).</param>
    /// <param name="distance">Distance between teacher and student distributions; forward KL by default.</param>
    /// <param name="positions">Which block logits the loss covers; the reference rule by default.</param>
    public ConsistencyLoss(ConsistencyKind teacher = ConsistencyKind.Global, ConsistencyDistance distance = ConsistencyDistance.ForwardKl, ConsistencyPositions positions = ConsistencyPositions.FromFirstMismatch)
    {
        if (!Enum.IsDefined(teacher))
        {
            throw new ArgumentOutOfRangeException(nameof(teacher), teacher, "unknown teacher state");
        }

        if (!Enum.IsDefined(distance))
        {
            throw new ArgumentOutOfRangeException(nameof(distance), distance, "unknown distance");
        }

        if (!Enum.IsDefined(positions))
        {
            throw new ArgumentOutOfRangeException(nameof(positions), positions, "unknown position rule");
        }

        Teacher = teacher;
        Distance = distance;
        Positions = positions;
    }

    /// <summary>Global: the fixed point is the teacher of every state; local: the next state is.</summary>
    public ConsistencyKind Teacher { get; }

    /// <summary>A short name for logs: global, local.</summary>
    public string Name => Teacher == ConsistencyKind.Local ? "local" : "global";

    /// <summary>The distance between teacher and student distributions.</summary>
    public ConsistencyDistance Distance { get; }

    /// <summary>Which block logits the loss covers.</summary>
    public ConsistencyPositions Positions { get; }

    /// <summary>
    /// Picks the student and teacher states of <paramref name="record"/>: the student uniformly from y(0) … y(k−1), the
    /// teacher y* (global) or y(i+1) (local); a trajectory with a single state yields (0, 0), which has no loss positions.
    /// </summary>
    internal ConsistencyPair SelectPair(TrajectoryRecord record, Random random)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(random);
        int k = record.Trajectory.Count - 1;
        int i = k <= 0 ? 0 : random.Next(k);
        return new ConsistencyPair(i, Teacher == ConsistencyKind.Local ? Math.Min(i + 1, k) : k);
    }

    /// <summary>
    /// The logits (p = C + w − 1 … last) example <paramref name="example"/> is trained on, in its own coordinates
    /// (sequence context ⊕ block, logit p predicting token p + 1); null when student and teacher states are equal.
    /// </summary>
    internal (int First, int Last)? LossRange(ConsistencyExample example)
    {
        int c = example.Context.Count, n = example.BlockLength, w = example.FirstMismatch;
        if (w == n)
        {
            return null;                                                                  // student = teacher: nothing to learn
        }

        return (c + w - 1, Positions == ConsistencyPositions.FromFirstMismatchWithBlockEnd ? c + n - 1 : c + n - 2);
    }

    /// <summary>True when some example has loss positions.</summary>
    internal bool HasPositions(IReadOnlyList<ConsistencyExample> examples)
    {
        foreach (var e in examples)
        {
            if (LossRange(e) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Σ over <paramref name="examples"/> of each one's mean distance, from flat logit matrices: studentFlat (R, V) with
    /// row <c>studentRow(e, p)</c> holding example e's logit p, and likewise for the teacher (used as given; detach it).
    /// Returns the sum (attached to the student's graph), the weighted distances (K) with each one's example (null when
    /// there are no positions) and each example's number of positions.
    /// </summary>
    internal (Tensor Sum, Tensor? Weighted, List<long> Owners, int[] Counts) Accumulate(
        IReadOnlyList<ConsistencyExample> examples,
        Tensor studentFlat,
        Func<int, int, long> studentRow,
        Tensor teacherFlat,
        Func<int, int, long> teacherRow)
    {
        var studentRows = new List<long>();
        var teacherRows = new List<long>();
        var owners = new List<long>();
        var weights = new List<float>();
        var counts = new int[examples.Count];
        for (int e = 0; e < examples.Count; e++)
        {
            if (LossRange(examples[e]) is not var (first, last))
            {
                continue;
            }

            counts[e] = last - first + 1;
            for (int p = first; p <= last; p++)
            {
                studentRows.Add(studentRow(e, p));
                teacherRows.Add(teacherRow(e, p));
                owners.Add(e);
                weights.Add(1f / counts[e]);
            }
        }

        var device = studentFlat.device;
        if (studentRows.Count == 0)
        {
            return (zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device), null, owners, counts);
        }

        var studentAt = studentFlat.index_select(0, tensor(studentRows.ToArray(), device: device));   // (K, V)
        var teacherAt = teacherFlat.index_select(0, tensor(teacherRows.ToArray(), device: device));   // (K, V)
        var distances = DistributionDistance.Compute(Distance, teacherAt, studentAt);    // (K)
        var weighted = distances * tensor(weights.ToArray(), device: device);            // (K), weight 1/|kept|
        return (weighted.sum(), weighted, owners, counts);
    }
}

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
