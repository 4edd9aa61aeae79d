using System;

namespace Cllm.Training;

/// <summary>
/// The run's data order as a pure function of (seed, position), so a resumed run sees exactly the examples and state
/// draws an uninterrupted run would. Example slot g (micro-batch m = step·K + k holds slots m·B … m·B + B − 1) is
/// record <c>perm(g / N)[g mod N]</c>, where <c>perm(e)</c> is a seeded shuffle of the N records for epoch e; its
/// trajectory state is drawn with a generator seeded from (seed, g).
/// </summary>
internal sealed class DataOrder
{
    private readonly int _seed;
    private readonly int _records;
    private int _epoch = -1;
    private int[] _permutation = Array.Empty<int>();

    public DataOrder(int seed, int records)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(records, 1);
        _seed = seed;
        _records = records;
    }

    /// <summary>The record at example slot <paramref name="slot"/>.</summary>
    public int RecordAt(long slot)
    {
        int epoch = checked((int)(slot / _records));
        if (epoch != _epoch)
        {
            _permutation = Shuffle(epoch);
            _epoch = epoch;
        }

        return _permutation[slot % _records];
    }

    /// <summary>The generator that draws trajectory states for example slot <paramref name="slot"/>.</summary>
    public Random StateRandom(long slot) => new(Mix(_seed, 0x5EED_57A7E, slot));

    private int[] Shuffle(int epoch)
    {
        var order = new int[_records];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var random = new Random(Mix(_seed, 0x0DE_50DE, epoch));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>A SplitMix64-style mix of three values into a non-negative 31-bit seed.</summary>
    private static int Mix(long a, long b, long c)
    {
        ulong x = unchecked((ulong)a * 0x9E3779B97F4A7C15UL ^ (ulong)b * 0xBF58476D1CE4E5B9UL ^ (ulong)c * 0x94D049BB133111EBUL);
        x ^= x >> 30;
        x = unchecked(x * 0xBF58476D1CE4E5B9UL);
        x ^= x >> 27;
        x = unchecked(x * 0x94D049BB133111EBUL);
        x ^= x >> 31;
        return (int)(x & 0x7FFFFFFF);
    }
}
