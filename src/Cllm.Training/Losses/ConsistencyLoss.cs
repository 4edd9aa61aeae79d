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

        // 1. Loss positions of every example, as flat indices into (B·T) student and (B·T') teacher rows.
        var studentRows = new List<long>();
        var teacherRows = new List<long>();
        var owners = new List<long>();
        var weights = new List<float>();
        var counts = new int[b];
        for (int row = 0; row < b; row++)
        {
            var example = batch.Examples[row];
            int c = example.Context.Count, n = example.BlockLength, w = example.FirstMismatch;
            if (w == n)
            {
                continue;                                                                 // student = teacher: nothing to learn
            }

            int first = c + w - 1;                                                        // logit predicting the first wrong token
            int last = Positions == ConsistencyPositions.FromFirstMismatchWithBlockEnd ? c + n - 1 : c + n - 2;
            counts[row] = last - first + 1;
            for (int p = first; p <= last; p++)
            {
                studentRows.Add((long)row * t + p);
                teacherRows.Add((long)row * tTeacher + p);
                owners.Add(row);
                weights.Add(1f / counts[row]);
            }
        }

        if (studentRows.Count == 0)
        {
            return LossTerm.Empty(b, model.Device);
        }

        using var scope = NewDisposeScope();
        var device = model.Device;

        // 2. Teacher: the same model at the same weights, stop-gradient.
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

        // 3. Student: gradients flow (when the caller has them enabled).
        var studentLogits = model.Forward(batch.StudentInput(device));                    // (B, T, V)
        var studentAt = studentLogits.view(b * (long)t, v).index_select(0, tensor(studentRows.ToArray(), device: device));          // (K, V)
        var teacherAt = teacher.reshape(b * (long)tTeacher, v).index_select(0, tensor(teacherRows.ToArray(), device: device));      // (K, V)

        // 4. Distance per position, weighted by 1/|kept| of its example; mean over examples.
        var distances = DistributionDistance.Compute(Distance, teacherAt, studentAt);    // (K)
        var weighted = distances * tensor(weights.ToArray(), device: device);            // (K)
        var value = weighted.sum() / b;                                                   // ()
        var values = LossTerm.SumPerExample(weighted, owners, b);
        return new LossTerm(value.MoveToOuterDisposeScope(), values, counts);
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
