using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// How many draft tokens each request of a batch may verify per forward: the cap d that maximises expected emitted
/// tokens per unit of forward cost, Σₛ E(min(wₛ, d + 1)) / cost(Σₛ min(wₛ, d + 1)), where wₛ is the window a request
/// would verify uncapped (1 for AR), cost comes from the model's measured forward-cost curve (plus the attention of the
/// new tokens over the batch's whole shared cache, which a one-sequence curve does not see) and E from the acceptance
/// seen so far. As the batch grows the tokens it already carries make extra draft tokens dearer, so Jacobi blocks
/// shrink, and d = 0 (batched AR) is chosen when no draft pays. One request alone is never capped: it decodes exactly as
/// it would on an idle engine.
/// <para>
/// Prompt tokens riding in the same forward (requests joining) are paid for whatever d is, so they do not dilute the
/// drafts' cost: the drafts are charged what they add to that wider forward, cost(P + Σ min(wₛ, d + 1)) − cost(P + S)
/// for P prompt tokens and S requests, on top of the S rows' own cost(S). In a wide forward a token costs the curve's
/// steeper, compute-bound slope, so fewer drafts pay there; charged the forward's average cost instead, drafts rode on
/// every prefill that joined a loaded engine and cost more than they gained.
/// </para>
/// </summary>
/// <remarks>
/// Acceptance: a chain forward over W tokens (the pending token and W − 1 drafted) that accepted A emits 1 + min(A, w − 1)
/// for any window w ≤ W (a chain accepts the same prefix whatever follows), so E(w) is the mean of that over the
/// forwards seen with W ≥ w, once <see cref="MinForwards"/> were; for a cap, over the drafts verified under that cap
/// once <see cref="MinCapDrafts"/> were, recent ones weighing more (a Jacobi block kept under a cap refines only the guesses it verifies, so it drafts worse than a
/// whole block: on sql-cllm, 8 requests, the first drafted token was accepted in 82% of forwards with whole 16-token
/// blocks, 50% under cap 2 and 11% under cap 1); before, a geometric model G(p, w) = (1 − pʷ)/(1 − p)
/// with p fitted to every accepted and rejected guess seen (prior: 2 of each). While d = 0 is chosen, every
/// <see cref="ProbeInterval"/>th forward uses the smallest cap above 0, so that acceptance keeps being measured, and every
/// <see cref="ForgetInterval"/>th halves what each cap was judged on, so that no cap is ruled out for good.
/// <para>
/// The model of cost can be wrong (a small model's forward is dominated by per-op overhead the curve does not separate
/// from the batch's masks and bookkeeping), so the choice is also checked against what the clock says: per batch size
/// (in powers of two: 2–3, 4–7, 8–15, …), the emitted tokens per second of forwards that drafted and of forwards that did
/// not (batched AR) are tracked, forwards carrying prompt tokens left out (a prefill costs up to ten decode steps and
/// would swamp either mean), and while drafting measures
/// slower than AR at this batch size the budget chooses AR, probing a draft every
/// <see cref="ProbeInterval"/>th forward (and AR every <see cref="ProbeInterval"/>th forward while drafting wins,
/// more often until both have <see cref="MinRateSamples"/> samples). A loaded engine so never settles below batched AR.
/// </para>
/// </remarks>
internal sealed class BatchBudget : IDisposable
{
    /// <summary>While batched AR is chosen, one forward in this many probes a draft.</summary>
    public const int ProbeInterval = 32;

    /// <summary>Forwards with a window ≥ w needed before their acceptance replaces the geometric model at w.</summary>
    private const int MinForwards = 8;

    /// <summary>Drafts verified under a cap before they judge it (two forwards of 8 requests: one batch is not enough).</summary>
    private const int MinCapDrafts = 16;

    /// <summary>Drafts kept per cap before its counts are halved, so that a cap's estimate follows the requests of late.</summary>
    private const int CapMemory = 256;

    /// <summary>
    /// While batched AR is chosen, every cap's counts are halved once in this many forwards: a cap judged on few drafts
    /// then falls back on the whole-block estimate and is tried again (probing every cap in turn instead measured 0.93x
    /// batched AR on the 0.97B shape at 8 clients, against 0.95–0.99x: a probe of 16 tokens a row costs several AR forwards).
    /// </summary>
    private const int ForgetInterval = 4096;

    /// <summary>Forwards of each kind measured at a batch size before their rates are compared.</summary>
    private const int MinRateSamples = 4;

    /// <summary>The weight of a new measurement in a rate's running mean (after the first few, which are averaged).</summary>
    private const double RateWeight = 0.2;

