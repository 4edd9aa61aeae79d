using System.Collections.Generic;

namespace Cllm;

/// <summary>A finished text generation: the text, the ids behind it, why it ended, and its figures.</summary>
/// <param name="Text">Decoded generated text.</param>
/// <param name="PromptIds">The prompt's token ids, BOS included.</param>
/// <param name="OutputIds">Generated ids, without the stop token.</param>
/// <param name="Finish">Why generation ended.</param>
/// <param name="Stats">Forward passes, timings, Jacobi figures.</param>
public sealed record CllmResponse(string Text, IReadOnlyList<int> PromptIds, IReadOnlyList<int> OutputIds, FinishReason Finish, DecodeStats Stats);
