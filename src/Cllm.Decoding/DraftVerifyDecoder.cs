using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm;

/// <summary>
/// The one decode loop. Autoregressive, Jacobi and lookahead decoding are this loop with different
/// proposers: (1) prefill the prompt (carrying the first draft, for the prompt's last token, when the proposer offers
/// one; see <see cref="DraftAtPrefill"/>), then per forward pass (2) propose a draft after the pending token,
/// (3) run [pending | draft] through the model in one forward, (4) accept the longest verified path plus
/// the model's own next token, (5) cut the KV cache back to the accepted tokens, (6) let the proposer
/// observe the outcome, then the request's observers, (7) apply stops and emit. Only this loop moves the KV cache.
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

    /// <inheritdoc />
    public IEnumerable<DecodeStep> Decode(DecodeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        int context = _model.Config.MaxPositionEmbeddings;
        request.Validate(_model.Config.VocabSize, context);
        return Run(request, cancellationToken);
    }

    private IEnumerable<DecodeStep> Run(DecodeRequest request, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var proposer = _newProposer();
        var observers = _newObservers?.Invoke() ?? Array.Empty<IDecodeObserver>();
        var sampler = new TokenSampler(request.Sampling);
        int promptLength = request.PromptIds.Count;
        int budget = Math.Min(request.MaxNewTokens, _model.Config.MaxPositionEmbeddings - promptLength);
        var stats = new DecodeStats { PromptTokens = promptLength };
        var stop = new StopTracker(request.Stop, budget);
        double minMargin = double.PositiveInfinity;
        using var cache = _model.CreateCache(promptLength + budget + proposer.MaxDraftTokens + 1);
        var sequence = new List<int>(promptLength + budget + 1);                           // prompt, generated tokens, pending last
        sequence.AddRange(request.PromptIds);
        var view = sequence.AsReadOnly();

        // 1. Prefill: the whole prompt in one forward, its last token standing as the pending one. With a draft for it
        // (never deeper than the budget after the first token) the forward is [prompt | draft], verified as any step;
        // without, its last position alone gives the first token (autoregressive decoding always takes this path).
        cancellationToken.ThrowIfCancellationRequested();
        var draft = DraftAtPrefill && sampler.IsGreedy && budget > 1 && proposer.MaxDraftTokens > 0 ? proposer.ProposeAtPrefill(view, budget - 1) : Draft.Empty;
        var shown = Step(request.PromptIds, draft, prefill: true);
        stats.PrefillElapsed = clock.Elapsed;
        int step = 0;
        while (stop.Finish == FinishReason.None)
        {
            yield return new DecodeStep { Tokens = shown, StepIndex = step++ };
            cancellationToken.ThrowIfCancellationRequested();

            // 2. Propose: never deeper than the tokens still allowed after the pending one.
            draft = proposer.Propose(view, budget - stop.Output.Count - 1);

            // 3–7. Verify in one forward over [pending | draft], keep, observe, stop and emit.
            shown = Step(new[] { sequence[^1] }, draft, prefill: false);
        }

        clock.Stop();
        stats.GeneratedTokens = stop.Output.Count;
        stats.Elapsed = clock.Elapsed;
        stats.MinLogitMargin = sampler.IsGreedy ? minMargin : double.NaN;
        foreach (var observer in observers)
        {
            observer.OnFinished(stats);
        }
        yield return new DecodeStep { Tokens = shown, StepIndex = step, Finish = stop.Finish, Stats = stats };

        // One forward pass and what follows it: verify the draft after the inputs (the uncached tokens, the pending one
        // last), then (6) the proposer and the observers learn the outcome, and (7) the stops see the emitted tokens.
        // Returns the tokens to show.
        int[] Step(IReadOnlyList<int> inputs, Draft draft, bool prefill)
        {
            var outcome = Forward(cache, inputs, draft, sampler);
            stats.ForwardPasses++;
            stats.DraftedTokens += draft.Count;
            stats.AcceptedDraftTokens += outcome.Path.Length;
            minMargin = Math.Min(minMargin, outcome.MinMargin);
            var emitted = new int[outcome.Path.Length + 1];
            for (int i = 0; i < outcome.Path.Length; i++)
            {
                emitted[i] = draft.Tokens[outcome.Path[i]];
            }

            emitted[^1] = outcome.Bonus;
            sequence.AddRange(emitted);

            // 6. The proposer, then the observers, learn what was accepted and what the model predicted everywhere (a
            // prefill without a draft verified nothing).
            if (!prefill || draft.Count > 0)
            {
                var verified = new VerifyOutcome(draft, outcome.Path, emitted, outcome.Predictions, view);
                proposer.Observe(verified);
                foreach (var observer in observers)
                {
                    observer.OnVerified(verified);
                }
            }

            // 7. Stops, then emit; the bonus token is the next pending token (not yet cached).
            var shown = stop.Push(emitted);
            if (prefill)
            {
                stats.PrefillTokens = stop.Output.Count;
            }

            return shown;
        }
    }

    /// <summary>Result of one forward: accepted path, bonus token, greedy predictions at every input, smallest top-2 margin on the path.</summary>
    private readonly record struct StepResult(int[] Path, int Bonus, int[] Predictions, double MinMargin);

    /// <summary>
    /// Runs [inputs | draft] through the model at the cache's end and verifies the draft. Inputs are the uncached tokens
    /// up to the pending one (the prompt on prefill, else the pending token alone); only the logits of the pending
    /// token and the draft are computed. All tensors live in this call's dispose scope.
    /// </summary>
    private StepResult Forward(KvCache cache, IReadOnlyList<int> inputs, Draft draft, TokenSampler sampler)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        int past = cache.Length;
        int pendingAt = past + inputs.Count - 1;                                           // the pending token's position and cache slot
        int n = inputs.Count + draft.Count;
        var ids = new long[n];
        for (int i = 0; i < inputs.Count; i++)
        {
            ids[i] = inputs[i];
        }

        for (int i = 0; i < draft.Count; i++)
        {
            ids[inputs.Count + i] = draft.Tokens[i];
        }

        Tensor? positions = null, mask = null;
        if (!draft.IsChain)
        {
            (positions, mask) = TreeLayout(draft, past, inputs.Count);
        }

        var input = tensor(ids, dtype: ScalarType.Int64, device: _model.Device).view(1, n);
        var logits = _model.Forward(input, cache, positions, mask, lastPositions: 1 + draft.Count)[0];   // (1 + D, V): pending, then the draft
        var (predictions, margins) = TopTwo(logits);

        // topk ranks NaN above every number, so a row holding NaN or +Inf has a NaN or infinite top-2 margin: the check
        // rides on the values already read back (no extra host sync). Finite logits give finite margins.
        for (int i = 0; i < margins.Length; i++)
        {
            if (!double.IsFinite(margins[i]))
            {
                int position = i == 0 ? pendingAt : pendingAt + draft.Depth(i - 1);
                throw new InvalidOperationException(System.FormattableString.Invariant(
                    $"the model produced non-finite logits (NaN/Inf) at position {position}: check the weights."));
            }
        }

        int[] path;
        int bonus;
        if (sampler.IsGreedy)
        {
            (path, bonus) = TreeVerifier.Greedy(draft, predictions);
        }
        else
        {
            (path, bonus) = TreeVerifier.Sampled(draft, j => sampler.Distribution(logits[j]), sampler);
        }

        // Keep the cache entries up to the pending token and those of the accepted draft tokens, in order.
        if (draft.Count > 0)
        {
            var keep = new int[path.Length + 1];
            for (int i = 0; i < path.Length; i++)
            {
                keep[i + 1] = path[i] + 1;
            }

            cache.KeepSlots(pendingAt, keep);
        }

        double minMargin = margins[0];                                                     // the position that chose the first emitted token
        for (int i = 0; i < path.Length; i++)
        {
            minMargin = Math.Min(minMargin, margins[path[i] + 1]);
        }

        return new StepResult(path, bonus, predictions, minMargin);
    }

    /// <summary>
    /// Positions (T) and mask (T, past + T) of [inputs | draft] with <paramref name="inputs"/> uncached tokens, the pending
    /// one last: the inputs are plain causal at past, past + 1, …; draft token i sits at the pending token's position +
    /// depth and sees the cache, the inputs and its own ancestors.
    /// </summary>
    private (Tensor Positions, Tensor Mask) TreeLayout(Draft draft, int past, int inputs)
    {
        int t = inputs + draft.Count;
        int width = past + t;
        int pendingAt = past + inputs - 1;
        var pos = new long[t];
        var allowed = new bool[t * width];
        for (int row = 0; row < inputs; row++)
        {
            pos[row] = past + row;
            allowed.AsSpan(row * width, past + row + 1).Fill(true);
        }

        for (int i = 0; i < draft.Count; i++)
        {
            int row = inputs + i;
            pos[row] = pendingAt + draft.Depth(i);
            allowed.AsSpan(row * width, past + inputs).Fill(true);                         // the cache and the inputs, pending included
            allowed[row * width + past + row] = true;
            for (int a = draft.Parents[i]; a >= 0; a = draft.Parents[a])
            {
                allowed[row * width + past + inputs + a] = true;
            }
        }

        var mask = tensor(allowed, dtype: ScalarType.Bool, device: _model.Device).view(t, width);
        return (tensor(pos, dtype: ScalarType.Int64, device: _model.Device), mask);
    }

    /// <summary>
    /// Greedy ids and top-2 margins of logits (T', V) float32: one topk, both results read to the host as they are, and
    /// the margins taken there (float subtraction, as libtorch's, then widened) — two native reads instead of ~10 ops.
    /// </summary>
    private static (int[] Predictions, double[] Margins) TopTwo(Tensor logits)
    {
        var (top, topIndex) = logits.topk(2, dim: -1);                                     // (T', 2)
        if (top.device_type != DeviceType.CPU)
        {
            (top, topIndex) = (top.cpu(), topIndex.cpu());                                 // data<T>() reads CPU memory only
        }

        var values = top.data<float>().ToArray();
        var ids = topIndex.data<long>().ToArray();
        var predictions = new int[ids.Length / 2];
        var margins = new double[predictions.Length];
        for (int i = 0; i < predictions.Length; i++)
        {
            predictions[i] = (int)ids[2 * i];
            float margin = values[2 * i] - values[2 * i + 1];
            margins[i] = margin;
        }

        return (predictions, margins);
    }
}
