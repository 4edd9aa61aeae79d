using System;
using Cllm.Modeling;
using Cllm.Training.Trajectories;
using static TorchSharp.torch;

namespace Cllm.Training.Losses;

/// <summary>
/// A consistency loss: the model on a trajectory state y(i) (the student, gradients flow) is pulled towards the
/// same model's stop-gradient predictions on another state of the same trajectory (the teacher), block position by
/// block position. Implementations differ in which teacher state they pick.
/// </summary>
public interface IConsistencyLoss
{
    /// <summary>A short name for logs: global, local.</summary>
    string Name { get; }

    /// <summary>The distance between teacher and student distributions.</summary>
    ConsistencyDistance Distance { get; }

    /// <summary>
    /// Picks the student and teacher states of <paramref name="record"/>. The student state is drawn uniformly from the
    /// non-final states y(0) … y(k−1); a trajectory with a single state yields (0, 0), which has no loss positions.
    /// </summary>
    ConsistencyPair SelectPair(TrajectoryRecord record, Random random);

    /// <summary>
    /// The loss over <paramref name="batch"/>. Student logits come from a forward with gradients (when enabled) over
    /// <see cref="ConsistencyBatch.StudentInput"/>; teacher logits from a no-grad forward over
    /// <see cref="ConsistencyBatch.TeacherInput"/>, unless <paramref name="teacherLogits"/> (B, T', V) of that input is
    /// given, in which case it is detached and used.
    /// </summary>
    LossTerm Compute(LlamaForCausalLM model, ConsistencyBatch batch, Tensor? teacherLogits = null);
}
