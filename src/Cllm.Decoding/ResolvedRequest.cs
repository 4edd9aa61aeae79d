using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;

namespace Cllm;

/// <summary>
/// A <see cref="DecodeRequest"/> after its one check: the prompt copied, the defaults applied, sampling and stops in the
/// form the decode loop reads. <see cref="From"/> is the only way to make one, and every public entry (a decoder's
/// <c>Decode</c>, the engine's <c>Run</c>/<c>Generate</c>, the chat client) calls it once, on the caller's thread, before
/// any work; everything below (<see cref="DraftVerifyDecoder.Start"/>, <see cref="DecodeSession"/>, the engine's
/// decode thread, <see cref="TokenSampler"/>) takes this form and checks nothing again. Nothing in it is shared with
/// the caller, so changing the prompt list or stop lists after submitting does not change the running request.
/// </summary>
internal sealed class ResolvedRequest
{
    private ResolvedRequest(ImmutableArray<int> promptIds, int maxNewTokens, SamplingOptions sampling, StopConditions stop)
    {
        PromptIds = promptIds;
        MaxNewTokens = maxNewTokens;
        Sampling = sampling;
        Stop = stop;
    }

    /// <summary>The prompt (BOS included when the tokenizer adds one): a copy, at least one token, all in the vocabulary.</summary>
    public ImmutableArray<int> PromptIds { get; }

    /// <summary>Upper bound on generated tokens (the stop token not counted), at least 1; the default applied.</summary>
    public int MaxNewTokens { get; }

    /// <summary>Token choice, checked; <see cref="SamplingOptions.Greedy"/> unless the options asked to sample.</summary>
    public SamplingOptions Sampling { get; }

    /// <summary>Stop ids (the model's EOS ids among them when the engine made the request) and stop sequences, copied.</summary>
    public StopConditions Stop { get; }

    /// <summary>
    /// Checks <paramref name="request"/> against a model's vocabulary and context and resolves it. Throws
    /// <see cref="ArgumentException"/> for an empty prompt, one that fills the context or a token outside the vocabulary,
    /// and <see cref="ArgumentOutOfRangeException"/> for a budget below 1 or sampling values out of range, naming each
    /// property as <paramref name="name"/> maps it (a front end's own option name; default the property's).
    /// </summary>
    public static ResolvedRequest From(DecodeRequest request, int vocabSize, int contextLength, Func<string, string>? name = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.PromptIds, nameof(DecodeRequest.PromptIds));
        var prompt = ImmutableArray.CreateRange(request.PromptIds);                        // (P) the copy is what is checked and decoded
        if (prompt.Length == 0)
        {
            throw new ArgumentException("the prompt must contain at least one token (usually BOS).", nameof(DecodeRequest.PromptIds));
        }

        if (prompt.Length >= contextLength)
        {
            throw new ArgumentException($"the prompt has {prompt.Length} tokens; the model's context holds {contextLength}, so nothing could be generated.", nameof(DecodeRequest.PromptIds));
        }

        for (int i = 0; i < prompt.Length; i++)
        {
            if ((uint)prompt[i] >= (uint)vocabSize)
            {
                throw new ArgumentException($"prompt token {i} is {prompt[i]}, outside the vocabulary [0, {vocabSize}).", nameof(DecodeRequest.PromptIds));
            }
        }

        var options = request.Options;
        ArgumentNullException.ThrowIfNull(options, nameof(DecodeRequest.Options));
        int maxNewTokens = options.ResolveMaxNewTokens(name);                                // throws for a budget below 1
        var sampling = options.ToSampling(name);                                              // throws for sampling values out of range
        var stop = new StopConditions
        {
            EosTokenIds = ImmutableArray.CreateRange(options.StopTokenIds ?? Array.Empty<int>()),
            StopSequences = (options.StopSequences ?? Array.Empty<IReadOnlyList<int>>()).Select(s => (IReadOnlyList<int>)ImmutableArray.CreateRange(s)).ToImmutableArray(),
        };
        return new ResolvedRequest(prompt, maxNewTokens, sampling, stop);
    }

    /// <summary>
    /// The resolved values as a public request, for a decoder of the caller's own (an <see cref="IDecoder"/> that is not
    /// one of the engine's): the same prompt, budget, sampling and stops, nothing shared with the original caller.
    /// </summary>
    public DecodeRequest ToRequest() => new()
    {
        PromptIds = PromptIds,
        Options = new GenerationOptions
        {
            MaxNewTokens = MaxNewTokens,
            Temperature = Sampling.Temperature,
            TopK = Sampling.TopK,
            TopP = Sampling.TopP,
            Seed = Sampling.Seed,
            StopTokenIds = Stop.EosTokenIds,
            StopSequences = Stop.StopSequences,
        },
    };
}
