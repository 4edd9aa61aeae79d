using System;
using System.Collections.Generic;
using System.Threading;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// The one decode loop. Autoregressive, Jacobi and lookahead decoding are this loop with different
/// proposers: (1) prefill the prompt (carrying the first draft, for the prompt's last token, when the proposer offers
/// one; see <see cref="DraftAtPrefill"/>), then per forward pass (2) propose a draft after the pending token,
/// (3) run [pending | draft] through the model in one forward, (4) accept the longest verified path plus
/// the model's own next token, (5) cut the KV cache back to the accepted tokens, (6) let the proposer
/// observe the outcome, then the request's observers, (7) apply stops and emit. Only this loop moves the KV cache.
/// <see cref="Step"/> runs it for any number of requests at once (<see cref="DecodeSession"/> holds steps 1–2 and 6–7
/// of one request, <see cref="DecodeBatch"/> steps 3–5 of all of them in one packed forward); a single request is a
/// batch of one, and the engine keeps a batch that requests join and leave between forwards.
/// </summary>
internal sealed class DraftVerifyDecoder : IDecoder
{
    private readonly LlamaForCausalLM _model;
    private readonly Func<IDraftProposer> _newProposer;
    private readonly Func<IReadOnlyList<IDecodeObserver>>? _newObservers;

    /// <param name="model">The model; it must not be used by another thread while a request runs.</param>
    /// <param name="name">Name for reports (ar, jacobi, lookahead).</param>
    /// <param name="newProposer">Creates the per-request proposer.</param>
    /// <param name="newObservers">Creates the per-request observers (statistics, trajectory recording), or null.</param>
    public DraftVerifyDecoder(LlamaForCausalLM model, string name, Func<IDraftProposer> newProposer, Func<IReadOnlyList<IDecodeObserver>>? newObservers = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(newProposer);
        _model = model;
        Name = name;
        _newProposer = newProposer;
        _newObservers = newObservers;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>
    /// Whether greedy requests ask the proposer for a draft at prefill (<see cref="IDraftProposer.ProposeAtPrefill"/>;
    /// default true): a draft then rides on the prefill forward ([prompt | draft], the prompt's last token standing as
    /// the pending one), so the first forward can emit more than one token. Sampled requests never draft at prefill: a
    /// proposer may base that draft on earlier requests (Jacobi's first-token guess), and a seeded request must repeat
    /// exactly. False keeps every prefill to the prompt alone, so that every verified draft follows a generated token
    /// (trajectory collection wants blocks that start after the prompt).
    /// </summary>
    public bool DraftAtPrefill { get; init; } = true;

    /// <summary>The model the decoder runs.</summary>
    internal LlamaForCausalLM Model => _model;

    /// <inheritdoc />
    public IEnumerable<DecodeStep> Decode(DecodeRequest request, CancellationToken cancellationToken = default)
    {
        var session = Start(Resolve(request), cancellationToken);                          // bad input fails here, at the call
        return Run(session);
    }

    /// <summary><paramref name="request"/> checked against this decoder's model and resolved (<see cref="ResolvedRequest.From"/>).</summary>
    internal ResolvedRequest Resolve(DecodeRequest request)
        => ResolvedRequest.From(request, _model.Config.VocabSize, _model.Config.MaxPositionEmbeddings);

    /// <summary>
    /// A resolved request's session, ready to join a <see cref="DecodeBatch"/> over this decoder's model: the engine
    /// steps many such sessions together, <see cref="Decode"/> steps one alone. Nothing is checked again here.
    /// </summary>
    internal DecodeSession Start(ResolvedRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var observers = _newObservers?.Invoke() ?? Array.Empty<IDecodeObserver>();
        return new DecodeSession(Name, request, _newProposer(), observers, DraftAtPrefill, _model.Config.MaxPositionEmbeddings, cancellationToken);
    }

    /// <summary>
    /// The loop for any number of sessions: each plans its forward (capped at <paramref name="depthCap"/> draft tokens,
    /// a prompt prefilled at most <paramref name="prefillChunk"/> tokens per forward), one forward runs them all, each
    /// completes with its verification. Returns the step of each session, in order; null for a session whose forward was
    /// a prefill chunk that is not the last (it emitted nothing).
    /// </summary>
    internal static DecodeStep?[] Step(DecodeBatch batch, IReadOnlyList<DecodeSession> sessions, int depthCap = int.MaxValue, int prefillChunk = int.MaxValue)
    {
        var inputs = new IReadOnlyList<int>[sessions.Count];
        var drafts = new Draft[sessions.Count];
        int positions = 0;
        for (int s = 0; s < sessions.Count; s++)
        {
            (inputs[s], drafts[s]) = sessions[s].Plan(depthCap, prefillChunk);            // 1–2. inputs and draft
            positions += inputs[s].Count + drafts[s].Count;
        }

        var verified = batch.Forward(sessions, inputs, drafts);                           // 3–5. one forward, verify, keep
        CllmTelemetry.RecordForward(sessions.Count, positions);
        var steps = new DecodeStep?[sessions.Count];
        for (int s = 0; s < sessions.Count; s++)
        {
            steps[s] = sessions[s].Complete(verified[s]);                                  // 6–7. observe, stop, emit
        }

        return steps;
    }

    /// <summary>One request alone: a batch of one, its cache sized for the request.</summary>
    private IEnumerable<DecodeStep> Run(DecodeSession session)
    {
        using var batch = new DecodeBatch(_model, session.CacheSlots);
        batch.Add(session);
        var one = new[] { session };
        while (true)
        {
            session.CancellationToken.ThrowIfCancellationRequested();
            var step = Step(batch, one)[0]!;                                               // a whole-prompt prefill always emits
            yield return step;
            if (step.Finish != FinishReason.None)
            {
                yield break;
            }
        }
    }
}
