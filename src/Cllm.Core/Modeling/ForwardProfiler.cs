using System;
using System.Diagnostics;

namespace Cllm.Core;

/// <summary>
/// Wall time per <see cref="ForwardOp"/> class, summed over forwards while <see cref="Enabled"/> (CPU ops are
/// synchronous, so a stopwatch around them is their cost). Off by default: then each mark costs one static read.
/// Process-wide and not thread-safe: profile one forward at a time.
/// </summary>
internal static class ForwardProfiler
{
    private static readonly double[] Totals = new double[Enum.GetValues<ForwardOp>().Length];

    /// <summary>Whether forwards record their op times.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Milliseconds recorded per op class since the last <see cref="Reset"/>, indexed by <see cref="ForwardOp"/>.</summary>
    public static double[] Snapshot() => (double[])Totals.Clone();

    /// <summary>Clears the totals.</summary>
    public static void Reset() => Array.Clear(Totals);

    /// <summary>A start mark (0 when disabled).</summary>
    internal static long Mark() => Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Adds the time since <paramref name="mark"/> to <paramref name="op"/> and moves the mark to now.</summary>
    internal static void Add(ForwardOp op, ref long mark)
    {
        if (!Enabled)
        {
            return;
        }

        long now = Stopwatch.GetTimestamp();
        Totals[(int)op] += Stopwatch.GetElapsedTime(mark, now).TotalMilliseconds;
        mark = now;
    }
}
