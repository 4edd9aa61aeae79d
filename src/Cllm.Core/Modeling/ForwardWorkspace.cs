using System;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// The intermediate buffers of one forward without autograd, and views of them, made once per forward and reused by
/// every layer, so that a layer is mostly in-place ops on them: from C#, an op returning a new tensor costs ~1 µs (its
/// wrapper, dispose-scope entry and disposal), an in-place op ~0.3 µs, an op with a <see cref="TorchSharp.Scalar"/>
/// operand ~2 µs (docs/performance.md). The (B, T) = (1, 1) workspace of decode steps is kept between forwards by the
/// model. The arithmetic is that of fresh tensors (<c>addmm_</c> with beta 0 is <c>mm</c>).
/// </summary>
internal sealed class ForwardWorkspace : IDisposable
{
    public readonly Tensor Normed;          // (N, C), N = B·T
    public readonly Tensor Qkv;             // (N, (H + 2Hkv)·D)
    public readonly Tensor QK;              // (B, T, H + Hkv, D) view of Qkv: the heads rotary rotates
    public readonly Tensor QKLow, QKHigh;   // its two halves along D
    public readonly Tensor Rolled;          // (B, T, H + Hkv, D): roll(qk, D/2) ⊙ sin
    public readonly Tensor RolledLow, RolledHigh;
    public readonly Tensor Keys, Values;    // (B, Hkv, T, D) views of Qkv (keys rotated in place)
    public readonly Tensor? QueriesBTHD;    // T > 1: (B, T, H, D) view of Qkv, copied into QueryBufferT
    public readonly Tensor? QueryBufferT;   // T > 1: (B, T, H, D) view of the (B, H, T, D) query buffer
    public readonly Tensor Queries;         // (B, Hkv, g·T, D) for attention
    public readonly Tensor? AttentionBufferT; // T > 1: (B, H, T, D) view of Attention
    public readonly Tensor? Attention;      // T > 1: (N, H·D)
    public readonly Tensor GateUp;          // (N, 2I)
    public readonly Tensor Gate, Up;        // (N, I) views
    public readonly long B;
    public readonly int T;
    public readonly int H, Hkv, G, D, Hidden;
    public readonly bool Float32;           // the model dtype is float32 (reading a tensor's dtype is a native call)

    /// <summary>The norms' divisor C and epsilon as (1, 1) float32 tensors, owned by the model (a tensor operand is cheaper than a Scalar).</summary>
    public readonly Tensor Width, Eps;

    public ForwardWorkspace(LlamaConfig config, ScalarType dtype, Device device, long b, int t, Tensor width, Tensor eps)
    {
        B = b;
        T = t;
        H = config.NumAttentionHeads;
        Hkv = config.NumKeyValueHeads;
        G = H / Hkv;
        D = config.HeadDim;
        Hidden = config.HiddenSize;
        Width = width;
        Eps = eps;
        Float32 = dtype == ScalarType.Float32;
        long n = b * t;
        int intermediate = config.IntermediateSize;
        Normed = empty(new[] { n, (long)Hidden }, dtype: dtype, device: device);
        Qkv = empty(new[] { n, (long)(H + 2 * Hkv) * D }, dtype: dtype, device: device);
        var qkv = Qkv.view(b, t, H + 2 * Hkv, D);
        QK = qkv.narrow(2, 0, H + Hkv);
        QKLow = QK.narrow(3, 0, D / 2);
        QKHigh = QK.narrow(3, D / 2, D / 2);
        Rolled = empty(new[] { b, t, (long)(H + Hkv), D }, dtype: dtype, device: device);
        RolledLow = Rolled.narrow(3, 0, D / 2);
        RolledHigh = Rolled.narrow(3, D / 2, D / 2);
        Keys = qkv.narrow(2, H, Hkv).transpose(1, 2);
        Values = qkv.narrow(2, H + Hkv, Hkv).transpose(1, 2);
        if (t == 1)
        {
            Queries = qkv.narrow(2, 0, H).view(b, Hkv, G, D);                                                      // (B, 1, H, D) is (B, Hkv, g, D)
        }
        else
        {
            QueriesBTHD = qkv.narrow(2, 0, H);
            var queryBuffer = empty(new[] { b, (long)H, t, D }, dtype: dtype, device: device);
            QueryBufferT = queryBuffer.transpose(1, 2);
            Queries = queryBuffer.view(b, Hkv, G * t, D);
            Attention = empty(new[] { n, (long)H * D }, dtype: dtype, device: device);
            AttentionBufferT = Attention.view(b, t, H, D).transpose(1, 2);                                         // (B, H, T, D)
        }

        GateUp = empty(new[] { n, 2L * intermediate }, dtype: dtype, device: device);
        Gate = GateUp.narrow(1, 0, intermediate);
        Up = GateUp.narrow(1, intermediate, intermediate);
    }

    private Tensor?[] Tensors => new[] { Normed, Qkv, QK, QKLow, QKHigh, Rolled, RolledLow, RolledHigh, Keys, Values, QueriesBTHD, QueryBufferT, Queries, AttentionBufferT, Attention, GateUp, Gate, Up };

    /// <summary>Takes the buffers and views out of the dispose scope, for a workspace kept between forwards.</summary>
    public ForwardWorkspace Detach()
    {
        foreach (var tensor in Tensors)
        {
            tensor?.DetachFromDisposeScope();
        }

        return this;
    }

    public void Dispose()
    {
        foreach (var tensor in Tensors)
        {
            tensor?.Dispose();
        }
    }
}
