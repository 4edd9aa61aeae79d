using Cllm.Caching;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Modeling;

/// <summary>The transformer trunk: token embeddings, L decoder layers and the final norm.</summary>
public sealed class LlamaModel : nn.Module
{
    [ComponentName(Name = "embed_tokens")]
    private readonly Embedding _embedTokens;
    [ComponentName(Name = "layers")]
    private readonly ModuleList<LlamaDecoderLayer> _layers;
    [ComponentName(Name = "norm")]
    private readonly RmsNorm _norm;

    public LlamaModel(LlamaConfig config, ScalarType dtype) : base(nameof(LlamaModel))
    {
        _embedTokens = nn.Embedding(config.VocabSize, config.HiddenSize, dtype: dtype);
        _layers = new ModuleList<LlamaDecoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            _layers.Add(new LlamaDecoderLayer(config, i, dtype));
        }

        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        RegisterComponents();
    }

    /// <summary>(V, C) embedding matrix; also the classifier when embeddings are tied.</summary>
    public Parameter EmbeddingWeight => _embedTokens.weight!;

    /// <summary>
    /// inputIds (B, T) i64 with their rotary angles (T, D) → normed hidden states (B, T, C).
    /// mask (T, S) bool or null for T = 1; the cache, when given, receives the new keys and values.
    /// </summary>
    public Tensor Forward(Tensor inputIds, RotaryAngles angles, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = _embedTokens.forward(inputIds);
        foreach (var layer in _layers)
        {
            h = layer.Forward(h, angles, mask, cache);
        }

        return _norm.forward(h).MoveToOuterDisposeScope();
    }
}
