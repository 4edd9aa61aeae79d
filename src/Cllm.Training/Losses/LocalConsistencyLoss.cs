using System;
using Cllm.Training.Trajectories;

namespace Cllm.Training.Losses;

/// <summary>
/// Local consistency (the paper's L_LC; not in the reference code): the student on a state y(i), i uniform over the
/// non-final states, against the stop-gradient model on the next state y(i+1). Positions follow the same rule as the
/// global loss, with y(i+1) in place of the fixed point (the reference document's extrapolation).
/// </summary>
public sealed class LocalConsistencyLoss : ConsistencyLoss
{
    /// <param name="distance">Distance between teacher and student distributions; forward KL by default.</param>
    /// <param name="positions">Which block logits the loss covers; the reference rule by default.</param>
    public LocalConsistencyLoss(ConsistencyDistance distance = ConsistencyDistance.ForwardKl, ConsistencyPositions positions = ConsistencyPositions.FromFirstMismatch)
        : base(distance, positions)
    {
    }

    /// <inheritdoc />
    public override string Name => "local";

    /// <inheritdoc />
    public override ConsistencyPair SelectPair(TrajectoryRecord record, Random random)
    {
        int i = DrawStudentState(record, random);
        return new ConsistencyPair(i, Math.Min(i + 1, record.Trajectory.Count - 1));
    }
}
