using System;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

/// <summary>
/// CachedAttention, the bfloat16 CPU attention of the forward without autograd: ATen's float32 attention within bfloat16
/// rounding, and each row's bits those of the row computed alone (what makes a Jacobi block's rows equal the
/// autoregressive steps), with GQA, a batch, a cache wider than its live keys and masks of any pattern.
/// </summary>
public unsafe class CachedAttentionTests
{
    private const int B = 2, T = 6, H = 8, Hkv = 2, D = 32, Capacity = 48, S = 29;
    private const long QkvRow = (H + 2 * Hkv) * D;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AgreesWithAtenAttentionWithinBFloat16Rounding(int workers)
    {
        using var scope = NewDisposeScope();
        var (qkv, keys, values) = Inputs(seed: 3);
        var mask = RandomMask(seed: 4);                                                       // (T, S) 0 / −∞
        var y = Run(qkv, keys, values, mask, workers, T, S);                                  // (B·T, H·D) bf16

        // ATen: q (B, H, T, D), k and v (B, H, S, D) with each KV head repeated for its H / Hkv query heads, in float32.
        var q = qkv.view(B, T, H + 2 * Hkv, D).narrow(2, 0, H).transpose(1, 2).to_type(ScalarType.Float32);
        var k = keys.narrow(2, 0, S).to_type(ScalarType.Float32).repeat_interleave(H / Hkv, 1);
        var v = values.narrow(2, 0, S).to_type(ScalarType.Float32).repeat_interleave(H / Hkv, 1);
        var expected = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask).transpose(1, 2).reshape(B * T, H * D);
        var actual = y.to_type(ScalarType.Float32);
        using var ulp = (1.0 / 128).ToScalar();
        using var floor = 1e-5.ToScalar();
        using var one = 1.ToScalar();
        var bound = expected.abs().mul(ulp).add(floor, one);                                  // one bfloat16 ulp
        Assert.True((actual - expected).abs().le(bound).all().item<bool>(),
            $"largest difference {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void ARowOfACausalBlockHasTheBitsOfItsTokenAttendingAlone()
    {
        using var scope = NewDisposeScope();
        var (qkv, keys, values) = Inputs(seed: 5);
        int past = S - T;                                                                     // row t sees keys 0..past + t
        var causal = ones(T, S, dtype: ScalarType.Bool).tril(past);
        using var negativeInfinity = float.NegativeInfinity.ToScalar();
        var mask = zeros(T, S).masked_fill(causal.logical_not(), negativeInfinity);
        var block = Run(qkv, keys, values, mask, workers: 2, T, S).view(B, T, H * D);
        for (int t = 0; t < T; t++)
        {
            var row = qkv.view(B, T, QkvRow).narrow(1, t, 1).contiguous().view(B, QkvRow);  // the token alone: T = 1, S = past + t + 1, no mask
            var alone = Run(row, keys, values, null, workers: 1, 1, past + t + 1).view(B, H * D);
            Assert.True(Bits(block.select(1, t)).SequenceEqual(Bits(alone)), $"row {t}");
        }
    }

    [Fact]
    public void MaskedKeysDoNotChangeARowsBits()
    {
        using var scope = NewDisposeScope();
        var (qkv, keys, values) = Inputs(seed: 7);
        var mask = RandomMask(seed: 8);
        var before = Run(qkv, keys, values, mask, workers: 1, T, S);
        // Change every key and value a given row does not see, one row at a time, and compare that row.
        using var three = 3.ToScalar();
        using var one = 1.ToScalar();
        using var minusTwo = (-2).ToScalar();
        for (int t = 0; t < T; t++)
        {
            using var inner = NewDisposeScope();
            var k2 = keys.clone();
            var v2 = values.clone();
            for (int s = 0; s < S; s++)
            {
                if (mask[t, s].item<float>() == float.NegativeInfinity)
                {
                    k2.narrow(2, s, 1).mul_(three).add_(one, one);
                    v2.narrow(2, s, 1).mul_(minusTwo).add_(one, one);
                }
            }

            var after = Run(qkv, k2, v2, mask, workers: 2, T, S).view(B, T, H * D);
            Assert.True(Bits(after.select(1, t)).SequenceEqual(Bits(before.view(B, T, H * D).select(1, t))), $"row {t}");
        }
    }

    /// <summary>qkv (B·T, (H + 2Hkv)·D) and a (B, Hkv, Capacity, D) key and value cache, bfloat16, N(0, 1).</summary>
    private static (Tensor Qkv, Tensor Keys, Tensor Values) Inputs(int seed)
    {
        var generator = new Generator((ulong)seed);
        return (randn(new long[] { B * T, QkvRow }, generator: generator).to_type(ScalarType.BFloat16),
            randn(new long[] { B, Hkv, Capacity, D }, generator: generator).to_type(ScalarType.BFloat16),
            randn(new long[] { B, Hkv, Capacity, D }, generator: generator).to_type(ScalarType.BFloat16));
    }

    /// <summary>(T, S) float32 additive bias: each key visible with probability 0.6, the row's own position always.</summary>
    private static Tensor RandomMask(int seed)
    {
        var random = new Random(seed);
        var visible = new bool[T * S];
        for (int i = 0; i < visible.Length; i++)
        {
            visible[i] = random.NextDouble() < 0.6 || i % S == S - T + i / S;
        }

        using var negativeInfinity = float.NegativeInfinity.ToScalar();
        return zeros(T, S).masked_fill(tensor(visible).view(T, S).logical_not(), negativeInfinity);
    }

    private static byte[] Bits(Tensor x) => x.contiguous().bytes.ToArray();

    private static Tensor Run(Tensor qkv, Tensor keys, Tensor values, Tensor? mask, int workers, int t, int s)
    {
        var y = empty(new long[] { B * t, H * D }, dtype: ScalarType.BFloat16);
        fixed (byte* q = qkv.bytes)
        fixed (byte* k = keys.bytes)
        fixed (byte* v = values.bytes)
        fixed (byte* m = mask is null ? default : mask.bytes)
        fixed (byte* o = y.bytes)
        {
            CachedAttention.Run((ushort*)q, QkvRow, (ushort*)k, (ushort*)v, Hkv * Capacity * D, Capacity * D, D,
                (float*)m, s, (ushort*)o, B, t, s, H, Hkv, D, workers);
        }

        return y;
    }
}
