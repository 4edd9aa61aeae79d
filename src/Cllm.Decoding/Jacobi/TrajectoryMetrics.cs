using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// The paper's convergence figures for one block trajectory (reference section 1.8), over the
/// states y(1) … y(k) after the initial guess.
/// </summary>
internal static class TrajectoryMetrics
{
    /// <summary>
    /// Mean growth per iteration of the prefix that equals the fixed point (prefix of y(0) counted as 0):
    /// block length / k. A block that needed no iteration counts its whole length.
    /// </summary>
    public static double FastForwarded(IReadOnlyList<int[]> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        int k = states.Count - 1;
        return (double)states[^1].Length / Math.Max(1, k);
    }

    /// <summary>
    /// Tokens that held their final value for more trailing states than the correct prefix alone explains:
    /// they were right while something before them was still wrong, and never changed afterwards.
    /// </summary>
    public static int Stationary(IReadOnlyList<int[]> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        var fixedPoint = states[^1];
        int k = states.Count - 1;
        int count = 0;
        for (int i = 0; i < fixedPoint.Length; i++)
        {
            int observed = 0;                                                             // trailing states holding the final value
            for (int t = k; t >= 1 && states[t][i] == fixedPoint[i]; t--)
            {
                observed++;
            }

            int covered = k + 1;                                                          // first state whose correct prefix reaches i
            for (int t = 1; t <= k; t++)
            {
                if (PrefixLength(states[t], fixedPoint) > i)
                {
                    covered = t;
                    break;
                }
            }

            if (observed > k - covered + 1)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Length of the longest common prefix of a state and the fixed point.</summary>
    public static int PrefixLength(int[] state, int[] fixedPoint)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(fixedPoint);
        int n = Math.Min(state.Length, fixedPoint.Length);
        int i = 0;
        while (i < n && state[i] == fixedPoint[i])
        {
            i++;
        }

        return i;
    }
}
