using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// One trajectory record prepared for a training step: the context, the student's and the teacher's block states
/// (same length n), and the sequence the autoregressive loss is taken on.
/// </summary>
internal sealed record ConsistencyExample
{
    /// <summary>The tokens before the block (prompt and earlier fixed points), C ≥ 1.</summary>
    public required IReadOnlyList<int> Context { get; init; }

    /// <summary>The student's block state y(i), n tokens.</summary>
    public required IReadOnlyList<int> Student { get; init; }

    /// <summary>The teacher's block state (y* or y(i+1)), n tokens.</summary>
    public required IReadOnlyList<int> Teacher { get; init; }

    /// <summary>The autoregressive loss's sequence (at least 2 tokens): context ⊕ y*, or the record's labels.</summary>
    public required IReadOnlyList<int> Labels { get; init; }

    /// <summary>
    /// Index of the first <see cref="Labels"/> token the autoregressive loss predicts; the tokens before it are inputs
    /// only. 0 (the default, as the reference) trains on every token after the first; the record's prompt length trains
    /// on the answer only.
    /// </summary>
    public int AnswerStart { get; init; }

    /// <summary>Block length n.</summary>
    public int BlockLength => Student.Count;

    /// <summary>
    /// Index of the first block token where the student differs from the teacher, or n when they are equal.
    /// Logits before it see identical inputs in both sequences.
    /// </summary>
    public int FirstMismatch
    {
        get
        {
            int w = 0;
            while (w < Student.Count && Student[w] == Teacher[w])
            {
                w++;
            }

            return w;
        }
    }

    /// <summary>True when <see cref="Labels"/> is exactly context ⊕ teacher state, so one forward can serve both losses.</summary>
    public bool LabelsAreTeacherSequence
    {
        get
        {
            if (Labels.Count != Context.Count + Teacher.Count)
            {
                return false;
            }

            for (int i = 0; i < Context.Count; i++)
            {
                if (Labels[i] != Context[i])
                {
                    return false;
                }
            }

            for (int i = 0; i < Teacher.Count; i++)
            {
                if (Labels[Context.Count + i] != Teacher[i])
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Builds the example of <paramref name="record"/> for the states chosen by <paramref name="pair"/>. The labels are
    /// <c>teacher_output_ids</c>, or <c>labels_ids</c> when <paramref name="useLabelIds"/> is set and the record has them;
    /// with <paramref name="answerOnly"/> the autoregressive loss covers the tokens after the record's prompt only.
    /// </summary>
    public static ConsistencyExample FromRecord(TrajectoryRecord record, ConsistencyPair pair, bool useLabelIds = false, bool answerOnly = false)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfNegative(pair.StudentState);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pair.StudentState, record.Trajectory.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(pair.TeacherState);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pair.TeacherState, record.Trajectory.Count);
        var labels = useLabelIds && record.LabelIds is { Count: >= 2 } ids ? ids : record.TeacherOutputIds;
        return new ConsistencyExample
        {
            Context = record.PromptIds,
            Student = record.Trajectory[pair.StudentState],
            Teacher = record.Trajectory[pair.TeacherState],
            Labels = labels,
            AnswerStart = answerOnly ? record.PromptLength : 0,
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> when lengths are inconsistent or a token is outside [0, vocabSize).</summary>
    public void Validate(int vocabSize)
    {
        if (Context.Count == 0)
        {
            throw new ArgumentException("the context must hold at least one token.");
        }

        if (Student.Count == 0 || Student.Count != Teacher.Count)
        {
            throw new ArgumentException($"student ({Student.Count}) and teacher ({Teacher.Count}) states must be non-empty and equally long.");
        }

        if (Labels.Count < 2)
        {
            throw new ArgumentException("the autoregressive sequence must hold at least two tokens.");
        }

        if (AnswerStart < 0 || AnswerStart >= Labels.Count)
        {
            throw new ArgumentException($"the answer start {AnswerStart} must be in [0, {Labels.Count}) (the labels' length).");
        }

        CheckIds(Context, vocabSize, "context");
        CheckIds(Student, vocabSize, "student state");
        CheckIds(Teacher, vocabSize, "teacher state");
        CheckIds(Labels, vocabSize, "labels");
    }

    private static void CheckIds(IReadOnlyList<int> ids, int vocabSize, string what)
    {
        for (int i = 0; i < ids.Count; i++)
        {
            if ((uint)ids[i] >= (uint)vocabSize)
            {
                throw new ArgumentException($"{what} token {i} is {ids[i]}, outside the vocabulary [0, {vocabSize}).");
            }
        }
    }
}

/// <summary>
/// Which two states of a record's trajectory a consistency loss compares: the student sees
/// <c>y(StudentState)</c> and is pulled towards the stop-gradient model's predictions on <c>y(TeacherState)</c>.
/// Indices into <see cref="TrajectoryRecord.Trajectory"/>.
/// </summary>
/// <param name="StudentState">Index of the student's input state y(i).</param>
/// <param name="TeacherState">Index of the teacher's input state: the fixed point (global) or y(i+1) (local).</param>
internal readonly record struct ConsistencyPair(int StudentState, int TeacherState);

/// <summary>
/// B examples of uneven lengths. Sequences are right-padded into (B, T) tensors and every mask is derived from the
/// examples' lengths, never from a pad id, so no token value can be mistaken for padding. Right padding is harmless
/// under the causal mask: a real token never attends to a later (padding) position.
/// </summary>
internal sealed class ConsistencyBatch
{
    /// <summary>The token written into padding positions; any valid id works because lengths, not ids, mark padding.</summary>
    public const int Filler = 0;

    /// <summary>Wraps <paramref name="examples"/> (at least one).</summary>
    public ConsistencyBatch(IReadOnlyList<ConsistencyExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            throw new ArgumentException("a batch needs at least one example.", nameof(examples));
        }

        Examples = examples;
    }

    /// <summary>The examples, in batch order.</summary>
    public IReadOnlyList<ConsistencyExample> Examples { get; }

    /// <summary>Batch size B.</summary>
    public int Count => Examples.Count;

    /// <summary>True when every example's labels are its context ⊕ teacher state.</summary>
    public bool LabelsAreTeacherSequences => Examples.All(e => e.LabelsAreTeacherSequence);

    /// <summary>Throws <see cref="ArgumentException"/> when an example is inconsistent or holds an id outside [0, vocabSize).</summary>
    public void Validate(int vocabSize)
    {
        foreach (var example in Examples)
        {
            example.Validate(vocabSize);
        }
    }

    /// <summary>(B, T) i64 from sequences of uneven length, padded on the right with <see cref="Filler"/>.</summary>
    internal static Tensor Pad(IReadOnlyList<IReadOnlyList<int>> sequences, Device? device)
    {
        int b = sequences.Count;
        int t = sequences.Max(s => s.Count);
        var ids = new long[b * t];
        for (int row = 0; row < b; row++)
        {
            var s = sequences[row];
            for (int i = 0; i < s.Count; i++)
            {
                ids[row * t + i] = s[i];
            }

            for (int i = s.Count; i < t; i++)
            {
                ids[row * t + i] = Filler;
            }
        }

        return tensor(ids, dtype: ScalarType.Int64, device: device).view(b, t);
    }
}
