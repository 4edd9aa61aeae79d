using System;
using System.Threading;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// The inference-only forward of <see cref="LlamaForCausalLM"/>: a copy of the weights made once, on the first
/// forward without autograd, with q/k/v and gate/up fused and every matrix stored transposed and contiguous
/// (x·Wᵀ as one <c>matmul</c>/<c>addmm</c>, which is much faster than <c>linear</c> for one token), residuals folded
/// into <c>addmm</c>, rotary tables and the causal mask sliced rather than built, and no per-layer dispose scope.
/// Each forward's intermediates live in a <see cref="Workspace"/> of buffers and views made once per forward (and kept
/// between 1-token decode steps), so that a layer is mostly in-place ops: from C#, an op returning a new tensor costs
/// ~1 µs (wrapper, scope, disposal), an in-place op ~0.3 µs, an op with a <see cref="Scalar"/> operand ~2 µs.
/// The same arithmetic as the module path; the modules (and their Hugging Face names) stay the source of truth for
/// loading, saving and training, and the copy is dropped whenever they may have changed.
/// </summary>
internal sealed class LeanForward : IDisposable
{
    /// <summary>Longest chain forward whose causal mask is a slice of <see cref="_causal"/>; longer ones build it.</summary>
    private const int MaskRows = 64;

