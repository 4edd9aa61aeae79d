using System;
using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

// The decoder stack in one file, as Hugging Face keeps modeling_llama.py: LlamaModel (embedding → layers → final
// norm), LlamaDecoderLayer, LlamaAttention, LlamaMlp, RmsNorm, RotaryEmbedding (+ RotaryAngles), TokenEmbedding, and
// the in-place forward's buffers (ForwardWorkspace) and its optional stopwatch (ForwardProfiler).
// LlamaForCausalLM (the public model) and Projection (float or quantized linear layers) have files of their own.

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
        var y = Attend(qf, k, v, maskBias);                                              // (B, Hkv, g·T, D)
        y = y.reshape(b, _heads, t, _headDim).transpose(1, 2).reshape(b, t, _heads * _headDim);
        ForwardProfiler.Add(ForwardOp.Attention, ref mark);
        var output = _oProj.forward(y).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.OProjection, ref mark);
        return output;
    }

    /// <summary>
    /// The dtype attention computes in for a model of <paramref name="dtype"/> on <paramref name="device"/>: float32 for
    /// bfloat16/float16 on the CPU, where ATen's kernel is slower in 16 bits than in 32 at these sizes (0.97B shape, 22
    /// layers: 3.2 → 1.6–2.1 ms per one-token forward, 14.0 → 10.0–11.7 ms per 16-token one); else the model's own.
    /// </summary>
    internal static ScalarType ComputeDType(ScalarType dtype, DeviceType device)
        => dtype is ScalarType.BFloat16 or ScalarType.Float16 && device == DeviceType.CPU ? ScalarType.Float32 : dtype;

    /// <summary>
    /// Scaled dot-product attention of q (B, Hkv, g·T, D) over k, v (B, Hkv, S, D) in <see cref="ComputeDType"/>, returned in
    /// q's dtype; the mask bias comes in that dtype already (the model makes it so, once per forward).
    /// </summary>
    private static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? maskBias)
    {
        var compute = ComputeDType(q.dtype, q.device_type);
        if (compute == q.dtype)
        {
            return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: maskBias);
        }

        return nn.functional.scaled_dot_product_attention(q.to(compute), k.to(compute), v.to(compute), attn_mask: maskBias).to(q.dtype);
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
        if (s.BFloat16Workers > 0)
        {
            AttendOnTheCpu(s, cache, ref mark);
            _oProj.ForwardInto(s.Attention!, x, accumulate: true);                       // x += o_proj(y)
            ForwardProfiler.Add(ForwardOp.OProjection, ref mark);
            return;
        }

        var (k, v) = cache is null ? (s.Keys, s.Values) : cache.Write(_layerIndex, s.Keys, s.Values, s.T); // (B, Hkv, S, D)
        ForwardProfiler.Add(ForwardOp.CacheWrite, ref mark);
        if (s.T > 1)
        {
            s.QueryBufferT!.copy_(s.QueriesBTHD!);
        }

        var y = Attend(s.Queries, k, v, maskBias);                                       // (B, Hkv, g·T, D)
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

    /// <summary>
    /// The cache write and attention of <see cref="ForwardInPlace"/> through <see cref="CachedAttention"/>, reading the rotated
    /// queries, keys and values from s.Qkv (B·T, (H + 2Hkv)·D) and writing y into s.Attention (B·T, H·D).
    /// </summary>
    private unsafe void AttendOnTheCpu(ForwardWorkspace s, KvCache? cache, ref long mark)
    {
        long row = (long)(s.H + 2 * s.Hkv) * s.D;
        ushort* qkv = (ushort*)s.QkvData;
        ushort* keys = qkv + (long)s.H * s.D;
        ushort* values = keys + (long)s.Hkv * s.D;
        long kvBatch = s.T * row, kvHead = s.D, kvRow = row;                          // without a cache: the new tokens' own
        int length = s.T;
        if (cache is not null)
        {
            var (k, v) = cache.Write(_layerIndex, keys, values, row, s.B, s.T);
            keys = (ushort*)k;
            values = (ushort*)v;
            (kvHead, kvRow) = ((long)cache.Capacity * s.D, s.D);
            kvBatch = s.Hkv * kvHead;
            length = cache.Length + s.T;
        }

        ForwardProfiler.Add(ForwardOp.CacheWrite, ref mark);
        CachedAttention.Run(qkv, row, keys, values, kvBatch, kvHead, kvRow, (float*)s.MaskData, s.MaskRow, (ushort*)s.AttentionData,
            checked((int)s.B), s.T, length, s.H, s.Hkv, s.D, s.BFloat16Workers);
        ForwardProfiler.Add(ForwardOp.Attention, ref mark);
    }
}

