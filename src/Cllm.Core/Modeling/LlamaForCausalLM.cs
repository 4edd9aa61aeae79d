using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// A LLaMA-family causal language model (LLaMA, Mistral, Qwen2): weights only. Request state — the
/// KV cache, positions and the attention mask — arrives with every call, so one instance serves any
/// number of requests one after another. State-dict names equal Hugging Face's.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module
{
    [ComponentName(Name = "model")]
    private readonly LlamaModel _model;
    [ComponentName(Name = "lm_head")]
    private readonly Linear? _lmHead;

    private readonly RotaryEmbedding _rope;
    private readonly object _leanLock = new();
    private LeanForward? _lean;

    /// <summary>Builds a randomly initialised model (load weights with the checkpoint loader).</summary>
    public LlamaForCausalLM(LlamaConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : this(config, dtype, device, initialize: true)
    {
    }

    /// <summary>
    /// With <paramref name="initialize"/> false the Linear and Embedding weights are left uninitialised (torch.empty)
    /// because a checkpoint overwrites every one of them next; see <see cref="UninitializedModules"/>.
    /// </summary>
    /// <remarks>
    /// With <paramref name="quantization"/> other than None the attention and MLP projections are placeholders that the
    /// checkpoint loader fills with quantized weights (<see cref="LoadQuantizedWeight"/>); CPU only.
    /// </remarks>
    internal LlamaForCausalLM(LlamaConfig config, ScalarType dtype, Device? device, bool initialize, WeightQuantization quantization = WeightQuantization.None) : base(nameof(LlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        DType = dtype;
        Device = device ?? CPU;
        Quantization = quantization;
        if (quantization != WeightQuantization.None && Device.type != DeviceType.CPU)
        {
            throw new ArgumentException($"{quantization} quantization runs on the CPU only, not on {Device}.", nameof(device));
        }

        _model = new LlamaModel(config, dtype, initialize, quantization);
        if (!config.TieWordEmbeddings)
        {
            _lmHead = UninitializedModules.Linear(config.HiddenSize, config.VocabSize, hasBias: false, dtype, initialize);
        }

        RegisterComponents();
        _rope = new RotaryEmbedding(config, config.MaxPositionEmbeddings + RopeHeadroom, dtype, Device);
        if (Device.type != DeviceType.CPU)
        {
            this.to(Device);
        }
    }

    /// <summary>
    /// Positions past the context that rotary tables still cover: drafts (Jacobi blocks, lookahead
    /// windows) may guess a little beyond the last position that will ever be committed.
    /// </summary>
    public const int RopeHeadroom = 512;

    /// <summary>The architecture.</summary>
    public LlamaConfig Config { get; }

    /// <summary>Parameter dtype.</summary>
    public ScalarType DType { get; }

    /// <summary>Where the weights live.</summary>
    public Device Device { get; }

    /// <summary>
    /// Weight quantization of the attention and MLP projections (None: all weights in <see cref="DType"/>). A quantized
    /// model is inference-only: <c>train()</c> refuses it.
    /// </summary>
    public WeightQuantization Quantization { get; }

    /// <summary>
    /// Whether forwards without autograd in eval mode use the lean path (fused, pre-transposed copies of the weights,
    /// made on the first such forward; see docs/performance.md). On by default; off runs the modules as written.
    /// Float32 models whose weights exceed <see cref="DefaultLeanCopyLimitBytes"/> always run the modules: the copy would
    /// double their memory for a per-call saving that their arithmetic dwarfs.
    /// </summary>
    public bool FastInference { get; set; } = true;

    /// <summary>Largest weight size (bytes) the lean path copies: 1 GiB, about a 270M-parameter float32 model.</summary>
    internal const long DefaultLeanCopyLimitBytes = 1L << 30;

    /// <summary>The limit in force (tests lower it to check the fallback on small models).</summary>
    internal long LeanCopyLimitBytes { get; set; } = DefaultLeanCopyLimitBytes;

    /// <summary>Whether the lean path's weight copy currently exists.</summary>
    internal bool HasLeanCopy
    {
        get
        {
            lock (_leanLock)
            {
                return _lean is not null;
            }
        }
    }

    /// <summary>Number of parameter values (tied embeddings counted once), counted on first use: shapes never change.</summary>
    public long ParameterCount => _parameterCount ??= parameters().Sum(p => p.numel());

    private long? _parameterCount;

    /// <summary>
    /// Drops the lean path's weight copy so that the next forward copies the weights again. Loading weights and
    /// <c>train()</c> call it; call it after changing parameters in place in eval mode.
    /// </summary>
    public void InvalidateInferenceWeights()
    {
        lock (_leanLock)
        {
            _lean?.Dispose();
            _lean = null;
        }
    }

    /// <summary>Switches training mode; the lean copy is dropped, since training will change the weights.</summary>
    /// <exception cref="InvalidOperationException">Training mode on a quantized model.</exception>
    public override void train(bool on = true)
    {
        if (on && Quantization != WeightQuantization.None)
        {
            throw new InvalidOperationException($"this model's projections are quantized ({Quantization}) for inference; training needs the float weights: load the model without quantization.");
        }

        InvalidateInferenceWeights();
        base.train(on);
    }

    /// <summary>Allocates a KV cache for this model holding up to <paramref name="capacity"/> positions.</summary>
    public KvCache CreateCache(int capacity, int batch = 1) => new(Config, capacity, batch, DType, Device);

    /// <summary>
    /// One forward over T new tokens.
    /// inputIds: (B, T) i64. cache: P cached positions, receives the T new ones (P + T ≤ capacity).
    /// positions: (T) i64, default P, P+1, …, P+T−1. mask: (T, P+T) bool, true = may attend; default causal.
    /// Returns float32 logits (B, T', V): T' = T, or the last <paramref name="lastPositions"/> positions only when it is
    /// given (1 ≤ lastPositions ≤ T; a prefill needs 1, a prefill carrying a draft 1 + its length).
    /// </summary>
    public Tensor Forward(Tensor inputIds, KvCache? cache = null, Tensor? positions = null, Tensor? mask = null, int? lastPositions = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2)
        {
            throw new ArgumentException($"inputIds must be (B, T), got {inputIds.dim()} dimensions.", nameof(inputIds));
        }

        int t = checked((int)inputIds.shape[1]);
        int rows = lastPositions ?? t;
        if (rows < 1 || rows > t)
        {
            throw new ArgumentOutOfRangeException(nameof(lastPositions), lastPositions, $"must be between 1 and the {t} input positions.");
        }

        int past = cache?.Length ?? 0;
        cache?.EnsureRoom(t);
        if (positions is null && past + t > _rope.MaxPositions)
        {
            throw new ArgumentException($"positions {past}..{past + t - 1} exceed the {_rope.MaxPositions} positions this model's rotary tables cover.");
        }

        using var scope = NewDisposeScope();
        if (Lean() is { } lean)
        {
            var output = lean.Forward(inputIds, past, positions, mask, cache, rows);
            cache?.Advance(t);
            return (output.dtype == ScalarType.Float32 ? output : output.to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
        }

        long mark = ForwardProfiler.Mark();
        using var first = ((long)past).ToScalar();
        using var end = ((long)past + t).ToScalar();
        var pos = positions ?? arange(first, end, Scalars.One, dtype: ScalarType.Int64, device: Device);
        var m = mask ?? (t == 1 ? null : CausalMask(t, past, Device));
        var angles = _rope.At(pos);
        ForwardProfiler.Add(ForwardOp.Setup, ref mark);
        var h = _model.Forward(inputIds, angles, m, cache);                           // (B, T, C)
        cache?.Advance(t);
        if (rows < t)
        {
            h = h.narrow(1, t - rows, rows);                                              // (B, T', C)
        }

        mark = ForwardProfiler.Mark();
        var logits = _lmHead is null ? nn.functional.linear(h, _model.EmbeddingWeight) : _lmHead.forward(h);
        logits = logits.to_type(ScalarType.Float32).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.LmHead, ref mark);
        return logits;
    }

    /// <summary>The lean path when it applies (eval mode, no autograd, float32, weights ≤ 1 GiB), built on first use.</summary>
    private LeanForward? Lean()
    {
        if (!FastInference || training || is_grad_enabled() || DType != ScalarType.Float32 || Quantization != WeightQuantization.None || ParameterCount * sizeof(float) > LeanCopyLimitBytes)
        {
            return null;
        }

        lock (_leanLock)
        {
            return _lean ??= new LeanForward(Config, _model, _lmHead, _rope);
        }
    }

    /// <summary>The quantized projections by weight name (<c>model.layers.0.self_attn.q_proj.weight</c>, …); empty when not quantized.</summary>
    internal IReadOnlyDictionary<string, Projection> QuantizedProjections => _quantizedProjections ??= named_modules()
        .Where(m => m.module is Projection { IsQuantized: true })
        .ToDictionary(m => m.name + ".weight", m => (Projection)m.module, StringComparer.Ordinal);

    private Dictionary<string, Projection>? _quantizedProjections;

    /// <summary>Quantizes the float tensor <paramref name="weight"/> (N, K) into the projection whose weight is <paramref name="name"/>.</summary>
    internal void LoadQuantizedWeight(string name, Tensor weight)
    {
        if (!QuantizedProjections.TryGetValue(name, out var projection))
        {
            throw new ArgumentException($"'{name}' is not a quantized projection weight.", nameof(name));
        }

        projection.LoadQuantized(weight, QuantizedComputeDType);
    }

    /// <summary>
    /// Activation dtype of the quantized kernels: bfloat16 whatever the model dtype (other activations are converted per
    /// call). ATen's kernels also take float32 activations, but through a slow path: int8 at sql-cllm's MLP shape took
    /// 0.9 ms per call at T = 1 and 8 ms at T = 1..16 against 0.06 and 0.2 ms in bfloat16 (docs/quantization.md).
    /// </summary>
    internal static ScalarType QuantizedComputeDType => ScalarType.BFloat16;

    /// <summary>One line per format: how many projections and bytes each holds, and why any int4 projection fell back to int8.</summary>
    internal string QuantizationSummary()
    {
        if (Quantization == WeightQuantization.None)
        {
            return "not quantized";
        }

        var loaded = QuantizedProjections.Select(p => (p.Key, Weight: p.Value.Quantized)).Where(p => p.Weight is not null).ToList();
        var parts = loaded.GroupBy(p => p.Weight!.Description).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{g.Key}: {g.Count()} projections, {g.Sum(p => p.Weight!.Bytes) / 1e6:0.##} MB"));
        string Names(WeightQuantization format) => string.Join(", ", loaded.Where(p => p.Weight!.Format == format)
            .Select(p => p.Key[..^".weight".Length].Split('.')[^1] + $" {p.Weight!.OutFeatures}x{p.Weight.InFeatures}").Distinct());
        string fallback = string.Empty;
        if (Quantization == WeightQuantization.Int4 && Names(WeightQuantization.Int8) is { Length: > 0 } toInt8)
        {
            fallback += $"; int8 instead of int4 for {toInt8} (int4 needs N % 16 = 0 and K divisible by 32, 64 or 128)";
        }

        if (Names(WeightQuantization.None) is { Length: > 0 } unquantized)
        {
            fallback += $"; not quantized: {unquantized} (ATen's int8 kernel needs K % 16 = 0)";
        }
        return $"{Quantization} weights, activations {QuantizedComputeDType}: {string.Join("; ", parts)}{fallback}; embeddings, norms and classifier {DType}";
    }

    /// <summary>(T, P+T) bool, bottom-right aligned: new token i may see cached positions and new tokens 0..i.</summary>
    public static Tensor CausalMask(int newTokens, int past, Device? device = null)
        => ones(newTokens, past + newTokens, dtype: ScalarType.Bool, device: device).tril(past);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            InvalidateInferenceWeights();
            _rope.Dispose();
        }

        base.Dispose(disposing);
    }
}
