using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// Chooses the Jacobi block size n at run time so that Jacobi is never slower than AR on the same engine:
/// n maximises expected tokens per unit of forward cost, E[tokens(n)] / cost(n), where cost comes from the
/// model's measured forward-cost curve (cost(1) = 1) and E from the acceptance seen so far. n = 1 (plain AR
/// steps) is chosen when no block beats AR. Shared by all requests of one decoder; thread-safe.
/// </summary>
/// <remarks>
/// Acceptance: a chain forward over w tokens (the pending token and w − 1 guesses) accepts the same prefix whatever
/// follows it, so every forward seen with at least w tokens tells what a w-token forward would have emitted:
/// 1 + E[min(A, w − 1)] over their accepted counts A, separately for a block's first forward (initial guesses) and
/// the others, pooled while one kind has too few. Windows larger than any seen use a geometric model, each guess
/// after an accepted one right with probability p, G(p, w) = (1 − pʷ) / (1 − p), p fitted to every forward (with a weak
/// prior, p = 0.5 for 4 forwards of 8). A block of n is simulated with that (its window shrinks as tokens are
/// committed) unless <see cref="MinObservedBlocks"/> blocks of n were seen, whose measured tokens per cost unit are used.
/// The first block is 16 (so that all smaller windows are measured); while AR is chosen, a block of the smallest
/// candidate above 1 is tried once every <see cref="ProbeInterval"/> steps, so that a change in acceptance is noticed;
/// while a block size is chosen, every <see cref="RunnerUpInterval"/>th block uses the runner-up, for the same reason.
/// </remarks>
internal sealed class BlockSizePolicy
{
    /// <summary>Blocks of one size after which their measured rate replaces the model's estimate.</summary>
    public const int MinObservedBlocks = 3;

    /// <summary>While AR is chosen, one probe block (of the smallest candidate above 1: one cheap forward) every this many steps.</summary>
    public const int ProbeInterval = 64;

    /// <summary>
    /// While a block size above 1 is chosen, every this many blocks one uses the runner-up instead, so that a rate measured
    /// early (the first requests carry no first-token guess) and then frozen, because another size won, keeps being updated.
    /// </summary>
    public const int RunnerUpInterval = 16;

    /// <summary>Forwards with at least w tokens needed before their acceptance replaces the geometric model at w.</summary>
    private const int MinObservedForwards = 4;

    /// <summary>The first block size explored (the largest candidate up to it): forwards at w inform every smaller window.</summary>
    private const int FirstBlockSize = 16;

    private const double PriorP = 0.5;
    private const int PriorWindow = 8;
    private const double PriorForwards = 4;

    private readonly object _lock = new();
    private readonly int[] _sizes;                   // candidate block sizes, ascending, starting with 1
    private readonly double[] _costs;                // cost(size) / cost(1)
    private readonly Dictionary<int, (double Forwards, double Emitted)> _windows = new();
    private readonly ChainAcceptance _acceptedFirst = new();          // first forwards of blocks (their initial guesses)
    private readonly ChainAcceptance _acceptedLater = new();          // the other forwards
    private readonly Dictionary<int, (int Blocks, double Tokens, double Cost)> _blocks = new();
    private int _draftedForwards;
    private int _arSteps;
    private int _blocksSinceRunnerUp;
    private int _changes;                            // drafted forwards and blocks recorded so far
    private int _choiceAt = -1;                      // _changes when _choice was computed
    private int _choice;

    /// <summary>Records between two re-evaluations of the choice in <see cref="Next"/> (a choice costs ~0.1 ms).</summary>
    private const int ChangesPerChoice = 8;

    /// <summary>A policy over a measured curve; its sizes (which must include 1) are the candidate block sizes.</summary>
    public BlockSizePolicy(IReadOnlyList<ForwardCost> curve)
    {
        (_sizes, _costs) = ForwardCostCurve.Relative(curve);
    }

