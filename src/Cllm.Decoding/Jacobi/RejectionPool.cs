using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Rejection recycling: the last P token sequences a multiblock forward rejected (its drafted blocks, and the model's
/// predictions after the first rejected token), newest first. A candidate for the pending token is what followed that
/// token's first occurrence in a stored sequence; <see cref="MultiblockProposer"/> verifies the candidates as extra
/// branches of its draft tree (the reference stacks them in the batch dimension).
/// </summary>
internal sealed class RejectionPool
{
    private readonly List<int[]> _sequences = new();
    private readonly int _capacity;

    /// <param name="capacity">P: sequences kept (0 keeps none).</param>
    public RejectionPool(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _capacity = capacity;
    }

    /// <summary>Sequences stored, newest first.</summary>
    public int Count => _sequences.Count;

    /// <summary>Stores <paramref name="sequence"/> (a copy) as the newest, dropping the oldest when full; an equal one moves to the front.</summary>
    public void Add(ReadOnlySpan<int> sequence)
    {
        if (_capacity == 0 || sequence.Length < 2)
        {
            return;                                                                     // nothing could follow a token in it
        }

        int existing = -1;
        for (int i = 0; i < _sequences.Count && existing < 0; i++)
        {
            existing = _sequences[i].AsSpan().SequenceEqual(sequence) ? i : -1;
        }

        if (existing >= 0)
        {
            _sequences.RemoveAt(existing);
        }
        else if (_sequences.Count == _capacity)
        {
            _sequences.RemoveAt(_sequences.Count - 1);
        }

        _sequences.Insert(0, sequence.ToArray());
    }

    /// <summary>
    /// Up to P continuations of <paramref name="pending"/>, newest first: in each stored sequence that holds it, the at
    /// most <paramref name="maxLength"/> tokens after its first occurrence (none when it is the sequence's last token).
    /// </summary>
    public List<int[]> Candidates(int pending, int maxLength)
    {
        var result = new List<int[]>();
        if (maxLength < 1)
        {
            return result;
        }

        foreach (var sequence in _sequences)
        {
            int at = Array.IndexOf(sequence, pending);
            if (at >= 0 && at + 1 < sequence.Length)
            {
                result.Add(sequence.AsSpan(at + 1, Math.Min(maxLength, sequence.Length - at - 1)).ToArray());
            }
        }

        return result;
    }
}
