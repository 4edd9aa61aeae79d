using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using static TorchSharp.torch;

namespace Cllm.Benchmarking;

/// <summary>
/// Scores generated text with a judge model (typically the base model of a CLLM): the mean negative log-likelihood
/// per token the judge gives a continuation after its prompt. A consistency-trained model whose greedy text scores
/// like the base's own greedy text has kept the base's quality; one whose score drifts up has not.
/// </summary>
public static class ContinuationScorer
{
    /// <summary>
    /// Sum of −log p_judge(outputᵢ | prompt, output₍&lt;ᵢ₎) over the output tokens, and their count, in one forward pass
    /// over prompt + output (no cache). Positions beyond the judge's context are refused.
    /// </summary>
    public static (double Sum, int Tokens) NegativeLogLikelihood(LlamaForCausalLM judge, IReadOnlyList<int> promptIds, IReadOnlyList<int> outputIds)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(outputIds);
        if (promptIds.Count == 0)
        {
            throw new ArgumentException("a continuation is scored after a non-empty prompt.", nameof(promptIds));
        }

        if (outputIds.Count == 0)
        {
            return (0, 0);
        }

        int total = promptIds.Count + outputIds.Count;
        if (total > judge.Config.MaxPositionEmbeddings)
        {
            throw new ArgumentException($"prompt + output is {total} tokens, over the judge's context of {judge.Config.MaxPositionEmbeddings}.");
        }

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = tensor(promptIds.Concat(outputIds).Select(t => (long)t).ToArray(), device: judge.Device).unsqueeze(0);      // (1, P+O)
        var logits = judge.Forward(ids);                                                                                        // (1, P+O, V) f32
        var predicting = logits[0].narrow(0, promptIds.Count - 1, outputIds.Count).log_softmax(-1);                           // (O, V): rows predicting each output token
        var targets = tensor(outputIds.Select(t => (long)t).ToArray(), device: judge.Device).unsqueeze(1);                    // (O, 1)
        double sum = -predicting.gather(1, targets).sum().item<float>();
        return (sum, outputIds.Count);
    }
}