    private static readonly ConditionalWeakTable<LlamaForCausalLM, BlockSizePolicy> PerModel = new();

    /// <summary>
    /// The policy of <paramref name="model"/>, shared by all its auto-block Jacobi decoders (and so by their requests):
    /// the curve is measured on the first call, and acceptance accumulates across requests.
    /// </summary>
    public static BlockSizePolicy For(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (PerModel)
        {
            if (!PerModel.TryGetValue(model, out var policy))
            {
                policy = Measure(model);
                PerModel.Add(model, policy);
            }

            return policy;
        }
    }

    /// <summary>Measures a cheap forward-cost curve of <paramref name="model"/> (T = 1, 2, 4, 8, 16, 32; about 10 rounds) and builds the policy.</summary>
    public static BlockSizePolicy Measure(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        int context = model.Config.MaxPositionEmbeddings;
        var sizes = new[] { 1, 2, 4, 8, 16, 32 }.Where(s => s < context / 2 || s == 1).ToArray();
        int past = Math.Min(64, context / 2);
        return new BlockSizePolicy(ForwardCostCurve.Measure(model, sizes, past: past, rounds: 10, warmup: 3));
    }

    /// <summary>Whether any block forward has been recorded (before that, choices rest on the prior alone).</summary>
    public bool Measured
    {
        get
        {
            lock (_lock)
            {
                return _draftedForwards > 0;
            }
        }
    }

    /// <summary>The largest block size the policy may choose.</summary>
    public int MaxBlockSize => _sizes[^1];

    /// <summary>The candidate block sizes (the curve's sizes).</summary>
    public IReadOnlyList<int> Candidates => _sizes;

    /// <summary>The fitted probability that a guess right after an accepted token is accepted.</summary>
    public double AcceptanceProbability
    {
        get
        {
            lock (_lock)
            {
                return FitP();
            }
        }
    }

    /// <summary>The block size for the next block: <see cref="Choose"/>, exploring and probing as described above.</summary>
    public int Next()
    {
        lock (_lock)
        {
            if (_draftedForwards == 0)
            {
                return _sizes.Where(n => n <= FirstBlockSize).Max();                      // explore: measures every window up to it
            }

            if (_choiceAt < 0 || _changes - _choiceAt >= ChangesPerChoice)
            {
                _choice = ChooseLocked();
                _choiceAt = _changes;
            }

            if (_choice > 1)
            {
                _arSteps = 0;
                if (++_blocksSinceRunnerUp >= RunnerUpInterval)
                {
                    _blocksSinceRunnerUp = 0;
                    return RunnerUpLocked();
                }

                return _choice;
            }

            if (++_arSteps >= ProbeInterval)
            {
                _arSteps = 0;
                return _sizes.FirstOrDefault(n => n > 1, 1);
            }

            return 1;
        }
    }

    /// <summary>The block size with the most expected tokens per unit of cost now, 1 when no block beats AR.</summary>
    public int Choose()
    {
        lock (_lock)
        {
            return ChooseLocked();
        }
    }

    /// <summary>Expected tokens per unit of forward cost (a 1-token forward = 1) for blocks of <paramref name="n"/>; AR is 1.</summary>
    public double ExpectedRate(int n)
    {
        lock (_lock)
        {
            return Rate(n, FitP());
        }
    }

