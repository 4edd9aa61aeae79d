using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// Decides which part of a draft the model agrees with. Greedy: the longest root path whose every
/// token equals the argmax after its parent — each such token is exactly what one-token greedy
/// decoding would produce, so the output is unchanged. Sampling: deterministic drafts accepted with
/// the target probability and, on rejection, a draw from the renormalised residual (SpecInfer-style),
/// which keeps the output distribution exact.
/// </summary>
internal static class TreeVerifier
{
    /// <summary>
    /// Greedy verification. predictions: argmax at each input ([0] pending, [1 + i] draft token i).
    /// Returns the accepted path (draft indices, root first) and the bonus token after it.
    /// </summary>
    public static (int[] Path, int Bonus) Greedy(Draft draft, IReadOnlyList<int> predictions)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(predictions);
        int n = draft.Count;
        if (n == 0)
        {
            return (Array.Empty<int>(), predictions[0]);
        }

        // longest[i]: length of the longest all-matching path starting at draft token i (0 if i itself mismatches).
        var longest = new int[n];
        var bestChild = new int[n];
        int rootBest = -1, rootLongest = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            bestChild[i] = -1;
        }

        for (int i = n - 1; i >= 0; i--)
        {
            int parent = draft.Parents[i];
            bool matches = draft.Tokens[i] == predictions[parent + 1];
            longest[i] = matches ? 1 + (bestChild[i] >= 0 ? longest[bestChild[i]] : 0) : 0;
            if (longest[i] == 0)
            {
                continue;
            }

            // Children are visited from the last to the first, so ">=" keeps the earliest on ties.
            if (parent == -1)
            {
                if (longest[i] >= rootLongest)
                {
                    rootLongest = longest[i];
                    rootBest = i;
                }
            }
            else if (bestChild[parent] < 0 || longest[i] >= longest[bestChild[parent]])
            {
                bestChild[parent] = i;
            }
        }

        var path = new List<int>();
        for (int node = rootBest; node >= 0; node = bestChild[node])
        {
            path.Add(node);
        }

        int bonus = predictions[path.Count == 0 ? 0 : path[^1] + 1];
        return (path.ToArray(), bonus);
    }

    /// <summary>
    /// Sampling verification. distributionAt(j): the target distribution after input j
    /// ([0] pending, [1 + i] draft token i). Returns the accepted path and the bonus token.
    /// </summary>
    public static (int[] Path, int Bonus) Sampled(Draft draft, Func<int, float[]> distributionAt, TokenSampler sampler)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(distributionAt);
        ArgumentNullException.ThrowIfNull(sampler);
        var children = new List<int>[draft.Count + 1];                                   // [0] = pending's children
        for (int i = 0; i < draft.Count; i++)
        {
            (children[draft.Parents[i] + 1] ??= new List<int>()).Add(i);
        }

        var path = new List<int>();
        int input = 0;
        while (true)
        {
            var p = distributionAt(input);
            int accepted = -1;
            foreach (var child in children[input] ?? new List<int>())
            {
                int token = draft.Tokens[child];
                double mass = Sum(p);
                if (mass <= 0 || p[token] <= 0)
                {
                    continue;                                                            // impossible or already rejected
                }

                if (sampler.Accept(p[token] / mass))
                {
                    accepted = child;
                    break;
                }

                p[token] = 0;                                                            // residual: renormalised on the next draw
            }

            if (accepted < 0)
            {
                return (path.ToArray(), sampler.Sample(p));
            }

            path.Add(accepted);
            input = accepted + 1;
        }
    }

    private static double Sum(float[] p)
    {
        double s = 0;
        foreach (var x in p)
        {
            s += x;
        }

        return s;
    }
}