/// <summary>
/// SwiGLU feed-forward: down(silu(gate(x)) · up(x)), gate and up one stacked projection (<c>gate_up_proj</c>; the
/// model's state dict shows gate_proj and up_proj).
/// </summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_up_proj")]
    private readonly Projection _gateUpProj;
    [ComponentName(Name = "down_proj")]
    private readonly Projection _downProj;

    private readonly long _intermediate;

    public LlamaMlp(LlamaConfig config, ScalarType dtype, bool initialize = true, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaMlp))
    {
        _intermediate = config.IntermediateSize;
        _gateUpProj = new Projection(config.HiddenSize, 2 * _intermediate, config.MlpBias, dtype, initialize, quantization, new[] { ("gate_proj", _intermediate), ("up_proj", _intermediate) });
        _downProj = new Projection(config.IntermediateSize, config.HiddenSize, config.MlpBias, dtype, initialize, quantization);
        RegisterComponents();
    }

    /// <summary>x: (B, T, C) → (B, T, C), with autograd.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gateUp = _gateUpProj.forward(x);                                            // (B, T, 2I)
        var gate = gateUp.narrow(-1, 0, _intermediate);
        var up = gateUp.narrow(-1, _intermediate, _intermediate);
        return _downProj.forward(nn.functional.silu(gate).mul(up)).MoveToOuterDisposeScope();
    }

    /// <summary>Without autograd: x (B·T, C), the residual stream, += mlp(<paramref name="normed"/> (B·T, C)), in place in <paramref name="s"/>'s buffers.</summary>
    public void ForwardInPlace(Tensor x, Tensor normed, ForwardWorkspace s)
    {
        _gateUpProj.ForwardInto(normed, s.GateUp, accumulate: false);                    // (B·T, 2I)
        s.Gate.silu_().mul_(s.Up);
        _downProj.ForwardInto(s.Gate, x, accumulate: true);                             // x += down(act)
    }
}

