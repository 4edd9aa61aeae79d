using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>Pre-norm transformer block: h = x + attn(norm(x)); out = h + mlp(norm(h)).</summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
    [ComponentName(Name = "self_attn")]
    private readonly LlamaAttention _selfAttn;
    [ComponentName(Name = "mlp")]
    private readonly LlamaMlp _mlp;
    [ComponentName(Name = "input_layernorm")]
    private readonly RmsNorm _inputLayerNorm;
    [ComponentName(Name = "post_attention_layernorm")]
    private readonly RmsNorm _postAttentionLayerNorm;

    public LlamaDecoderLayer(LlamaConfig config, int layerIndex, ScalarType dtype, bool initialize = true, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaDecoderLayer))
    {
        _selfAttn = new LlamaAttention(config, layerIndex, dtype, initialize, quantization);
        _mlp = new LlamaMlp(config, dtype, initialize, quantization);
        _inputLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        _postAttentionLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        RegisterComponents();
    }

    /// <summary>x: (B, T, C) → (B, T, C); see <see cref="LlamaAttention.Forward"/> for the other arguments.</summary>
    public Tensor Forward(Tensor x, RotaryAngles angles, Tensor? maskBias, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long mark = ForwardProfiler.Mark();
        var normed = _inputLayerNorm.forward(x);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        var attn = _selfAttn.Forward(normed, angles, maskBias, cache);
        mark = ForwardProfiler.Mark();
        var h = x.add(attn, Scalars.One);
        ForwardProfiler.Add(ForwardOp.Residual, ref mark);
        normed = _postAttentionLayerNorm.forward(h);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        var mlp = _mlp.forward(normed);
        ForwardProfiler.Add(ForwardOp.Mlp, ref mark);
        var result = h.add(mlp, Scalars.One).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.Residual, ref mark);
        return result;
    }

    /// <summary>Without autograd: the layer over the residual stream x (B·T, C), in place, in <paramref name="s"/>'s buffers; cos and sin (T, 1, D).</summary>
    public void ForwardInPlace(Tensor x, ForwardWorkspace s, Tensor cos, Tensor sin, Tensor? maskBias, KvCache? cache, ref long mark)
    {
        var normed = _inputLayerNorm.ForwardInto(x, s.Normed, s);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        _selfAttn.ForwardInPlace(x, normed, s, cos, sin, maskBias, cache, ref mark);
        normed = _postAttentionLayerNorm.ForwardInto(x, s.Normed, s);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        _mlp.ForwardInPlace(x, normed, s);
        ForwardProfiler.Add(ForwardOp.Mlp, ref mark);
    }
}
