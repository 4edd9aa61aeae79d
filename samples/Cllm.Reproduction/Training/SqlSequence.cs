using System;
using System.Collections.Generic;

namespace Cllm.Reproduction.Training;

/// <summary>
/// One training sequence: <c>&lt;s&gt;</c> + prompt + answer + <c>&lt;/s&gt;</c> as token ids, and where the answer starts.
/// </summary>
/// <param name="Ids">All ids, BOS first and EOS last.</param>
/// <param name="AnswerStart">Index in <paramref name="Ids"/> of the first answer token (the prompt's length with BOS).</param>
public sealed record SqlSequence(int[] Ids, int AnswerStart)
{
    /// <summary>The prompt ids (BOS included): what a decoder is given.</summary>
    public IReadOnlyList<int> PromptIds => new ArraySegment<int>(Ids, 0, AnswerStart);

    /// <summary>The answer ids with the final EOS: what the model must produce.</summary>
    public IReadOnlyList<int> AnswerIds => new ArraySegment<int>(Ids, AnswerStart, Ids.Length - AnswerStart);
}
