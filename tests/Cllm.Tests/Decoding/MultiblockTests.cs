using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.Reliability;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

/// <summary>
/// Multiblock Jacobi decoding with rejection recycling: greedy output equals AR token for token (random and shipped
/// models, several settings, budgets 1 and 2, drafts on the prefill), the draft really holds several blocks and recycled
/// branches, the auto plan follows the cost curve, and bad settings are refused. Sampling: SamplingDistributionTests.
/// </summary>
public class MultiblockTests
{
    [Theory]
    [InlineData("multiblock")]
    [InlineData("multiblock:4x2x0.5x4")]
    [InlineData("multiblock:8x3x0.85x2")]
    [InlineData("multiblock:2x4x1x0")]
    [InlineData("multiblock:5x1x0.85x3")]
    [InlineData("multiblock:3x3x0.34x8")]
    public void GreedyMultiblockEqualsAutoregressiveOnRandomModels(string spec)
    {
        foreach (var seed in new[] { 1, 2, 3 })
        {
            using var model = TinyLlama.Create(seed);
            var ar = Decoders.Autoregressive(model);
            var multiblock = DecoderOptions.Parse(spec).CreateDecoder(model);               // its first-token memory fills as it goes
            foreach (var (prompt, budget) in new[] { (new[] { 1, 5 + seed, 17, 33, 4, 5 + seed, 17 }, 90), (new[] { 2, 9, 9, 9 }, 1), (new[] { 1, 5 + seed, 17 }, 2), (new[] { 3, 4, 3, 4, 3, 4 }, 60) })
            {
                var request = new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = budget } };
                var expected = ar.DecodeToEnd(request);
                var result = multiblock.DecodeToEnd(request);
                Assert.True(expected.Stats.MinLogitMargin > 1e-4, $"seed {seed}: near-tie {expected.Stats.MinLogitMargin}");
                Assert.Equal(expected.OutputIds, result.OutputIds);
                Assert.Equal(budget, result.OutputIds.Count);
                Assert.True(result.Stats.ForwardPasses <= expected.Stats.ForwardPasses, $"{spec}, seed {seed}: {result.Stats.ForwardPasses} forwards, AR {expected.Stats.ForwardPasses}");
            }
        }
    }

    [Fact]
    public void TheDraftCarriesSeveralBlocksAndRecycledBranches()
    {
        // n = 4, K = 3, a block spawned once the newest has 1 token: chains deeper than one block (n − 1 = 3) must appear,
        // none deeper than K·n − 1; recycled candidates make some drafts trees.
        var options = new MultiblockOptions { BlockSize = 4, Blocks = 3, SpawnRatio = 0.25, PoolSize = 4 };
        using var model = TinyLlama.Create(2);
        var seen = new Recorder();
        var decoder = new DraftVerifyDecoder(model, "multiblock", () => new MultiblockProposer(options), () => new[] { seen });
        var request = new DecodeRequest { PromptIds = new[] { 3, 4, 3, 4, 3, 4, 3, 4 }, Options = new GenerationOptions { MaxNewTokens = 80 } };
        var result = decoder.DecodeToEnd(request);
        Assert.Equal(Decoders.Autoregressive(model).DecodeToEnd(request).OutputIds, result.OutputIds);
        Assert.Contains(seen.Drafts, d => ChainDepth(d) > 3);
        Assert.All(seen.Drafts, d => Assert.True(ChainDepth(d) <= 11 && d.Count <= options.MaxDraftTokens, $"draft of {d.Count} tokens, chain {ChainDepth(d)}"));
        Assert.Contains(seen.Drafts, d => !d.IsChain);
    }

    [Fact]
    public void WithOneBlockAndNoPoolTheDraftIsAJacobiBlock()
    {
        var options = new MultiblockOptions { BlockSize = 6, Blocks = 1, PoolSize = 0 };
        using var model = TinyLlama.Create(3);
        var seen = new Recorder();
        var decoder = new DraftVerifyDecoder(model, "multiblock", () => new MultiblockProposer(options), () => new[] { seen });
        var result = decoder.DecodeToEnd(new DecodeRequest { PromptIds = new[] { 1, 8, 17, 33 }, Options = new GenerationOptions { MaxNewTokens = 50 } });
        Assert.Equal(50, result.OutputIds.Count);
        Assert.All(seen.Drafts, d => Assert.True(d.IsChain && d.Count <= 5));
        Assert.Contains(seen.Drafts, d => d.Count == 5);
    }

    [SkippableTheory]
    [InlineData("multiblock")]
    [InlineData("multiblock:16x2x0.85x0")]
    [InlineData("multiblock:16x2x0.1x0")]
    [InlineData("multiblock:8x3x0.5x2")]
    [InlineData("multiblock:auto")]
    public void ShippedModelsDecodeAsAutoregressive(string spec)
    {
        foreach (var (folder, prompts) in new[] { ("stories260K", Prompts("stories-prompts.jsonl", 6)), ("sql-cllm", Prompts("sql-test.jsonl", 8)) })
        {
            var (forwards, arForwards) = ShippedExactness.AssertGreedyEqualsAr(folder, prompts, spec);
            if (folder == "sql-cllm" && spec != "multiblock:auto")                      // auto follows this machine's curve
            {
                Assert.True(forwards * 2 < arForwards, $"{spec} on sql-cllm: {forwards} forwards vs {arForwards} AR forwards");
            }
        }
    }

    [Fact]
    public void AutoRunsThePlanOnlyWhileTheMeasuredAcceptanceFillsItsBlocks()
    {
        // A curve where a 16-token forward costs 1.3 one-token forwards: blocks pay only when guesses are accepted.
        static BlockSizePolicy Policy() => new(new[] { (1, 1.0), (2, 1.05), (4, 1.1), (8, 1.2), (16, 1.3), (32, 1.5) }
            .Select(p => new ForwardCost(p.Item1, p.Item2, p.Item2)).ToArray());
        static BlockSizePolicy Fed(int emitted)
        {
            var policy = Policy();
            for (int i = 0; i < 64; i++)
            {
                policy.RecordForward(16, 16, emitted, firstOfBlock: i % 4 == 0);
            }

            return policy;
        }

        // Nothing measured yet: jacobi:auto, whose requests teach the policy.
        var fresh = new MultiblockGate(Policy(), 16);
        Assert.DoesNotContain(true, Enumerable.Range(0, 16).Select(_ => fresh.Admit()));

        // Every guess accepted: the plan, except one request in 8 (jacobi:auto keeps measuring).
        var fills = new MultiblockGate(Fed(16), 16);
        var admitted = Enumerable.Range(0, 64).Select(_ => fills.Admit()).ToArray();
        Assert.Equal(64 - (64 / MultiblockGate.ProbeEvery), admitted.Count(a => a));
        Assert.All(admitted.Where((_, i) => (i + 1) % MultiblockGate.ProbeEvery == 0), a => Assert.False(a));

        // Nothing accepted (a model like the Jacobi Forcing one at 0.97B): never the plan.
        var rejects = new MultiblockGate(Fed(1), 16);
        Assert.DoesNotContain(true, Enumerable.Range(0, 64).Select(_ => rejects.Admit()));

        // Either way the decoder is exact, and a request runs one proposer from start to end.
        using var model = TinyLlama.Create(4);
        var ar = Decoders.Autoregressive(model);
        var plan = new MultiblockOptions { BlockSize = 16, Blocks = 2, PoolSize = 2 };
        foreach (int emitted in new[] { 16, 1 })
        {
            var decoder = MultiblockOptions.Build(model, plan, Fed(emitted), new JacobiFirstTokens());
            foreach (var prompt in new[] { new[] { 1, 5, 17, 33, 4, 5, 17 }, new[] { 3, 4, 3, 4, 3, 4 }, new[] { 2, 9, 9, 9 } })
            {
                var request = new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 40 } };
                var expected = ar.DecodeToEnd(request);
                Assert.True(expected.Stats.MinLogitMargin > 1e-4, $"near-tie {expected.Stats.MinLogitMargin}");
                Assert.Equal(expected.OutputIds, decoder.DecodeToEnd(request).OutputIds);
            }
        }

        var proposer = new GatedMultiblockProposer(fills, () => new MultiblockProposer(plan), () => throw new InvalidOperationException("not this one"), plan.MaxDraftTokens);
        Assert.Null(proposer.RunsMultiblock);
        proposer.Propose(new[] { 1, 2, 3 }, 8);
        Assert.True(proposer.RunsMultiblock);
    }

    [Fact]
    public void TheAutoPlanSpendsTheForwardBudgetOfTheCostCurve()
    {
        static IReadOnlyList<ForwardCost> Curve(params (int Tokens, double Cost)[] points) => points.Select(p => new ForwardCost(p.Tokens, p.Cost, p.Cost)).ToArray();
        var flat = Curve((1, 1), (8, 1.1), (16, 1.2), (32, 1.4), (64, 2.9));                  // a wide machine: 64 tokens within 3x
        var cpu = Curve((1, 1), (8, 1.6), (16, 2.8), (32, 4.3), (64, 8.0));                   // 2 CPU cores: 16 tokens
        var steep = Curve((1, 1), (2, 2.2), (4, 3.5), (8, 6.0));                              // only 2 tokens
        var odd = Curve((1, 1), (7, 2.5), (14, 3.5));                                         // 7 tokens: a block of 4 and a candidate of 3
        Assert.Equal((64, 16, 2, 7), (MultiblockPlan.Budget(flat), MultiblockPlan.Budget(cpu), MultiblockPlan.Budget(steep), MultiblockPlan.Budget(odd)));
        var wide = MultiblockPlan.Choose(flat, new MultiblockOptions { Auto = true, SpawnRatio = 0.5 });
        Assert.Equal((32, 2, 0, 0.5, false), (wide.BlockSize, wide.Blocks, wide.PoolSize, wide.SpawnRatio, wide.Auto));
        var small = MultiblockPlan.Choose(cpu, new MultiblockOptions { Auto = true });
        Assert.Equal((16, 1, 0), (small.BlockSize, small.Blocks, small.PoolSize));
        var tiny = MultiblockPlan.Choose(steep, new MultiblockOptions { Auto = true });
        Assert.Equal((2, 1, 0), (tiny.BlockSize, tiny.Blocks, tiny.PoolSize));
        var pooled = MultiblockPlan.Choose(odd, new MultiblockOptions { Auto = true });
        Assert.Equal((4, 1, 1), (pooled.BlockSize, pooled.Blocks, pooled.PoolSize));
        foreach (var (plan, budget) in new[] { (wide, 64), (small, 16), (tiny, 2), (pooled, 7) })
        {
            plan.Validate();
            Assert.True(plan.MaxDraftTokens + 1 <= budget, $"{plan.Spec}: {plan.MaxDraftTokens + 1} tokens per forward, budget {budget}");
        }
    }

    [Fact]
    public void TheRejectionPoolOffersWhatFollowedThePendingToken()
    {
        var pool = new RejectionPool(2);
        pool.Add(new[] { 5, 7, 8, 9 });
        pool.Add(new[] { 1, 7, 3 });
        Assert.Equal(new[] { new[] { 3 }, new[] { 8, 9 } }, pool.Candidates(7, 4));
        Assert.Equal(new[] { new[] { 8 } }, pool.Candidates(7, 1).Skip(1));
        pool.Add(new[] { 7, 2 });                                                            // full: the oldest goes
        Assert.Equal(new[] { new[] { 2 }, new[] { 3 } }, pool.Candidates(7, 4));
        Assert.Empty(pool.Candidates(9, 4));                                                 // last token: nothing follows
        Assert.Empty(new RejectionPool(0).Candidates(7, 4));
    }

    [Fact]
    public void SpecsParseAndLabelsRoundTrip()
    {
        var options = Assert.IsType<MultiblockOptions>(DecoderOptions.Parse("multiblock:8x3x0.5x2"));
        Assert.Equal((8, 3, 0.5, 2), (options.BlockSize, options.Blocks, options.SpawnRatio, options.PoolSize));
        Assert.Equal("multiblock:8x3x0.5x2", options.Label);
        Assert.Equal("multiblock:16x2x0.85x4", DecoderOptions.Parse("multiblock").Label);
        Assert.Equal("multiblock:12x2x0.85x4", DecoderOptions.Parse("multiblock:12").Label);
        Assert.Equal("multiblock:auto", DecoderOptions.Parse("multiblock:auto").Label);
    }

    [Theory]
    [InlineData("multiblock:16x2x0.85x4x1")]
    [InlineData("multiblock:16x2xhalf")]
    [InlineData("multiblock:16x1.5")]
    [InlineData("multiblock:x2")]
    public void MalformedSpecsAreRefused(string spec)
    {
        var ex = Assert.Throws<FormatException>(() => DecoderOptions.Parse(spec));
        Assert.Contains(spec, ex.Message);
    }

    [Theory]
    [InlineData("multiblock:1", "BlockSize")]
    [InlineData("multiblock:16x0", "Blocks")]
    [InlineData("multiblock:16x-1", "Blocks")]
    [InlineData("multiblock:16x2x0", "SpawnRatio")]
    [InlineData("multiblock:16x2x1.5", "SpawnRatio")]
    public void OutOfRangeSettingsAreRefused(string spec, string parameter)
    {
        var options = DecoderOptions.Parse(spec);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate());
        Assert.Equal(parameter, ex.ParamName);
        using var model = TinyLlama.Create(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.CreateDecoder(model));
    }

    /// <summary>Length of the draft's first chain (nodes 0, 1, 2, … each continuing the one before).</summary>
    private static int ChainDepth(Draft draft)
    {
        int depth = 0;
        while (depth < draft.Count && draft.Parents[depth] == depth - 1)
        {
            depth++;
        }

        return depth;
    }

    private static string[] Prompts(string file, int count)
        => File.ReadLines(Path.Combine(ShippedModels.RepositoryRoot, "samples", "data", file)).Take(count)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!).ToArray();

    private sealed class Recorder : IDecodeObserver
    {
        public List<Draft> Drafts { get; } = new();

        public void OnVerified(VerifyOutcome outcome) => Drafts.Add(outcome.Draft);

        public void OnFinished(DecodeStats stats)
        {
        }
    }
}
