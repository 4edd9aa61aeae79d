using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>One sequence for <see cref="CausalLmTrainer"/>: token ids, and where the part the loss may be limited to starts.</summary>
/// <param name="Ids">The token ids (at least 2), BOS first when the model uses one.</param>
/// <param name="AnswerStart">
/// Index of the first token that follows the prompt; with <see cref="TrainingOptions.AnswerOnlyAutoregressive"/> only tokens
/// from here on are targets. 0 when the sequence has no prompt.
/// </param>
public sealed record CausalLmSequence(IReadOnlyList<int> Ids, int AnswerStart = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> for fewer than 2 tokens, an answer start outside [0, length) or ids outside [0, vocabSize).</summary>
    public void Validate(int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(Ids);
        if (Ids.Count < 2)
        {
            throw new ArgumentException("a training sequence must hold at least two tokens.");
        }

        if (AnswerStart < 0 || AnswerStart >= Ids.Count)
        {
            throw new ArgumentException($"the answer start {AnswerStart} must be in [0, {Ids.Count}).");
        }

        for (int i = 0; i < Ids.Count; i++)
        {
            if ((uint)Ids[i] >= (uint)vocabSize)
            {
                throw new ArgumentException($"token {i} is {Ids[i]}, outside the vocabulary [0, {vocabSize}).");
            }
        }
    }
}