    /// <summary>
    /// One forward of a block of <paramref name="blockLength"/>: <paramref name="window"/> tokens fed, <paramref name="emitted"/>
    /// committed; <paramref name="firstOfBlock"/> when its guesses are the block's initial ones (they are accepted less often).
    /// <paramref name="prefillTokens"/> &gt; 0 when the block rode on a prefill of that many prompt tokens (the last one
    /// being the window's pending token): the block is then charged only what its guesses added to that forward,
    /// cost(prompt + window − 1) − cost(prompt), not a forward of its own.
    /// </summary>
    public void RecordForward(int blockLength, int window, int emitted, bool firstOfBlock = false, int prefillTokens = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(emitted, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(prefillTokens);
        lock (_lock)
        {
            if (window > 1)
            {
                var (forwards, total) = _windows.GetValueOrDefault(window);
                _windows[window] = (forwards + 1, total + Math.Min(emitted, window));
                (firstOfBlock ? _acceptedFirst : _acceptedLater).Record(window, Math.Min(emitted, window) - 1);

                _draftedForwards++;
                _changes++;
            }

            var (blocks, tokens, cost) = _blocks.GetValueOrDefault(blockLength);
            double charged = prefillTokens > 0 ? Math.Max(0, Cost(prefillTokens + window - 1) - Cost(prefillTokens)) : Cost(window);
            _blocks[blockLength] = (blocks, tokens + emitted, cost + charged);
        }
    }

    /// <summary>A block of <paramref name="blockLength"/> ended (its forwards were recorded).</summary>
    public void RecordBlock(int blockLength)
    {
        lock (_lock)
        {
            var (blocks, tokens, cost) = _blocks.GetValueOrDefault(blockLength);
            _blocks[blockLength] = (blocks + 1, tokens, cost);
            _changes += blockLength > 1 ? 1 : 0;
        }
    }

    private int ChooseLocked()
    {
        double p = FitP();
        int best = 1;
        double bestRate = Rate(1, p);
        foreach (int n in _sizes)
        {
            double rate = Rate(n, p);
            if (rate > bestRate * (1 + 1e-9))
            {
                best = n;
                bestRate = rate;
            }
        }

        return best;
    }

    /// <summary>The block size above 1 with the best rate other than the current choice (the choice when it is the only one).</summary>
    private int RunnerUpLocked()
    {
        double p = FitP();
        var others = _sizes.Where(n => n > 1 && n != _choice).ToArray();
        return others.Length == 0 ? _choice : others.MaxBy(n => Rate(n, p));
    }

    /// <summary>Tokens per cost unit of blocks of n: measured when enough blocks were seen, else simulated.</summary>
    private double Rate(int n, double p)
    {
        if (n <= 1)
        {
            return 1 / Cost(1);
        }

        if (_blocks.TryGetValue(n, out var seen) && seen.Blocks >= MinObservedBlocks && seen.Cost > 0)
        {
            return seen.Tokens / seen.Cost;
        }

        // Expected-value simulation: the window is the uncommitted rest of the block (pending token + guesses).
        double remaining = n, cost = 0;
        bool first = true;
        while (remaining > 1e-9)
        {
            int window = (int)Math.Ceiling(remaining - 1e-9);
            cost += Cost(window);
            var own = first ? _acceptedFirst : _acceptedLater;
            remaining -= Math.Min(remaining, ChainAcceptance.Emitted(window, MinObservedForwards, own)
                ?? ChainAcceptance.Emitted(window, MinObservedForwards, _acceptedFirst, _acceptedLater)
                ?? ChainAcceptance.Geometric(p, window));
            first = false;
        }

        return n / cost;
    }

    /// <summary>p such that the model's expected tokens over every observed drafted forward (and the prior) equal the observed ones.</summary>
    private double FitP()
    {
        double Excess(double p)
        {
            double expected = PriorForwards * ChainAcceptance.Geometric(p, PriorWindow), observed = PriorForwards * ChainAcceptance.Geometric(PriorP, PriorWindow);
            foreach (var (window, (forwards, emitted)) in _windows)
            {
                expected += forwards * ChainAcceptance.Geometric(p, window);
                observed += emitted;
            }

            return expected - observed;
        }

        double lo = 0, hi = 0.999;
        for (int i = 0; i < 50; i++)
        {
            double mid = (lo + hi) / 2;
            if (Excess(mid) > 0)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return (lo + hi) / 2;
    }

    /// <summary>cost(w) / cost(1), linear between measured sizes and beyond the largest.</summary>
    private double Cost(int window) => ForwardCostCurve.Interpolate(_sizes, _costs, window);
}
