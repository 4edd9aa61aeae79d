using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// What chain drafts were accepted, and so what a window of another length would emit: per window W (the pending token
/// and W − 1 drafted), how many forwards accepted 0 … W − 1 of their drafted tokens. A chain accepts the same prefix
/// whatever follows it, so a forward over W tokens that accepted A tells that a window w ≤ W would have emitted
/// 1 + min(A, w − 1). Used by the auto block size (<see cref="BlockSizePolicy"/>) and the batch's draft budget
/// (<see cref="BatchBudget"/>); not thread-safe (each owner locks or runs on one thread).
/// </summary>
internal sealed class ChainAcceptance
{
    private readonly Dictionary<int, long[]> _counts = new();                             // per window W: forwards by accepted count 0..W−1

    /// <summary>One chain forward over <paramref name="window"/> tokens (≥ 2) that accepted <paramref name="accepted"/> drafted tokens (clamped to 0 … W − 1).</summary>
    public void Record(int window, int accepted)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 2);
        if (!_counts.TryGetValue(window, out var counts))
        {
            _counts[window] = counts = new long[window];
        }

        counts[Math.Clamp(accepted, 0, window - 1)]++;
        Forwards++;
    }

    /// <summary>Forwards recorded (all windows).</summary>
    public long Forwards { get; private set; }

    /// <summary>Halves every count (rounding down), so that what comes next weighs as much as all that came before.</summary>
    public void Halve()
    {
        Forwards = 0;
        foreach (var counts in _counts.Values)
        {
            for (int a = 0; a < counts.Length; a++)
            {
                counts[a] /= 2;
                Forwards += counts[a];
            }
        }
    }

    /// <summary>
    /// Expected tokens of a forward over <paramref name="window"/> tokens, 1 + E[min(A, w − 1)], over every forward of
    /// <paramref name="seen"/> recorded with at least that many tokens; null while fewer than <paramref name="minForwards"/> were.
    /// </summary>
    public static double? Emitted(int window, int minForwards, params ChainAcceptance[] seen)
    {
        double forwards = 0, accepted = 0;
        foreach (var acceptance in seen)
        {
            foreach (var (w, counts) in acceptance._counts)
            {
                if (w < window)
                {
                    continue;
                }

                for (int a = 0; a < counts.Length; a++)
                {
                    forwards += counts[a];
                    accepted += counts[a] * (double)Math.Min(a, window - 1);
                }
            }
        }

        return forwards >= minForwards ? 1 + (accepted / forwards) : null;
    }

    /// <summary>
    /// G(p, w) = 1 + p + … + p^(w−1): expected tokens of a forward over <paramref name="window"/> tokens when each drafted
    /// token after an accepted one is right with probability <paramref name="p"/> (the model used before enough forwards are seen).
    /// </summary>
    public static double Geometric(double p, int window) => p >= 1 ? window : (1 - Math.Pow(p, window)) / (1 - p);
}
