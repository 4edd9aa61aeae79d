using Cllm.Caching;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Modeling;

/// <summary>Pre-norm transformer block: h = x + attn(norm(x)); out = h + mlp(norm(h)).</summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    [ComponentName(Name = "self_attn")]
    private readonly LlamaAttention _selfAttn;
    [ComponentName(Name = "mlp")]
    private readonly LlamaMlp _mlp;
    [ComponentName(Name = "input_layernorm")]
    private readonly RmsNorm _inputLayerNorm;
    [ComponentName(Name = "post_attention_layernorm")]
    private readonly RmsNorm _postAttentionLayerNorm;

    public LlamaDecoderLayer(LlamaConfig config, int layerIndex, ScalarType dtype, bool initialize = true) : base(nameof(LlamaDecoderLayer))
    {
        _selfAttn = new LlamaAttention(config, layerIndex, dtype, initialize);
        _mlp = new LlamaMlp(config, dtype, initialize);
        _inputLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        _postAttentionLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        RegisterComponents();
    }

    /// <summary>x: (B, T, C) → (B, T, C); see <see cref="LlamaAttention.Forward"/> for the other arguments.</summary>
    public Tensor Forward(Tensor x, RotaryAngles angles, Tensor? maskBias, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x.add(_selfAttn.Forward(_inputLayerNorm.forward(x), angles, maskBias, cache), Scalars.One);
        return h.add(_mlp.forward(_postAttentionLayerNorm.forward(h)), Scalars.One).MoveToOuterDisposeScope();
    }
}
