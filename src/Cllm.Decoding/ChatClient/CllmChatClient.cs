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
/// TopK, Seed and StopSequences, through <see cref="GenerationOptions"/> and its validation (MaxOutputTokens unset:
/// <see cref="GenerationOptions.DefaultMaxNewTokens"/>). What cannot be honoured is refused before any work, naming the
/// ChatOptions property: tools, a JSON response format, frequency/presence penalties, reasoning, a conversation id or
/// continuation token, another model id, non-text content, roles other than system/user/assistant and an empty message
/// list (docs/chat-client.md has the table). The caller's options are only read. The final update carries
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
        var steps = _engine.StreamAsync(request, null, linked.Token).GetAsyncEnumerator(CancellationToken.None);
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

        yield return Final(request.PromptIds.Length, generated, forwards, stats, stops.Stopped ? FinishReason.Stop : finish);
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

    /// <summary>The messages rendered and the options mapped, checked and resolved once (values out of range named as ChatOptions').</summary>
    private ResolvedRequest CreateRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var generation = ToGenerationOptions(options, _metadata.DefaultModelId);
        var turns = new List<(string Role, string Text)>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            turns.Add(("system", options.Instructions));
        }

        int count = 0;
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            turns.Add((Role(message), Text(message)));
            count++;
        }

        if (count == 0)
        {
            throw new ArgumentException("messages is empty: give at least one message to respond to (the model would otherwise generate from nothing).", nameof(messages));
        }

        return Resolve(_engine.Compose(_template.Encode(turns), generation with { StopTokenIds = _template.StopTokenIds }), _engine.Model.Config.VocabSize, _engine.Model.Config.MaxPositionEmbeddings);
    }

    /// <summary>
    /// <paramref name="request"/> (whose options came from <see cref="ToGenerationOptions"/>) checked and resolved once, as
    /// the engine does, but naming a value out of range as the ChatOptions property it came from.
    /// </summary>
    internal static ResolvedRequest Resolve(DecodeRequest request, int vocabSize, int contextLength)
        => ResolvedRequest.From(request, vocabSize, contextLength, ChatOptionsName);

    /// <summary>The template's role for <paramref name="message"/>: system, user or assistant; other roles (tool) are refused.</summary>
    private static string Role(ChatMessage message)
    {
        if (message.Role == ChatRole.System || message.Role == ChatRole.User || message.Role == ChatRole.Assistant)
        {
            return message.Role.Value;
        }

        throw new NotSupportedException($"ChatMessage.Role '{message.Role.Value}' is not supported: the chat template renders system, user and assistant turns only (Cllm does not call tools).");
    }

    /// <summary>The message's text; content the template cannot render (images, files, tool calls and results, reasoning) is refused.</summary>
    private static string Text(ChatMessage message)
    {
        foreach (var content in message.Contents)
        {
            if (content is not (TextContent or UsageContent))
            {
                throw new NotSupportedException($"ChatMessage.Contents: {content.GetType().Name} is not supported; Cllm renders text content only.");
            }
        }

        return message.Text;
    }

    /// <summary>
    /// The generation options that <paramref name="options"/> ask for: a new object, the caller's options are only read.
    /// Unset values stay null and take <see cref="GenerationOptions"/>' defaults; values out of range fail when the
    /// request is resolved (<see cref="Resolve"/>), named as the ChatOptions property. Text stop sequences are matched on
    /// the text. Options that cannot be honoured throw <see cref="NotSupportedException"/> naming the property;
    /// <paramref name="modelId"/> is the only model a request may name.
    /// </summary>
    internal static GenerationOptions ToGenerationOptions(ChatOptions? options, string? modelId)
    {
        if (options is null)
        {
            return new GenerationOptions();
        }

        Refuse(options, modelId);
        return new GenerationOptions
        {
            MaxNewTokens = options.MaxOutputTokens,
            Temperature = options.Temperature,
            TopK = options.TopK,
            TopP = options.TopP,
            Seed = options.Seed is { } seed ? unchecked((int)seed) : null,                       // a long seed folds to 32 bits, still deterministic
        };
    }

    /// <summary>The ChatOptions property a <see cref="GenerationOptions"/> property comes from.</summary>
    private static string ChatOptionsName(string property) => property switch
    {
        nameof(GenerationOptions.MaxNewTokens) => $"{nameof(ChatOptions)}.{nameof(ChatOptions.MaxOutputTokens)}",
        _ => $"{nameof(ChatOptions)}.{property}",
    };

    /// <summary>Throws <see cref="NotSupportedException"/> for the first option this client cannot honour.</summary>
    private static void Refuse(ChatOptions options, string? modelId)
    {
        static NotSupportedException No(string property, string why) => new($"{nameof(ChatOptions)}.{property} is not supported: {why}");

        if (options.Tools is { Count: > 0 })
        {
            throw No(nameof(ChatOptions.Tools), "Cllm does not call tools; leave Tools empty.");
        }

        if (options.ToolMode is RequiredChatToolMode)
        {
            throw No(nameof(ChatOptions.ToolMode), "a tool call cannot be required, Cllm does not call tools; use null, Auto or None.");
        }

        if (options.ResponseFormat is ChatResponseFormatJson json)
        {
            throw No(nameof(ChatOptions.ResponseFormat), $"Cllm cannot constrain output to JSON{(json.Schema is null ? string.Empty : " or a schema")}; use null or ChatResponseFormat.Text.");
        }

        if (options.FrequencyPenalty is { } frequency && frequency != 0)
        {
            throw No(nameof(ChatOptions.FrequencyPenalty), "Cllm applies no repetition penalties (Jacobi and lookahead verify against the model's own distribution); use null or 0.");
        }

        if (options.PresencePenalty is { } presence && presence != 0)
        {
            throw No(nameof(ChatOptions.PresencePenalty), "Cllm applies no repetition penalties (Jacobi and lookahead verify against the model's own distribution); use null or 0.");
        }

        if (options.Reasoning is { } reasoning && (reasoning.Effort is not (null or ReasoningEffort.None) || reasoning.Output is not (null or ReasoningOutput.None)))
        {
            throw No(nameof(ChatOptions.Reasoning), "the model has no reasoning mode; use null or Effort and Output None.");
        }

        if (options.ConversationId is not null)
        {
            throw No(nameof(ChatOptions.ConversationId), "the client keeps no conversations; send the whole history in the messages.");
        }

        if (options.ContinuationToken is not null)
        {
            throw No(nameof(ChatOptions.ContinuationToken), "the client runs no background responses to resume.");
        }

        if (options.ModelId is { } requested && !string.Equals(requested, modelId, StringComparison.OrdinalIgnoreCase))
        {
            throw No(nameof(ChatOptions.ModelId), $"this client serves '{modelId}', not '{requested}'; use null or '{modelId}'.");
        }
    }

    private ChatResponseUpdate Final(int promptTokens, int generated, int forwards, DecodeStats? stats, FinishReason finish)
    {
        var usage = new UsageDetails
        {
            InputTokenCount = promptTokens,
            CachedInputTokenCount = stats?.CachedPromptTokens ?? 0,
            OutputTokenCount = generated,
            TotalTokenCount = promptTokens + generated,
            AdditionalCounts = new AdditionalPropertiesDictionary<long>
            {
                ["ForwardPasses"] = stats?.ForwardPasses ?? forwards,
                ["JacobiIterations"] = stats?.BlockIterations.Sum() ?? 0,
                ["TokensPerForwardX1000"] = (long)Math.Round(1000.0 * generated / Math.Max(1, stats?.ForwardPasses ?? forwards)),
                ["FastForwardedX1000"] = (long)Math.Round(1000.0 * (stats?.FastForwarded ?? 0)),
                ["StationaryTokens"] = stats?.Stationary ?? 0,
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
                ["cllm.fast_forwarded"] = stats?.FastForwarded ?? 0,
                ["cllm.finish_reason"] = finish.ToString().ToLowerInvariant(),
            },
        };
    }
}
