using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

/// <summary>
/// A draft riding on the prefill forward ([prompt | draft], the prompt's last token as the pending one): greedy output
/// stays AR's token for token, the budget, stops and the context end hold inside that first step, and on the shipped
/// consistency-trained model the first forward really emits more than one token.
/// </summary>
public class PrefillDraftTests
{
    private static readonly int[][] Prompts =
    {
        new[] { 1 },
        new[] { 1, 9 },
        new[] { 1, 6, 17, 33, 4 },
        new[] { 1, 40, 41, 12, 12, 80, 3, 55, 19, 64, 7, 23 },
    };

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(16)]
    public void GreedyJacobiWithAFirstBlockOnThePrefillEqualsAutoregressive(int n)
    {
        int meaningful = 0, carried = 0;
        foreach (var seed in new[] { 1, 2, 3 })
        {
            using var model = TinyLlama.Create(seed);
            foreach (var prompt in Prompts)
            {
                foreach (var budget in new[] { 1, 2, 3, 17, 60 })
                {
                    var request = new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = budget } };
                    var ar = Decoders.Autoregressive(model).DecodeToEnd(request);
                    if (!(ar.Stats.MinLogitMargin > 1e-4))
                    {
                        continue;                                                                 // a near-tie: the comparison would mean nothing
                    }

                    meaningful++;
                    foreach (int guess in new[] { ar.OutputIds[0], (ar.OutputIds[0] + 1) % model.Config.VocabSize })   // a right and a wrong first-token guess
                    {
                        var steps = Decoders.Jacobi(model, n, firstTokenGuess: guess).Decode(request).ToList();
                        var stats = steps[^1].Stats!;
                        Assert.Equal(ar.OutputIds, steps.SelectMany(s => s.Tokens).ToArray());
                        Assert.Equal(ar.Finish, steps[^1].Finish);
                        Assert.Equal(budget, stats.GeneratedTokens);
                        Assert.True(stats.ForwardPasses <= ar.Stats.ForwardPasses);
                        if (guess == ar.OutputIds[0] && budget > 1)
                        {
                            Assert.True(steps[0].Tokens.Count >= 2, $"seed {seed}, budget {budget}: the prefill emitted {steps[0].Tokens.Count} token(s)");
                            Assert.Equal(stats.ForwardPasses, stats.BlockIterations.Sum());   // the prefill was the first block's first iteration
                            carried++;
                        }
                    }
                }
            }
        }

        Assert.True(meaningful >= 40, $"only {meaningful} cases without near-ties");
        Assert.True(carried >= 30, $"only {carried} prefills carried an accepted guess");
    }

    [Fact]
    public void PromptsNearTheContextEndStillFitWithTheirDraft()
    {
        using var model = TinyLlama.Create(5, TinyLlama.Config(context: 24));
        foreach (int length in new[] { 18, 20, 21, 22, 23 })
        {
            var prompt = Enumerable.Range(0, length).Select(i => i == 0 ? 1 : 3 + (i * 7) % 90).ToArray();
            var request = new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 100 } };
            var ar = Decoders.Autoregressive(model).DecodeToEnd(request);
            Assert.Equal(24 - length, ar.OutputIds.Count);
            foreach (var decoder in new IDecoder[] { Decoders.Jacobi(model, 16, firstTokenGuess: ar.OutputIds[0]), Decoders.Jacobi(model, 4, firstTokenGuess: 0), Decoders.Lookahead(model) })
            {
                var result = decoder.DecodeToEnd(request);
                Assert.Equal(ar.OutputIds, result.OutputIds);
                Assert.Equal(FinishReason.Length, result.Finish);
            }
        }
    }

    [Fact]
    public void StopsInsideTheFirstAcceptedDraftEndTheRequestThere()
    {
        using var model = TinyLlama.Create(1);
        var prompt = new[] { 1, 6, 17, 33, 4 };
        var free = Decoders.Autoregressive(model).DecodeToEnd(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 12 } }).OutputIds;
        var oracle = new DraftVerifyDecoder(model, "oracle", () => new Oracle(prompt.Concat(free).ToArray(), tree: false));
        var tree = new DraftVerifyDecoder(model, "oracle-tree", () => new Oracle(prompt.Concat(free).ToArray(), tree: true));
        foreach (var decoder in new[] { oracle, tree })
        {
            // No stop: the prefill accepts the whole draft (the continuation, depth 6) and adds the bonus token.
            var whole = decoder.Decode(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 12 } }).ToList();
            Assert.Equal(free, whole.SelectMany(s => s.Tokens).ToArray());
            Assert.Equal(Oracle.Depth + 1, whole[0].Tokens.Count);

            // A stop id first appearing inside the draft: the prefill alone ends the request, cut before it.
            int at = Enumerable.Range(0, Oracle.Depth).First(i => free.ToList().IndexOf(free[i]) == i && i >= 2);
            var eos = decoder.DecodeToEnd(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 12, StopTokenIds = new[] { free[at] } } });
            Assert.Equal(FinishReason.Eos, eos.Finish);
            Assert.Equal(free.Take(at), eos.OutputIds);
            Assert.Equal(1, eos.Stats.ForwardPasses);

            // A stop sequence inside the accepted draft, and a budget smaller than the draft.
            var sequence = decoder.Decode(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 12, StopSequences = new[] { new[] { free[1], free[2] } } } }).ToList();
            Assert.Equal(FinishReason.Stop, sequence[^1].Finish);
            Assert.Equal(free.Take(IndexOf(free, free[1], free[2])), sequence.SelectMany(s => s.Tokens).ToArray());
            var short3 = decoder.DecodeToEnd(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 3 } });
            Assert.Equal(free.Take(3), short3.OutputIds);
            Assert.Equal(FinishReason.Length, short3.Finish);
            Assert.Equal(1, short3.Stats.ForwardPasses);
        }
    }

    [Fact]
    public void SampledRequestsAndCollectionPrefillThePromptAlone()
    {
        using var model = TinyLlama.Create(2);
        var prompt = new[] { 1, 6, 17, 33, 4 };
        var ar = Decoders.Autoregressive(model).DecodeToEnd(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 8 } });
        var oracle = new DraftVerifyDecoder(model, "oracle", () => new Oracle(prompt.Concat(ar.OutputIds).ToArray(), tree: false));
        var sampled = oracle.Decode(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 8, Temperature = 0.8, Seed = 3 } }).ToList();
        Assert.Single(sampled[0].Tokens);
        var off = new DraftVerifyDecoder(model, "oracle", () => new Oracle(prompt.Concat(ar.OutputIds).ToArray(), tree: false)) { DraftAtPrefill = false };
        var greedy = off.Decode(new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { MaxNewTokens = 8 } }).ToList();
        Assert.Single(greedy[0].Tokens);
        Assert.Equal(ar.OutputIds, greedy.SelectMany(s => s.Tokens).ToArray());
    }

    [SkippableTheory]
    [InlineData("jacobi:16")]
    [InlineData("jacobi:5")]
    [InlineData("jacobi:auto")]
    [InlineData("lookahead")]
    public void ShippedModelsDecodeAsAutoregressiveWithDraftsOnThePrefill(string decoderName)
    {
        foreach (var (folder, prompts) in new[] { ("stories260K", StoriesPrompts()), ("sql-cllm", SqlPrompts(12)) })
        {
            ShippedExactness.AssertGreedyEqualsAr(folder, prompts, decoderName);           // its first-token memory fills as it goes
        }
    }

    [SkippableFact]
    public void OnSqlCllmTheFirstForwardEmitsMoreThanOneToken()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Folder("sql-cllm")).Build();
        var decoder = DecoderOptions.Parse("jacobi:16").CreateDecoder(engine.Model);
        var ar = DecoderOptions.Autoregressive.CreateDecoder(engine.Model);
        var firstStep = new List<int>();
        int forwards = 0, arForwards = 0;
        foreach (var text in SqlPrompts(10))
        {
            var request = engine.CreateRequest(text, new GenerationOptions { MaxNewTokens = 64 });
            var steps = decoder.Decode(request).ToList();
            firstStep.Add(steps[0].Tokens.Count);
            forwards += steps[^1].Stats!.ForwardPasses;
            arForwards += ar.DecodeToEnd(request).Stats.ForwardPasses;
            Assert.Equal(ar.DecodeToEnd(request).OutputIds, steps.SelectMany(s => s.Tokens).ToArray());

            // A stop id inside the first accepted draft (the guessed first token): nothing is generated, in one forward.
            if (steps[0].Tokens.Count >= 2)
            {
                var stopped = decoder.DecodeToEnd(engine.CreateRequest(text, new GenerationOptions { MaxNewTokens = 64, StopTokenIds = new[] { steps[0].Tokens[0] } }));
                Assert.Empty(stopped.OutputIds);
                Assert.Equal(FinishReason.Eos, stopped.Finish);
                Assert.Equal(1, stopped.Stats.ForwardPasses);
            }
        }

        // The first request has no first-token guess yet; every later one carries its first block on the prefill.
        Assert.Equal(1, firstStep[0]);
        Assert.All(firstStep.Skip(1), count => Assert.True(count >= 2, $"first steps emitted [{string.Join(", ", firstStep)}] tokens"));
        Assert.True(forwards * 3 < arForwards, $"{forwards} Jacobi forwards vs {arForwards} AR forwards");
    }

    private static string[] StoriesPrompts()
        => File.ReadLines(Path.Combine(ShippedModels.RepositoryRoot, "samples", "data", "stories-prompts.jsonl")).Take(8)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!).ToArray();

    private static string[] SqlPrompts(int count)
        => File.ReadLines(Path.Combine(ShippedModels.RepositoryRoot, "samples", "data", "sql-test.jsonl")).Take(count)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!).ToArray();

    private static int IndexOf(IReadOnlyList<int> list, int a, int b)
    {
        for (int i = 0; i + 1 < list.Count; i++)
        {
            if (list[i] == a && list[i + 1] == b)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Drafts the known continuation at prefill only (later steps draft nothing): as one chain, or (tree) as a tree
    /// whose first branch is a wrong token with a child and whose second branch is the continuation.
    /// </summary>
    private sealed class Oracle(int[] script, bool tree) : IDraftProposer
    {
        public const int Depth = 6;

        public int MaxDraftTokens => Depth + 2;

        public Draft ProposeAtPrefill(IReadOnlyList<int> prompt, int maxDepth)
        {
            var chain = script.Skip(prompt.Count).Take(Math.Min(Depth, maxDepth)).ToArray();
            if (!tree)
            {
                return Draft.Chain(chain);
            }

            var tokens = new List<int> { (chain[0] + 1) % 97, chain[0] };
            var parents = new List<int> { -1, 0 };
            for (int i = 0; i < chain.Length; i++)
            {
                tokens.Add(chain[i]);
                parents.Add(i == 0 ? -1 : tokens.Count - 2);
            }

            return new Draft(tokens, parents);
        }

        public Draft Propose(IReadOnlyList<int> sequence, int maxDepth) => Draft.Empty;

        public void Observe(VerifyOutcome outcome)
        {
        }
    }
}
