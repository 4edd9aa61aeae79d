using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// B examples of uneven lengths. Sequences are right-padded into (B, T) tensors and every mask is derived from the
/// examples' lengths, never from a pad id, so no token value can be mistaken for padding. Right padding is harmless
/// under the causal mask: a real token never attends to a later (padding) position.
/// </summary>
internal sealed class ConsistencyBatch
{
    /// <summary>The token written into padding positions; any valid id works because lengths, not ids, mark padding.</summary>
    public const int Filler = 0;

    /// <summary>Wraps <paramref name="examples"/> (at least one).</summary>
    public ConsistencyBatch(IReadOnlyList<ConsistencyExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            throw new ArgumentException("a batch needs at least one example.", nameof(examples));
        }

        Examples = examples;
    }

    /// <summary>The examples, in batch order.</summary>
    public IReadOnlyList<ConsistencyExample> Examples { get; }

    /// <summary>Batch size B.</summary>
    public int Count => Examples.Count;

    /// <summary>True when every example's labels are its context ⊕ teacher state.</summary>
    public bool LabelsAreTeacherSequences => Examples.All(e => e.LabelsAreTeacherSequence);

    /// <summary>Throws <see cref="ArgumentException"/> when an example is inconsistent or holds an id outside [0, vocabSize).</summary>
    public void Validate(int vocabSize)
    {
        foreach (var example in Examples)
        {
            example.Validate(vocabSize);
        }
    }

    /// <summary>(B, T) i64 from sequences of uneven length, padded on the right with <see cref="Filler"/>.</summary>
    internal static Tensor Pad(IReadOnlyList<IReadOnlyList<int>> sequences, Device? device)
    {
        int b = sequences.Count;
        int t = sequences.Max(s => s.Count);
        var ids = new long[b * t];
        for (int row = 0; row < b; row++)
        {
            var s = sequences[row];
            for (int i = 0; i < s.Count; i++)
            {
                ids[row * t + i] = s[i];
            }

            for (int i = s.Count; i < t; i++)
            {
                ids[row * t + i] = Filler;
            }
        }

        return tensor(ids, dtype: ScalarType.Int64, device: device).view(b, t);
    }
}
