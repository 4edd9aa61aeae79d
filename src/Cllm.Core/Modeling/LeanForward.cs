using System;
using Cllm.Caching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Modeling;

/// <summary>
/// The inference-only forward of <see cref="LlamaForCausalLM"/>: a copy of the weights made once, on the first
/// forward without autograd, with q/k/v and gate/up fused and every matrix stored transposed and contiguous
/// (x·Wᵀ as one <c>matmul</c>/<c>addmm</c>, which is much faster than <c>linear</c> for one token), residuals folded
/// into <c>addmm</c>, rotary tables and the causal mask sliced rather than built, and no per-layer dispose scope.
/// The same arithmetic as the module path; the modules (and their Hugging Face names) stay the source of truth for
/// loading, saving and training, and the copy is dropped whenever they may have changed.
/// </summary>
internal sealed class LeanForward : IDisposable
{
    /// <summary>Longest chain forward whose causal mask is a slice of <see cref="_causal"/>; longer ones build it.</summary>
    private const int MaskRows = 64;

    private static readonly long[] LastDim = { -1 };

    private readonly Layer[] _layers;
    private readonly Tensor _embedding;     // (V, C), the embedding parameter itself
    private readonly Tensor _finalNorm;     // (C), the parameter itself
    private readonly Tensor _lmHeadT;       // (C, V), a contiguous copy
    private readonly Tensor _cos;           // (P, D), the rotary tables themselves
    private readonly Tensor _sinSigned;     // (P, D)
    private readonly Tensor _causal;        // (MaskRows, P + MaskRows) additive: row i sees columns ≤ P + i
    private readonly Scalar _eps;
    private readonly int _heads, _kvHeads, _headDim, _intermediate, _hidden, _maxPositions;

    /// <summary>Per layer: norm scales (the parameters themselves) and the fused, transposed projections (copies).</summary>
    private sealed record Layer(Tensor InputNorm, Tensor PostNorm, Tensor QkvT, Tensor? QkvBias, Tensor OT, Tensor? OBias, Tensor GateUpT, Tensor? GateUpBias, Tensor DownT, Tensor? DownBias);

    /// <summary>Copies the weights of <paramref name="model"/>; call without autograd.</summary>
    public LeanForward(LlamaConfig config, LlamaModel model, Linear? lmHead, RotaryEmbedding rope)
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _intermediate = config.IntermediateSize;
        _hidden = config.HiddenSize;
        _maxPositions = rope.MaxPositions;
        _eps = model.Norm.Eps;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _layers = new Layer[model.Layers.Count];
        for (int i = 0; i < _layers.Length; i++)
        {
            var layer = model.Layers[i];
            var (q, k, v, o) = layer.SelfAttention.Projections;
            var (gate, up, down) = layer.Mlp.Projections;
            _layers[i] = new Layer(
                layer.InputLayerNorm.Weight,
                layer.PostAttentionLayerNorm.Weight,
                Keep(cat(new[] { q.weight!, k.weight!, v.weight! }, 0).t().contiguous()),                          // (C, (H + 2Hkv)·D)
                q.bias is null ? null : Keep(cat(new[] { q.bias, k.bias!, v.bias! }, 0)),
                Keep(o.weight!.t().contiguous()),                                                                  // (H·D, C)
                o.bias is null ? null : Keep(o.bias.clone()),
                Keep(cat(new[] { gate.weight!, up.weight! }, 0).t().contiguous()),                                 // (C, 2I)
                gate.bias is null ? null : Keep(cat(new[] { gate.bias, up.bias! }, 0)),
                Keep(down.weight!.t().contiguous()),                                                               // (I, C)
                down.bias is null ? null : Keep(down.bias.clone()));
        }

