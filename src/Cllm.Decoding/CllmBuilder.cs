using System;
using System.Diagnostics;
using System.Linq;
using Cllm.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm;

/// <summary>
/// The fluent entry point: <c>CllmBuilder.FromCheckpoint(path).UseJacobi(n: 16).Build()</c> loads a
/// Hugging Face LLaMA-family folder (config.json, safetensors, tokenizer) and returns an engine.
/// </summary>
public sealed class CllmBuilder
{
    private DecoderOptions _decoder = DecoderOptions.Autoregressive;
    private ScalarType? _dtype = ScalarType.Float32;                                     // null = the checkpoint's own dtype
    private string _device = "cpu";
    private int? _threads;
    private WeightQuantization _quantization = WeightQuantization.None;
    private ILoggerFactory _loggerFactory = NullLoggerFactory.Instance;
    private int _maxBatchSize = CllmEngine.DefaultMaxBatchSize;
    private int _prefillChunk = CllmEngine.DefaultPrefillChunk;
    private bool _sharePrefixes = true;

    private CllmBuilder(string path) => CheckpointPath = path;

    /// <summary>The checkpoint folder.</summary>
    public string CheckpointPath { get; }

    /// <summary>The decoder the engine will use.</summary>
    public DecoderOptions Decoder => _decoder;

