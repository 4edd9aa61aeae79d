using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Cllm.Core;
using Microsoft.Extensions.Logging;

namespace Cllm;

/// <summary>
/// A loaded model, its tokenizer and a chosen decoder: what <see cref="CllmBuilder.Build"/> returns.
/// Owns the weights (dispose it to free them). Every request runs on the engine's one decode thread, so any number of
/// threads may call it at once: concurrent requests are decoded together, up to <see cref="MaxBatchSize"/> in one
/// forward (continuous batching: requests join and leave between forwards; docs/serving.md), and cancelling one
/// request leaves the others running.
/// </summary>
public sealed class CllmEngine : IDisposable
{
    private readonly DecodeWorker _worker;
    private readonly IDecoder _default;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<DecoderOptions, IDecoder> _decoders = new();
    private readonly ILogger _logger;
    private bool _disposed;

    internal CllmEngine(PretrainedModel pretrained, DecoderOptions decoder, ILogger logger, int maxBatchSize = DefaultMaxBatchSize, int prefillChunk = DefaultPrefillChunk, bool sharePrefixes = true)
    {
        Model = pretrained.Model;
        Tokenizer = pretrained.Tokenizer;
        ChatTemplate = pretrained.ChatTemplate;
        ModelDirectory = pretrained.Directory;
        EosTokenIds = pretrained.EosTokenIds;
        DecoderOptions = decoder;
        _default = decoder.CreateDecoder(Model);
        Decoder = new EngineDecoder(this, null, _default.Name);
        _logger = logger;
        MaxBatchSize = maxBatchSize;
        _worker = new DecodeWorker("cllm-decode", Model, maxBatchSize, prefillChunk, sharePrefixes, logger);
    }

    /// <summary>Prompt tokens a request prefills per forward by default while other requests share the batch (<see cref="CllmBuilder.WithPrefillChunk"/>).</summary>
    internal const int DefaultPrefillChunk = 64;

    /// <summary>
    /// Whether the engine is measuring its forward-cost curve, which it does once, a forward at a time between requests'
    /// forwards and while idle, after a batch first has drafts to weigh (benchmarks wait for it before timing).
    /// </summary>
    internal bool MeasuringCost => _worker.MeasuringCost;

    /// <summary>Whether that curve has been measured.</summary>
    internal bool CostCurveReady => _worker.CostCurveReady;

    /// <summary>Requests decoded together by default (<see cref="CllmBuilder.WithMaxBatchSize"/>).</summary>
    public const int DefaultMaxBatchSize = 16;

    /// <summary>
    /// Requests decoded together at most: concurrent requests join one batch between forwards and share every forward;
    /// the rest wait in arrival order. 1 decodes one request at a time.
    /// </summary>
    public int MaxBatchSize { get; }

    /// <summary>The model (weights only).</summary>
    public LlamaForCausalLM Model { get; }

    /// <summary>The tokenizer of the checkpoint.</summary>
    public CllmTokenizer Tokenizer { get; }

    /// <summary>The checkpoint's chat template (<see cref="ChatTemplateKind.None"/> when it has none).</summary>
    internal ChatTemplate ChatTemplate { get; }

    /// <summary>The checkpoint folder the engine was built from.</summary>
    public string ModelDirectory { get; }

    /// <summary>End-of-sequence ids from config.json and generation_config.json.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>The default decoder's settings.</summary>
    public DecoderOptions DecoderOptions { get; }

    /// <summary>The default decoder. Its requests run on the engine's decode thread, batched with the engine's other requests.</summary>
    public IDecoder Decoder { get; }

    /// <summary>
    /// A decoder with other settings (e.g. AR next to Jacobi); like <see cref="Decoder"/>, its requests run on the engine's
    /// decode thread, batched with the engine's other requests. For a decoder that runs on the calling thread, over the
    /// model alone, use <see cref="DecoderOptions.CreateDecoder"/> with <see cref="Model"/>.
    /// </summary>
    public IDecoder CreateDecoder(DecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new EngineDecoder(this, options, options.Label);
    }

    /// <summary>Tokenizes <paramref name="prompt"/> as Hugging Face would (BOS per the tokenizer config) into a request.</summary>
    public DecodeRequest CreateRequest(string prompt, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return CreateRequest(Tokenizer.Encode(prompt), options);
    }

    /// <summary>
    /// A request for already tokenized <paramref name="promptIds"/> (e.g. a chat template's), with <paramref name="options"/>
    /// resolved to their defaults and the model's EOS ids added unless <see cref="GenerationOptions.StopAtEos"/> is false.
    /// Option values out of range fail here (<see cref="GenerationOptions.Validate"/>); the prompt is checked against the
    /// model, and copied, when the request is run.
    /// </summary>
    public DecodeRequest CreateRequest(IReadOnlyList<int> promptIds, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        options?.Validate();                                                                      // bad values fail here, not on the decode thread
        return Compose(promptIds, options);
    }

    /// <summary>The request <see cref="CreateRequest(IReadOnlyList{int}, GenerationOptions?)"/> makes, unchecked: the caller resolves it next.</summary>
    internal DecodeRequest Compose(IReadOnlyList<int> promptIds, GenerationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        options ??= new GenerationOptions();
        IEnumerable<int> stops = options.StopTokenIds ?? Array.Empty<int>();
        if (options.StopAtEos ?? true)
        {
            stops = EosTokenIds.Concat(stops);
        }

        return new DecodeRequest { PromptIds = promptIds, Options = options with { StopTokenIds = stops.Distinct().ToArray() } };
    }

