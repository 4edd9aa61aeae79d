using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Multi-head attention with grouped-query heads (H query heads share Hkv key/value heads), rotary
/// positions and an explicit attention mask, so that a KV cache and tree-shaped drafts both work.
/// q, k and v are one stacked projection (<c>qkv_proj</c>; the model's state dict shows q_proj, k_proj and v_proj).
/// </summary>
internal sealed class LlamaAttention : nn.Module
{
    [ComponentName(Name = "qkv_proj")]
    private readonly Projection _qkvProj;
    [ComponentName(Name = "o_proj")]
    private readonly Projection _oProj;

    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int _layerIndex;

    public LlamaAttention(LlamaConfig config, int layerIndex, ScalarType dtype, bool initialize = true, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaAttention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _layerIndex = layerIndex;
        long q = (long)_heads * _headDim, kv = (long)_kvHeads * _headDim;
        _qkvProj = new Projection(config.HiddenSize, q + 2 * kv, config.AttentionBias, dtype, initialize, quantization, new[] { ("q_proj", q), ("k_proj", kv), ("v_proj", kv) });
        _oProj = new Projection(_heads * _headDim, config.HiddenSize, config.AttentionOutputBias, dtype, initialize, quantization);
        RegisterComponents();
    }

    /// <summary>
    /// x: (B, T, C) new tokens rotated by <paramref name="angles"/> ((T, 1, D) tables); maskBias: (g·T, S) additive,
    /// 0 = may attend and −∞ = masked, already repeated for the g = H/Hkv query heads per KV head, S = cached + T (null
    /// only when T = 1). Returns (B, T, C). The autograd path; <see cref="ForwardInPlace"/> is the same arithmetic.
    /// </summary>
    public Tensor Forward(Tensor x, RotaryAngles angles, Tensor? maskBias, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long mark = ForwardProfiler.Mark();
        long b = x.shape[0], t = x.shape[1];
        var qkv = _qkvProj.forward(x).view(b, t, _heads + 2 * _kvHeads, _headDim);    // (B, T, H + 2Hkv, D)
        ForwardProfiler.Add(ForwardOp.QkvProjection, ref mark);
        var qk = angles.Apply(qkv.narrow(2, 0, _heads + _kvHeads));                    // q and k rotated together
        var q = qk.narrow(2, 0, _heads).transpose(1, 2);                                // (B, H, T, D)
        var k = qk.narrow(2, _heads, _kvHeads).transpose(1, 2);                         // (B, Hkv, T, D)
        var v = qkv.narrow(2, _heads + _kvHeads, _kvHeads).transpose(1, 2);             // (B, Hkv, T, D)
        ForwardProfiler.Add(ForwardOp.Rope, ref mark);
        if (cache is not null)
        {
            (k, v) = cache.Write(_layerIndex, k, v);                                    // (B, Hkv, S, D)
        }

        ForwardProfiler.Add(ForwardOp.CacheWrite, ref mark);

        // Grouped-query attention without copying K/V: the g = H/Hkv query heads of one KV head are
        // folded into its time axis, (B, H, T, D) → (B, Hkv, g·T, D); the mask bias comes repeated g times.
        int g = _heads / _kvHeads;
        var qf = q.reshape(b, _kvHeads, g * t, _headDim);
        var y = nn.functional.scaled_dot_product_attention(qf, k, v, attn_mask: maskBias); // (B, Hkv, g·T, D)
        y = y.reshape(b, _heads, t, _headDim).transpose(1, 2).reshape(b, t, _heads * _headDim);
        ForwardProfiler.Add(ForwardOp.Attention, ref mark);
        var output = _oProj.forward(y).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.OProjection, ref mark);
        return output;
    }

    /// <summary>
    /// Without autograd: x (B·T, C), the residual stream, += attention(<paramref name="normed"/> (B·T, C)), in place in
    /// <paramref name="s"/>'s buffers; cos and sin (T, 1, D). q and k are rotated together in place (qk ⊙ cos + roll(qk, D/2)
    /// ⊙ sin, the halves swapped by two copies) and the residual add is folded into the o_proj product.
    /// </summary>
    public void ForwardInPlace(Tensor x, Tensor normed, ForwardWorkspace s, Tensor cos, Tensor sin, Tensor? maskBias, KvCache? cache, ref long mark)
    {
        _qkvProj.ForwardInto(normed, s.Qkv, accumulate: false);                          // (B·T, (H + 2Hkv)·D)
        ForwardProfiler.Add(ForwardOp.QkvProjection, ref mark);
        s.RolledLow.copy_(s.QKHigh);
        s.RolledHigh.copy_(s.QKLow);
        s.Rolled.mul_(sin);
        s.QK.mul_(cos).add_(s.Rolled, Scalars.One);
        ForwardProfiler.Add(ForwardOp.Rope, ref mark);
        var (k, v) = cache is null ? (s.Keys, s.Values) : cache.Write(_layerIndex, s.Keys, s.Values, s.T); // (B, Hkv, S, D)
        ForwardProfiler.Add(ForwardOp.CacheWrite, ref mark);
        if (s.T > 1)
        {
            s.QueryBufferT!.copy_(s.QueriesBTHD!);
        }

        var y = nn.functional.scaled_dot_product_attention(s.Queries, k, v, attn_mask: maskBias); // (B, Hkv, g·T, D)
        Tensor attention;                                                                // (B·T, H·D)
        if (s.T == 1)
        {
            attention = y.view(s.B, s.H * s.D);
        }
        else
        {
            s.AttentionBufferT!.copy_(y.view(s.B, s.H, s.T, s.D));
            attention = s.Attention!;
        }

        ForwardProfiler.Add(ForwardOp.Attention, ref mark);
        _oProj.ForwardInto(attention, x, accumulate: true);                              // x += o_proj(y)
        ForwardProfiler.Add(ForwardOp.OProjection, ref mark);
    }
}
