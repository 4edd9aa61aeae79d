using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// The n-gram pool: for each key token, up to G continuations of N − 1 tokens, most recent first.
/// Adding a continuation that is already there moves it to the front; a full list drops its oldest.
/// </summary>
internal sealed class NGramPool
{
    private readonly Dictionary<int, List<int[]>> _map = new();
    private readonly int _capacity;

    /// <param name="capacity">G: continuations kept per key (0 keeps none).</param>
    public NGramPool(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _capacity = capacity;
    }

    /// <summary>Continuations stored under <paramref name="key"/>, most recent first.</summary>
    public IReadOnlyList<int[]> Get(int key) => _map.TryGetValue(key, out var list) ? list : Array.Empty<int[]>();

    /// <summary>Adds <paramref name="continuation"/> under <paramref name="key"/>.</summary>
    public void Add(int key, int[] continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (_capacity == 0)
        {
            return;
        }

        if (!_map.TryGetValue(key, out var list))
        {
            _map[key] = list = new List<int[]>(_capacity);
        }

        int existing = list.FindIndex(c => c.AsSpan().SequenceEqual(continuation));
        if (existing >= 0)
        {
            list.RemoveAt(existing);
        }
        else if (list.Count == _capacity)
        {
            list.RemoveAt(list.Count - 1);
        }

        list.Insert(0, continuation);
    }

    /// <summary>Adds every n-gram of <paramref name="tokens"/> (key = its first token).</summary>
    public void AddAll(IReadOnlyList<int> tokens, int n)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            var continuation = new int[n - 1];
            for (int j = 1; j < n; j++)
            {
                continuation[j - 1] = tokens[i + j];
            }

            Add(tokens[i], continuation);
        }
    }
}
