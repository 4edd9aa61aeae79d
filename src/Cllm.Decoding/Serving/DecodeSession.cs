using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace Cllm;

/// <summary>
/// One request's side of the draft-verify loop (<see cref="DraftVerifyDecoder"/>): its proposer, observers, sampler,
/// stops, statistics and token sequence. The loop asks it to <see cref="Plan"/> a forward (steps 1–2: the uncached inputs
/// and a draft), runs the forwards of every session of a <see cref="DecodeBatch"/> as one, and hands each its
/// verification to <see cref="Complete"/> (steps 6–7: observe, stop, emit). Asked to, it prefills a long prompt in chunks
/// over several forwards that emit nothing (<see cref="Plan"/>). A session never touches tensors.
/// </summary>
internal sealed class DecodeSession
{
    private readonly IDraftProposer _proposer;
    private readonly IReadOnlyList<IDecodeObserver> _observers;
    private readonly StopTracker _stop;
    private readonly DecodeStats _stats;
    private readonly List<int> _sequence;                                                  // prompt, generated tokens, pending last
    private readonly IReadOnlyList<int> _view;
    private readonly IReadOnlyList<int> _prompt;                                           // the request's own copy, boxed once
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _draftAtPrefill;
    private readonly int _budget;
    private double _minMargin = double.PositiveInfinity;
    private int _step;
    private int _prefilled;                                                                // prompt tokens cached by earlier chunks of a chunked prefill
    private Draft _draft = Draft.Empty;
    private bool _planned;
    private int _plannedChunk;                                                             // prompt tokens of the planned forward when it is a prefill chunk, else 0

    public DecodeSession(string decoder, ResolvedRequest request, IDraftProposer proposer, IReadOnlyList<IDecodeObserver> observers, bool draftAtPrefill, int contextLength, CancellationToken cancellationToken)
    {
        Decoder = decoder;
        Request = request;
        CancellationToken = cancellationToken;
        _proposer = proposer;
        _observers = observers;
        _draftAtPrefill = draftAtPrefill;
        Sampler = new TokenSampler(request.Sampling);
        int promptLength = request.PromptIds.Length;
        _budget = Math.Min(request.MaxNewTokens, contextLength - promptLength);
        _stats = new DecodeStats { PromptTokens = promptLength };
        _stop = new StopTracker(request.Stop, _budget);
        _sequence = new List<int>(promptLength + _budget + 1);
        _sequence.AddRange(request.PromptIds);
        _view = _sequence.AsReadOnly();
        _prompt = request.PromptIds;
    }

    /// <summary>The decoder's name (ar, jacobi:16, …), for reports.</summary>
    public string Decoder { get; }

    /// <summary>The request, as resolved once at submission (the session checks nothing again).</summary>
    public ResolvedRequest Request { get; }

    /// <summary>The request's cancellation.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The prompt and every token emitted so far (the last one is the pending token, not yet cached).</summary>
    public IReadOnlyList<int> Tokens => _view;

    /// <summary>The request's token choice.</summary>
    public TokenSampler Sampler { get; }

    /// <summary>Whether the request has finished (a stop, the budget or the context).</summary>
    public bool IsFinished => _stop.Finish != FinishReason.None;

    /// <summary>Whether no token has been emitted yet: the next forward is the prefill, or a chunk of it.</summary>
    public bool AtPrefill => _step == 0;

    /// <summary>Whether no forward has been run yet (not even a chunk of the prefill).</summary>
    public bool Fresh => _step == 0 && _prefilled == 0 && !_planned;