    private static readonly int[] Caps = { 0, 1, 2, 3, 5, 7, 11, 15, 23, 31, 47, 63 };

    private readonly Dictionary<int, MeasuredRates> _rates = new();                       // per batch size class: log2(sessions)
    private int _forwards;

    private readonly Func<IReadOnlyList<ForwardCost>>? _measure;                          // the curve at once, when first needed
    private readonly Func<ForwardCostMeasurement>? _startMeasurement;                      // or a forward at a time, by MeasureStep
    private readonly double _attentionShare;
    private (int[] Sizes, double[] Costs)? _curve;
    private ForwardCostMeasurement? _measurement;                                           // read from other threads (Measuring)
    private bool _ready;
    private bool _measurementFailed;
    private readonly ChainAcceptance _accepted = new();
    private readonly Dictionary<int, ChainAcceptance> _acceptedUnder = new();              // per cap in force (int.MaxValue: none)
    private double _successes = 2, _failures = 2;
    private int _arForwards;

    /// <param name="measure">Measures the model's forward-cost curve (called once, when a batch first has drafts to weigh).</param>
    /// <param name="attentionShare">
    /// Attention work per (query, cached key) pair as a share of one token's weight work, 2·hidden·layers / parameters: the
    /// curve is measured on one sequence, but in a batch every token attends over the whole shared cache (masked), a cost
    /// that grows with tokens × cached slots. 0 leaves the curve as measured.
    /// </param>
    public BatchBudget(Func<IReadOnlyList<ForwardCost>> measure, double attentionShare = 0)
    {
        ArgumentNullException.ThrowIfNull(measure);
        ArgumentOutOfRangeException.ThrowIfNegative(attentionShare);
        _measure = measure;
        _attentionShare = attentionShare;
    }

    /// <param name="startMeasurement">Starts the measurement of the curve, run a forward at a time by <see cref="MeasureStep"/>.</param>
    /// <param name="attentionShare">As for the other constructor.</param>
    public BatchBudget(Func<ForwardCostMeasurement> startMeasurement, double attentionShare = 0)
    {
        ArgumentNullException.ThrowIfNull(startMeasurement);
        ArgumentOutOfRangeException.ThrowIfNegative(attentionShare);
        _startMeasurement = startMeasurement;
        _attentionShare = attentionShare;
    }

    /// <summary>
    /// Whether the curve is being measured: the owner runs <see cref="MeasureStep"/> between its forwards and while idle
    /// until it is done. Until then a batch of several requests runs without drafts (batched AR).
    /// </summary>
    public bool Measuring => Volatile.Read(ref _measurement) is not null;

    /// <summary>Whether the curve is there (measured, or given); false before, while measuring, and after a failed measurement.</summary>
    public bool Ready => Volatile.Read(ref _ready);

    /// <summary>
    /// Runs one forward of the curve's measurement, if one is under way; the last makes the curve ready (and returns
    /// true). A failure ends the measurement for good (batches then stay without drafts) and is rethrown for the owner
    /// to report.
    /// </summary>
    public bool MeasureStep()
    {
        if (_measurement is not { } measurement)
        {
            return false;
        }

        bool over = false;
        try
        {
            over = measurement.Step();
            if (over)
            {
                Use(measurement.Result);
            }
        }
        catch
        {
            over = true;
            _measurementFailed = true;
            throw;
        }
        finally
        {
            if (over)
            {
                measurement.Dispose();
                Volatile.Write(ref _measurement, null);
            }
        }

        return _ready;
    }

    /// <summary>Ends a measurement under way and releases its cache (on the owner's thread).</summary>
    public void Dispose()
    {
        _measurement?.Dispose();
        Volatile.Write(ref _measurement, null);
    }

    /// <summary>
    /// A budget over <paramref name="model"/>'s curve, measured at T = 1 … 128 (as far as the context allows) once a batch
    /// first has drafts to weigh, a forward at a time (<see cref="MeasureStep"/>).
    /// </summary>
    public static BatchBudget For(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        int context = model.Config.MaxPositionEmbeddings;
        int past = Math.Min(32, context / 4);
        var sizes = new[] { 1, 2, 4, 8, 16, 32, 64, 128 }.Where(s => s == 1 || past + s <= context).ToArray();
        double share = 2.0 * model.Config.HiddenSize * model.Config.NumHiddenLayers / model.ParameterCount;
        return new BatchBudget(() => new ForwardCostMeasurement(model, sizes, past, rounds: 5, warmup: 2, paired: true), share);
    }

