using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>
/// The reference's data augmentation (section 2.5.1): early states get some of their wrong tokens
/// corrected to the fixed point's, so training sees states closer to convergence than Jacobi alone visits.
/// </summary>
internal static class TrajectoryAugmentation
{
    /// <summary>
    /// For each state j from k − 2 down to 0 (k + 1 states; the fixed point and the state before it are
    /// left alone): with <c>wrong</c> = the positions where y(j) differs from y*, draws ⌊|wrong| / 2⌋
    /// positions with replacement from <c>wrong</c> without its first element and sets them to y*'s tokens.
    /// The first wrong position stays wrong, so no state converges and each state's first mismatch with
    /// y* is unchanged. The input is not modified; changed states are copies.
    /// </summary>
    /// <returns>The augmented record and the number of states changed.</returns>
    public static (TrajectoryRecord Record, int StatesAugmented) Augment(TrajectoryRecord record, Random random)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(random);
        var states = new int[record.Trajectory.Count][];
        for (int j = 0; j < states.Length; j++)
        {
            states[j] = record.Trajectory[j];
        }

        var fixedPoint = states[^1];
        var wrong = new List<int>();
        int changed = 0;
        for (int j = states.Length - 3; j >= 0; j--)
        {
            wrong.Clear();
            for (int p = 0; p < fixedPoint.Length; p++)
            {
                if (states[j][p] != fixedPoint[p])
                {
                    wrong.Add(p);
                }
            }

            int draws = wrong.Count / 2;
            if (draws == 0)
            {
                continue;
            }

            var state = (int[])states[j].Clone();
            for (int d = 0; d < draws; d++)
            {
                int p = wrong[1 + random.Next(wrong.Count - 1)];
                state[p] = fixedPoint[p];
            }

            states[j] = state;
            changed++;
        }

        return changed == 0 ? (record, 0) : (record with { Trajectory = states }, changed);
    }
}
