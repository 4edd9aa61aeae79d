using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>The transformer trunk: token embeddings, L decoder layers and the final norm.</summary>
internal sealed class LlamaModel : nn.Module
{
    [ComponentName(Name = "embed_tokens")]
    private readonly TokenEmbedding _embedTokens;
    [ComponentName(Name = "layers")]
    private readonly ModuleList<LlamaDecoderLayer> _layers;
    [ComponentName(Name = "norm")]
    private readonly RmsNorm _norm;

    public LlamaModel(LlamaConfig config, ScalarType dtype, bool initialize = true, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaModel))
    {
        _embedTokens = new TokenEmbedding(config.VocabSize, config.HiddenSize, dtype);
        _layers = new ModuleList<LlamaDecoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            _layers.Add(new LlamaDecoderLayer(config, i, dtype, initialize, quantization));
        }

        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        RegisterComponents();
    }

    /// <summary>(C, V) transposed embedding matrix, the parameter itself; also the classifier when embeddings are tied.</summary>
    public Parameter EmbeddingT => _embedTokens.WeightT;

    /// <summary>
    /// With autograd: inputIds (B, T) i64 with their rotary angles ((T, 1, D) tables) → normed hidden states (B, T, C).
    /// maskBias: (g·T, S) additive, repeated for the query heads that share a KV head, or null for T = 1; the cache, when
    /// given, receives the new keys and values.
    /// </summary>
    public Tensor Forward(Tensor inputIds, RotaryAngles angles, Tensor? maskBias, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long mark = ForwardProfiler.Mark();
        var h = _embedTokens.Rows(inputIds).view(inputIds.shape[0], inputIds.shape[1], -1);   // (B, T, C)
        ForwardProfiler.Add(ForwardOp.Embedding, ref mark);
        foreach (var layer in _layers)
        {
            h = layer.Forward(h, angles, maskBias, cache);
        }

        mark = ForwardProfiler.Mark();
        h = _norm.forward(h).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        return h;
    }

    /// <summary>
    /// Without autograd, the same arithmetic in place in <paramref name="s"/>'s buffers: inputIds (B, T) → normed hidden
    /// states (B·T', C) of the last <paramref name="rows"/> = T' positions, in the caller's dispose scope.
    /// </summary>
    public Tensor ForwardInPlace(Tensor inputIds, ForwardWorkspace s, Tensor cos, Tensor sin, Tensor? maskBias, KvCache? cache, int rows, ref long mark)
    {
        var x = _embedTokens.Rows(inputIds);                                              // (B·T, C), the residual stream, updated in place
        ForwardProfiler.Add(ForwardOp.Embedding, ref mark);
        foreach (var layer in _layers)
        {
            layer.ForwardInPlace(x, s, cos, sin, maskBias, cache, ref mark);
        }

        if (rows < s.T)
        {
            x = x.view(s.B, s.T, s.Hidden).narrow(1, s.T - rows, rows).reshape(s.B * rows, s.Hidden); // (B·T', C), a view when B = 1
        }

        x = _norm.ForwardInto(x, rows < s.T ? null : s.Normed, s);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        return x;
    }
}
