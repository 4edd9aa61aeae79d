using System;
using System.Globalization;

namespace Cllm.CommandLine;

/// <summary>A count with its noun for CLI messages: "1 block", "2 blocks", "0 blocks" (plural unless exactly one).</summary>
internal static class Counted
{
    /// <summary>
    /// <paramref name="count"/> (formatted with <paramref name="format"/>, invariant culture) and <paramref name="noun"/>,
    /// in the plural (<paramref name="plural"/>, else the noun + "s") unless the count is 1.
    /// </summary>
    public static string Of(long count, string noun, string? plural = null, string? format = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(noun);
        string number = count.ToString(format, CultureInfo.InvariantCulture);
        return $"{number} {(count == 1 ? noun : plural ?? noun + "s")}";
    }
}