    /// <summary>
    /// The draft-token cap for the next forward of <paramref name="sessions"/> over a shared cache of <paramref name="cached"/>
    /// slots, prompts prefilled at most <paramref name="prefillChunk"/> tokens per forward; <see cref="int.MaxValue"/> (no
    /// cap) for one session or when none drafts. A session on a prefill chunk that is not its last drafts and emits nothing.
    /// </summary>
    public int DepthCap(IReadOnlyList<DecodeSession> sessions, int cached = 0, int prefillChunk = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        int widest = sessions.Max(s => s.ChunkNext(prefillChunk) ? 1 : s.Window);
        if (sessions.Count == 1 || widest == 1)
        {
            return int.MaxValue;
        }

        if (!CurveReady())
        {
            return 0;                                                                      // batched AR until the curve is measured
        }

        int fixedTokens = sessions.Sum(s => s.NextInputs(prefillChunk) - 1);              // prompt bodies (or chunks) of prefilling sessions
        int arWidth = fixedTokens + sessions.Count;                                        // the forward without drafts
        double arCost = Cost(arWidth) + AttentionCost(arWidth, cached);
        double rowsAlone = Cost(sessions.Count) + AttentionCost(sessions.Count, cached);   // its rows without the prompt tokens
        int best = 0;
        double bestRate = double.NegativeInfinity;
        foreach (int cap in Caps)
        {
            if (cap > 0 && cap + 1 > widest)
            {
                break;
            }

            double tokens = 0;
            int width = fixedTokens;
            foreach (var session in sessions)
            {
                if (session.ChunkNext(prefillChunk))
                {
                    width += 1;                                                            // the chunk's last token, emitting nothing
                    continue;
                }

                int w = Math.Min(session.Window, cap + 1);
                tokens += Emitted(w, cap);
                width += w;
            }

            double rate = tokens / (rowsAlone + Cost(width) + AttentionCost(width, cached) - arCost);   // = tokens / cost(width) without prompt tokens
            if (rate > bestRate * (1 + 1e-9))
            {
                (best, bestRate) = (cap, rate);
            }
        }

        if (best == 0)
        {
            if (++_arForwards % ForgetInterval == 0)
            {
                foreach (var under in _acceptedUnder.Values)
                {
                    under.Halve();                                                         // a cap judged on few drafts is tried again
                }
            }

            return _arForwards % ProbeInterval == 0 ? Caps[1] : 0;                        // keep measuring acceptance
        }

        // The clock's check: AR while drafting measures slower at this batch size, each side probed now and then.
        var rates = _rates.GetValueOrDefault(SizeClass(sessions.Count));
        int tick = ++_forwards;
        bool measured = rates.ArSeen >= MinRateSamples && rates.DraftSeen >= MinRateSamples;
        if (!measured)
        {
            return rates.ArSeen < MinRateSamples && tick % 4 == 0 ? 0 : best;
        }

        bool draftWins = rates.Draft >= rates.Ar;
        bool probe = tick % ProbeInterval == 0;
        return draftWins != probe ? best : 0;
    }

    /// <summary>
    /// Records what one forward of <paramref name="sessions"/> requests under <paramref name="cap"/> (the value
    /// <see cref="DepthCap"/> gave) achieved: <paramref name="emitted"/> tokens in <paramref name="seconds"/>; a forward
    /// that carried prompt tokens (<paramref name="prefill"/>) is not a sample of either rate.
    /// </summary>
    public void RecordForward(int sessions, int cap, int emitted, double seconds, bool prefill = false)
    {
        if (cap == int.MaxValue || sessions < 2 || seconds <= 0 || prefill)
        {
            return;
        }

        double rate = emitted / seconds;
        int size = SizeClass(sessions);
        var r = _rates.GetValueOrDefault(size);
        _rates[size] = cap == 0
            ? r with { Ar = Blend(r.Ar, r.ArSeen, rate), ArSeen = r.ArSeen + 1 }
            : r with { Draft = Blend(r.Draft, r.DraftSeen, rate), DraftSeen = r.DraftSeen + 1 };

        static double Blend(double mean, int seen, double x) => mean + (x - mean) * Math.Max(RateWeight, 1.0 / (seen + 1));
    }

    private static int SizeClass(int sessions) => System.Numerics.BitOperations.Log2((uint)sessions);

    /// <summary>Emitted tokens per second measured at one batch size, with and without drafts, and how many forwards each mean holds.</summary>
    private readonly record struct MeasuredRates(double Ar, int ArSeen, double Draft, int DraftSeen);

