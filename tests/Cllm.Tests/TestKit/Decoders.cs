using System;
using Cllm;
using Cllm.Core;

namespace Cllm.Tests.TestKit;

/// <summary>Shorthands for building decoders over a model.</summary>
internal static class Decoders
{
    public static IDecoder Autoregressive(LlamaForCausalLM model) => new DraftVerifyDecoder(model, "ar", () => new NoDraftProposer());

    /// <summary>Jacobi with its block statistics; <paramref name="onBlock"/> receives every block trajectory.</summary>
    public static IDecoder Jacobi(LlamaForCausalLM model, int n, Action<JacobiTrajectory>? onBlock = null, JacobiInitialGuess guess = JacobiInitialGuess.ContextSample)
        => new DraftVerifyDecoder(model, "jacobi", () => new JacobiProposer(new JacobiOptions { BlockSize = n, InitialGuess = guess }), () => new[] { new JacobiBlockTracker(onBlock) });

    public static IDecoder Lookahead(LlamaForCausalLM model, int window = 5, int ngram = 4, int guesses = 5)
        => new DraftVerifyDecoder(model, "lookahead", () => new LookaheadProposer(new LookaheadOptions { Window = window, NGram = ngram, Guesses = guesses }));
}
