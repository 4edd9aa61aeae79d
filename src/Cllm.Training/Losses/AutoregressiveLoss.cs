using System;
using System.Collections.Generic;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// Next-token cross-entropy over whole sequences (prompt included, as in the reference), with optional label
/// smoothing in the Hugging Face <c>LabelSmoother</c> form: per position
/// <c>(1 − ε)·(−log p(x_{t+1})) + ε·(−(1/V) Σ_v log p(v))</c>. The loss of a sequence of L tokens is the mean over
/// its L − 1 positions (or, given answer starts a, over its positions a − 1 … L − 2: the answer only); the batch loss is
/// the mean over sequences.
/// </summary>
internal sealed class AutoregressiveLoss
{
    /// <summary>The reference's label smoothing.</summary>
    public const double ReferenceLabelSmoothing = 0.1;

    /// <param name="labelSmoothing">ε in [0, 1); the reference uses 0.1.</param>
    public AutoregressiveLoss(double labelSmoothing = ReferenceLabelSmoothing)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label smoothing must be in [0, 1).");
        }

        LabelSmoothing = labelSmoothing;
    }

    /// <summary>ε.</summary>
    public double LabelSmoothing { get; }

    /// <summary>
    /// Σ over <paramref name="sequences"/> of each one's mean loss, from flat logits (R, V) whose row <c>row(e, p)</c>
    /// holds the logit at position p of sequence e, from position <c>answerStarts[e] − 1</c> (null: 0) on. Returns the sum,
    /// the weighted per-position losses (K) with each one's sequence (null when there are none) and each sequence's
    /// number of positions.
    /// </summary>
    internal (Tensor Sum, Tensor? Weighted, List<long> Owners, int[] Counts) Accumulate(Tensor flat, IReadOnlyList<IReadOnlyList<int>> sequences, Func<int, int, long> row, IReadOnlyList<int>? answerStarts = null)
    {
        var (perPosition, owners, counts) = PerPosition(flat, sequences, row, answerStarts);
        if (perPosition is null)
        {
            return (zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: flat.device), null, owners, counts);
        }

        var weights = new float[owners.Count];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = 1f / counts[owners[i]];
        }

        var weighted = perPosition * tensor(weights, device: flat.device);          // (K)
        return (weighted.sum(), weighted, owners, counts);
    }

    /// <summary>
    /// The mean over every loss position of the batch (Hugging Face's causal-LM normalisation, for pretraining: long
    /// sequences weigh more), with the positions of <see cref="Accumulate"/>; 0 when there are none.
    /// </summary>
    internal Tensor TokenMean(Tensor flat, IReadOnlyList<IReadOnlyList<int>> sequences, Func<int, int, long> row, IReadOnlyList<int>? answerStarts = null)
    {
        var (perPosition, _, _) = PerPosition(flat, sequences, row, answerStarts);
        return perPosition is null ? zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: flat.device) : perPosition.mean();
    }

    /// <summary>The smoothed next-token loss (K) of every target position, each position's sequence and each sequence's count.</summary>
    private (Tensor? PerPosition, List<long> Owners, int[] Counts) PerPosition(Tensor flat, IReadOnlyList<IReadOnlyList<int>> sequences, Func<int, int, long> row, IReadOnlyList<int>? answerStarts)
    {
        var rows = new List<long>();
        var targets = new List<long>();
        var owners = new List<long>();
        var counts = new int[sequences.Count];
        for (int e = 0; e < sequences.Count; e++)
        {
            var s = sequences[e];
            int first = answerStarts is null ? 0 : Math.Max(0, answerStarts[e] - 1);
            counts[e] = Math.Max(0, s.Count - 1 - first);
            for (int p = first; p + 1 < s.Count; p++)
            {
                rows.Add(row(e, p));
                targets.Add(s[p + 1]);
                owners.Add(e);
            }
        }

        if (rows.Count == 0)
        {
            return (null, owners, counts);
        }

        var device = flat.device;
        var logProbs = flat.index_select(0, tensor(rows.ToArray(), device: device)).to_type(ScalarType.Float32).log_softmax(-1);   // (K, V)
        var nll = -logProbs.gather(1, tensor(targets.ToArray(), device: device).unsqueeze(1)).squeeze(1);                          // (K)
        if (LabelSmoothing == 0)
        {
            return (nll, owners, counts);
        }

        using var keep = (1 - LabelSmoothing).ToScalar();
        using var smoothing = LabelSmoothing.ToScalar();
        return (nll * keep - logProbs.mean(new long[] { -1 }) * smoothing, owners, counts);                                    // (K)
    }
}
