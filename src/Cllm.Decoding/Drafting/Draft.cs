using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Guessed tokens sent to the model with the pending token in one forward pass, shaped as a tree
/// rooted at the pending token: token i continues <c>Parents[i]</c> (−1 = the pending token). A
/// Jacobi block is a chain; lookahead's window and candidates are branches. Token i attends to its
/// ancestors only and sits at position <c>pending + Depth(i)</c>.
/// </summary>
public sealed class Draft
{
    private readonly int[] _depths;

    public Draft(IReadOnlyList<int> tokens, IReadOnlyList<int> parents)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(parents);
        if (tokens.Count != parents.Count)
        {
            throw new ArgumentException("a draft needs one parent per token.", nameof(parents));
        }

        Tokens = tokens;
        Parents = parents;
        _depths = new int[tokens.Count];
        IsChain = true;
        for (int i = 0; i < tokens.Count; i++)
        {
            int parent = parents[i];
            if (parent < -1 || parent >= i)
            {
                throw new ArgumentException($"draft token {i} has parent {parent}; parents must come before their children.", nameof(parents));
            }

            _depths[i] = parent == -1 ? 1 : _depths[parent] + 1;
            IsChain &= parent == i - 1;
        }
    }

    /// <summary>No draft: autoregressive decoding.</summary>
    public static Draft Empty { get; } = new(Array.Empty<int>(), Array.Empty<int>());

    /// <summary>A single chain: token i continues token i − 1.</summary>
    public static Draft Chain(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var parents = new int[tokens.Count];
        for (int i = 0; i < parents.Length; i++)
        {
            parents[i] = i - 1;
        }

        return new Draft(tokens, parents);
    }

    /// <summary>Guessed token ids.</summary>
    public IReadOnlyList<int> Tokens { get; }

    /// <summary>Parent of each token: −1 for the pending token, else an earlier index.</summary>
    public IReadOnlyList<int> Parents { get; }

    /// <summary>Number of draft tokens.</summary>
    public int Count => Tokens.Count;

    /// <summary>True when the draft is one chain (plain causal attention suffices).</summary>
    public bool IsChain { get; }

    /// <summary>Distance of token i from the pending token (1 for its children).</summary>
    public int Depth(int i) => _depths[i];

    /// <summary>Deepest token's depth (0 for an empty draft).</summary>
    public int MaxDepth
    {
        get
        {
            int max = 0;
            foreach (var d in _depths)
            {
                max = Math.Max(max, d);
            }

            return max;
        }
    }
}