        _embedding = model.EmbeddingWeight.DetachFromDisposeScope();                                               // a wrapper of the parameter
        _finalNorm = model.Norm.Weight;
        _lmHeadT = Keep((lmHead?.weight ?? _embedding).t().contiguous());                                          // (C, V)
        (_cos, _sinSigned) = rope.Tables;
        var allowed = ones(MaskRows, _maxPositions + MaskRows, dtype: ScalarType.Bool, device: _cos.device).tril(_maxPositions);
        _causal = Keep(zeros(allowed.shape, dtype: _cos.dtype, device: _cos.device).masked_fill(allowed.logical_not(), Scalars.NegativeInfinity));
    }

    /// <summary>
    /// inputIds (B, T) i64 at cache positions [past, past + T) (or <paramref name="positions"/> (T)); mask (T, past + T) bool
    /// or null for causal. Returns logits (B, T, V) in the model dtype, or (B, 1, V) when <paramref name="lastOnly"/>.
    /// Tensors land in the caller's dispose scope.
    /// </summary>
    public Tensor Forward(Tensor inputIds, int past, Tensor? positions, Tensor? mask, KvCache? cache, bool lastOnly)
    {
        long mark = ForwardProfiler.Mark();
        long b = inputIds.shape[0];
        int t = checked((int)inputIds.shape[1]);
        int g = _heads / _kvHeads;
        Tensor cos, sin;                                                                                           // (T, 1, D)
        if (positions is null)
        {
            cos = _cos.narrow(0, past, t).unsqueeze(1);
            sin = _sinSigned.narrow(0, past, t).unsqueeze(1);
        }
        else
        {
            cos = _cos.index_select(0, positions).unsqueeze(1);
            sin = _sinSigned.index_select(0, positions).unsqueeze(1);
        }

        Tensor? bias = null;                                                                                       // (g·T, past + T) additive
        if (mask is not null)
        {
            bias = zeros(mask.shape, dtype: _cos.dtype, device: _cos.device).masked_fill(mask.logical_not(), Scalars.NegativeInfinity);
        }
        else if (t > 1 && t <= MaskRows && past <= _maxPositions)
        {
            bias = _causal.narrow(0, 0, t).narrow(1, _maxPositions - past, past + t);
        }
        else if (t > 1)
        {
            var causal = LlamaForCausalLM.CausalMask(t, past, _cos.device);
            bias = zeros(causal.shape, dtype: _cos.dtype, device: _cos.device).masked_fill(causal.logical_not(), Scalars.NegativeInfinity);
        }

        if (bias is not null && g > 1)
        {
            bias = bias.repeat(g, 1);
        }

        ForwardProfiler.Add(ForwardOp.Setup, ref mark);
        var x = _embedding.index_select(0, inputIds.reshape(-1));                                                   // (B·T, C)
        ForwardProfiler.Add(ForwardOp.Embedding, ref mark);
        for (int i = 0; i < _layers.Length; i++)
        {
            x = Block(_layers[i], i, x, b, t, g, cos, sin, bias, cache, ref mark);
        }

        if (lastOnly && t > 1)
        {
            x = x.view(b, t, _hidden).select(1, t - 1);                                                            // (B, C)
        }

        x = Norm(x, _finalNorm);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        var logits = x.matmul(_lmHeadT).view(b, lastOnly ? 1 : t, -1);                                             // (B, T', V)
        ForwardProfiler.Add(ForwardOp.LmHead, ref mark);
        return logits;
    }

    /// <summary>One decoder layer over x (B·T, C) → (B·T, C).</summary>
    private Tensor Block(Layer w, int index, Tensor x, long b, int t, int g, Tensor cos, Tensor sin, Tensor? bias, KvCache? cache, ref long mark)
    {
        var n = Norm(x, w.InputNorm);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        var qkv = (w.QkvBias is null ? n.matmul(w.QkvT) : addmm(w.QkvBias, n, w.QkvT, 1, 1))                      // (B·T, (H + 2Hkv)·D)
            .view(b, t, _heads + 2 * _kvHeads, _headDim);
        ForwardProfiler.Add(ForwardOp.QkvProjection, ref mark);
        var qk = qkv.narrow(2, 0, _heads + _kvHeads);                                                              // (B, T, H + Hkv, D)
        qk = (qk * cos).add(qk.roll(_headDim / 2, -1) * sin, Scalars.One);                                         // rotate q and k together
        ForwardProfiler.Add(ForwardOp.Rope, ref mark);
        var q = qk.narrow(2, 0, _heads).transpose(1, 2);                                                           // (B, H, T, D)
        var k = qk.narrow(2, _heads, _kvHeads).transpose(1, 2);                                                    // (B, Hkv, T, D)
        var v = qkv.narrow(2, _heads + _kvHeads, _kvHeads).transpose(1, 2);                                        // (B, Hkv, T, D)
        if (cache is not null)
        {
            (k, v) = cache.Write(index, k, v);                                                                     // (B, Hkv, S, D)
        }

        ForwardProfiler.Add(ForwardOp.CacheWrite, ref mark);
        var qf = g == 1 ? q : q.reshape(b, _kvHeads, g * t, _headDim);                                             // (B, Hkv, g·T, D)
        var y = nn.functional.scaled_dot_product_attention(qf, k, v, attn_mask: bias);                              // (B, Hkv, g·T, D)
        y = t == 1 ? y.reshape(b, _heads * _headDim) : y.reshape(b, _heads, t, _headDim).transpose(1, 2).reshape(b * t, _heads * _headDim);
        ForwardProfiler.Add(ForwardOp.Attention, ref mark);
        if (w.OBias is not null)
        {
            x = x.add(w.OBias, Scalars.One);
        }

        x = addmm(x, y, w.OT, 1, 1);                                                                               // x + o_proj(y)
        ForwardProfiler.Add(ForwardOp.OProjection, ref mark);
        n = Norm(x, w.PostNorm);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        var gateUp = w.GateUpBias is null ? n.matmul(w.GateUpT) : addmm(w.GateUpBias, n, w.GateUpT, 1, 1);       // (B·T, 2I)
        var act = nn.functional.silu(gateUp.narrow(1, 0, _intermediate)).mul_(gateUp.narrow(1, _intermediate, _intermediate));
        if (w.DownBias is not null)
        {
            x = x.add(w.DownBias, Scalars.One);
        }

        x = addmm(x, act, w.DownT, 1, 1);                                                                          // x + down(act)
        ForwardProfiler.Add(ForwardOp.Mlp, ref mark);
        return x;
    }

    /// <summary>x (N, C) float32 → x / sqrt(mean(x²) + eps) · weight, the same arithmetic as <see cref="RmsNorm"/>.</summary>
    private Tensor Norm(Tensor x, Tensor weight)
        => (x * x.pow(Scalars.Two).mean(LastDim, keepdim: true).add_(_eps, Scalars.One).rsqrt_()).mul_(weight);

    private static Tensor Keep(Tensor t) => t.DetachFromDisposeScope();

    public void Dispose()
    {
        foreach (var layer in _layers)
        {
            layer.QkvT.Dispose();
            layer.QkvBias?.Dispose();
            layer.OT.Dispose();
            layer.OBias?.Dispose();
            layer.GateUpT.Dispose();
            layer.GateUpBias?.Dispose();
            layer.DownT.Dispose();
            layer.DownBias?.Dispose();
        }

        _lmHeadT.Dispose();
        _causal.Dispose();
        _embedding.Dispose();
    }
}
