using System;
using System.Collections.Generic;
using System.Threading;
using Cllm.Core;

namespace Cllm;

/// <summary>Conveniences over <see cref="IDecoder"/>, and a decoder of your own proposer.</summary>
public static class DecoderExtensions
{
    /// <summary>
    /// A decoder that runs Cllm's draft-and-verify loop over <paramref name="model"/> with a proposer of your own (one per
    /// request, from <paramref name="newProposer"/>) and, optionally, observers of each request's verifications and end.
    /// The loop verifies every draft, so under greedy decoding the output is the autoregressive output token for token
    /// whatever the proposer drafts, and with sampling the output distribution is autoregressive sampling's. Requests
    /// run on the calling thread; the model must not be used by another thread meanwhile.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="name">The decoder's name in reports and telemetry.</param>
    /// <param name="newProposer">Creates a request's proposer.</param>
    /// <param name="newObservers">Creates a request's observers, or null.</param>
    public static IDecoder CreateDecoder(this LlamaForCausalLM model, string name, Func<IDraftProposer> newProposer, Func<IReadOnlyList<IDecodeObserver>>? newObservers = null)
        => new DraftVerifyDecoder(model, name, newProposer, newObservers);

    /// <summary>Runs <paramref name="request"/> to the end and collects its tokens.</summary>
    public static DecodeResult DecodeToEnd(this IDecoder decoder, DecodeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        var output = new List<int>();
        foreach (var step in decoder.Decode(request, cancellationToken))
        {
            output.AddRange(step.Tokens);
            if (step.Stats is not null)
            {
                return new DecodeResult(output, step.Finish, step.Stats) { PromptIds = request.PromptIds };
            }
        }

        throw new InvalidOperationException($"decoder '{decoder.Name}' ended without a final step.");
    }
}
