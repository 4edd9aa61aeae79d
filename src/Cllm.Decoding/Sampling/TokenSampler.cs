using System;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm;

/// <summary>
/// Turns a row of logits into the distribution that <see cref="SamplingOptions"/> describes
/// (temperature, then top-k, then top-p) and draws from it with a seeded generator, so the same
/// seed gives the same tokens.
/// </summary>
internal sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;

    public TokenSampler(SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = new Random(options.Seed ?? Random.Shared.Next());
    }

    /// <summary>True when tokens are chosen by argmax.</summary>
    public bool IsGreedy => _options.IsGreedy;

    /// <summary>logits (V) f32 → probabilities (V) after temperature, top-k and top-p; sums to 1.</summary>
    public float[] Distribution(Tensor logits)
    {
        using var scope = NewDisposeScope();
        using var temperature = _options.Temperature.ToScalar();
        var z = logits.to_type(ScalarType.Float32) / temperature;
        long v = z.shape[0];
        if (_options.TopK > 0 && _options.TopK < v)
        {
            var kth = z.topk(_options.TopK).values.narrow(0, _options.TopK - 1, 1);      // (1)
            z = z.masked_fill(z.lt(kth), Scalars.NegativeInfinity);
        }

        var probs = z.softmax(0);
        if (_options.TopP < 1.0)
        {
            var (sorted, order) = probs.sort(descending: true);
            var before = sorted.cumsum(0) - sorted;                                       // mass ranked strictly above each token
            using var topP = _options.TopP.ToScalar();
            var dropSorted = before.ge(topP);                                   // the first token is always kept
            var drop = zeros_like(dropSorted).scatter(0, order, dropSorted);
            probs = probs.masked_fill(drop, Scalars.Zero);
            probs = probs / probs.sum();
        }

        return probs.cpu().data<float>().ToArray();                                    // data<T>() reads host memory only
    }

    /// <summary>Draws an index from <paramref name="probs"/> (need not be normalised).</summary>
    public int Sample(float[] probs)
    {
        ArgumentNullException.ThrowIfNull(probs);
        double total = 0;
        foreach (var p in probs)
        {
            total += p;
        }

        double u = _random.NextDouble() * total;
        int last = -1;
        for (int i = 0; i < probs.Length; i++)
        {
            if (probs[i] <= 0)
            {
                continue;
            }

            last = i;
            u -= probs[i];
            if (u < 0)
            {
                return i;
            }
        }

        return last >= 0 ? last : throw new InvalidOperationException("cannot sample from an all-zero distribution.");
    }

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Accept(double p) => _random.NextDouble() < p;
}