    private readonly Layer[] _layers;
    private readonly Tensor _embedding;     // (V, C), the embedding parameter itself
    private readonly Tensor _finalNorm;     // (C), the parameter itself
    private readonly Tensor _lmHeadT;       // (C, V), a contiguous copy
    private readonly Tensor _cos;           // (P, D), the rotary tables themselves
    private readonly Tensor _sinSigned;     // (P, D)
    private readonly Tensor _causal;        // (MaskRows, P + MaskRows) additive: row i sees columns ≤ P + i
    private readonly Tensor _epsTensor;     // (1, 1): the norm's epsilon as a tensor (a Scalar operand costs ~1.5 µs more per op)
    private readonly Tensor _widthTensor;   // (1, 1): the hidden size C, the divisor of the norm's mean
    private Workspace? _step;               // the (B, T) = (1, 1) workspace, kept between decode steps
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
                Keep(cat(new[] { q.Weight, k.Weight, v.Weight }, 0).t().contiguous()),                          // (C, (H + 2Hkv)·D)
                q.Bias is null ? null : Keep(cat(new[] { q.Bias, k.Bias!, v.Bias! }, 0)),
                Keep(o.Weight.t().contiguous()),                                                                  // (H·D, C)
                o.Bias is null ? null : Keep(o.Bias.clone()),
                Keep(cat(new[] { gate.Weight, up.Weight }, 0).t().contiguous()),                                 // (C, 2I)
                gate.Bias is null ? null : Keep(cat(new[] { gate.Bias, up.Bias! }, 0)),
                Keep(down.Weight.t().contiguous()),                                                               // (I, C)
                down.Bias is null ? null : Keep(down.Bias.clone()));
        }

        _embedding = model.EmbeddingWeight.DetachFromDisposeScope();                                               // a wrapper of the parameter
        _finalNorm = model.Norm.Weight;
        _lmHeadT = Keep((lmHead?.weight ?? _embedding).t().contiguous());                                          // (C, V)
        (_cos, _sinSigned) = rope.Tables;
        var allowed = ones(MaskRows, _maxPositions + MaskRows, dtype: ScalarType.Bool, device: _cos.device).tril(_maxPositions);
        _causal = Keep(zeros(allowed.shape, dtype: _cos.dtype, device: _cos.device).masked_fill(allowed.logical_not(), Scalars.NegativeInfinity));
        using var eps = config.RmsNormEps.ToScalar();
        using var width = ((double)_hidden).ToScalar();
        _epsTensor = Keep(full(1, 1, eps, dtype: _cos.dtype, device: _cos.device));
        _widthTensor = Keep(full(1, 1, width, dtype: _cos.dtype, device: _cos.device));
        using (inference_mode(false))
        {
            _step = new Workspace(this, 1, 1).Detach();                                                           // normal tensors: updated in place with or without inference mode
        }
    }

    /// <summary>
    /// inputIds (B, T) i64 at cache positions [past, past + T) (or <paramref name="positions"/> (T)); mask (T, past + T) bool
    /// or null for causal. Returns logits (B, T', V) in the model dtype for the last <paramref name="rows"/> = T' positions
    /// (1 ≤ T' ≤ T). Tensors land in the caller's dispose scope.
    /// </summary>
    public Tensor Forward(Tensor inputIds, int past, Tensor? positions, Tensor? mask, KvCache? cache, int rows)
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

        // The (B, T) = (1, 1) workspace of a decode step is kept between forwards (taken, used, given back; a concurrent
        // forward makes its own); other shapes get one in this forward's dispose scope.
        var work = b == 1 && t == 1 ? Interlocked.Exchange(ref _step, null) : null;
        bool kept = work is not null;
        work ??= new Workspace(this, b, t);
        ForwardProfiler.Add(ForwardOp.Setup, ref mark);
        var x = _embedding.index_select(0, inputIds.reshape(-1));                                                   // (B·T, C), the residual stream, updated in place
        ForwardProfiler.Add(ForwardOp.Embedding, ref mark);
        for (int i = 0; i < _layers.Length; i++)
        {
            Block(_layers[i], i, x, work, cos, sin, bias, cache, ref mark);
        }

        if (rows < t)
        {
            x = x.view(b, t, _hidden).narrow(1, t - rows, rows).reshape(b * rows, _hidden);                        // (B·T', C), a view when B = 1
        }

        x = Norm(x, _finalNorm, rows < t ? null : work.Normed);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        var logits = x.matmul(_lmHeadT).view(b, rows, -1);                                                         // (B, T', V)
        ForwardProfiler.Add(ForwardOp.LmHead, ref mark);
        if (kept)
        {
            Interlocked.Exchange(ref _step, work)?.Dispose();
        }

        return logits;
    }

    /// <summary>
    /// One forward's intermediate buffers and their views, made once per forward and reused by every layer, so that a
    /// layer runs mostly in-place ops on them: an op that returns a new tensor costs ~1 µs from C# (its wrapper and its
    /// disposal), an in-place op ~0.3 µs. The arithmetic is the same as with fresh tensors (addmm_ with beta 0 is mm).
    /// </summary>
    private sealed class Workspace : IDisposable
    {
        public readonly Tensor Normed;          // (N, C), N = B·T
        public readonly Tensor Qkv;             // (N, (H + 2Hkv)·D)
        public readonly Tensor QK;              // (B, T, H + Hkv, D) view of Qkv
        public readonly Tensor QKLow, QKHigh;   // its two halves along D
        public readonly Tensor Rolled;          // (B, T, H + Hkv, D): roll(qk, D/2) ⊙ sin
        public readonly Tensor RolledLow, RolledHigh;
        public readonly Tensor Keys, Values;    // (B, Hkv, T, D) views of Qkv (keys rotated in place)
        public readonly Tensor? QueriesBTHD;    // T > 1: (B, T, H, D) view of Qkv, copied into QueryBuffer's transpose
        public readonly Tensor? QueryBufferT;   // T > 1: (B, T, H, D) view of the (B, H, T, D) buffer
        public readonly Tensor Queries;         // (B, Hkv, g·T, D) for attention
        public readonly Tensor? AttentionBufferT; // T > 1: (B, H, T, D) view of Attention
        public readonly Tensor? Attention;      // T > 1: (N, H·D)
        public readonly Tensor GateUp;          // (N, 2I)
        public readonly Tensor Gate, Up;        // (N, I) views
        public readonly long B;
        public readonly int T;
        public readonly int Hkv, G, D, H;

        public Workspace(LeanForward f, long b, int t)
        {
            B = b;
            T = t;
            H = f._heads;
            Hkv = f._kvHeads;
            G = f._heads / f._kvHeads;
            D = f._headDim;
            long n = b * t;
            var options = (dtype: f._cos.dtype, device: f._cos.device);
            Normed = empty(new[] { n, f._hidden }, dtype: options.dtype, device: options.device);
            Qkv = empty(new[] { n, (long)(H + 2 * Hkv) * D }, dtype: options.dtype, device: options.device);
            var qkv = Qkv.view(b, t, H + 2 * Hkv, D);
            QK = qkv.narrow(2, 0, H + Hkv);
            QKLow = QK.narrow(3, 0, D / 2);
            QKHigh = QK.narrow(3, D / 2, D / 2);
            Rolled = empty(new[] { b, t, (long)(H + Hkv), D }, dtype: options.dtype, device: options.device);
            RolledLow = Rolled.narrow(3, 0, D / 2);
            RolledHigh = Rolled.narrow(3, D / 2, D / 2);
            Keys = qkv.narrow(2, H, Hkv).transpose(1, 2);
            Values = qkv.narrow(2, H + Hkv, Hkv).transpose(1, 2);
            if (t == 1)
            {
                Queries = qkv.narrow(2, 0, H).view(b, Hkv, G, D);                                                  // (B, 1, H, D) is (B, Hkv, g, D)
            }
            else
            {
                QueriesBTHD = qkv.narrow(2, 0, H);
                var queryBuffer = empty(new[] { b, (long)H, t, D }, dtype: options.dtype, device: options.device);
                QueryBufferT = queryBuffer.transpose(1, 2);
                Queries = queryBuffer.view(b, Hkv, G * t, D);
                Attention = empty(new[] { n, (long)H * D }, dtype: options.dtype, device: options.device);
                AttentionBufferT = Attention.view(b, t, H, D).transpose(1, 2);                                     // (B, H, T, D)
            }

            GateUp = empty(new[] { n, 2L * f._intermediate }, dtype: options.dtype, device: options.device);
            Gate = GateUp.narrow(1, 0, f._intermediate);
            Up = GateUp.narrow(1, f._intermediate, f._intermediate);
        }

        private Tensor?[] Tensors => new[] { Normed, Qkv, QK, QKLow, QKHigh, Rolled, RolledLow, RolledHigh, Keys, Values, QueriesBTHD, QueryBufferT, Queries, AttentionBufferT, Attention, GateUp, Gate, Up };

        /// <summary>Takes the buffers and views out of the dispose scope, for a workspace kept between forwards.</summary>
        public Workspace Detach()
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

    /// <summary>One decoder layer over the residual stream x (B·T, C), in place.</summary>
    private void Block(Layer w, int index, Tensor x, Workspace s, Tensor cos, Tensor sin, Tensor? bias, KvCache? cache, ref long mark)
    {
        var n = Norm(x, w.InputNorm, s.Normed);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        if (w.QkvBias is null)
        {
            s.Qkv.addmm_(n, w.QkvT, 0, 1);                                                                        // (B·T, (H + 2Hkv)·D)
        }
        else
        {
            s.Qkv.copy_(w.QkvBias).addmm_(n, w.QkvT, 1, 1);
        }

        ForwardProfiler.Add(ForwardOp.QkvProjection, ref mark);
        // q and k rotated together, in place: qk ⊙ cos + roll(qk, D/2) ⊙ sin (the halves swapped by two copies).
        s.RolledLow.copy_(s.QKHigh);
        s.RolledHigh.copy_(s.QKLow);
        s.Rolled.mul_(sin);
        s.QK.mul_(cos).add_(s.Rolled, Scalars.One);
        ForwardProfiler.Add(ForwardOp.Rope, ref mark);
        var (k, v) = cache is null ? (s.Keys, s.Values) : cache.Write(index, s.Keys, s.Values, s.T);              // (B, Hkv, S, D)
        ForwardProfiler.Add(ForwardOp.CacheWrite, ref mark);
        if (s.T > 1)
        {
            s.QueryBufferT!.copy_(s.QueriesBTHD!);
        }

        var y = nn.functional.scaled_dot_product_attention(s.Queries, k, v, attn_mask: bias);                      // (B, Hkv, g·T, D)
        Tensor attention;                                                                                          // (B·T, H·D)
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
        if (w.OBias is not null)
        {
            x.add_(w.OBias, Scalars.One);
        }

        x.addmm_(attention, w.OT, 1, 1);                                                                         // x += o_proj(y)
        ForwardProfiler.Add(ForwardOp.OProjection, ref mark);
        n = Norm(x, w.PostNorm, s.Normed);
        ForwardProfiler.Add(ForwardOp.Norms, ref mark);
        if (w.GateUpBias is null)
        {
            s.GateUp.addmm_(n, w.GateUpT, 0, 1);                                                                   // (B·T, 2I)
        }
        else
        {
            s.GateUp.copy_(w.GateUpBias).addmm_(n, w.GateUpT, 1, 1);
        }

        s.Gate.silu_().mul_(s.Up);
        if (w.DownBias is not null)
        {
            x.add_(w.DownBias, Scalars.One);
        }

        x.addmm_(s.Gate, w.DownT, 1, 1);                                                                           // x += down(act)
        ForwardProfiler.Add(ForwardOp.Mlp, ref mark);
    }

    /// <summary>
    /// x (N, C) float32 → x / sqrt(mean(x²) + eps) · weight, the same arithmetic as <see cref="RmsNorm"/> (libtorch's CPU
    /// mean is a sum divided by C), with tensor operands for C and eps: in-place ops with a tensor operand cost ~0.3 µs,
    /// with a Scalar operand ~2 µs, and mean ~4 µs against ~1 µs for sum. Writes into <paramref name="into"/> when given.
    /// </summary>
    private Tensor Norm(Tensor x, Tensor weight, Tensor? into)
    {
        var r = x.pow(Scalars.Two).sum(1, keepdim: true).div_(_widthTensor).add_(_epsTensor, Scalars.One).rsqrt_();   // (N, 1)
        return (into is null ? x.mul(r) : into.copy_(x).mul_(r)).mul_(weight);
    }

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
        _epsTensor.Dispose();
        _widthTensor.Dispose();
        Interlocked.Exchange(ref _step, null)?.Dispose();
        _embedding.Dispose();
    }
}
