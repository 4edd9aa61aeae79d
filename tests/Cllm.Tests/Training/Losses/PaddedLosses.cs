using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using Cllm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Training.Losses;

/// <summary>
/// The losses in the reference's padded layout, one forward per input over right-padded (B, T) batches: the oracle the
/// trainer's packed forward (<see cref="CllmObjective"/>) is checked against. Test-only; the library trains packed.
/// </summary>
internal static class PaddedLosses
{
    /// <summary>(B, T) i64: context ⊕ student state of every example, right-padded.</summary>
    public static Tensor StudentInput(this ConsistencyBatch batch, Device? device = null) => ConsistencyBatch.Pad(batch.Examples.Select(e => e.Context.Concat(e.Student).ToArray()).ToList<IReadOnlyList<int>>(), device);

    /// <summary>(B, T) i64: context ⊕ teacher state of every example, right-padded.</summary>
    public static Tensor TeacherInput(this ConsistencyBatch batch, Device? device = null) => ConsistencyBatch.Pad(batch.Examples.Select(e => e.Context.Concat(e.Teacher).ToArray()).ToList<IReadOnlyList<int>>(), device);

    /// <summary>
    /// The consistency loss over <paramref name="batch"/>: student logits from a forward with gradients (when enabled) over
    /// <see cref="StudentInput"/>; teacher logits from a no-grad forward over <see cref="TeacherInput"/>, unless
    /// <paramref name="teacherLogits"/> (B, T', V) of that input is given, in which case it is detached and used.
    /// </summary>
    public static LossTerm Compute(this ConsistencyLoss loss, LlamaForCausalLM model, ConsistencyBatch batch, Tensor? teacherLogits = null)
    {
        int b = batch.Count;
        int v = model.Config.VocabSize;
        int t = batch.Examples.Max(e => e.Context.Count + e.BlockLength);
        int tTeacher = teacherLogits is null ? t : checked((int)teacherLogits.shape[1]);
        if (teacherLogits is not null && (teacherLogits.dim() != 3 || teacherLogits.shape[0] != b || teacherLogits.shape[2] != v || tTeacher < t))
        {
            throw new ArgumentException($"teacher logits must be (B = {b}, T ≥ {t}, V = {v}), got ({string.Join(", ", teacherLogits.shape)}).", nameof(teacherLogits));
        }

        if (!loss.HasPositions(batch.Examples))
        {
            return LossTerm.Empty(b, model.Device);
        }

        using var scope = NewDisposeScope();
        Tensor teacher;
        if (teacherLogits is not null)
        {
            teacher = teacherLogits.detach();                                             // (B, T', V)
        }
        else
        {
            using var noGrad = no_grad();
            teacher = model.Forward(batch.TeacherInput(model.Device));                    // (B, T, V)
        }

        var student = model.Forward(batch.StudentInput(model.Device));                    // (B, T, V)
        var (sum, weighted, owners, counts) = loss.Accumulate(
            batch.Examples,
            student.view(b * (long)t, v),
            (e, p) => (long)e * t + p,
            teacher.reshape(b * (long)tTeacher, v),
            (e, p) => (long)e * tTeacher + p);
        return Term(sum, weighted, owners, counts, b);
    }

    /// <summary>Runs the model over the right-padded <paramref name="sequences"/> and returns the AR loss.</summary>
    public static LossTerm Compute(this AutoregressiveLoss loss, LlamaForCausalLM model, IReadOnlyList<IReadOnlyList<int>> sequences)
    {
        using var scope = NewDisposeScope();
        var term = loss.Compute(model.Forward(ConsistencyBatch.Pad(sequences, model.Device)), sequences);   // logits (B, T, V)
        term.Value.MoveToOuterDisposeScope();
        return term;
    }

    /// <summary>
    /// The AR loss from <paramref name="logits"/> (B, T, V) of <paramref name="sequences"/> right-padded to T: position t of
    /// sequence b predicts its token t + 1, for t &lt; L_b − 1 (from <paramref name="answerStarts"/>[b] − 1 when given).
    /// </summary>
    public static LossTerm Compute(this AutoregressiveLoss loss, Tensor logits, IReadOnlyList<IReadOnlyList<int>> sequences, IReadOnlyList<int>? answerStarts = null)
    {
        int b = sequences.Count;
        if (logits.dim() != 3 || logits.shape[0] != b)
        {
            throw new ArgumentException($"logits must be (B = {b}, T, V), got ({string.Join(", ", logits.shape)}).", nameof(logits));
        }

        long t = logits.shape[1], v = logits.shape[2];
        if (sequences.Any(s => s.Count > t))
        {
            throw new ArgumentException($"a sequence is longer than the {t} positions the logits cover.", nameof(sequences));
        }

        using var scope = NewDisposeScope();
        var (sum, weighted, owners, counts) = loss.Accumulate(logits.reshape(b * t, v), sequences, (e, p) => e * t + p, answerStarts);
        return Term(sum, weighted, owners, counts, b);
    }

    /// <summary>The batch mean of the per-example means, and each example's value; moved out of the caller's scope.</summary>
    private static LossTerm Term(Tensor sum, Tensor? weighted, List<long> owners, int[] counts, int examples)
    {
        using var batchSize = ((long)examples).ToScalar();
        var values = weighted is null ? new float[examples] : LossTerm.SumPerExample(weighted, owners, examples);
        return new LossTerm((sum / batchSize).MoveToOuterDisposeScope(), values, counts);
    }
}
