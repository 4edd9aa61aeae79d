using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// The first generated tokens of one decoder's greedy Jacobi requests, counted, so that the next request's prefill can
/// carry a first block that starts with a guess for its first token (<see cref="JacobiProposer"/>). Shared by the
/// decoder's proposers; thread-safe.
/// </summary>
internal sealed class JacobiFirstTokens
{
    private readonly object _lock = new();
    private readonly Dictionary<int, int> _counts = new();
    private int _best = -1;
    private int _bestCount;

    /// <summary>The most frequent first token so far (the earliest seen on ties), or null before any.</summary>
    public int? Guess
    {
        get
        {
            lock (_lock)
            {
                return _best < 0 ? null : _best;
            }
        }
    }

    /// <summary>Counts a request's first generated token.</summary>
    public void Record(int token)
    {
        lock (_lock)
        {
            int count = _counts.GetValueOrDefault(token) + 1;
            _counts[token] = count;
            if (count > _bestCount)
            {
                _best = token;
                _bestCount = count;
            }
        }
    }
}