    /// <summary>
    /// Records one session's verification: a chain draft of <paramref name="drafted"/> tokens of which
    /// <paramref name="accepted"/> were accepted, in a forward under <paramref name="cap"/> (the value
    /// <see cref="DepthCap"/> gave; <see cref="int.MaxValue"/> for none).
    /// </summary>
    public void Record(int drafted, int accepted, int cap = int.MaxValue)
    {
        if (drafted <= 0)
        {
            return;
        }

        _accepted.Record(drafted + 1, accepted);
        if (!_acceptedUnder.TryGetValue(cap, out var under))
        {
            _acceptedUnder[cap] = under = new ChainAcceptance();
        }

        under.Record(drafted + 1, accepted);
        if (under.Forwards >= CapMemory)
        {
            under.Halve();
        }

        _successes += accepted;
        _failures += accepted < drafted ? 1 : 0;
    }

    /// <summary>
    /// Expected emitted tokens of a forward verifying a window of <paramref name="window"/> tokens under
    /// <paramref name="cap"/>: once <see cref="MinCapDrafts"/> drafts were verified under that cap, what they accepted
    /// (the older half forgotten each time <see cref="CapMemory"/> are kept).
    /// A drafter kept under a cap drafts worse than one left whole (a Jacobi block refines only the guesses it verifies,
    /// so the ones past the cap go stale), and uncapped forwards would overrate it; before then, every forward seen.
    /// </summary>
    internal double Emitted(int window, int cap = int.MaxValue)
    {
        if (window <= 1)
        {
            return 1;
        }

        if (_acceptedUnder.TryGetValue(cap, out var under) && ChainAcceptance.Emitted(window, MinCapDrafts, under) is double capped)
        {
            return capped;
        }

        if (ChainAcceptance.Emitted(window, MinForwards, _accepted) is double measured)
        {
            return measured;
        }

        return ChainAcceptance.Geometric(_successes / (_successes + _failures), window);
    }

    /// <summary>cost(T) / cost(1) from the measured curve: linear between measured sizes and beyond the largest.</summary>
    internal double Cost(int tokens)
    {
        var (sizes, costs) = Curve();
        return ForwardCostCurve.Interpolate(sizes, costs, tokens);
    }

    /// <summary>
    /// The extra cost, in the curve's units, of <paramref name="tokens"/> new tokens attending over <paramref name="cached"/>
    /// shared slots: pairs × the attention share × what one more token costs at the curve's widest measured forward.
    /// </summary>
    internal double AttentionCost(int tokens, int cached)
    {
        if (_attentionShare <= 0 || cached <= 0)
        {
            return 0;
        }

        var (sizes, costs) = Curve();
        double perToken = sizes.Length > 1 ? Math.Max(0, (costs[^1] - costs[0]) / (sizes[^1] - sizes[0])) : costs[0];
        return (double)tokens * cached * _attentionShare * perToken;
    }

    /// <summary>
    /// Whether the curve is there to weigh drafts by: measured at once on first use, or (incremental) starting its
    /// measurement, which <see cref="MeasureStep"/> runs on, and false until it is done. A measurement that cannot
    /// start counts as failed: batches stay without drafts.
    /// </summary>
    private bool CurveReady()
    {
        if (_curve is not null)
        {
            return true;
        }

        if (_measure is not null)
        {
            Curve();                                                                       // measured at once, now
            return true;
        }

        if (_measurement is null && !_measurementFailed)
        {
            try
            {
                Volatile.Write(ref _measurement, _startMeasurement!());
            }
            catch (Exception)
            {
                _measurementFailed = true;
            }
        }

        return false;
    }

    /// <summary>The curve in the form <see cref="ForwardCostCurve.Interpolate"/> reads.</summary>
    private (int[] Sizes, double[] Costs) Curve()
    {
        if (_curve is null)
        {
            Use(_measure is not null ? _measure() : throw new InvalidOperationException("the forward-cost curve is not measured yet."));
        }

        return _curve!.Value;
    }

    /// <summary>Takes <paramref name="measured"/> as the curve (its non-decreasing hull) and makes the budget <see cref="Ready"/>.</summary>
    private void Use(IReadOnlyList<ForwardCost> measured)
    {
        _curve = Load(measured);
        Volatile.Write(ref _ready, true);
    }

    /// <summary>
    /// The measured curve, made non-decreasing (a wider forward never costs less; a curve measured on a busy machine can
    /// dip): the drafts are charged a difference of two costs, which must not come out negative.
    /// </summary>
    private static (int[] Sizes, double[] Costs) Load(IReadOnlyList<ForwardCost> curve)
    {
        var (sizes, costs) = ForwardCostCurve.Relative(curve);
        for (int i = 1; i < costs.Length; i++)
        {
            costs[i] = Math.Max(costs[i], costs[i - 1]);
        }

        return (sizes, costs);
    }
}
