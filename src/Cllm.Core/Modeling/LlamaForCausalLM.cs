using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
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
    private readonly Projection? _lmHead;

    private readonly RotaryEmbedding _rope;
    private readonly Tensor _causal;        // (MaskRows, P + MaskRows) additive, P = rotary positions: row i sees columns ≤ P + i
    private readonly ScalarType _maskDType; // attention's compute dtype (LlamaAttention.ComputeDType): the masks are made in it
    private readonly Tensor _width, _eps;   // (1, 1) float32: the norms' divisor C and epsilon, for the in-place forward
    private readonly Dictionary<string, IReadOnlyList<(string Name, long Offset, long Rows)>> _projectionParameters; // own name → Hugging Face parts
    private ForwardWorkspace? _step;        // the (B, T) = (1, 1) workspace, kept between decode steps
    private ForwardWorkspace? _block;       // the last (1, T) workspace with 1 < T ≤ MaskRows, kept between block steps
    private readonly bool _bfloat16Kernels; // the bfloat16 CPU kernels support this model (dtype, device and shape are fixed)

    /// <summary>Longest forward whose causal mask is a slice of <see cref="_causal"/>; longer ones build theirs.</summary>
    private const int MaskRows = 64;

    /// <summary>Builds a randomly initialised model (load weights with the checkpoint loader).</summary>
    public LlamaForCausalLM(LlamaConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : this(config, dtype, device, initialize: true)
    {
    }

    /// <summary>
    /// With <paramref name="initialize"/> false the projection and classifier weights are left uninitialised (torch.empty)
    /// because a checkpoint overwrites every one of them next (kaiming init took ~40 s for the 1.0B projection parameters
    /// of a 1.1B model on 2 busy cores); uninitialised memory is garbage, so use it only when every parameter is loaded next.
    /// Embeddings keep their init (the (V, C) init is a small share).
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
        _bfloat16Kernels = CachedAttention.Supports(dtype, Device.type, config.HeadDim, config.HiddenSize);
        if (quantization != WeightQuantization.None && Device.type != DeviceType.CPU)
        {
            throw new ArgumentException($"{quantization} quantization runs on the CPU only, not on {Device}.", nameof(device));
        }

        _model = new LlamaModel(config, dtype, initialize, quantization);
        if (!config.TieWordEmbeddings)
        {
            _lmHead = new Projection(config.HiddenSize, config.VocabSize, hasBias: false, dtype, initialize);
        }

        RegisterComponents();
        _rope = new RotaryEmbedding(config, config.MaxPositionEmbeddings + RopeHeadroom, dtype, Device);
        if (Device.type != DeviceType.CPU)
        {
            this.to(Device);
        }

        _projectionParameters = new Dictionary<string, IReadOnlyList<(string Name, long Offset, long Rows)>>(StringComparer.Ordinal);
        foreach (var (name, module) in named_modules())
        {
            if (module is Projection projection)
            {
                string prefix = name[..(name.LastIndexOf('.') + 1)];
                var parts = projection.Parts ?? new[] { (name[prefix.Length..], 0L, projection.OutFeatures) };
                _projectionParameters[name + ".weight_t"] = parts.Select(p => ($"{prefix}{p.Item1}.weight", p.Item2, p.Item3)).ToList();
                _projectionParameters[name + ".bias"] = parts.Select(p => ($"{prefix}{p.Item1}.bias", p.Item2, p.Item3)).ToList();
            }
        }

        _projectionParameters["model.embed_tokens.weight_t"] = new[] { ("model.embed_tokens.weight", 0L, (long)config.VocabSize) };

        using var scope = NewDisposeScope();
        int positions = _rope.MaxPositions;
        var allowed = ones(MaskRows, positions + MaskRows, dtype: ScalarType.Bool, device: Device).tril(positions);
        _maskDType = LlamaAttention.ComputeDType(dtype, Device.type);
        _causal = zeros(allowed.shape, dtype: _maskDType, device: Device).masked_fill(allowed.logical_not(), Scalars.NegativeInfinity).DetachFromDisposeScope();
        using var width = ((double)config.HiddenSize).ToScalar();
        using var eps = config.RmsNormEps.ToScalar();
        _width = full(1, 1, width, dtype: ScalarType.Float32, device: Device).DetachFromDisposeScope();
        _eps = full(1, 1, eps, dtype: ScalarType.Float32, device: Device).DetachFromDisposeScope();
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

    /// <summary>Number of parameter values (tied embeddings counted once), counted on first use: shapes never change.</summary>
    public long ParameterCount => _parameterCount ??= parameters().Sum(p => p.numel());

    private long? _parameterCount;

    /// <summary>Switches training mode.</summary>
    /// <exception cref="InvalidOperationException">Training mode on a quantized model.</exception>
    public override void train(bool on = true)
    {
        if (on && Quantization != WeightQuantization.None)
        {
            throw new InvalidOperationException($"this model's projections are quantized ({Quantization}) for inference; training needs the float weights: load the model without quantization.");
        }

        base.train(on);
    }

    /// <summary>
    /// Saves this model as a Hugging Face folder that transformers and <see cref="PretrainedModel.Load"/> read:
    /// <c>model.safetensors</c>, <c>config.json</c>, <c>generation_config.json</c>, and the tokenizer files copied from
    /// <paramref name="copyTokenizerFrom"/> (with its <c>generation_config.json</c>, when it has one). Each file is written
    /// atomically (temporary file, flush, rename); existing files are replaced.
    /// </summary>
    /// <param name="outputDir">Target folder; created if missing.</param>
    /// <param name="copyTokenizerFrom">A model folder to copy the tokenizer from; null copies nothing.</param>
    /// <param name="storeAs">Floating type to store the weights in (e.g. BFloat16); null keeps each tensor's type.</param>
    /// <exception cref="ArgumentException">The config cannot be written for its model type, or <paramref name="storeAs"/> is not a floating type.</exception>
    /// <exception cref="CheckpointException">The tokenizer source holds no tokenizer, or a file cannot be written.</exception>
    public void Save(string outputDir, string? copyTokenizerFrom = null, ScalarType? storeAs = null)
        => CheckpointWriter.Save(this, Config, outputDir, copyTokenizerFrom, storeAs);

    /// <summary>Allocates a KV cache for this model holding up to <paramref name="capacity"/> positions.</summary>
    public KvCache CreateCache(int capacity, int batch = 1) => new(Config, capacity, batch, DType, Device);

    /// <summary>
    /// One forward over T new tokens.
    /// inputIds: (B, T) i64. cache: P cached positions, receives the T new ones (P + T ≤ capacity).
    /// positions: (T) i64, default P, P+1, …, P+T−1. mask: (T, P+T) bool, true = may attend; default causal.
    /// Returns float32 logits (B, T', V): T' = T, or the last <paramref name="lastPositions"/> positions only when it is
    /// given (1 ≤ lastPositions ≤ T; a prefill needs 1, a prefill carrying a draft 1 + its length).
    /// In eval mode without autograd the modules run in place (docs/performance.md); the parameters are always read as
    /// they are, so a weight changed in place shows in the next forward.
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
        long mark = ForwardProfiler.Mark();
        long b = inputIds.shape[0];
        var (cos, sin) = _rope.Tables;                                                    // (P, D)
        cos = positions is null ? cos.narrow(0, past, t) : cos.index_select(0, positions);
        sin = positions is null ? sin.narrow(0, past, t) : sin.index_select(0, positions);
        cos = cos.unsqueeze(1);                                                           // (T, 1, D)
        sin = sin.unsqueeze(1);
        bool inPlace = !training && !is_grad_enabled();
        int bfloat16Workers = inPlace ? BFloat16Workers : 0;
        var bias = MaskBias(mask, t, past, repeat: bfloat16Workers == 0);                // (g·T or T, P + T) or null
        ForwardProfiler.Add(ForwardOp.Setup, ref mark);
        Tensor logits;
        if (inPlace)
        {
            // Eval mode without autograd: the same modules in place, in buffers kept between steps of one token and between
            // blocks of one size (up to MaskRows), else made for this forward. Training mode keeps the autograd arithmetic even
            // under no_grad, so that a trainer's teacher forward (no_grad) and its student forward (autograd) compute the same
            // logits bit for bit.
            bool kept = b == 1 && t <= MaskRows;
            var work = kept ? TakeWorkspace(t, bfloat16Workers) : new ForwardWorkspace(Config, DType, Device, b, t, _width, _eps, bfloat16Workers);
            try
            {
                if (bfloat16Workers > 0)
                {
                    UseMask(work, bias);
                }

                var h = _model.ForwardInPlace(inputIds, work, cos, sin, bias, cache, rows, ref mark); // (B·T', C)
                var classifier = _lmHead?.WeightT ?? _model.EmbeddingT;                   // (C, V)
                logits = bfloat16Workers > 0 ? Classify(h, classifier, b, rows, bfloat16Workers)
                    : h.matmul(classifier).view(b, rows, -1);                                // (B, T', V)
            }
            finally
            {
                if (kept)
                {
                    Interlocked.Exchange(ref work.T == 1 ? ref _step : ref _block, work)?.Dispose();   // a concurrent forward's is let go
                }
            }
        }
        else
        {
            var h = _model.Forward(inputIds, new RotaryAngles(cos, sin), bias, cache);     // (B, T, C)
            mark = ForwardProfiler.Mark();
            if (rows < t)
            {
                h = h.narrow(1, t - rows, rows);                                          // (B, T', C)
            }

            logits = _lmHead is null ? h.matmul(_model.EmbeddingT) : _lmHead.forward(h);
        }

        cache?.Advance(t);
        logits = (logits.dtype == ScalarType.Float32 ? logits : logits.to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
        ForwardProfiler.Add(ForwardOp.LmHead, ref mark);
        return logits;
    }

    /// <summary>
    /// The kept (1, <paramref name="t"/>) workspace, taken so that a concurrent forward makes its own, or a new one of normal
    /// tensors (updated in place with or without inference mode) outside any dispose scope.
    /// </summary>
    private ForwardWorkspace TakeWorkspace(int t, int bfloat16Workers)
    {
        var kept = Interlocked.Exchange(ref t == 1 ? ref _step : ref _block, null);
        if (kept is not null && kept.T == t && kept.BFloat16Workers == bfloat16Workers)
        {
            return kept;
        }

        kept?.Dispose();
        using var normal = inference_mode(false);
        return new ForwardWorkspace(Config, DType, Device, 1, t, _width, _eps, bfloat16Workers).Detach();
    }

    /// <summary>
    /// Threads of the bfloat16 CPU kernels in the forward without autograd (<see cref="CachedAttention"/>, the row-by-row
    /// RMSNorm, <see cref="ClassifierKernel"/>): the int4a8 kernel's workers, or one, where they support this model; 0 =
    /// ATen's ops.
    /// </summary>
    internal int BFloat16Workers => _bfloat16Kernels ? Math.Max(1, KernelThreads) : 0;

    /// <summary>h (B·T', C) · classifier (C, V) through <see cref="ClassifierKernel"/>: float32 logits (B, T', V) of bfloat16 values.</summary>
    private static unsafe Tensor Classify(Tensor h, Tensor classifier, long b, int rows, int workers)
    {
        int width = checked((int)classifier.shape[0]), vocabulary = checked((int)classifier.shape[1]);
        var logits = empty(new[] { b, rows, (long)vocabulary }, dtype: ScalarType.Float32, device: h.device);
        fixed (byte* hs = h.bytes)
        fixed (byte* ws = classifier.bytes)
        fixed (byte* ys = logits.bytes)
        {
            ClassifierKernel.Run((ushort*)hs, checked((int)(b * rows)), width, (ushort*)ws, vocabulary, (float*)ys, workers);
        }

        return logits;
    }

    /// <summary>Points <paramref name="work"/> at <paramref name="bias"/> (T, S) float32, made contiguous in this forward's scope; none when null.</summary>
    private static unsafe void UseMask(ForwardWorkspace work, Tensor? bias)
    {
        if (bias is null)
        {
            (work.MaskData, work.MaskRow) = (0, 0);
            return;
        }

        var rows = bias.is_contiguous() ? bias : bias.contiguous();
        fixed (byte* data = rows.bytes)
        {
            (work.MaskData, work.MaskRow) = ((nint)data, rows.shape[1]);
        }
    }

    /// <summary>
    /// The additive attention bias (g·T, P + T) in attention's compute dtype, repeated for the g = H/Hkv query heads per KV head:
    /// from <paramref name="mask"/> (T, P + T) bool, else causal (a slice of a table made once for T ≤ 64); null for one
    /// causal token.
    /// </summary>
    private Tensor? MaskBias(Tensor? mask, int t, int past, bool repeat)
    {
        Tensor? bias = null;
        if (mask is not null)
        {
            bias = zeros(mask.shape, dtype: _maskDType, device: Device).masked_fill(mask.logical_not(), Scalars.NegativeInfinity);
        }
        else if (t > 1 && t <= MaskRows && past <= _rope.MaxPositions)
        {
            bias = _causal.narrow(0, 0, t).narrow(1, _rope.MaxPositions - past, past + t);
        }
        else if (t > 1)
        {
            var causal = CausalMask(t, past, Device);
            bias = zeros(causal.shape, dtype: _maskDType, device: Device).masked_fill(causal.logical_not(), Scalars.NegativeInfinity);
        }

        int g = Config.NumAttentionHeads / Config.NumKeyValueHeads;
        return bias is not null && g > 1 && repeat ? bias.repeat(g, 1) : bias;
    }

    /// <summary>
    /// The state dict under Hugging Face names and layouts: a projection's (K, N) <c>weight_t</c> appears as the (rows, K)
    /// weights of the Hugging Face projections it holds (<c>…qkv_proj.weight_t</c> as <c>…q_proj.weight</c>,
    /// <c>…k_proj.weight</c> and <c>…v_proj.weight</c>, <c>…o_proj.weight_t</c> as <c>…o_proj.weight</c>), a stacked bias as its
    /// parts; these are views without autograd history. Every other entry is the parameter itself. Copying into an entry
    /// (the checkpoint loader) changes the model; the writer saves these tensors as they are.
    /// </summary>
    public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
    {
        destination ??= new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in base.state_dict())
        {
            foreach (var (hfName, part) in ToHuggingFace(name, tensor))
            {
                destination.TryAdd(string.IsNullOrEmpty(prefix) ? hfName : $"{prefix}.{hfName}", part);
            }
        }

        return destination;
    }

    /// <summary>
    /// The Hugging Face tensors that the parameter <paramref name="name"/> holds, with their first row and row count
    /// (columns of a (K, N) <c>weight_t</c>); Rows is −1 for a parameter that is one Hugging Face tensor as it is.
    /// </summary>
    internal IReadOnlyList<(string Name, long Offset, long Rows)> HuggingFaceParts(string name) =>
        _projectionParameters.TryGetValue(name, out var parts) ? parts : new[] { (name, 0L, -1L) };

    /// <summary>
    /// <paramref name="tensor"/>, shaped like the parameter <paramref name="name"/> (the parameter, its gradient or an optimizer
    /// moment), under Hugging Face names and layouts: detached views for a projection's parameters, else the tensor itself.
    /// </summary>
    internal IEnumerable<(string Name, Tensor Tensor)> ToHuggingFace(string name, Tensor tensor)
    {
        bool transposed = name.EndsWith(".weight_t", StringComparison.Ordinal);
        foreach (var (hfName, offset, rows) in HuggingFaceParts(name))
        {
            if (rows < 0)
            {
                yield return (hfName, tensor);
                continue;
            }

            using var detached = tensor.detach();
            if (transposed)
            {
                using var columns = detached.narrow(1, offset, rows);                     // (K, rows)
                yield return (hfName, columns.t());                                       // (rows, K)
            }
            else
            {
                yield return (hfName, detached.narrow(0, offset, rows));
            }
        }
    }

    /// <summary>The parameter <paramref name="name"/>'s layout of its Hugging Face tensors <paramref name="parts"/> (in <see cref="HuggingFaceParts"/> order): the inverse of <see cref="ToHuggingFace"/>, a new tensor.</summary>
    internal static Tensor FromHuggingFace(string name, IReadOnlyList<Tensor> parts)
    {
        var whole = parts.Count == 1 ? parts[0] : cat(parts.ToArray(), 0);                // (N, K) or (N)
        return name.EndsWith(".weight_t", StringComparison.Ordinal) ? whole.t().contiguous() : whole;
    }

    /// <summary>The quantized projections by their own weight name (<c>model.layers.0.self_attn.qkv_proj.weight_t</c>, …); empty when not quantized.</summary>
    internal IReadOnlyDictionary<string, Projection> QuantizedProjections => _quantizedProjections ??= named_modules()
        .Where(m => m.module is Projection { IsQuantized: true })
        .ToDictionary(m => m.name + ".weight_t", m => (Projection)m.module, StringComparer.Ordinal);

    private Dictionary<string, Projection>? _quantizedProjections;

    /// <summary>
    /// Quantizes the float rows <paramref name="weight"/> (R, K), from row <paramref name="firstRow"/> of the Hugging Face
    /// projection weight <paramref name="name"/> (<c>model.layers.0.self_attn.q_proj.weight</c>, …), into the projection that
    /// holds it; the projection is in use once all its rows (of all its stacked parts) have arrived.
    /// </summary>
    internal void LoadQuantizedWeight(string name, Tensor weight, long firstRow = 0)
    {
        foreach (var (ownName, projection) in QuantizedProjections)
        {
            foreach (var (hfName, offset, _) in HuggingFaceParts(ownName))
            {
                if (hfName == name)
                {
                    projection.LoadQuantizedRows(offset + firstRow, weight, QuantizedComputeDType);
                    return;
                }
            }
        }

        throw new ArgumentException($"'{name}' is not a quantized projection weight.", nameof(name));
    }

    /// <summary>
    /// Activation dtype of the quantized kernels: bfloat16 whatever the model dtype (other activations are converted per
    /// call). ATen's kernels also take float32 activations, but through a slow path: int8 at sql-cllm's MLP shape took
    /// 0.9 ms per call at T = 1 and 8 ms at T = 1..16 against 0.06 and 0.2 ms in bfloat16 (docs/quantization.md).
    /// </summary>
    internal static ScalarType QuantizedComputeDType => ScalarType.BFloat16;

    /// <summary>Workers of the int4a8 and packed bfloat16 kernels, 0 when no projection uses either.</summary>
    internal int KernelThreads { get; private set; }

    /// <summary>Runs every int4a8 and packed bfloat16 projection on <paramref name="threads"/> workers of its own.</summary>
    internal void UseKernelThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        foreach (var (_, projection) in QuantizedProjections)
        {
            if (projection.Quantized is { Format: WeightQuantization.Int4A8 or WeightQuantization.BFloat16 } weight)
            {
                weight.KernelThreads = threads;
                KernelThreads = threads;
            }
        }
    }

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
            .Select(p => p.Key[..^".weight_t".Length].Split('.')[^1] + $" {p.Weight!.OutFeatures}x{p.Weight.InFeatures}").Distinct());
        string fallback = string.Empty;
        if (Quantization == WeightQuantization.Int4 && Names(WeightQuantization.Int8) is { Length: > 0 } toInt8)
        {
            fallback += $"; int8 instead of int4 for {toInt8} (int4 needs N % 16 = 0 and K divisible by 32, 64 or 128)";
        }

        if (Quantization == WeightQuantization.Int4A8 && Names(WeightQuantization.Int8) is { Length: > 0 } a8ToInt8)
        {
            fallback += $"; int8 instead of int4a8 for {a8ToInt8} (int4a8 needs K divisible by 64 or 128)";
        }

        if (Names(WeightQuantization.None) is { Length: > 0 } unquantized)
        {
            fallback += Quantization == WeightQuantization.BFloat16
                ? $"; not packed: {unquantized} (packing needs an even K)"
                : $"; not quantized: {unquantized} (ATen's int8 kernel needs K % 16 = 0)";
        }

        string workers = KernelThreads == 1 ? "1 kernel thread" : $"{KernelThreads} kernel threads";
        string activations = Quantization switch
        {
            WeightQuantization.Int4A8 => $"int8 per token and group ({Int4A8Kernel.Describe()}; {workers}; libtorch's own ops on 1)",
            WeightQuantization.BFloat16 => $"BFloat16 (AVX-512 BF16, native kernel; {workers}; libtorch's own ops on 1)",
            _ => QuantizedComputeDType.ToString(),
        };
        return $"{Quantization} weights, activations {activations}: {string.Join("; ", parts)}{fallback}; embeddings, norms and classifier {DType}";
    }

    /// <summary>(T, P+T) bool, bottom-right aligned: new token i may see cached positions and new tokens 0..i.</summary>
    public static Tensor CausalMask(int newTokens, int past, Device? device = null)
        => ones(newTokens, past + newTokens, dtype: ScalarType.Bool, device: device).tril(past);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Interlocked.Exchange(ref _step, null)?.Dispose();
            Interlocked.Exchange(ref _block, null)?.Dispose();
            _causal.Dispose();
            _width.Dispose();
            _eps.Dispose();
            _rope.Dispose();
        }

        base.Dispose(disposing);
    }
}
