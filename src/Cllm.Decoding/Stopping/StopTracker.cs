using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Applies <see cref="StopConditions"/> and the token budget to emitted tokens. Tokens that could be the
/// start of a stop sequence are held back until they cannot, so a streamed stop sequence is never shown.
/// </summary>
internal sealed class StopTracker
{
    private readonly StopConditions _stop;
    private readonly int _budget;
    private readonly List<int> _output = new();
    private int _released;

    public StopTracker(StopConditions stop, int budget)
    {
        _stop = stop;
        _budget = budget;
    }

    /// <summary>All accepted output tokens so far, held-back ones included.</summary>
    public IReadOnlyList<int> Output => _output;

    /// <summary>Why the request ended, or <see cref="FinishReason.None"/>.</summary>
    public FinishReason Finish { get; private set; }

    /// <summary>
    /// Feeds the tokens one forward pass emitted; returns those that may be shown now.
    /// Tokens after a stop are dropped.
    /// </summary>
    public int[] Push(IReadOnlyList<int> tokens)
    {
        foreach (var token in tokens)
        {
            if (Finish != FinishReason.None)
            {
                break;
            }

            if (Contains(_stop.EosTokenIds, token))
            {
                Finish = FinishReason.Eos;
                break;
            }

            _output.Add(token);
            if (EndsWithStopSequence(out int length))
            {
                _output.RemoveRange(_output.Count - length, length);
                _released = Math.Min(_released, _output.Count);
                Finish = FinishReason.Stop;
            }
            else if (_output.Count >= _budget)
            {
                Finish = FinishReason.Length;
            }
        }

        int releasable = Finish == FinishReason.None ? _output.Count - HeldBack() : _output.Count;
        var result = _output.GetRange(_released, Math.Max(0, releasable - _released)).ToArray();
        _released = Math.Max(_released, releasable);
        return result;
    }

    /// <summary>Length of the longest output suffix that is a proper prefix of a stop sequence.</summary>
    private int HeldBack()
    {
        int held = 0;
        foreach (var seq in _stop.StopSequences)
        {
            for (int len = Math.Min(seq.Count - 1, _output.Count); len > held; len--)
            {
                if (SuffixEquals(seq, len))
                {
                    held = len;
                    break;
                }
            }
        }

        return held;
    }

    private bool EndsWithStopSequence(out int length)
    {
        foreach (var seq in _stop.StopSequences)
        {
            if (seq.Count > 0 && seq.Count <= _output.Count && SuffixEquals(seq, seq.Count))
            {
                length = seq.Count;
                return true;
            }
        }

        length = 0;
        return false;
    }

    /// <summary>True when the last <paramref name="len"/> output tokens equal the first <paramref name="len"/> of <paramref name="seq"/>.</summary>
    private bool SuffixEquals(IReadOnlyList<int> seq, int len)
    {
        int start = _output.Count - len;
        for (int i = 0; i < len; i++)
        {
            if (_output[start + i] != seq[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool Contains(IReadOnlyList<int> ids, int token)
    {
        for (int i = 0; i < ids.Count; i++)
        {
            if (ids[i] == token)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// When a request ends besides its token budget: any end-of-sequence id, or any stop sequence of
/// token ids appearing at the end of the output. Neither the EOS token nor the stop sequence is
/// part of the output.
/// </summary>
internal sealed record StopConditions
{
    /// <summary>No stop besides the token budget.</summary>
    public static StopConditions None { get; } = new();

    /// <summary>End-of-sequence token ids.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>Token-id sequences that end the output.</summary>
    public IReadOnlyList<IReadOnlyList<int>> StopSequences { get; init; } = Array.Empty<IReadOnlyList<int>>();
}