    /// <summary>Starts from a Hugging Face checkpoint folder (nothing is read until <see cref="Build"/>).</summary>
    public static CllmBuilder FromCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new CllmBuilder(path);
    }

    /// <summary>Autoregressive decoding (the default).</summary>
    public CllmBuilder UseAutoregressive()
    {
        _decoder = DecoderOptions.Autoregressive;
        return this;
    }

    /// <summary>
    /// Jacobi decoding with blocks of <paramref name="n"/> tokens; without n the block size is chosen at run time from the
    /// model's measured forward-cost curve and the acceptance so far (<see cref="BlockSizePolicy"/>), AR steps when no block pays off.
    /// </summary>
    public CllmBuilder UseJacobi(int? n = null, JacobiInitialGuess initialGuess = JacobiInitialGuess.ContextSample, int seed = 0)
    {
        var options = new JacobiOptions { BlockSize = n ?? 16, AutoBlockSize = n is null, InitialGuess = initialGuess, Seed = seed };
        options.Validate();
        _decoder = options;
        return this;
    }

    /// <summary>Lookahead decoding with a W-column window, n-grams of N and up to G candidates.</summary>
    public CllmBuilder UseLookahead(int window = 5, int ngram = 4, int guesses = 5)
    {
        var options = new LookaheadOptions { Window = window, NGram = ngram, Guesses = guesses };
        options.Validate();
        _decoder = options;
        return this;
    }

    /// <summary>Any decoder settings.</summary>
    public CllmBuilder UseDecoder(DecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _decoder = options;
        return this;
    }

    /// <summary>
    /// Weight, KV-cache and compute dtype: Float32 (the default; keep it for exact Jacobi on CPU), Float16 or BFloat16.
    /// Weights are converted tensor by tensor while loading; logits always come out float32.
    /// </summary>
    public CllmBuilder WithDType(ScalarType dtype)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
        {
            throw new ArgumentException($"dtype must be Float32, Float16 or BFloat16, got {dtype}.", nameof(dtype));
        }

        _dtype = dtype;
        return this;
    }

    /// <summary>
    /// Quantization of the attention and MLP projections on CPU: <see cref="WeightQuantization.Int8"/> (per output channel),
    /// <see cref="WeightQuantization.Int4"/> (per group of 32–128 inputs), both weight-only, or <see cref="WeightQuantization.Int4A8"/>
    /// (4-bit weights, 8-bit activations, integer dot products: the fast one for Jacobi blocks), or <see cref="WeightQuantization.BFloat16"/>
    /// (bfloat16 weights packed for AVX-512 BF16; lossless for a bfloat16 checkpoint). Each weight is quantized as it is read;
    /// embeddings, norms and the classifier keep the dtype of <see cref="WithDType"/>. Greedy Jacobi and lookahead still equal
    /// autoregressive decoding of the quantized model. The load log line names what was quantized (docs/quantization.md).
    /// </summary>
    public CllmBuilder WithQuantization(WeightQuantization quantization)
    {
        if (!Enum.IsDefined(quantization))
        {
            throw new ArgumentOutOfRangeException(nameof(quantization), quantization, "expected None, Int8, Int4, Int4A8 or BFloat16.");
        }

        _quantization = quantization;
        return this;
    }

    /// <summary>Keeps the checkpoint's own dtype: <c>torch_dtype</c> of config.json, else the dtype of its safetensors.</summary>
    public CllmBuilder WithCheckpointDType()
    {
        _dtype = null;
        return this;
    }

    /// <summary>Device, e.g. "cpu" or "cuda:0" (needs a CUDA libtorch package in the app).</summary>
    public CllmBuilder OnDevice(string device)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        _device = device;
        return this;
    }

    /// <summary>
    /// Models below this many parameters get one intra-op thread unless <see cref="WithThreads"/> says otherwise: their
    /// forwards are dominated by per-op overhead, which a second thread only adds to (docs/performance.md).
    /// </summary>
    public const long SingleThreadBelowParameters = PretrainedModel.SingleThreadBelowParameters;

    /// <summary>Intra-op threads of libtorch (process-wide); by default 1 for small models, else libtorch's choice.</summary>
    public CllmBuilder WithThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _threads = threads;
        return this;
    }

    /// <summary>
    /// Requests the engine decodes together at most (default <see cref="CllmEngine.DefaultMaxBatchSize"/>): concurrent
    /// requests share each forward, their draft lengths chosen from the model's forward-cost curve; 1 serves one request
    /// at a time.
    /// </summary>
    public CllmBuilder WithMaxBatchSize(int maxBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _maxBatchSize = maxBatchSize;
        return this;
    }

    /// <summary>
    /// Prompt tokens a request prefills per forward at most while other requests share the batch (default 64): a long
    /// prompt joining a running batch is prefilled over several forwards, so the other requests' next tokens do not wait
    /// for all of it. A request alone prefills its whole prompt in one forward. Outputs do not change (docs/serving.md).
    /// </summary>
    public CllmBuilder WithPrefillChunk(int tokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        _prefillChunk = tokens;
        return this;
    }

    /// <summary>
    /// Whether a request joining the batch reuses the cached keys and values of a prompt prefix it shares with another
    /// request in it (default on): requests that begin with the same system prompt, instructions or schema compute that
    /// part once. Outputs do not change (docs/serving.md); <see cref="DecodeStats.CachedPromptTokens"/> tells how many
    /// prompt tokens a request reused.
    /// </summary>
    public CllmBuilder WithPrefixSharing(bool enabled)
    {
        _sharePrefixes = enabled;
        return this;
    }

    /// <summary>Where load and request logs go.</summary>
    public CllmBuilder WithLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>A copy with the same settings (AddCllm registers a copy, so it never changes the caller's builder).</summary>
    internal CllmBuilder Clone() => (CllmBuilder)MemberwiseClone();

    /// <summary>Loads the checkpoint and returns the engine, which owns the weights.</summary>
    public CllmEngine Build()
    {
        var clock = Stopwatch.StartNew();
        var pretrained = PretrainedModel.Load(CheckpointPath, new PretrainedModelOptions { DType = _dtype, Device = _device, Threads = _threads, Quantization = _quantization });
        var config = pretrained.Config;
        var logger = _loggerFactory.CreateLogger<CllmEngine>();
        Log.ModelLoaded(logger, config.ModelType, pretrained.Directory, pretrained.Parameters, config.NumHiddenLayers, config.VocabSize, config.MaxPositionEmbeddings, clock.Elapsed.TotalMilliseconds);
        if (pretrained.QuantizationSummary is { } summary)
        {
            Log.Quantized(logger, summary);
        }
        try
        {
            return new CllmEngine(pretrained, _decoder, logger, _maxBatchSize, _prefillChunk, _sharePrefixes);
        }
        catch
        {
            pretrained.Dispose();                                                          // e.g. a decoder too wide for the model's context
            throw;
        }
    }
}
