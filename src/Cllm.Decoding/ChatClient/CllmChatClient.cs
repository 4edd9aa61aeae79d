using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Core;
using Microsoft.Extensions.AI;

namespace Cllm;

/// <summary>
/// <see cref="IChatClient"/> over a <see cref="CllmEngine"/>: messages are rendered with the checkpoint's chat
/// template, decoded with the engine's decoder on its decode thread, and streamed back as text. ChatOptions map
/// to decoding: MaxOutputTokens, Temperature (0 or unset = greedy, which Jacobi and lookahead keep exact), TopP,
/// TopK, Seed and StopSequences, through <see cref="GenerationOptions"/> and its defaults (MaxOutputTokens unset: <see cref="GenerationOptions.DefaultMaxNewTokens"/>). The caller's options are only read. The final update carries
/// <see cref="UsageDetails"/> with Cllm's figures in <see cref="UsageDetails.AdditionalCounts"/>.
/// </summary>
internal sealed class CllmChatClient : IChatClient
{
    private readonly CllmEngine _engine;
    private readonly ChatTemplate _template;
    private readonly ChatClientMetadata _metadata;

    public CllmChatClient(CllmEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _template = engine.ChatTemplate;
        _metadata = new ChatClientMetadata("cllm", null, System.IO.Path.GetFileName(engine.ModelDirectory.TrimEnd('/', '\\')));
    }

    /// <summary>The chat format in use.</summary>
    public ChatTemplate Template => _template;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        ChatResponseUpdate? last = null;
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Text);
            last = update;
        }

        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()))
        {
            FinishReason = last?.FinishReason,
            ModelId = _metadata.DefaultModelId,
            Usage = last?.Contents.OfType<UsageContent>().FirstOrDefault()?.Details,
            AdditionalProperties = last?.AdditionalProperties,
        };
        return response;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var request = CreateRequest(messages, options);
        var stops = new TextStopMatcher(options?.StopSequences?.ToArray() ?? Array.Empty<string>());
        var detokenizer = new StreamingDetokenizer(_engine.Tokenizer);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var steps = _engine.RunAsync(request, null, linked.Token).GetAsyncEnumerator(CancellationToken.None);
        int generated = 0, forwards = 0;
        DecodeStats? stats = null;
        FinishReason finish = FinishReason.None;
        try
        {
            while (true)
            {
                try
                {
                    if (!await steps.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (stops.Stopped && !cancellationToken.IsCancellationRequested)
                {
                    break;                                                                 // we stopped it: a stop sequence appeared
                }

                var step = steps.Current;
                forwards = step.StepIndex + 1;
                generated += step.Tokens.Count;
                stats = step.Stats ?? stats;
                finish = step.Finish == FinishReason.None ? finish : step.Finish;
                var piece = new StringBuilder();
                foreach (var token in step.Tokens)
                {
                    piece.Append(stops.Push(detokenizer.Push(token)));
                }

                if (step.Stats is not null)
                {
                    piece.Append(stops.Push(detokenizer.Flush())).Append(stops.Flush());
                }

                if (stops.Stopped && !linked.IsCancellationRequested)
                {
                    await linked.CancelAsync().ConfigureAwait(false);                       // no need to decode further
                }

                if (piece.Length > 0)
                {
                    yield return new ChatResponseUpdate(ChatRole.Assistant, piece.ToString()) { ModelId = _metadata.DefaultModelId };
                }
            }
        }
        finally
        {
            await steps.DisposeAsync().ConfigureAwait(false);
        }

        yield return Final(request.PromptIds.Count, generated, forwards, stats, stops.Stopped ? FinishReason.Stop : finish);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(_engine) ? _engine
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>The engine belongs to its owner (the DI container or the caller); nothing to dispose here.</summary>
    public void Dispose()
    {
    }

    private DecodeRequest CreateRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var turns = new List<(string Role, string Text)>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            turns.Add(("system", options.Instructions));
        }

        foreach (var message in messages)
        {
            turns.Add((message.Role.Value, message.Text));
        }

        var generation = ToGenerationOptions(options);
        return _engine.CreateRequest(_template.Encode(turns), generation with { StopTokenIds = _template.StopTokenIds });
    }

    /// <summary>
    /// The generation options that <paramref name="options"/> ask for: a new object, the caller's options are only read.
    /// Unset values stay null and take <see cref="GenerationOptions"/>' defaults. Text stop sequences are matched on the text.
    /// </summary>
    internal static GenerationOptions ToGenerationOptions(ChatOptions? options)
    {
        if (options?.MaxOutputTokens is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxOutputTokens, "MaxOutputTokens must be positive.");
        }

        bool sampling = options?.Temperature is > 0;                                              // greedy ignores top-k, top-p and seed
        return new GenerationOptions
        {
            MaxNewTokens = options?.MaxOutputTokens,
            Temperature = sampling ? options!.Temperature : null,
            TopK = sampling ? options!.TopK : null,
            TopP = sampling ? options!.TopP : null,
            Seed = sampling && options!.Seed is { } seed ? unchecked((int)seed) : null,
        };
    }

    private ChatResponseUpdate Final(int promptTokens, int generated, int forwards, DecodeStats? stats, FinishReason finish)
    {
        var usage = new UsageDetails
        {
            InputTokenCount = promptTokens,
            OutputTokenCount = generated,
            TotalTokenCount = promptTokens + generated,
            AdditionalCounts = new AdditionalPropertiesDictionary<long>
            {
                ["ForwardPasses"] = stats?.ForwardPasses ?? forwards,
                ["JacobiIterations"] = stats?.Jacobi?.BlockIterations.Sum() ?? 0,
                ["TokensPerForwardX1000"] = (long)Math.Round(1000.0 * generated / Math.Max(1, stats?.ForwardPasses ?? forwards)),
                ["FastForwardedX1000"] = (long)Math.Round(1000.0 * (stats?.Jacobi?.FastForwarded ?? 0)),
                ["StationaryTokens"] = stats?.Jacobi?.Stationary ?? 0,
            },
        };
        return new ChatResponseUpdate(ChatRole.Assistant, new List<AIContent> { new UsageContent(usage) })
        {
            FinishReason = finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
            ModelId = _metadata.DefaultModelId,
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["cllm.decoder"] = _engine.Decoder.Name,
                ["cllm.tokens_per_forward"] = (double)generated / Math.Max(1, stats?.ForwardPasses ?? forwards),
                ["cllm.fast_forwarded"] = stats?.Jacobi?.FastForwarded ?? 0,
                ["cllm.finish_reason"] = finish.ToString().ToLowerInvariant(),
            },
        };
    }
}
