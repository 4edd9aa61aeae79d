using System.Collections.Generic;
using System.Linq;
using Cllm;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

/// <summary>The loop's two extension points: a proposer that only proposes and observes, and observers that only watch.</summary>
public class DecodeObserverTests
{
    [Fact]
    public void AProposerNeedsOnlyProposeAndObserve()
    {
        using var model = TinyLlama.Create(4);
        var request = new DecodeRequest { PromptIds = new[] { 1, 9, 17, 33 }, Options = new GenerationOptions { MaxNewTokens = 40 } };
        var ar = Decoders.Autoregressive(model).DecodeToEnd(request);

        // An oracle that drafts the AR continuation: every draft token is accepted, and the output stays the AR output.
        var oracle = new DraftVerifyDecoder(model, "oracle", () => new Oracle(request.PromptIds.Concat(ar.OutputIds).ToArray()));
        var result = oracle.DecodeToEnd(request);
        Assert.Equal(ar.OutputIds, result.OutputIds);
        Assert.Equal(result.Stats.DraftedTokens, result.Stats.AcceptedDraftTokens);
        Assert.True(result.Stats.ForwardPasses <= 1 + (40 + Oracle.Depth) / (Oracle.Depth + 1), $"{result.Stats.ForwardPasses} forwards");
        Assert.Empty(result.Stats.BlockIterations);
    }

    [Fact]
    public void ObserversSeeEveryVerificationAndTheEnd()
    {
        using var model = TinyLlama.Create(5);
        var request = new DecodeRequest { PromptIds = new[] { 1, 8, 21 }, Options = new GenerationOptions { MaxNewTokens = 30 } };
        foreach (bool draftAtPrefill in new[] { true, false })
        {
            var watcher = new Watcher();
            var memory = new JacobiFirstTokens();
            memory.Record(17);                                                          // a first-token guess: the prefill carries the first block
            var decoder = new DraftVerifyDecoder(model, "jacobi", () => new JacobiProposer(new JacobiOptions { BlockSize = 6 }, null, memory), () => new IDecodeObserver[] { watcher })
            {
                DraftAtPrefill = draftAtPrefill,
            };
            var result = decoder.DecodeToEnd(request);

            // One per verification forward: the prefill is one when it carried the first draft.
            Assert.Equal(result.Stats.ForwardPasses - (draftAtPrefill ? 0 : 1), watcher.Outcomes.Count);
            Assert.Equal(request.PromptIds.Count + (draftAtPrefill ? 0 : 1), watcher.Outcomes[0].Length - watcher.Emitted[0]);   // tokens up to the first pending one
            Assert.Same(result.Stats, watcher.Finished);
            var last = watcher.Outcomes[^1];
            Assert.Equal(request.PromptIds.Concat(result.OutputIds), last.Take(request.PromptIds.Count + result.OutputIds.Count));
            Assert.Empty(result.Stats.BlockIterations);                                            // only a JacobiBlockTracker sets it
        }
    }

    [Fact]
    public void AProposerOfYourOwnRunsThroughThePublicFactoryAndKeepsGreedyOutputEqualToAr()
    {
        using var model = TinyLlama.Create(6);
        var request = new DecodeRequest { PromptIds = new[] { 1, 9, 17, 9, 33, 17, 4 }, Options = new GenerationOptions { MaxNewTokens = 48 } };
        var ar = DecoderOptions.Autoregressive.CreateDecoder(model).DecodeToEnd(request);
        Assert.True(ar.Stats.MinLogitMargin > 1e-4, $"near-tie {ar.Stats.MinLogitMargin} makes the comparison meaningless");

        var watcher = new Watcher();
        var decoder = model.CreateDecoder("prompt-lookup", () => new PromptLookup(), () => new IDecodeObserver[] { watcher });
        Assert.Equal("prompt-lookup", decoder.Name);
        var result = decoder.DecodeToEnd(request);
        Assert.Equal(ar.OutputIds, result.OutputIds);
        Assert.True(result.Stats.DraftedTokens > 0, "the proposer drafted nothing, so the loop's verification was not exercised");
        Assert.Equal(result.Stats.ForwardPasses - 1, watcher.Outcomes.Count);                 // every forward after the prompt-only prefill
        Assert.Same(result.Stats, watcher.Finished);
    }

    /// <summary>Prompt lookup: drafts the tokens that followed the pending token's latest earlier occurrence.</summary>
    private sealed class PromptLookup : IDraftProposer
    {
        public int MaxDraftTokens => 3;

        public Draft Propose(IReadOnlyList<int> sequence, int maxDepth)
        {
            int pending = sequence[^1];
            for (int i = sequence.Count - 2; i >= 0; i--)
            {
                if (sequence[i] == pending)
                {
                    return Draft.Chain(sequence.Skip(i + 1).Take(System.Math.Min(System.Math.Min(MaxDraftTokens, maxDepth), sequence.Count - 1 - (i + 1))).ToArray());
                }
            }

            return Draft.Empty;
        }

        public void Observe(VerifyOutcome outcome)
        {
        }
    }

    private sealed class Oracle(int[] script) : IDraftProposer
    {
        public const int Depth = 4;

        public int MaxDraftTokens => Depth;

        public Draft Propose(IReadOnlyList<int> sequence, int maxDepth)
        {
            int from = sequence.Count;
            return Draft.Chain(script.Skip(from).Take(System.Math.Min(Depth, maxDepth)).ToArray());
        }

        public void Observe(VerifyOutcome outcome)
        {
        }
    }

    private sealed class Watcher : IDecodeObserver
    {
        public List<int[]> Outcomes { get; } = new();

        public List<int> Emitted { get; } = new();

        public DecodeStats? Finished { get; private set; }

        public void OnVerified(VerifyOutcome outcome)
        {
            Outcomes.Add(outcome.Sequence.ToArray());
            Emitted.Add(outcome.Emitted.Count);
        }

        public void OnFinished(DecodeStats stats) => Finished = stats;
    }
}
