using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Multiblock Jacobi decoding with rejection recycling (Jacobi Forcing's inference) as a proposer. Blocks of n tokens
/// tile the output from the first block's start; up to K of them are in flight as one chain after the pending token.
/// The first, real block is verified for real: its matching prefix commits, its other tokens get the Jacobi update (the
/// model's prediction after the token before each). The later, pseudo blocks iterate under the real block's still-noisy
/// tokens: each keeps a frozen prefix (its first token, taken as given, plus the tokens that matched the model's
/// predictions under that noisy prefix) and Jacobi-updates the rest. A pseudo block is promoted, and so re-verified, for
/// free: the chain continues into it, so once the real block is right the verifier accepts into the next block's tokens
/// as far as they are right too. A new block opens behind the newest once that one has ⌈r·n⌉ tokens accepted (its first
/// token the model's prediction after the chain's end, the rest initial guesses).
/// <para>
/// Rejection recycling: after each forward with a rejection, the drafted chain and the model's predictions after the
/// first rejected token enter a pool of P sequences (<see cref="RejectionPool"/>); what followed the pending token in
/// each becomes a candidate branch of the draft tree (shared prefixes merged), verified in the same forward. Under
/// greedy decoding every accepted token is the model's own argmax, so the output is AR's; under sampling the drafts are
/// deterministic and <see cref="TreeVerifier"/> keeps the distribution exact.
/// </para>
/// <para>
/// At prefill, as <see cref="JacobiProposer"/>: with a first-token guess from earlier greedy requests, the first block
/// rides on the prefill forward; when the guess is rejected, the block's later guesses are drawn afresh.
/// </para>
/// </summary>
internal sealed class MultiblockProposer : IDraftProposer
{
    private readonly MultiblockOptions _options;
    private readonly JacobiFirstTokens? _firstTokens;
    private readonly RejectionPool _pool;
    private readonly Random _random;
    private readonly int _spawnAt;                                                   // ⌈r·n⌉
    private int _promptLength = -1;                                                  // set at prefill: where the first generated token lands
    private bool _guessedAtPrefill;

    // The chain after the pending token: the real block's uncommitted tokens, then each pseudo block's n tokens.
    // Invariant while active: _chain.Count == _realStart + n·(1 + _frozen.Count) − sequence.Count.
    private bool _active;
    private int _realStart;                                                          // sequence index of the real block's first token
    private readonly List<int> _chain = new();
    private readonly List<int> _frozen = new();                                      // per pseudo block: its frozen prefix length
    private int _drafted;                                                            // chain tokens in the last draft (the draft's nodes 0.._drafted − 1)

    /// <param name="options">The settings (not auto: resolved by <see cref="DecoderOptions.CreateDecoder"/>).</param>
    /// <param name="firstTokens">The decoder's shared first-token memory, or null (no draft at prefill).</param>
    public MultiblockProposer(MultiblockOptions options, JacobiFirstTokens? firstTokens = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Auto)
        {
            throw new ArgumentException("auto multiblock settings must be resolved against a model first (MultiblockPlan).", nameof(options));
        }

        _options = options;
        _firstTokens = firstTokens;
        _pool = new RejectionPool(options.PoolSize);
        _random = new Random(options.Seed);
        _spawnAt = Math.Clamp((int)Math.Ceiling(options.SpawnRatio * options.BlockSize - 1e-9), 1, options.BlockSize);
    }

    public int MaxDraftTokens => _options.MaxDraftTokens;

    private int N => _options.BlockSize;

    public Draft Propose(IReadOnlyList<int> sequence, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (!_active)
        {
            StartRealBlock(sequence);
        }

        // The chain, no deeper than allowed: token i continues token i − 1 (node i = chain index i).
        _drafted = Math.Min(_chain.Count, Math.Max(0, maxDepth));
        var tokens = new List<int>(_drafted);
        var parents = new List<int>(_drafted);
        var children = new Dictionary<(int Parent, int Token), int>();
        for (int i = 0; i < _drafted; i++)
        {
            tokens.Add(_chain[i]);
            parents.Add(i - 1);
            children[(i - 1, _chain[i])] = i;
        }

        // Recycled candidates for the pending token, merged into the tree where they share a prefix with it.
        foreach (var candidate in _pool.Candidates(sequence[^1], Math.Min(N - 1, maxDepth)))
        {
            int parent = -1;
            foreach (int token in candidate)
            {
                if (!children.TryGetValue((parent, token), out int node))
                {
                    tokens.Add(token);
                    parents.Add(parent);
                    node = tokens.Count - 1;
                    children[(parent, token)] = node;
                }

                parent = node;
            }
        }

        return new Draft(tokens, parents);
    }

    public Draft ProposeAtPrefill(IReadOnlyList<int> prompt, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        _promptLength = prompt.Count;
        if (_firstTokens?.Guess is not int first || maxDepth < 1)
        {
            return Draft.Empty;
        }

        StartRealBlock(prompt);
        _chain[0] = first;
        _guessedAtPrefill = true;
        return Propose(prompt, maxDepth);
    }

    public void Observe(VerifyOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (_promptLength >= 0)
        {
            _firstTokens?.Record(outcome.Sequence[_promptLength]);
            _promptLength = -1;
        }

        bool guessedAtPrefill = _guessedAtPrefill;
        _guessedAtPrefill = false;
        var predictions = outcome.Predictions;                                      // [j]: the model's token after chain token j − 1 (j ≤ _drafted)
        int emitted = outcome.Emitted.Count;
        int length = outcome.Sequence.Count;                                        // the new pending token is the last
        int before = length - emitted;                                              // sequence length when the draft was proposed
        int onChain = 0;                                                            // accepted tokens that are the chain's own
        while (onChain < outcome.AcceptedNodes.Count && outcome.AcceptedNodes[onChain] == onChain)
        {
            onChain++;
        }

        // Recycle what the chain got wrong: its drafted tokens, and the model's predictions after the first rejected one.
        if (onChain < _drafted)
        {
            _pool.Add(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_chain)[.._drafted]);
            var after = new int[_drafted - onChain];
            for (int j = 0; j < after.Length; j++)
            {
                after[j] = predictions[onChain + 1 + j];
            }

            _pool.Add(after);
        }

        // The Jacobi update of the drafted chain, each pseudo block keeping its frozen prefix.
        int realGuesses = _realStart + N - before;                                  // chain tokens of the real block
        var updated = new int[_chain.Count];
        for (int j = 0; j < updated.Length; j++)
        {
            updated[j] = j < _drafted ? predictions[j] : _chain[j];
        }

        for (int b = 0; b < _frozen.Count; b++)
        {
            int first = realGuesses + b * N;                                        // chain index of the block's first token
            int frozen = _frozen[b];
            if (first + frozen < _drafted)
            {
                frozen++;                                                           // the block's next token was taken as given
                while (frozen < N && first + frozen < _drafted && _chain[first + frozen] == predictions[first + frozen])
                {
                    frozen++;                                                       // it matched the prediction under the noisy prefix
                }
            }

            for (int i = 0; i < frozen; i++)
            {
                updated[first + i] = _chain[first + i];
            }

            _frozen[b] = frozen;
        }

        // A new block's first token: the prediction after the chain's last token, while that token is still ahead.
        int? next = _chain.Count > 0 && _chain.Count <= _drafted && emitted <= _chain.Count ? predictions[_chain.Count] : null;

        // Drop the emitted positions; blocks the pending token has moved past are done, the next one is promoted to real.
        _chain.Clear();
        for (int j = emitted; j < updated.Length; j++)
        {
            _chain.Add(updated[j]);
        }

        while (length - 1 >= _realStart + N)
        {
            _realStart += N;
            if (_frozen.Count == 0)
            {
                _active = false;                                                    // nothing in flight: the next block starts at the pending token
                _chain.Clear();
                return;
            }

            _frozen.RemoveAt(0);                                                    // promoted: its tokens are now verified for real
        }

        // The real block's prefill guess was wrong: the model's predictions after it are no starting point; draw afresh.
        if (guessedAtPrefill && onChain == 0)
        {
            for (int j = 0; j < _realStart + N - length; j++)
            {
                _chain[j] = Guess(outcome.Sequence);
            }
        }

        // Open a new block behind the newest once that one is far enough.
        int progress = _frozen.Count > 0 ? _frozen[^1] : length - _realStart;
        if (progress >= _spawnAt && 1 + _frozen.Count < _options.Blocks)
        {
            _chain.Add(next ?? Guess(outcome.Sequence));
            for (int i = 1; i < N; i++)
            {
                _chain.Add(Guess(outcome.Sequence));
            }

            _frozen.Add(0);
        }
    }

    /// <summary>Opens the real block at the pending token (the last of <paramref name="sequence"/>) with n − 1 initial guesses.</summary>
    private void StartRealBlock(IReadOnlyList<int> sequence)
    {
        _active = true;
        _realStart = sequence.Count - 1;
        _chain.Clear();
        _frozen.Clear();
        for (int i = 0; i < N - 1; i++)
        {
            _chain.Add(Guess(sequence));
        }
    }

    /// <summary>An initial guess after <paramref name="sequence"/>, whose last token is the pending one.</summary>
    private int Guess(IReadOnlyList<int> sequence)
        => _options.InitialGuess == JacobiInitialGuess.RepeatFirst ? sequence[^1] : sequence[_random.Next(sequence.Count)];
}
