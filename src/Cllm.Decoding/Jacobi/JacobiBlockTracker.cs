using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Follows the Jacobi blocks of one request from the loop's verification outcomes: a block opens with the pending token
/// and a chain draft of its n − 1 guesses, each forward commits the accepted guesses, and the block is complete once n
/// tokens are known. Reports every block's trajectory (y(0) … y*) to <c>onBlock</c> and, when the request ends, sets
/// <see cref="DecodeStats.BlockIterations"/> (an unfinished last block counts as an incomplete block).
/// </summary>
internal sealed class JacobiBlockTracker : IDecodeObserver
{
    private readonly Action<JacobiTrajectory>? _onBlock;
    private readonly List<int> _blockIterations = new();
    private readonly List<int> _known = new();                                           // the block's tokens known correct
    private readonly List<int[]> _states = new();
    private bool _open;
    private int _blockIndex;
    private int _blockLength;
    private int _iterations;
    private int[] _context = Array.Empty<int>();
    private double _fastForwardSum;
    private int _stationary;

    /// <param name="onBlock">Receives every block's trajectory as it ends, in order.</param>
    public JacobiBlockTracker(Action<JacobiTrajectory>? onBlock = null) => _onBlock = onBlock;

    /// <inheritdoc />
    public void OnVerified(VerifyOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var draft = outcome.Draft;
        var sequence = outcome.Sequence;
        int before = sequence.Count - outcome.Emitted.Count;                             // tokens up to the pending one
        if (!_open)
        {
            _open = true;
            _blockLength = 1 + draft.Count;
            _context = new int[before - 1];
            for (int i = 0; i < _context.Length; i++)
            {
                _context[i] = sequence[i];
            }

            _known.Clear();
            _known.Add(sequence[before - 1]);
            _states.Clear();
            _iterations = 0;
        }

        // The state this forward verified: the known tokens and the guesses after them (a repeat is not a new state).
        var state = new int[_known.Count + draft.Count];
        _known.CopyTo(state);
        for (int i = 0; i < draft.Count; i++)
        {
            state[_known.Count + i] = draft.Tokens[i];
        }

        if (_states.Count == 0 || !_states[^1].AsSpan().SequenceEqual(state))
        {
            _states.Add(state);
        }

        _iterations++;
        foreach (var node in outcome.AcceptedNodes)
        {
            _known.Add(draft.Tokens[node]);
        }

        if (_known.Count >= _blockLength)
        {
            Finish(complete: true);                                                       // the bonus token opens the next block
            return;
        }

        _known.Add(outcome.Emitted[^1]);
    }

    /// <inheritdoc />
    public void OnFinished(DecodeStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        if (_open)
        {
            Finish(complete: false);
        }

        stats.BlockIterations = _blockIterations.ToArray();
        stats.FastForwarded = _blockIterations.Count == 0 ? 0 : _fastForwardSum / _blockIterations.Count;
        stats.Stationary = _stationary;
    }

    private void Finish(bool complete)
    {
        _open = false;
        _blockIterations.Add(_iterations);
        var fixedPoint = complete ? _known.GetRange(0, _blockLength).ToArray() : _known.ToArray();
        int length = fixedPoint.Length;
        foreach (var s in _states)
        {
            length = Math.Min(length, s.Length);                                          // a draft cut short by the token budget
        }

        var states = new List<int[]>(_states.Count + 1);
        foreach (var s in _states)
        {
            states.Add(s[..length]);
        }

        fixedPoint = fixedPoint[..length];
        if (!states[^1].AsSpan().SequenceEqual(fixedPoint))
        {
            states.Add(fixedPoint);
        }

        _fastForwardSum += TrajectoryMetrics.FastForwarded(states);
        _stationary += TrajectoryMetrics.Stationary(states);
        _onBlock?.Invoke(new JacobiTrajectory(_blockIndex++, _context, states, complete));
    }
}
