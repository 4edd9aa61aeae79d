using System;
using System.Collections.Generic;
using System.Linq;
using Cllm;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

/// <summary>
/// The lossless rule of sampling verification, without a model: whatever the draft tree, the first emitted token
/// follows the target distribution at the root, and the token after it follows the target distribution after it.
/// Target distributions are hand-made so that drafts are accepted often (and rejected often), siblings compete for
/// the same position, and one sibling has low probability.
/// </summary>
public class TreeVerifierSamplingTests
{
    private const int Draws = 40_000;

    private static readonly float[] Root = { 0.10f, 0.40f, 0.20f, 0.25f, 0.05f };
    private static readonly Dictionary<int, float[]> After = new()
    {
        [1] = new[] { 0.30f, 0.10f, 0.35f, 0.05f, 0.20f },
        [3] = new[] { 0.05f, 0.60f, 0.10f, 0.20f, 0.05f },
        [4] = new[] { 0.20f, 0.20f, 0.20f, 0.20f, 0.20f },
    };

    // Draft tree: the pending token's children are 1, 3 and 4 (siblings); 1 has children 2 and 0; 3 has child 1.
    private static readonly Draft Tree = new(new[] { 1, 3, 4, 2, 0, 1 }, new[] { -1, -1, -1, 0, 0, 1 });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EmittedTokensFollowTheTargetDistributions(bool chainOnly)
    {
        var draft = chainOnly ? Draft.Chain(new[] { 1, 2 }) : Tree;
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, Seed = 7 });
        var first = new double[Root.Length];
        var second = After.Keys.ToDictionary(k => k, _ => new double[Root.Length]);
        int accepted = 0;
        for (int n = 0; n < Draws; n++)
        {
            var (path, bonus) = TreeVerifier.Sampled(draft, input => Distribution(draft, input), sampler);
            var emitted = path.Select(i => draft.Tokens[i]).Append(bonus).ToArray();
            accepted += path.Length;
            first[emitted[0]]++;
            if (emitted.Length > 1 && second.TryGetValue(emitted[0], out var counts))
            {
                counts[emitted[1]]++;
            }
        }

        Assert.True(accepted > Draws / 3, $"only {accepted} draft tokens accepted in {Draws} verifications");
        AssertFollows(first, Root, "first token");
        foreach (var (token, counts) in second.Where(kv => kv.Value.Sum() > 1000))
        {
            AssertFollows(counts, After[token], $"token after {token}");
        }
    }

    /// <summary>Target distribution after input j: [0] the pending token, [1 + i] draft token i (a fresh copy: the verifier edits it).</summary>
    private static float[] Distribution(Draft draft, int input)
    {
        if (input == 0)
        {
            return (float[])Root.Clone();
        }

        int node = input - 1;
        return draft.Parents[node] < 0 && After.TryGetValue(draft.Tokens[node], out var p)
            ? (float[])p.Clone()
            : new[] { 0.2f, 0.2f, 0.2f, 0.2f, 0.2f };                                   // deeper: any distribution
    }

    private static void AssertFollows(double[] observed, float[] probabilities, string what)
    {
        var (statistic, df) = ChiSquare.Test(observed, probabilities.Select(p => (double)p).ToArray());
        Assert.True(statistic < ChiSquare.Critical(df), $"{what}: chi-square {statistic:F1} on {df} df (limit {ChiSquare.Critical(df)} at p = 1e-4); observed [{string.Join(", ", observed)}] of {observed.Sum()}");
    }
}
