using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// One generation request for an <see cref="IDecoder"/>: the prompt as token ids (BOS included) and the
/// <see cref="GenerationOptions"/> to decode it with. At this level the stop ids are exactly
/// <see cref="GenerationOptions.StopTokenIds"/> (<see cref="CllmEngine.CreateRequest(string, GenerationOptions?)"/> adds
/// the model's EOS ids to them); <see cref="GenerationOptions.StopAtEos"/> and <see cref="GenerationOptions.Decoder"/> are not read.
/// A decoder or the engine checks a request once, when it is submitted, and decodes a copy: changing the prompt list
/// afterwards does not change the running request.
/// </summary>
public sealed record DecodeRequest
{
    /// <summary>Prompt token ids, BOS included when the tokenizer adds one; at least one token.</summary>
    public required IReadOnlyList<int> PromptIds { get; init; }

    /// <summary>Budget, sampling and stops; unset values take the library defaults (128 tokens, greedy, no stop).</summary>
    public GenerationOptions Options { get; init; } = new();

    /// <summary>
    /// Throws for an empty prompt, one that fills the context (<paramref name="contextLength"/> positions) or a token
    /// outside the vocabulary (<see cref="ArgumentException"/>), and for a budget below 1 or sampling values out of range
    /// (<see cref="ArgumentOutOfRangeException"/>, naming the <see cref="GenerationOptions"/> property). Decoders and the
    /// engine make this same check once when a request is submitted; call it to check a request before submitting it.
    /// </summary>
    public void Validate(int vocabSize, int contextLength) => _ = ResolvedRequest.From(this, vocabSize, contextLength);
}
