using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>
/// One Jacobi block of one prompt, as collected from the target model (the paper's Algorithm 1): the
/// context the block was decoded after, every state of the block from the initial guess to the fixed
/// point, and the teacher's output. Field names follow the reference implementation's JSON records.
/// </summary>
public sealed record TrajectoryRecord
{
    /// <summary><c>data_id</c>: "data_&lt;i&gt;", the index of the source prompt.</summary>
    public required string DataId { get; init; }

    /// <summary><c>jacobian_itr_id</c>: the block's index within the prompt's answer (0, 1, …).</summary>
    public required int BlockIndex { get; init; }

    /// <summary><c>prompt_ids_len</c>: length of the ORIGINAL prompt (the same for every block of a prompt).</summary>
    public required int PromptLength { get; init; }

    /// <summary><c>prompt_ids</c>: the block's context — the original prompt followed by all earlier fixed points.</summary>
    public required IReadOnlyList<int> PromptIds { get; init; }

    /// <summary><c>answer_trajectory_ids</c>: states y(0) … y(k) of the block; the last is the fixed point y*. All have the block's length.</summary>
    public required IReadOnlyList<int[]> Trajectory { get; init; }

    /// <summary><c>teacher_output_ids</c>: <see cref="PromptIds"/> followed by the fixed point.</summary>
    public required IReadOnlyList<int> TeacherOutputIds { get; init; }

    /// <summary><c>complete_teacher_output_ids</c>: the prompt's whole final generation (prompt included), when known.</summary>
    public IReadOnlyList<int>? CompleteTeacherOutputIds { get; init; }

    /// <summary><c>labels_ids</c>: prompt plus a ground-truth answer, when the data set has one.</summary>
    public IReadOnlyList<int>? LabelIds { get; init; }

    /// <summary>The fixed point y*: the last trajectory state.</summary>
    public int[] FixedPoint => Trajectory[^1];

    /// <summary>Number of tokens in the block.</summary>
    public int BlockLength => Trajectory[^1].Length;

    /// <summary>Throws <see cref="FormatException"/> when the fields contradict each other.</summary>
    public void Validate()
    {
        if (Trajectory.Count == 0)
        {
            throw new FormatException("answer_trajectory_ids is empty.");
        }

        int n = Trajectory[0].Length;
        foreach (var state in Trajectory)
        {
            if (state.Length != n)
            {
                throw new FormatException($"answer_trajectory_ids mixes states of {n} and {state.Length} tokens.");
            }
        }

        if (n == 0 || PromptIds.Count == 0)
        {
            throw new FormatException("prompt_ids and the trajectory states must not be empty.");
        }

        if (TeacherOutputIds.Count != PromptIds.Count + n)
        {
            throw new FormatException($"teacher_output_ids has {TeacherOutputIds.Count} tokens; prompt_ids ({PromptIds.Count}) + block ({n}) expected.");
        }
    }
}
