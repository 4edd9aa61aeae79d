using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Rotary position embedding in the Hugging Face "rotate half" convention: dimension i of a head is
/// rotated together with dimension i + D/2. Cos/sin tables for every position are built once and
/// indexed by explicit position ids, so non-monotone positions (lookahead) cost nothing extra.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;       // (maxPositions, D)
    private readonly Tensor _sinSigned; // (maxPositions, D): −sin on the first half, +sin on the second

    public RotaryEmbedding(LlamaConfig config, int maxPositions, ScalarType dtype, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        MaxPositions = maxPositions;
        using var scope = NewDisposeScope();
        var invFreq = InverseFrequencies(config);                                       // (D/2) f64
        using var count = ((long)maxPositions).ToScalar();
        var positions = arange(Scalars.Zero, count, Scalars.One, dtype: ScalarType.Float64);
        if (config.RopeScaling is { Type: "linear" } linear)
        {
            using var factor = linear.Factor.ToScalar();
            positions = positions / factor;
        }

        var freqs = outer(positions, invFreq);                                           // (maxPositions, D/2)
        var emb = cat(new[] { freqs, freqs }, -1);                                       // (maxPositions, D)
        var sign = cat(new[] { -ones_like(freqs), ones_like(freqs) }, -1);
        _cos = emb.cos().to_type(dtype).to(device ?? CPU).DetachFromDisposeScope();
        _sinSigned = (emb.sin() * sign).to_type(dtype).to(device ?? CPU).DetachFromDisposeScope();
    }

    /// <summary>(maxPositions, D) cosines and signed sines, owned by this object.</summary>
    internal (Tensor Cos, Tensor SinSigned) Tables => (_cos, _sinSigned);

    /// <summary>Number of positions the tables cover.</summary>
    public int MaxPositions { get; }

    /// <summary>The rotation angles of <paramref name="positions"/> (T) i64, looked up once per forward and shared by all layers.</summary>
    public RotaryAngles At(Tensor positions) => new(_cos.index_select(0, positions), _sinSigned.index_select(0, positions));

    /// <summary>1 / θ^(2i/D) for i in [0, D/2), with llama3 wavelength scaling when configured.</summary>
    private static Tensor InverseFrequencies(LlamaConfig config)
    {
        int d = config.HeadDim;
        var invFreq = new double[d / 2];
        for (int i = 0; i < invFreq.Length; i++)
        {
            invFreq[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / d);
        }

        if (config.RopeScaling is { Type: "llama3" } s)
        {
            double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
            double highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
            for (int i = 0; i < invFreq.Length; i++)
            {
                double wavelen = 2 * Math.PI / invFreq[i];
                if (wavelen > lowFreqWavelen)
                {
                    invFreq[i] /= s.Factor;
                }
                else if (wavelen >= highFreqWavelen)
                {
                    double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    invFreq[i] = (1 - smooth) * invFreq[i] / s.Factor + smooth * invFreq[i];
                }
            }
        }

        return tensor(invFreq, dtype: ScalarType.Float64);
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sinSigned.Dispose();
    }
}
