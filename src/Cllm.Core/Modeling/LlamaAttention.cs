using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Multi-head attention with grouped-query heads (H query heads share Hkv key/value heads), rotary
/// positions and an explicit attention mask, so that a KV cache and tree-shaped drafts both work.
/// </summary>
internal sealed class LlamaAttention : nn.Module
{
    [ComponentName(Name = "q_proj")]
    private readonly Projection _qProj;
    [ComponentName(Name = "k_proj")]
    private readonly Projection _kProj;
    [ComponentName(Name = "v_proj")]
    private readonly Projection _vProj;
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
        _qProj = new Projection(config.HiddenSize, _heads * _headDim, config.AttentionBias, dtype, initialize, quantization);
        _kProj = new Projection(config.HiddenSize, _kvHeads * _headDim, config.AttentionBias, dtype, initialize, quantization);
        _vProj = new Projection(config.HiddenSize, _kvHeads * _headDim, config.AttentionBias, dtype, initialize, quantization);
        _oProj = new Projection(_heads * _headDim, config.HiddenSize, config.AttentionOutputBias, dtype, initialize, quantization);
        RegisterComponents();
    }

    /// <summary>The q, k, v and o projections, for the fused inference weights (<see cref="LeanForward"/>).</summary>
    internal (Projection Q, Projection K, Projection V, Projection O) Projections => (_qProj, _kProj, _vProj, _oProj);

    /// <summary>
    /// x: (B, T, C) new tokens rotated by <paramref name="angles"/>; maskBias: (g·T, S) additive, 0 = may attend and
    /// −∞ = masked, already repeated for the g = H/Hkv query heads per KV head, S = cached + T (null only when T = 1).
    /// Returns (B, T, C).
    /// </summary>
    public Tensor Forward(Tensor x, RotaryAngles angles, Tensor? maskBias, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long mark = ForwardProfiler.Mark();
        long b = x.shape[0], t = x.shape[1];
        var q = _qProj.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);        // (B, H, T, D)
        var k = _kProj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);      // (B, Hkv, T, D)
        var v = _vProj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);      // (B, Hkv, T, D)
        ForwardProfiler.Add(ForwardOp.QkvProjection, ref mark);
        q = angles.Apply(q);
        k = angles.Apply(k);
        ForwardProfiler.Add(ForwardOp.Rope, ref mark);
        if (cache is not null)
        {
            (k, v) = cache.Write(_layerIndex, k, v);                                    // (B, Hkv, S, D)
        }

        ForwardProfiler.Add(ForwardOp.CacheWrite, ref mark);

        // Grouped-query attention without copying K/V: the g = H/Hkv query heads of one KV head are
        // folded into its time axis, (B, H, T, D) → (B, Hkv, g·T, D); the mask bias comes repeated g times.
        int g = _heads / _kvHeads;
        var qf = g == 1 ? q : q.reshape(b, _kvHeads, g * t, _headDim);
        var y = nn.functional.scaled_dot_product_attention(qf, k, v, attn_mask: maskBias); // (B, Hkv, g·T, D)
        y = y.reshape(b, _heads, t, _headDim).transpose(1, 2).reshape(b, t, _heads * _headDim);
        ForwardProfiler.Add(ForwardOp.Attention, ref mark);
        var output = _oProj.forward(y).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.OProjection, ref mark);
        return output;
    }
}
