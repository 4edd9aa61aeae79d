using System.Collections.Generic;

namespace Cllm;

/// <summary>A finished request: generated ids (without the stop token), why it ended, and its figures.</summary>
public sealed record DecodeResult(IReadOnlyList<int> OutputIds, FinishReason Finish, DecodeStats Stats);
