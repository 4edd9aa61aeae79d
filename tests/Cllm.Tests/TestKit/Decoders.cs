using System;
using Cllm;
using Cllm.Core;

namespace Cllm.Tests.TestKit;

/// <summary>Shorthands for building decoders over a model.</summary>
internal static class Decoders
{
    public static IDecoder Autoregressive(LlamaForCausalLM model) => new DraftVerifyDecoder(model, "ar", () => new NoDraftProposer());

    /// <summary>
    /// Jacobi with its block statistics; <paramref name="onBlock"/> receives every block trajectory. With
    /// <paramref name="firstTokenGuess"/> the decoder's first-token memory starts with it, so greedy requests carry their
    /// first block on the prefill (as decoders built by DecoderOptions do once they have seen a request); without, the
    /// prompt is prefilled alone.
    /// </summary>
    public static DraftVerifyDecoder Jacobi(LlamaForCausalLM model, int n, Action<JacobiTrajectory>? onBlock = null, JacobiInitialGuess guess = JacobiInitialGuess.ContextSample, int? firstTokenGuess = null)
    {
        var options = new JacobiOptions { BlockSize = n, InitialGuess = guess };
        if (firstTokenGuess is not int first)
        {
            return new DraftVerifyDecoder(model, "jacobi", () => new JacobiProposer(options), () => new[] { new JacobiBlockTracker(onBlock) });
        }

        var memory = new JacobiFirstTokens();
        memory.Record(first);
        return new DraftVerifyDecoder(model, "jacobi", () => new JacobiProposer(options, null, memory), () => new[] { new JacobiBlockTracker(onBlock) });
    }

    public static IDecoder Lookahead(LlamaForCausalLM model, int window = 5, int ngram = 4, int guesses = 5)
        => new DraftVerifyDecoder(model, "lookahead", () => new LookaheadProposer(new LookaheadOptions { Window = window, NGram = ngram, Guesses = guesses }));
}
