using System;
using System.Collections.Generic;
using Cllm.Modeling;
using Cllm.Training.Trajectories;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training.Losses;

/// <summary>
/// What global and local consistency share: loss positions, the stop-gradient teacher, the distance and the
/// normalisation. For example b with context length C, block length n and first student/teacher mismatch w, the
/// loss covers logits p = C + w − 1 … C + n − 2 (see <see cref="ConsistencyPositions"/>) and is
/// <c>(1/|kept|) Σ_p D(teacher_p ‖ student_p)</c>; the batch loss is the mean over examples.
/// </summary>
public abstract class ConsistencyLoss : IConsistencyLoss
{
    /// <param name="distance">Distance between teacher and student distributions.</param>
    /// <param name="positions">Which block logits the loss covers.</param>
    protected ConsistencyLoss(ConsistencyDistance distance, ConsistencyPositions positions)
    {
        if (!Enum.IsDefined(distance))
        {
            throw new ArgumentOutOfRangeException(nameof(distance), distance, "unknown distance");
        }

        if (!Enum.IsDefined(positions))
        {
            throw new ArgumentOutOfRangeException(nameof(positions), positions, "unknown position rule");
        }

        Distance = distance;
        Positions = positions;
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public ConsistencyDistance Distance { get; }

    /// <summary>Which block logits the loss covers.</summary>
    public ConsistencyPositions Positions { get; }

    /// <inheritdoc />
    public abstract ConsistencyPair SelectPair(TrajectoryRecord record, Random random);

    /// <inheritdoc />
    public LossTerm Compute(LlamaForCausalLM model, ConsistencyBatch batch, Tensor? teacherLogits = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        int b = batch.Count;
        int v = model.Config.VocabSize;
        int t = MaxLength(batch);
        int tTeacher = teacherLogits is null ? t : checked((int)teacherLogits.shape[1]);
        if (teacherLogits is not null && (teacherLogits.dim() != 3 || teacherLogits.shape[0] != b || teacherLogits.shape[2] != v || tTeacher < t))
        {
            throw new ArgumentException($"teacher logits must be (B = {b}, T ≥ {t}, V = {v}), got ({string.Join(", ", teacherLogits.shape)}).", nameof(teacherLogits));
        }

        if (!HasPositions(batch.Examples))
        {
            return LossTerm.Empty(b, model.Device);
        }

        using var scope = NewDisposeScope();
        var device = model.Device;

        // Teacher: the same model at the same weights, stop-gradient.
        Tensor teacher;
        if (teacherLogits is not null)
        {
            teacher = teacherLogits.detach();                                             // (B, T', V)
        }
        else
        {
            using var noGrad = no_grad();
            teacher = model.Forward(batch.TeacherInput(device));                          // (B, T, V)
        }

        // Student: gradients flow (when the caller has them enabled).
        var student = model.Forward(batch.StudentInput(device));                          // (B, T, V)
        var (sum, values, counts) = Accumulate(
            batch.Examples,
            student.view(b * (long)t, v),
            (e, p) => (long)e * t + p,
            teacher.reshape(b * (long)tTeacher, v),
            (e, p) => (long)e * tTeacher + p);
        using var batchSize = ((long)b).ToScalar();
        return new LossTerm((sum / batchSize).MoveToOuterDisposeScope(), values, counts);
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
    /// Returns the sum (attached to the student's graph), each example's value and its number of positions.
    /// </summary>
    internal (Tensor Sum, float[] PerExample, int[] Counts) Accumulate(
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
            return (zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device), new float[examples.Count], counts);
        }

        var studentAt = studentFlat.index_select(0, tensor(studentRows.ToArray(), device: device));   // (K, V)
        var teacherAt = teacherFlat.index_select(0, tensor(teacherRows.ToArray(), device: device));   // (K, V)
        var distances = DistributionDistance.Compute(Distance, teacherAt, studentAt);    // (K)
        var weighted = distances * tensor(weights.ToArray(), device: device);            // (K), weight 1/|kept|
        return (weighted.sum(), LossTerm.SumPerExample(weighted, owners, examples.Count), counts);
    }

    /// <summary>Draws the student state uniformly from y(0) … y(k−1); (0, 0) for a single-state trajectory.</summary>
    protected static int DrawStudentState(TrajectoryRecord record, Random random)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(random);
        int k = record.Trajectory.Count - 1;
        return k <= 0 ? 0 : random.Next(k);
    }

    private static int MaxLength(ConsistencyBatch batch)
    {
        int t = 0;
        foreach (var e in batch.Examples)
        {
            t = Math.Max(t, e.Context.Count + e.BlockLength);
        }

        return t;
    }
}
