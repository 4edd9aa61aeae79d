using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// One generation request for an <see cref="IDecoder"/>: the prompt as token ids (BOS included) and the
/// <see cref="GenerationOptions"/> to decode it with. At this level the stop ids are exactly
/// <see cref="GenerationOptions.StopTokenIds"/> (<see cref="CllmEngine.CreateRequest(string, GenerationOptions?)"/> adds
/// the model's EOS ids to them); <see cref="GenerationOptions.StopAtEos"/> and <see cref="GenerationOptions.Decoder"/> are not read.
/// </summary>
public sealed record DecodeRequest
{
    /// <summary>Prompt token ids, BOS included when the tokenizer adds one; at least one token.</summary>
    public required IReadOnlyList<int> PromptIds { get; init; }

    /// <summary>Budget, sampling and stops; unset values take the library defaults (128 tokens, greedy, no stop).</summary>
    public GenerationOptions Options { get; init; } = new();

    /// <summary>Upper bound on generated tokens (the stop token not counted).</summary>
    internal int MaxNewTokens => Options.MaxNewTokens ?? GenerationOptions.DefaultMaxNewTokens;

    /// <summary>Token choice; greedy unless the options give a positive temperature.</summary>
    internal SamplingOptions Sampling => Options.ToSampling();

    /// <summary>Stop ids and stop sequences.</summary>
    internal StopConditions Stop => new()
    {
        EosTokenIds = Options.StopTokenIds ?? Array.Empty<int>(),
        StopSequences = Options.StopSequences ?? Array.Empty<IReadOnlyList<int>>(),
    };

    /// <summary>Throws for an empty prompt or a non-positive budget.</summary>
    public void Validate(int vocabSize, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(PromptIds);
        if (PromptIds.Count == 0)
        {
            throw new ArgumentException("the prompt must contain at least one token (usually BOS).", nameof(PromptIds));
        }

        if (PromptIds.Count >= contextLength)
        {
            throw new ArgumentException($"the prompt has {PromptIds.Count} tokens; the model's context holds {contextLength}, so nothing could be generated.", nameof(PromptIds));
        }

        for (int i = 0; i < PromptIds.Count; i++)
        {
            if ((uint)PromptIds[i] >= (uint)vocabSize)
            {
                throw new ArgumentException($"prompt token {i} is {PromptIds[i]}, outside the vocabulary [0, {vocabSize}).", nameof(PromptIds));
            }
        }

        ArgumentNullException.ThrowIfNull(Options);
        Options.Validate();                                                                       // throws for a budget below 1 or sampling values out of range
    }
}
