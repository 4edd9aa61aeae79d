using System;
using System.Collections.Generic;
using Cllm.Drafting;

namespace Cllm.Jacobi;

/// <summary>
/// Jacobi decoding as a proposer. A block of n tokens starts with the pending token (known correct) and
/// n − 1 guesses. Each forward verifies the guesses: the prefix that matches the model's own predictions
/// is committed, and the model's predictions for the rest (the Jacobi update, conditioned on possibly
/// wrong tokens) become the next guesses. The block ends at its fixed point; the prediction after its
/// last token is the next block's first token, so no forward is spent on confirmation alone.
/// </summary>
public sealed class JacobiProposer : IDraftProposer
{
    private readonly JacobiOptions _options;
    private readonly Func<BlockSizePolicy>? _policy;
    private readonly List<int> _context = new();
    private readonly List<int> _blockIterations = new();
    private Random _random = new(0);

    // The active block: its length, its tokens known correct (committed + pending), its guesses and trajectory.
    private bool _active;
    private int _blockIndex;
    private int _blockLength;
    private int[] _contextAtStart = Array.Empty<int>();
    private readonly List<int> _known = new();
    private int[] _guesses = Array.Empty<int>();
    private readonly List<int[]> _states = new();
    private int _iterations;
    private double _fastForwardSum;
    private int _fastForwardBlocks;
    private int _stationary;

    /// <param name="options">The settings.</param>
    /// <param name="policy">With <see cref="JacobiOptions.AutoBlockSize"/>: the decoder's shared block-size policy.</param>
    public JacobiProposer(JacobiOptions options, Func<BlockSizePolicy>? policy = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _policy = options.AutoBlockSize ? policy ?? (options.BlockSizePolicy is { } given ? () => given : throw new ArgumentException("AutoBlockSize needs a block-size policy.", nameof(policy))) : null;
    }

    public int MaxDraftTokens => (_policy is null ? _options.BlockSize : _policy().MaxBlockSize) - 1;

    public void Begin(IReadOnlyList<int> promptIds, int firstToken)
    {
        _context.Clear();
        _context.AddRange(promptIds);
        _context.Add(firstToken);
        _random = new Random(_options.Seed);
        _blockIterations.Clear();
        _active = false;
        _blockIndex = 0;
        _fastForwardSum = 0;
        _fastForwardBlocks = 0;
        _stationary = 0;
    }

    public Draft Propose(int pending, int maxDepth)
    {
        if (!_active)
        {
            StartBlock(pending, Math.Min(_policy is null ? _options.BlockSize : _policy().Next(), maxDepth + 1));
        }

        if (_guesses.Length > maxDepth)
        {
            _guesses = _guesses[..Math.Max(0, maxDepth)];
        }

        return Draft.Chain(_guesses);
    }

    public void Observe(VerifyOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        _iterations++;
        _context.AddRange(outcome.Emitted);
        int accepted = outcome.AcceptedNodes.Count;
        _policy?.Invoke().RecordForward(_blockLength, outcome.Draft.Count + 1, outcome.Emitted.Count, firstOfBlock: _iterations == 1);

        // The pending token and the accepted guesses are now committed; the bonus token is the new pending one.
        for (int i = 0; i < accepted; i++)
        {
            _known.Add(_guesses[i]);
        }

        if (_known.Count >= _blockLength)
        {
            FinishBlock(complete: true);                                                  // the bonus token opens the next block
            return;
        }

        _known.Add(outcome.Emitted[^1]);
        int remaining = _blockLength - _known.Count;
        var next = new int[remaining];
        for (int j = 0; j < remaining; j++)
        {
            next[j] = outcome.Predictions[1 + accepted + j];                              // prediction after guess (accepted + j)
        }

        _guesses = next;
        RecordState();
    }

    public void Report(DecodeStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        if (_active && _iterations > 0)
        {
            FinishBlock(complete: false);
        }

        stats.BlockIterations = _blockIterations.ToArray();
        stats.FastForwarded = _fastForwardBlocks == 0 ? 0 : _fastForwardSum / _fastForwardBlocks;
        stats.Stationary = _stationary;
    }

    private void StartBlock(int pending, int length)
    {
        _active = true;
        _blockLength = Math.Max(1, length);
        _contextAtStart = _context.GetRange(0, _context.Count - 1).ToArray();            // without the pending token
        _known.Clear();
        _known.Add(pending);
        _guesses = new int[_blockLength - 1];
        for (int i = 0; i < _guesses.Length; i++)
        {
            _guesses[i] = _options.InitialGuess == JacobiInitialGuess.RepeatFirst ? pending : _context[_random.Next(_context.Count)];
        }

        _states.Clear();
        _iterations = 0;
        RecordState();
    }

    /// <summary>Appends the block's current state (known tokens + guesses) unless it repeats the last one.</summary>
    private void RecordState()
    {
        var state = new int[_known.Count + _guesses.Length];
        _known.CopyTo(state);
        _guesses.CopyTo(state, _known.Count);
        if (_states.Count == 0 || !_states[^1].AsSpan().SequenceEqual(state))
        {
            _states.Add(state);
        }
    }

    private void FinishBlock(bool complete)
    {
        _active = false;
        _blockIterations.Add(_iterations);
        if (complete)
        {
            _policy?.Invoke().RecordBlock(_blockLength);
        }

        var fixedPoint = complete ? _known.GetRange(0, _blockLength).ToArray() : _known.ToArray();
        var states = new List<int[]>(_states.Count + 1);
        foreach (var s in _states)
        {
            states.Add(s[..fixedPoint.Length]);
        }

        if (!states[^1].AsSpan().SequenceEqual(fixedPoint))
        {
            states.Add(fixedPoint);
        }

        _fastForwardSum += TrajectoryMetrics.FastForwarded(states);
        _fastForwardBlocks++;
        _stationary += TrajectoryMetrics.Stationary(states);
        _options.Observer?.OnBlock(new JacobiTrajectory(_blockIndex++, _contextAtStart, states, complete));
    }
}
