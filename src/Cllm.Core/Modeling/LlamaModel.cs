using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>The transformer trunk: token embeddings, L decoder layers and the final norm.</summary>
internal sealed class LlamaModel : nn.Module
{
    [ComponentName(Name = "embed_tokens")]
    private readonly Embedding _embedTokens;
    [ComponentName(Name = "layers")]
    private readonly ModuleList<LlamaDecoderLayer> _layers;
    [ComponentName(Name = "norm")]
    private readonly RmsNorm _norm;

    private readonly int _queryGroups;

    public LlamaModel(LlamaConfig config, ScalarType dtype, bool initialize = true, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaModel))
    {
        _embedTokens = nn.Embedding(config.VocabSize, config.HiddenSize, dtype: dtype);
        _layers = new ModuleList<LlamaDecoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            _layers.Add(new LlamaDecoderLayer(config, i, dtype, initialize, quantization));
        }

        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        _queryGroups = config.NumAttentionHeads / config.NumKeyValueHeads;
        RegisterComponents();
    }

    /// <summary>(V, C) embedding matrix; also the classifier when embeddings are tied.</summary>
    public Parameter EmbeddingWeight => _embedTokens.weight!;

    internal ModuleList<LlamaDecoderLayer> Layers => _layers;

    internal RmsNorm Norm => _norm;

    /// <summary>
    /// inputIds (B, T) i64 with their rotary angles (T, D) → normed hidden states (B, T, C).
    /// mask (T, S) bool or null for T = 1; the cache, when given, receives the new keys and values.
    /// </summary>
    public Tensor Forward(Tensor inputIds, RotaryAngles angles, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long mark = ForwardProfiler.Mark();
        var h = _embedTokens.forward(inputIds);
        ForwardProfiler.Add(ForwardOp.Embedding, ref mark);

        // The bool mask becomes an additive bias once per forward, repeated for the query heads that
        // share a KV head, instead of once per layer inside attention.
        Tensor? bias = null;
        if (mask is not null)
        {
            bias = zeros(mask.shape, dtype: h.dtype, device: h.device).masked_fill(mask.logical_not(), Scalars.NegativeInfinity);
            bias = _queryGroups == 1 ? bias : bias.repeat(_queryGroups, 1);                    // (g·T, S)
        }

        ForwardProfiler.Add(ForwardOp.Setup, ref mark);
        foreach (var layer in _layers)
        {
            h = layer.Forward(h, angles, bias, cache);
        }

        mark = ForwardProfiler.Mark();
        h = _norm.forward(h).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        return h;
    }
}
