using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// A finished request, from <see cref="CllmEngine.Generate"/> or <see cref="DecoderExtensions.DecodeToEnd"/>: the generated
/// ids (without the stop token), why generation ended, its figures, the prompt ids and, from the engine, the text.
/// </summary>
/// <param name="OutputIds">Generated ids, without the stop token.</param>
/// <param name="Finish">Why generation ended.</param>
/// <param name="Stats">Forward passes, timings, Jacobi figures.</param>
public sealed record DecodeResult(IReadOnlyList<int> OutputIds, FinishReason Finish, DecodeStats Stats)
{
    /// <summary>The prompt's token ids, BOS included.</summary>
    public IReadOnlyList<int> PromptIds { get; init; } = Array.Empty<int>();

    /// <summary>
    /// The decoded <see cref="OutputIds"/> (as Hugging Face's <c>tokenizer.decode</c>: a SentencePiece model's first word has
    /// no leading space; decode <see cref="PromptIds"/> with them to append to the prompt); empty from
    /// <see cref="DecoderExtensions.DecodeToEnd"/>, which has no tokenizer.
    /// </summary>
    public string Text { get; init; } = string.Empty;
}