/// <summary>Root-mean-square layer norm: y = x / sqrt(mean(x²) + eps) · weight, computed in float32.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    /// <summary>(C) scale, named <c>weight</c> as in Hugging Face checkpoints.</summary>
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;
    private readonly Scalar _eps;
    private readonly float _epsilon;        // the same, for the bfloat16 CPU kernel

    public RmsNorm(long dim, double eps, ScalarType dtype = ScalarType.Float32) : base(nameof(RmsNorm))
    {
        _weight = new Parameter(ones(dim, dtype: dtype));
        _eps = eps.ToScalar();
        _epsilon = (float)eps;
        RegisterComponents();
    }

    /// <summary>The (C) scale parameter itself (not a copy).</summary>
    internal Tensor Weight => _weight;

    /// <summary>The epsilon, owned by this module.</summary>
    internal Scalar Eps => _eps;

    /// <summary>x: (…, C) → (…, C), same dtype as x.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        bool upcast = x.dtype != ScalarType.Float32;
        var x32 = upcast ? x.to_type(ScalarType.Float32) : x;
        var normed = x32 * rsqrt(x32.pow(Scalars.Two).mean(new long[] { -1 }, keepdim: true).add(_eps, Scalars.One));
        return ((upcast ? normed.to_type(x.dtype) : normed) * _weight).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Without autograd: x (N, C) in the model dtype → x / sqrt(mean(x²) + eps) · weight into <paramref name="into"/> (N, C) when given, else a
    /// new tensor; the arithmetic of <see cref="forward"/> (libtorch's CPU mean is a sum divided by C, so the float32 result
    /// is bit-identical), with C and eps as the workspace's tensors: in-place ops with a tensor operand cost ~0.3 µs, with a
    /// Scalar ~2 µs, and mean ~4 µs against ~1 µs for sum.
    /// </summary>
    internal Tensor ForwardInto(Tensor x, Tensor? into, ForwardWorkspace work)
    {
        if (work.BFloat16Workers > 0)
        {
            var y = into ?? empty_like(x);
            NormalizeBFloat16Rows(x, y, work.Hidden);
            return y;
        }

        if (work.Float32)
        {
            var r = x.pow(Scalars.Two).sum(1, keepdim: true).div_(work.Width).add_(work.Eps, Scalars.One).rsqrt_();   // (N, 1)
            return (into is null ? x.mul(r) : into.copy_(x).mul_(r)).mul_(_weight);
        }

        var x32 = x.to_type(ScalarType.Float32);
        var r32 = x32.pow(Scalars.Two).sum(1, keepdim: true).div_(work.Width).add_(work.Eps, Scalars.One).rsqrt_();
        var normed = x32.mul_(r32);
        return (into is null ? normed.to_type(x.dtype) : into.copy_(normed)).mul_(_weight);
    }

    /// <summary>
    /// The bfloat16 CPU form (where <see cref="CachedAttention"/> runs), row by row so that a row's bits never depend on the
    /// others: per row of x (N, C) contiguous, s = Σ x² (lane i mod 8 in order, then the lanes pairwise), r = 1 / √(s / C + eps),
    /// y = bf16(bf16(x·r)·weight), as <see cref="forward"/> rounds.
    /// </summary>
    private unsafe void NormalizeBFloat16Rows(Tensor x, Tensor y, int width)
    {
        fixed (byte* xBytes = x.bytes)
        fixed (byte* yBytes = y.bytes)
        fixed (byte* wBytes = _weight.bytes)
        {
            ushort* w = (ushort*)wBytes;
            long rows = x.numel() / width;
            for (long r = 0; r < rows; r++)
            {
                ushort* xs = (ushort*)xBytes + r * width;
                ushort* ys = (ushort*)yBytes + r * width;
                var sum = Vector256<float>.Zero;
                for (int i = 0; i < width; i += 8)
                {
                    var v = BFloat16Vectors.Widen(xs + i);
                    sum = Fma.MultiplyAdd(v, v, sum);
                }

                float squares = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + (sum[6] + sum[7]));
                var scale = Vector256.Create(1f / MathF.Sqrt(squares / width + _epsilon));
                for (int i = 0; i < width; i += 8)
                {
                    var normed = BFloat16Vectors.RoundHigh(BFloat16Vectors.Widen(xs + i) * scale).AsSingle();
                    BFloat16Vectors.Store(normed * BFloat16Vectors.Widen(w + i), ys + i);
                }
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _eps.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Rotary position embedding in the Hugging Face "rotate half" convention: dimension i of a head is
/// rotated together with dimension i + D/2. Cos/sin tables for every position are built once and
/// indexed by explicit position ids, so non-monotone positions (lookahead) cost nothing extra.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;       // (maxPositions, D)
    private readonly Tensor _sinSigned; // (maxPositions, D): −sin on the first half, +sin on the second

    public RotaryEmbedding(LlamaConfig config, int maxPositions, ScalarType dtype, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        MaxPositions = maxPositions;
        using var scope = NewDisposeScope();
        var invFreq = InverseFrequencies(config);                                       // (D/2) f64
        using var count = ((long)maxPositions).ToScalar();
        var positions = arange(Scalars.Zero, count, Scalars.One, dtype: ScalarType.Float64);
        if (config.RopeScaling is { Type: "linear" } linear)
        {
            using var factor = linear.Factor.ToScalar();
            positions = positions / factor;
        }

        var freqs = outer(positions, invFreq);                                           // (maxPositions, D/2)
        var emb = cat(new[] { freqs, freqs }, -1);                                       // (maxPositions, D)
        var sign = cat(new[] { -ones_like(freqs), ones_like(freqs) }, -1);
        _cos = emb.cos().to_type(dtype).to(device ?? CPU).DetachFromDisposeScope();
        _sinSigned = (emb.sin() * sign).to_type(dtype).to(device ?? CPU).DetachFromDisposeScope();
    }

    /// <summary>(maxPositions, D) cosines and signed sines, owned by this object.</summary>
    internal (Tensor Cos, Tensor SinSigned) Tables => (_cos, _sinSigned);

    /// <summary>Number of positions the tables cover.</summary>
    public int MaxPositions { get; }

    /// <summary>The rotation angles of <paramref name="positions"/> (T) i64, looked up once per forward and shared by all layers.</summary>
    public RotaryAngles At(Tensor positions) => new(_cos.index_select(0, positions), _sinSigned.index_select(0, positions));

    /// <summary>1 / θ^(2i/D) for i in [0, D/2), with llama3 wavelength scaling when configured.</summary>
    private static Tensor InverseFrequencies(LlamaConfig config)
    {
        int d = config.HeadDim;
        var invFreq = new double[d / 2];
        for (int i = 0; i < invFreq.Length; i++)
        {
            invFreq[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / d);
        }

        if (config.RopeScaling is { Type: "llama3" } s)
        {
            double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
            double highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
            for (int i = 0; i < invFreq.Length; i++)
            {
                double wavelen = 2 * Math.PI / invFreq[i];
                if (wavelen > lowFreqWavelen)
                {
                    invFreq[i] /= s.Factor;
                }
                else if (wavelen >= highFreqWavelen)
                {
                    double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    invFreq[i] = (1 - smooth) * invFreq[i] / s.Factor + smooth * invFreq[i];
                }
            }
        }

        return tensor(invFreq, dtype: ScalarType.Float64);
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sinSigned.Dispose();
    }
}

/// <summary>
/// Rotary angles of the T tokens of one forward: Cos (T, D) and SinSigned (T, D), whose first half is −sin.
/// In the rotate-half convention x ↦ x·cos + [−x₂, x₁]·sin, and [−x₂, x₁]·sin = roll(x, D/2)·SinSigned,
/// so a rotation costs one roll, two products and a sum.
/// </summary>
internal readonly record struct RotaryAngles(Tensor Cos, Tensor SinSigned)
{
    /// <summary>x (B, heads, T, D) → x rotated to its positions, in the caller's dispose scope.</summary>
    public Tensor Apply(Tensor x) => (x * Cos).add(x.roll(x.shape[^1] / 2, -1) * SinSigned, Scalars.One);
}

/// <summary>
/// Token embeddings stored transposed and contiguous: <c>weight_t</c> (C, V), the Hugging Face (V, C)
/// <c>embed_tokens.weight</c> that the model's <c>state_dict()</c> shows as a view. That layout is the one a tied
/// classifier multiplies by (x·weight_t, one contiguous product: over the transposed view of a (V, C) matrix a 1-token
/// product at a 32,000-token vocabulary took twice as long), and a lookup gathers T columns.
/// </summary>
internal sealed class TokenEmbedding : nn.Module
{
    private readonly Parameter _weightT;

    public TokenEmbedding(long vocabulary, long hidden, ScalarType dtype) : base(nameof(TokenEmbedding))
    {
        using var init = nn.Embedding(vocabulary, hidden, dtype: dtype);                // nn.Embedding's N(0, 1) draws, as before
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        _weightT = new Parameter(init.weight!.t().contiguous().DetachFromDisposeScope());
        register_parameter("weight_t", _weightT);
    }

    /// <summary>(C, V), the parameter itself; the tied classifier.</summary>
    internal Parameter WeightT => _weightT;

    /// <summary>ids (any shape, N ids) → their embeddings (N, C), a new contiguous tensor (with autograd when enabled).</summary>
    public Tensor Rows(Tensor ids)
    {
        using var flat = ids.reshape(-1);
        using var rows = _weightT.t();                                                     // (V, C), a strided view
        return rows.index_select(0, flat);                                                 // one gather straight into a contiguous (N, C)
    }
}

/// <summary>
/// Wall time per <see cref="ForwardOp"/> class, summed over forwards while <see cref="Enabled"/> (CPU ops are
/// synchronous, so a stopwatch around them is their cost). Off by default: then each mark costs one static read.
/// Process-wide and not thread-safe: profile one forward at a time.
/// </summary>
internal static class ForwardProfiler
{
    private static readonly double[] Totals = new double[Enum.GetValues<ForwardOp>().Length];

    /// <summary>Whether forwards record their op times.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Milliseconds recorded per op class since the last <see cref="Reset"/>, indexed by <see cref="ForwardOp"/>.</summary>
    public static double[] Snapshot() => (double[])Totals.Clone();

    /// <summary>Clears the totals.</summary>
    public static void Reset() => Array.Clear(Totals);

    /// <summary>A start mark (0 when disabled).</summary>
    internal static long Mark() => Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Adds the time since <paramref name="mark"/> to <paramref name="op"/> and moves the mark to now.</summary>
    internal static void Add(ForwardOp op, ref long mark)
    {
        if (!Enabled)
        {
            return;
        }

        long now = Stopwatch.GetTimestamp();
        Totals[(int)op] += Stopwatch.GetElapsedTime(mark, now).TotalMilliseconds;
        mark = now;
    }
}

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
    public readonly int BFloat16Workers;    // > 0: attention, norms and classifier in the bfloat16 CPU kernels on this many threads, else ATen's
    public readonly nint QkvData, AttentionData; // their addresses, for CachedAttention (bfloat16 kernels only)
    public nint MaskData;                   // this forward's (T, S) float32 mask bias, 0 when none (CachedAttention only)
    public long MaskRow;                    // its row stride

    /// <summary>The norms' divisor C and epsilon as (1, 1) float32 tensors, owned by the model (a tensor operand is cheaper than a Scalar).</summary>
    public readonly Tensor Width, Eps;

    public unsafe ForwardWorkspace(LlamaConfig config, ScalarType dtype, Device device, long b, int t, Tensor width, Tensor eps, int bfloat16Workers = 0)
    {
        BFloat16Workers = bfloat16Workers;
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
            Attention = bfloat16Workers > 0 ? empty(new[] { n, (long)H * D }, dtype: dtype, device: device) : null;
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
        if (bfloat16Workers > 0)
        {
            fixed (byte* qkvData = Qkv.bytes)
            fixed (byte* attentionData = Attention!.bytes)
            {
                (QkvData, AttentionData) = ((nint)qkvData, (nint)attentionData);
            }
        }
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
