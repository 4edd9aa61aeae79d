using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Jacobi decoding as a proposer. A block of n tokens starts with the pending token (known correct) and
/// n − 1 guesses. Each forward verifies the guesses: the prefix that matches the model's own predictions
/// is committed, and the model's predictions for the rest (the Jacobi update, conditioned on possibly
/// wrong tokens) become the next guesses. The block ends at its fixed point; the prediction after its
/// last token is the next block's first token, so no forward is spent on confirmation alone. It holds only its
/// guessing state; block trajectories and <see cref="JacobiStats"/> come from <see cref="JacobiBlockTracker"/>, an
/// observer of the loop.
/// </summary>
public sealed class JacobiProposer : IDraftProposer
{
    private readonly JacobiOptions _options;
    private readonly Func<BlockSizePolicy>? _policy;
    private readonly Random _random;

    // The active block: its length, its tokens known correct (committed + pending), its guesses.
    private bool _active;
    private int _blockLength;
    private readonly List<int> _known = new();
    private int[] _guesses = Array.Empty<int>();
    private int _iterations;

    /// <param name="options">The settings.</param>
    /// <param name="policy">With <see cref="JacobiOptions.AutoBlockSize"/>: the decoder's shared block-size policy.</param>
    public JacobiProposer(JacobiOptions options, Func<BlockSizePolicy>? policy = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = new Random(options.Seed);
        _policy = options.AutoBlockSize ? policy ?? (options.BlockSizePolicy is { } given ? () => given : throw new ArgumentException("AutoBlockSize needs a block-size policy.", nameof(policy))) : null;
    }

    public int MaxDraftTokens => (_policy is null ? _options.BlockSize : _policy().MaxBlockSize) - 1;

    public Draft Propose(IReadOnlyList<int> sequence, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (!_active)
        {
            StartBlock(sequence, Math.Min(_policy is null ? _options.BlockSize : _policy().Next(), maxDepth + 1));
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
        int accepted = outcome.AcceptedNodes.Count;
        _policy?.Invoke().RecordForward(_blockLength, outcome.Draft.Count + 1, outcome.Emitted.Count, firstOfBlock: _iterations == 1);

        // The pending token and the accepted guesses are now committed; the bonus token is the new pending one.
        for (int i = 0; i < accepted; i++)
        {
            _known.Add(_guesses[i]);
        }

        if (_known.Count >= _blockLength)
        {
            FinishBlock();                                                  // the bonus token opens the next block
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
    }

    /// <summary>Opens a block of <paramref name="length"/> tokens after <paramref name="sequence"/>, whose last token is the pending one.</summary>
    private void StartBlock(IReadOnlyList<int> sequence, int length)
    {
        _active = true;
        _blockLength = Math.Max(1, length);
        _known.Clear();
        _known.Add(sequence[^1]);
        _guesses = new int[_blockLength - 1];
        for (int i = 0; i < _guesses.Length; i++)
        {
            _guesses[i] = _options.InitialGuess == JacobiInitialGuess.RepeatFirst ? sequence[^1] : sequence[_random.Next(sequence.Count)];
        }

        _iterations = 0;
    }

    private void FinishBlock()
    {
        _active = false;
        _policy?.Invoke().RecordBlock(_blockLength);
    }
}
