using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm;

/// <summary>
/// A measurement of <see cref="ForwardCostCurve"/> that times one size per <see cref="Step"/>, so that its owner can
/// spread it between other work: the engine's decode thread measures its batch budget's curve between the forwards of
/// the requests it serves, and while idle, instead of stalling them for the whole measurement. It owns a KV cache of its
/// own (past + the largest size), released when the measurement ends or is disposed; every forward runs in a dispose
/// scope. Sizes are shuffled inside each round, and each size's cost is the median of its per-round ratios to T = 1.
/// Run all at once, a round's forwards are back to back, so machine noise hits every size alike; spread out, they are
/// not, so a spread-out measurement is <c>paired</c>: each size's ratio is to a T = 1 forward timed right before it.
/// </summary>
internal sealed class ForwardCostMeasurement : IDisposable
{
    private readonly LlamaForCausalLM _model;
    private readonly int[] _sizes;
    private readonly int _past;
    private readonly int _rounds;
    private readonly int _warmup;
    private readonly Random _random = new(0);
    private readonly Dictionary<int, long[]> _inputs;
    private readonly Dictionary<int, List<double>> _times;
    private readonly Dictionary<int, List<double>> _ratios;
    private readonly Dictionary<int, double> _thisRound = new();
    private readonly Dictionary<int, double> _pairedOne = new();                          // per size: the T = 1 forward timed just before it
    private readonly bool _paired;
    private KvCache? _cache;
    private int[] _order = [];
    private int _round = -1;                                                               // −1: the past is not cached yet
    private int _next;
    private IReadOnlyList<ForwardCost>? _result;
    private bool _disposed;

    /// <param name="model">The model to time.</param>
    /// <param name="sizes">Forward sizes T to measure; must include 1, the reference.</param>
    /// <param name="past">Tokens cached before every timed forward.</param>
    /// <param name="rounds">Timed rounds (every size once per round).</param>
    /// <param name="warmup">Untimed rounds first.</param>
    /// <param name="paired">
    /// Time a T = 1 forward right before each larger size and take the ratio to that one, not to the round's: for a
    /// measurement spread over seconds of other work, where a round's forwards are not back to back.
    /// </param>
    public ForwardCostMeasurement(LlamaForCausalLM model, IReadOnlyList<int> sizes, int past, int rounds, int warmup, bool paired = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sizes);
        if (!sizes.Contains(1))
        {
            throw new ArgumentException("the sizes must include 1, the reference.", nameof(sizes));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfNegative(past);
        _model = model;
        _sizes = sizes.Distinct().ToArray();
        _past = past;
        _paired = paired;
        _rounds = rounds;
        _warmup = warmup;
        _inputs = _sizes.ToDictionary(s => s, RandomIds);
        _times = _sizes.ToDictionary(s => s, _ => new List<double>());
        _ratios = _sizes.ToDictionary(s => s, _ => new List<double>());
    }

    /// <summary>Whether every forward has run: <see cref="Result"/> is ready.</summary>
    public bool Done => _result is not null;

    /// <summary>The measured curve, one entry per size in the order given.</summary>
    public IReadOnlyList<ForwardCost> Result => _result ?? throw new InvalidOperationException("the measurement has not finished.");

    /// <summary>Runs the next forward of the measurement (first the cached past, then one size of one round, after its T = 1 forward when paired); returns <see cref="Done"/>.</summary>
    public bool Step()
    {
        if (_result is not null)
        {
            return true;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_round < 0)
        {
            _cache = _model.CreateCache(_past + _sizes.Max() + 1);
            if (_past > 0)
            {
                using var scope = NewDisposeScope();
                using var grad = no_grad();
                _model.Forward(tensor(RandomIds(_past), device: _model.Device).view(1, _past), _cache, lastPositions: 1);
            }

            StartRound(0);
            return false;
        }

        int size = _order[_next++];
        if (_paired && size != 1)
        {
            _pairedOne[size] = TimeForward(1);
        }

        _thisRound[size] = TimeForward(size);

        if (_next < _order.Length)
        {
            return false;
        }

        if (_round >= _warmup)
        {
            foreach (int s in _sizes)
            {
                _times[s].Add(_thisRound[s]);
                _ratios[s].Add(_thisRound[s] / (_paired && s != 1 ? _pairedOne[s] : _thisRound[1]));
            }
        }

        if (_round + 1 < _warmup + _rounds)
        {
            StartRound(_round + 1);
            return false;
        }

        _result = _sizes.Select(s => new ForwardCost(s, Median(_times[s]), Median(_ratios[s]))).ToList();
        ReleaseCache();
        return true;
    }

    /// <summary>Releases the measurement's cache (on the thread that ran it); an unfinished measurement cannot go on.</summary>
    public void Dispose()
    {
        _disposed = true;
        ReleaseCache();
    }

    /// <summary>One timed forward of <paramref name="size"/> tokens after the cached past, in its own dispose scope; the cache is cut back after it.</summary>
    private double TimeForward(int size)
    {
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var ids = tensor(_inputs[size], device: _model.Device).view(1, size);
        var clock = Stopwatch.StartNew();
        var logits = _model.Forward(ids, _cache!);
        _ = logits.topk(2, dim: -1);                                                           // what a decode step reads
        clock.Stop();
        _cache!.TruncateTo(_past);
        return clock.Elapsed.TotalMilliseconds;
    }

    private void StartRound(int round)
    {
        _round = round;
        _next = 0;
        _order = _sizes.OrderBy(_ => _random.Next()).ToArray();
        _thisRound.Clear();
    }

    private void ReleaseCache()
    {
        _cache?.Dispose();
        _cache = null;
    }

    private long[] RandomIds(int n) => Enumerable.Range(0, n).Select(_ => (long)_random.Next(_model.Config.VocabSize)).ToArray();

    /// <summary>The median of timings (the mean of the middle two for an even count); the benchmarks use it too.</summary>
    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
