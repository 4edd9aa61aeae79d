using System;
using System.Globalization;

namespace Cllm.Training;

/// <summary>
/// Which prompts one collection process handles: those whose index i satisfies i % <see cref="Count"/> ==
/// <see cref="Index"/>. Record ids are global prompt indices, so the outputs of all shards concatenate
/// into one data set without clashes.
/// </summary>
/// <param name="Index">This shard, 0 ≤ Index &lt; Count.</param>
/// <param name="Count">Number of shards, at least 1.</param>
internal readonly record struct TrajectoryShard(int Index, int Count)
{
    /// <summary>The single shard holding every prompt (0/1).</summary>
    public static TrajectoryShard All { get; } = new(0, 1);

    /// <summary>True when prompt <paramref name="promptIndex"/> belongs to this shard.</summary>
    public bool Includes(int promptIndex) => promptIndex % Count == Index;

    /// <summary>Throws unless 0 ≤ Index &lt; Count.</summary>
    public void Validate()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
        {
            throw new ArgumentException($"shard {this} is invalid: expected I/K with K ≥ 1 and 0 ≤ I < K.");
        }
    }

    /// <summary>Parses "I/K", e.g. "0/4".</summary>
    public static TrajectoryShard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            throw new FormatException($"shard '{text}' is not I/K (e.g. 0/4).");
        }

        var shard = new TrajectoryShard(index, count);
        if (count < 1 || index >= count)
        {
            throw new FormatException($"shard '{text}': expected K ≥ 1 and 0 ≤ I < K.");
        }

        return shard;
    }

    /// <summary>"I/K".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
