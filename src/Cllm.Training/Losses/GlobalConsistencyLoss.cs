using System;
using Cllm.Training.Trajectories;

namespace Cllm.Training.Losses;

/// <summary>
/// Global consistency (the paper's L_GC, the only consistency loss of the reference code): the student on a state
/// y(i), i uniform over the non-final states, against the stop-gradient model on the fixed point y*. It teaches the
/// model to jump from any point of a trajectory straight to the fixed point.
/// </summary>
public sealed class GlobalConsistencyLoss : ConsistencyLoss
{
    /// <param name="distance">Distance between teacher and student distributions; forward KL by default.</param>
    /// <param name="positions">Which block logits the loss covers; the reference rule by default.</param>
    public GlobalConsistencyLoss(ConsistencyDistance distance = ConsistencyDistance.ForwardKl, ConsistencyPositions positions = ConsistencyPositions.FromFirstMismatch)
        : base(distance, positions)
    {
    }

    /// <inheritdoc />
    public override string Name => "global";

    /// <inheritdoc />
    public override ConsistencyPair SelectPair(TrajectoryRecord record, Random random)
    {
        int i = DrawStudentState(record, random);
        return new ConsistencyPair(i, record.Trajectory.Count - 1);
    }
}
