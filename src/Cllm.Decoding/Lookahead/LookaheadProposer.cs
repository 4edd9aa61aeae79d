using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Lookahead decoding as a proposer. The draft is a tree rooted at the pending token:
/// the window's level 0 is a chain (columns 1 … W − 1), the token of level l, column c continues
/// level l − 1 in the same column (column 0 of level 0 is the pending token), so every window token
/// sees a proper causal history along a diagonal; pooled candidates for the pending token are chains
/// of N − 1 tokens. The loop verifies every root path, so both the candidates and the window itself
/// can be accepted. After each step the last level's predictions become new n-grams and the window
/// moves one position on.
/// </summary>
internal sealed class LookaheadProposer : IDraftProposer
{
    private readonly LookaheadOptions _options;
    private readonly NGramPool _pool;
    private IReadOnlyList<int> _context = Array.Empty<int>();                 // the loop's live sequence: prompt, output, pending last
    private readonly List<int[]> _levels = new();                  // [0]: W − 1 tokens (columns 1..W−1); [l ≥ 1]: W tokens
    private readonly Random _random;
    private int _pending;

    // Node index of each window cell in the last draft ((level, column) → draft index; −1 = pending or absent).
    private int[][] _cells = Array.Empty<int[]>();

    public LookaheadProposer(LookaheadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _pool = new NGramPool(options.Guesses);
        _random = new Random(options.Seed);
    }

    public int MaxDraftTokens => _options.MaxDraftTokens;

    public Draft Propose(IReadOnlyList<int> sequence, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        _context = sequence;
        if (_levels.Count == 0)
        {
            // First step: a random window and, optionally, the prompt's n-grams in the pool.
            _levels.Add(RandomTokens(_options.Window - 1));
            if (_options.PoolFromPrompt)
            {
                _pool.AddAll(sequence, _options.NGram);
            }
        }

        _pending = sequence[^1];
        int w = _options.Window;
        var tokens = new List<int>();
        var parents = new List<int>();
        _cells = new int[_levels.Count][];

        int AddNode(int token, int parent, int depth)
        {
            if (parent == -2 || depth > maxDepth)
            {
                return -2;                                                                // beyond the budget: left out with its subtree
            }

            tokens.Add(token);
            parents.Add(parent);
            return tokens.Count - 1;
        }

        // Window, level 0: a chain from the pending token; column c sits at depth c.
        _cells[0] = new int[w];
        _cells[0][0] = -1;
        for (int c = 1; c < w; c++)
        {
            _cells[0][c] = AddNode(_levels[0][c - 1], _cells[0][c - 1], c);
        }

        // Levels 1 …: (l, c) continues (l − 1, c) and sits at depth c + l.
        for (int l = 1; l < _levels.Count; l++)
        {
            _cells[l] = new int[w];
            for (int c = 0; c < w; c++)
            {
                _cells[l][c] = AddNode(_levels[l][c], _cells[l - 1][c], c + l);
            }
        }

        // Verification branch: pooled continuations of the pending token.
        foreach (var candidate in _pool.Get(_pending))
        {
            int parent = -1;
            for (int j = 0; j < candidate.Length && parent != -2; j++)
            {
                parent = AddNode(candidate[j], parent, j + 1);
            }
        }

        return new Draft(tokens, parents);
    }

    public void Observe(VerifyOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        _context = outcome.Sequence;
        int w = _options.Window;
        int last = _levels.Count - 1;

        // The Jacobi update of the last level: the prediction after each of its cells.
        var fresh = new int[w];
        for (int c = 0; c < w; c++)
        {
            int node = _cells[last][c];
            fresh[c] = node == -2 ? RandomToken() : outcome.Predictions[node + 1];
        }

        // Each column's diagonal plus its fresh token is an n-gram of the model's own making.
        if (_levels.Count == _options.NGram - 1)
        {
            for (int c = 0; c < w; c++)
            {
                var continuation = new int[_options.NGram - 1];
                for (int l = 1; l <= last; l++)
                {
                    continuation[l - 1] = _levels[l][c];
                }

                continuation[^1] = fresh[c];
                _pool.Add(c == 0 ? _pending : _levels[0][c - 1], continuation);
            }
        }

        // The newest n-gram of the output is a candidate too.
        if (_context.Count >= _options.NGram)
        {
            var newest = new int[_options.NGram];
            for (int i = 0; i < newest.Length; i++)
            {
                newest[i] = _context[_context.Count - _options.NGram + i];
            }

            _pool.AddAll(newest, _options.NGram);
        }

        // Move the window one position on.
        if (_levels.Count < _options.NGram - 1)
        {
            // Warm-up: keep every level, shift it one column left (its tokens are one position nearer now), add the new level.
            for (int l = 0; l < _levels.Count; l++)
            {
                _levels[l] = ShiftLeft(_levels[l]);
            }

            _levels.Add(ShiftLeft(fresh));
        }
        else
        {
            _levels[0] = _levels.Count > 1 ? _levels[1][1..] : fresh[1..];
            for (int l = 1; l < last; l++)
            {
                _levels[l] = _levels[l + 1];
            }

            if (last >= 1)
            {
                _levels[last] = fresh;
            }
        }
    }

    /// <summary>Drops the first token and appends a random context token, keeping the length.</summary>
    private int[] ShiftLeft(int[] level)
    {
        var shifted = new int[level.Length];
        Array.Copy(level, 1, shifted, 0, level.Length - 1);
        shifted[^1] = RandomToken();
        return shifted;
    }

    private int[] RandomTokens(int count)
    {
        var result = new int[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = RandomToken();
        }

        return result;
    }

    private int RandomToken() => _context[_random.Next(_context.Count)];
}
