using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>One generation request: the prompt as token ids (BOS included) and how to decode it.</summary>
public sealed record DecodeRequest
{
    /// <summary>Prompt token ids, BOS included when the tokenizer adds one; at least one token.</summary>
    public required IReadOnlyList<int> PromptIds { get; init; }

    /// <summary>Upper bound on generated tokens (the stop token not counted); default <see cref="GenerationOptions.DefaultMaxNewTokens"/>.</summary>
    public int MaxNewTokens { get; init; } = GenerationOptions.DefaultMaxNewTokens;

    /// <summary>Token choice; greedy by default.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>EOS ids and stop sequences.</summary>
    public StopConditions Stop { get; init; } = StopConditions.None;

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

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNewTokens, 1, nameof(MaxNewTokens));
        Sampling.Validate();
    }
}