    /// <summary>
    /// Marks the prompt's first <paramref name="tokens"/> as cached already: another request computed their keys and values
    /// (a shared prompt prefix), so the prefill starts after them. Only before the first forward, and
    /// never the whole prompt (its last token must be the prefill's pending one).
    /// </summary>
    public void ReuseCachedPrefix(int tokens)
    {
        if (!Fresh)
        {
            throw new InvalidOperationException("a cached prefix can only be reused before the first forward.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(tokens, _prompt.Count);
        _prefilled = tokens;
        _stats.CachedPromptTokens = tokens;
    }

    /// <summary>Whether the planned forward is a prefill chunk that is not the last: it caches prompt tokens and emits nothing.</summary>
    public bool PlannedChunk => _planned && _plannedChunk > 0;

    /// <summary>Uncached inputs of the next forward under <paramref name="prefillChunk"/>: the next prefill chunk (or the rest of the prompt), else 1 (the pending token).</summary>
    public int NextInputs(int prefillChunk) => AtPrefill ? Math.Min(_prompt.Count - _prefilled, prefillChunk) : 1;

    /// <summary>Whether the next forward under <paramref name="prefillChunk"/> is a prefill chunk that emits nothing (more of the prompt follows).</summary>
    public bool ChunkNext(int prefillChunk) => AtPrefill && _prompt.Count - _prefilled > prefillChunk;

    /// <summary>
    /// KV-cache slots reserved for the request: the prompt, the budget, a draft no longer than the budget (a chain never is;
    /// a wider tree, as lookahead's, grows the cache) and the pending token.
    /// </summary>
    public int CacheSlots => Request.PromptIds.Length + _budget + Math.Min(_proposer.MaxDraftTokens, _budget) + 1;

    /// <summary>Tokens the next forward would verify at most without a cap: the pending token and the deepest draft still allowed.</summary>
    public int Window => 1 + Math.Max(0, Math.Min(_proposer.MaxDraftTokens, _budget - _stop.Output.Count - 1));

    /// <summary>The last completed forward's draft: its size, the accepted nodes and whether it was a chain.</summary>
    public (int Drafted, int Accepted, bool Chain) Last { get; private set; }

    /// <summary>
    /// Steps 1–2: the uncached inputs (the prompt on prefill, else the pending token) and the draft after them, no deeper
    /// than <paramref name="depthCap"/> nor than the tokens still allowed after the pending one. A prompt longer than
    /// <paramref name="prefillChunk"/> (still uncached) is prefilled <paramref name="prefillChunk"/> tokens per forward:
    /// such a chunk carries no draft and emits nothing; the last chunk is the prefill of the rest.
    /// </summary>
    public (IReadOnlyList<int> Inputs, Draft Draft) Plan(int depthCap = int.MaxValue, int prefillChunk = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prefillChunk, 1);
        if (_planned || IsFinished)
        {
            throw new InvalidOperationException(IsFinished ? "the request has finished." : "the planned forward has not been completed.");
        }

        _planned = true;
        _plannedChunk = 0;
        int left = _budget - _stop.Output.Count - 1;                                       // tokens allowed after the pending one
        if (_step == 0)
        {
            if (ChunkNext(prefillChunk))
            {
                // A chunk of a longer prompt: its k/v go into the cache, its last logits are not used.
                _plannedChunk = prefillChunk;
                _draft = Draft.Empty;
                return (Request.PromptIds.Slice(_prefilled, prefillChunk), _draft);
            }

            // Prefill (of what earlier chunks left): its last token stands as the pending one. A draft for it rides along
            // only for greedy requests (see DraftVerifyDecoder.DraftAtPrefill) and never deeper than the budget after it.
            int depth = Math.Min(left, depthCap);
            _draft = _draftAtPrefill && Sampler.IsGreedy && depth > 0 && _proposer.MaxDraftTokens > 0 ? _proposer.ProposeAtPrefill(_view, depth) : Draft.Empty;
            return (_prefilled == 0 ? _prompt : Request.PromptIds.Slice(_prefilled, _prompt.Count - _prefilled), _draft);
        }

        _draft = _proposer.Propose(_view, Math.Min(left, depthCap));
        return (new[] { _sequence[^1] }, _draft);
    }

    /// <summary>
    /// Steps 6–7 after the forward verified the planned draft: the proposer, then the observers, learn the outcome; the
    /// stops see the emitted tokens. Returns the step to show, carrying the finish reason and statistics when it is the
    /// last; null after a prefill chunk that is not the last (it emitted nothing).
    /// </summary>
    public DecodeStep? Complete(VerifiedStep outcome)
    {
        if (!_planned)
        {
            throw new InvalidOperationException("no forward was planned.");
        }

        _planned = false;
        _stats.ForwardPasses++;
        if (_plannedChunk > 0)
        {
            _prefilled += _plannedChunk;
            _plannedChunk = 0;
            _stats.PrefillForwards++;
            return null;
        }

        bool prefill = _step == 0;
        var draft = _draft;
        _stats.DraftedTokens += draft.Count;
        _stats.AcceptedDraftTokens += outcome.Path.Length;
        _minMargin = Math.Min(_minMargin, outcome.MinMargin);
        Last = (draft.Count, outcome.Path.Length, draft.IsChain);
        var emitted = new int[outcome.Path.Length + 1];
        for (int i = 0; i < outcome.Path.Length; i++)
        {
            emitted[i] = draft.Tokens[outcome.Path[i]];
        }

        emitted[^1] = outcome.Bonus;
        _sequence.AddRange(emitted);

        // 6. The proposer, then the observers (a prefill without a draft verified nothing).
        if (!prefill || draft.Count > 0)
        {
            var verified = new VerifyOutcome(draft, outcome.Path, emitted, outcome.Predictions, _view);
            _proposer.Observe(verified);
            foreach (var observer in _observers)
            {
                observer.OnVerified(verified);
            }
        }

        // 7. Stops, then emit; the bonus token is the next pending token (not yet cached).
        var shown = _stop.Push(emitted);
        if (prefill)
        {
            _stats.PrefillTokens = _stop.Output.Count;
            _stats.PrefillElapsed = _clock.Elapsed;
        }

        int index = _step++;
        if (!IsFinished)
        {
            return new DecodeStep { Tokens = shown, StepIndex = index };
        }

        _clock.Stop();
        _stats.GeneratedTokens = _stop.Output.Count;
        _stats.Elapsed = _clock.Elapsed;
        _stats.MinLogitMargin = Sampler.IsGreedy ? _minMargin : double.NaN;
        foreach (var observer in _observers)
        {
            observer.OnFinished(_stats);
        }

        return new DecodeStep { Tokens = shown, StepIndex = index, Finish = _stop.Finish, Stats = _stats };
    }
}