    /// <summary>
    /// <paramref name="request"/> checked against the engine's model and resolved, once per submission
    /// (<see cref="ResolvedRequest.From"/>; <paramref name="name"/> maps property names to a front end's own).
    /// </summary>
    internal ResolvedRequest Resolve(DecodeRequest request, Func<string, string>? name = null)
        => ResolvedRequest.From(request, Model.Config.VocabSize, Model.Config.MaxPositionEmbeddings, name);

    /// <summary>Generates a completion of <paramref name="prompt"/>.</summary>
    public DecodeResult Generate(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var request = Resolve(Compose(Tokenizer.Encode(prompt), options));
        Log.Prompt(_logger, prompt);
        return Complete(request, options?.Decoder, cancellationToken);
    }

    /// <summary>Runs a resolved request to its end and detokenizes the output.</summary>
    internal DecodeResult Complete(ResolvedRequest request, DecoderOptions? decoder, CancellationToken cancellationToken)
    {
        var output = new List<int>();
        foreach (var step in Stream(request, decoder, cancellationToken))
        {
            output.AddRange(step.Tokens);
            if (step.Stats is { } stats)
            {
                return new DecodeResult(output, step.Finish, stats) { PromptIds = request.PromptIds, Text = Tokenizer.Decode(output) };
            }
        }

        throw new InvalidOperationException("the decoder ended without a final step.");
    }

    /// <summary>Generates a completion, yielding text pieces as tokens are produced (UTF-8 safe).</summary>
    public IEnumerable<string> GenerateStreaming(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var request = Resolve(Compose(Tokenizer.Encode(prompt), options));                    // bad input fails at the call
        return Pieces(request, options?.Decoder);

        IEnumerable<string> Pieces(ResolvedRequest request, DecoderOptions? decoder)
        {
            var detokenizer = new StreamingDetokenizer(Tokenizer);
            foreach (var step in Stream(request, decoder, cancellationToken))               // submitted when first enumerated
            {
                foreach (var token in step.Tokens)
                {
                    var piece = detokenizer.Push(token);
                    if (piece.Length > 0)
                    {
                        yield return piece;
                    }
                }
            }

            var rest = detokenizer.Flush();
            if (rest.Length > 0)
            {
                yield return rest;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="request"/> on the engine's decode thread and streams its steps to the calling thread.
    /// Requests from any number of threads are batched together (greedy outputs are those of the request alone).
    /// The request is checked and copied here, on the calling thread; bad input throws before anything is queued.
    /// </summary>
    public IEnumerable<DecodeStep> Run(DecodeRequest request, DecoderOptions? decoder = null, CancellationToken cancellationToken = default)
        => Stream(Resolve(request), decoder, cancellationToken);

    /// <summary>
    /// As <see cref="Run(DecodeRequest, DecoderOptions?, CancellationToken)"/> for a request already resolved: submitted
    /// now, then the calling thread blocks on each step of <see cref="StreamAsync"/>.
    /// </summary>
    internal IEnumerable<DecodeStep> Stream(ResolvedRequest request, DecoderOptions? decoder, CancellationToken cancellationToken)
        => StreamAsync(request, decoder, cancellationToken).ToBlockingEnumerable();

    /// <summary>The asynchronous form of <see cref="Run(DecodeRequest, DecoderOptions?, CancellationToken)"/>: tensors never cross an await.</summary>
    public IAsyncEnumerable<DecodeStep> RunAsync(DecodeRequest request, DecoderOptions? decoder = null, CancellationToken cancellationToken = default)
        => StreamAsync(Resolve(request), decoder, cancellationToken);

    /// <summary>As <see cref="RunAsync(DecodeRequest, DecoderOptions?, CancellationToken)"/> for a request already resolved.</summary>
    internal IAsyncEnumerable<DecodeStep> StreamAsync(ResolvedRequest request, DecoderOptions? decoder, CancellationToken cancellationToken)
    {
        var reader = Submit(request, decoder, cancellationToken);
        return Drain(reader, cancellationToken);

        // A step already decoded is not handed out once the caller has cancelled, as a decoder on the calling thread would not decode it.
        static async IAsyncEnumerable<DecodeStep> Drain(ChannelReader<DecodeStep> reader, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var step))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return step;
                }
            }
        }
    }

    private ChannelReader<DecodeStep> Submit(ResolvedRequest request, DecoderOptions? decoder, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // One decoder per setting (the first 64 settings seen), so that its requests share a first-token memory.
        var chosen = decoder is null ? _default : _decoders.TryGetValue(decoder, out var known) ? known
            : _decoders.Count < 64 ? _decoders.GetOrAdd(decoder, d => d.CreateDecoder(Model)) : decoder.CreateDecoder(Model);
        return Submit(request, chosen, cancellationToken);
    }

    /// <summary>Queues a resolved request for <paramref name="decoder"/> (batched when it is a draft-verify decoder over this model).</summary>
    internal ChannelReader<DecodeStep> Submit(ResolvedRequest request, IDecoder decoder, CancellationToken cancellationToken)
        => _worker.Submit(decoder, request, cancellationToken);

    /// <summary>
    /// This engine as a Microsoft.Extensions.AI <see cref="Microsoft.Extensions.AI.IChatClient"/> (the engine stays owned
    /// by the caller): chat messages go through the model's chat template, and each response runs on the engine.
    /// </summary>
    public Microsoft.Extensions.AI.IChatClient AsChatClient() => new CllmChatClient(this);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _worker.Dispose();
        Model.Dispose();
    }
}
