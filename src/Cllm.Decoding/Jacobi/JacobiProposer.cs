using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Jacobi decoding as a proposer. A block of n tokens starts with the pending token (known correct) and
/// n − 1 guesses. Each forward verifies the guesses: the prefix that matches the model's own predictions
/// is committed, and the model's predictions for the rest (the Jacobi update, conditioned on possibly
/// wrong tokens) become the next guesses. The block ends at its fixed point; the prediction after its
/// last token is the next block's first token, so no forward is spent on confirmation alone. It holds only its
/// guessing state; block trajectories and block statistics come from <see cref="JacobiBlockTracker"/>, an
/// observer of the loop.
/// <para>
/// At prefill. The first block can ride on the prefill forward, starting at the prompt's last token, but only with a
/// guess for the first generated token: a consistency-trained model fast-forwards from random guesses once the block's
/// first token is right, not when it too is a guess. The guess is the most frequent first token of the earlier greedy
/// requests of the same decoder (<see cref="JacobiFirstTokens"/>, shared by the proposers that
/// <see cref="DecoderOptions.CreateDecoder"/> builds); without one, the prompt is prefilled alone. When the guess is
/// rejected, the block's later guesses are drawn afresh (the model's predictions after a wrong first token are not
/// the state it was trained to fast-forward from).
/// </para>
/// </summary>
internal sealed class JacobiProposer : IDraftProposer
{
    private readonly JacobiOptions _options;
    private readonly Func<BlockSizePolicy>? _policy;
    private readonly JacobiFirstTokens? _firstTokens;
    private readonly Random _random;
    private int _promptLength = -1;                                         // set at prefill: where the first generated token lands
    private bool _guessedAtPrefill;                                         // the active block's first forward is the prefill

    // The active block: its length, its tokens known correct (committed + pending), its guesses.
    private bool _active;
    private int _blockLength;
    private readonly List<int> _known = new();
    private int[] _guesses = Array.Empty<int>();
    private int _iterations;

    /// <param name="options">The settings.</param>
    /// <param name="policy">With <see cref="JacobiOptions.AutoBlockSize"/>: the decoder's shared block-size policy.</param>
    public JacobiProposer(JacobiOptions options, Func<BlockSizePolicy>? policy = null)
        : this(options, policy, firstTokens: null)
    {
    }

    /// <param name="options">The settings.</param>
    /// <param name="policy">With <see cref="JacobiOptions.AutoBlockSize"/>: the decoder's shared block-size policy.</param>
    /// <param name="firstTokens">The decoder's shared first-token memory, or null (no draft at prefill).</param>
    internal JacobiProposer(JacobiOptions options, Func<BlockSizePolicy>? policy, JacobiFirstTokens? firstTokens)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _firstTokens = firstTokens;
        _random = new Random(options.Seed);
        _policy = options.AutoBlockSize ? policy ?? throw new ArgumentException("AutoBlockSize needs a block-size policy.", nameof(policy)) : null;
    }

    public int MaxDraftTokens => (_policy is null ? _options.BlockSize : _policy().MaxBlockSize) - 1;

    public Draft Propose(IReadOnlyList<int> sequence, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (!_active)
        {
            StartBlock(sequence, Math.Min(_policy is null ? _options.BlockSize : _policy().Next(), maxDepth + 1));
        }

        return Drafted(maxDepth);
    }

    /// <summary>
    /// The first <paramref name="maxDepth"/> guesses as a chain. A batch may cap a block's draft below its guesses; the
    /// undrafted guesses are kept, and <see cref="Observe"/> updates only the drafted ones.
    /// </summary>
    private Draft Drafted(int maxDepth)
        => Draft.Chain(_guesses.Length > maxDepth ? _guesses[..Math.Max(0, maxDepth)] : _guesses);

    public Draft ProposeAtPrefill(IReadOnlyList<int> prompt, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        _promptLength = prompt.Count;
        if (_firstTokens?.Guess is not int first || maxDepth < 1)
        {
            return Draft.Empty;
        }

        var draft = Propose(prompt, maxDepth);
        if (draft.Count == 0)
        {
            _active = false;                                                // a block of 1 (AR chosen): it starts after the prefill
            return draft;
        }

        _guesses[0] = first;
        _guessedAtPrefill = true;
        return Drafted(maxDepth);
    }

    public void Observe(VerifyOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        int prompt = _promptLength;
        if (prompt >= 0)
        {
            _firstTokens?.Record(outcome.Sequence[prompt]);
            _promptLength = -1;
        }

        bool guessedAtPrefill = _guessedAtPrefill;
        _guessedAtPrefill = false;
        _iterations++;
        int accepted = outcome.AcceptedNodes.Count;
        _policy?.Invoke().RecordForward(_blockLength, outcome.Draft.Count + 1, outcome.Emitted.Count, firstOfBlock: _iterations == 1,
            prefillTokens: guessedAtPrefill ? prompt : 0);

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
        bool redraw = guessedAtPrefill && accepted == 0;                                 // the first-token guess was wrong
        for (int j = 0; j < remaining; j++)
        {
            int after = 1 + accepted + j;                                                  // the prediction after guess (accepted + j), when it was drafted
            next[j] = redraw ? Guess(outcome.Sequence) : after < outcome.Predictions.Count ? outcome.Predictions[after] : _guesses[accepted + 1 + j];
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
            _guesses[i] = Guess(sequence);
        }

        _iterations = 0;
    }

    /// <summary>An initial guess after <paramref name="sequence"/>, whose last token is the pending one.</summary>
    private int Guess(IReadOnlyList<int> sequence)
        => _options.InitialGuess == JacobiInitialGuess.RepeatFirst ? sequence[^1] : sequence[_random.Next(sequence.Count)];

    private void FinishBlock()
    {
        _active = false;
        _policy?.Invoke().RecordBlock(_blockLength);
    }
}
