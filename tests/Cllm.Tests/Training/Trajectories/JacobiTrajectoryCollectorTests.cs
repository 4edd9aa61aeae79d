using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Training;

namespace Cllm.Tests.Training.Trajectories;

public class JacobiTrajectoryCollectorTests
{
    [Theory]
    [InlineData(1, 4, 32)]
    [InlineData(2, 8, 30)]
    [InlineData(3, 16, 40)]
    public void FixedPointsConcatenatedAreTheGreedyOutput(int seed, int n, int maxNew)
    {
        using var model = TinyLlama.Create(seed);
        var options = new TrajectoryCollectionOptions { BlockSize = n, MaxNewTokens = maxNew, EosTokenIds = Array.Empty<int>(), Seed = seed };
        var collector = new JacobiTrajectoryCollector(model, TrajectoryFixtures.Prompts, options);
        int blocks = maxNew / n;                                                          // whole blocks within the cap (30 / 8: 3 blocks, 24 tokens)
        for (int i = 0; i < TrajectoryFixtures.Prompts.Count; i++)
        {
            var prompt = TrajectoryFixtures.Prompts[i];
            var result = collector.CollectPrompt(i);
            var greedy = TrajectoryFixtures.Greedy(model, prompt, blocks * n);
            Assert.Equal(blocks, result.Records.Count);
            Assert.Equal(greedy, result.Records.SelectMany(r => r.FixedPoint).ToArray());
            Assert.Equal(blocks * n, result.TokensGenerated);
            Assert.False(result.ReachedEos);
            Assert.True(result.ForwardPasses <= blocks * n + 1);
            AssertWellFormed(prompt, i, n, result.Records);
        }
    }

    [Fact]
    public void EveryStateIsTheJacobiUpdateOfThePreviousOneAndTheLastIsTheGreedyContinuation()
    {
        using var model = TinyLlama.Create(1);
        const int n = 8;
        var collector = new JacobiTrajectoryCollector(model, TrajectoryFixtures.Prompts, new TrajectoryCollectionOptions { BlockSize = n, MaxNewTokens = 24, EosTokenIds = Array.Empty<int>() });
        int multiState = 0;
        foreach (var record in collector.Read())
        {
            Assert.All(record.Trajectory, s => Assert.Equal(n, s.Length));
            Assert.Equal(TrajectoryFixtures.Greedy(model, record.PromptIds, n), record.FixedPoint);
            Assert.Equal(record.FixedPoint, TrajectoryFixtures.JacobiUpdate(model, record.PromptIds, record.FixedPoint));
            for (int j = 0; j + 1 < record.Trajectory.Count; j++)
            {
                Assert.Equal(record.Trajectory[j + 1], TrajectoryFixtures.JacobiUpdate(model, record.PromptIds, record.Trajectory[j]));
            }

            multiState += record.Trajectory.Count > 2 ? 1 : 0;
        }

        Assert.True(multiState > 0, "every trajectory converged at once: the test proves nothing");
    }

    [Fact]
    public void CollectionEndsAfterTheBlockThatReachesEos()
    {
        using var model = TinyLlama.Create(2);
        const int n = 4;
        var prompt = TrajectoryFixtures.Prompts[0];
        var greedy = TrajectoryFixtures.Greedy(model, prompt, 40);
        int eos = greedy[9];                                                              // pretend token 9 is EOS
        int first = Array.IndexOf(greedy, eos);
        int blocks = first / n + 1;
        var collector = new JacobiTrajectoryCollector(model, new[] { prompt }, new TrajectoryCollectionOptions { BlockSize = n, MaxNewTokens = 40, EosTokenIds = new[] { eos } });

        var result = collector.CollectPrompt(0);

        Assert.True(result.ReachedEos);
        Assert.Equal(blocks, result.Records.Count);
        Assert.Equal(greedy[..(blocks * n)], result.Records.SelectMany(r => r.FixedPoint).ToArray());  // the EOS block is whole
        Assert.Contains(eos, result.Records[^1].FixedPoint);
        AssertWellFormed(prompt, 0, n, result.Records);
    }

    [Fact]
    public void TheModelsEosIdsAreTheDefault()
    {
        using var model = TinyLlama.Create(1);
        var collector = new JacobiTrajectoryCollector(model, TrajectoryFixtures.Prompts, new TrajectoryCollectionOptions());
        Assert.Equal(new[] { 2 }, collector.EosTokenIds);
    }

    [Fact]
    public void PromptsNearTheContextEndGetTheWholeBlocksThatFitOrNone()
    {
        using var model = TinyLlama.Create(1, TinyLlama.Config(context: 32));
        const int n = 4;
        var prompts = new IReadOnlyList<int>[]
        {
            Enumerable.Range(3, 20).ToArray(),                                            // 32 − 20 − 1 = 11 → 2 blocks
            Enumerable.Range(3, 28).ToArray(),                                            // 3 → none
            Enumerable.Range(3, 32).ToArray(),                                            // longer than the context
        };
        var collector = new JacobiTrajectoryCollector(model, prompts, new TrajectoryCollectionOptions { BlockSize = n, MaxNewTokens = 64, EosTokenIds = Array.Empty<int>() });

        var fits = collector.CollectPrompt(0);
        Assert.Equal(2, fits.Records.Count);
        Assert.False(fits.TooLong);
        Assert.Equal(TrajectoryFixtures.Greedy(model, prompts[0], 2 * n), fits.Records.SelectMany(r => r.FixedPoint).ToArray());
        Assert.True(collector.CollectPrompt(1).TooLong);
        Assert.True(collector.CollectPrompt(2).TooLong);
        Assert.Empty(collector.CollectPrompt(2).Records);
    }

    [Fact]
    public void CleaningDropsRepetitiveRecordsAndCountsThem()
    {
        using var model = TinyLlama.Create(1);
        var prompts = new IReadOnlyList<int>[] { new[] { 1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8 }, TrajectoryFixtures.Prompts[0] };
        var options = new TrajectoryCollectionOptions { BlockSize = 4, MaxNewTokens = 12, EosTokenIds = Array.Empty<int>(), Clean = true };
        var collector = new JacobiTrajectoryCollector(model, prompts, options);

        var repetitive = collector.CollectPrompt(0);
        Assert.Equal(3, repetitive.BlocksCollected);
        Assert.Equal(3, repetitive.BlocksDropped);
        Assert.Empty(repetitive.Records);

        var clean = collector.CollectPrompt(1);
        Assert.Equal(0, clean.BlocksDropped);
        Assert.Equal(3, clean.Records.Count);
    }

    [Fact]
    public void AugmentedRecordsKeepTheirFixedPoints()
    {
        using var model = TinyLlama.Create(3);
        var options = new TrajectoryCollectionOptions { BlockSize = 16, MaxNewTokens = 48, EosTokenIds = Array.Empty<int>(), Seed = 5 };
        var plain = new JacobiTrajectoryCollector(model, TrajectoryFixtures.Prompts, options).Read().ToList();
        var augmentedRun = new JacobiTrajectoryCollector(model, TrajectoryFixtures.Prompts, options with { Augment = true });
        var augmented = augmentedRun.Read().ToList();

        Assert.Equal(plain.Count, augmented.Count);
        int changedStates = 0;
        for (int r = 0; r < plain.Count; r++)
        {
            Assert.Equal(plain[r].FixedPoint, augmented[r].FixedPoint);
            Assert.Equal(plain[r].TeacherOutputIds, augmented[r].TeacherOutputIds);
            Assert.Equal(plain[r].Trajectory.Count, augmented[r].Trajectory.Count);
            for (int j = 0; j + 1 < augmented[r].Trajectory.Count; j++)
            {
                Assert.NotEqual(augmented[r].FixedPoint, augmented[r].Trajectory[j]);
                changedStates += plain[r].Trajectory[j].AsSpan().SequenceEqual(augmented[r].Trajectory[j]) ? 0 : 1;
            }
        }

        Assert.True(changedStates > 0);
        Assert.Equal(changedStates, TrajectoryFixtures.Prompts.Select((_, i) => augmentedRun.CollectPrompt(i).StatesAugmented).Sum());
    }

    [SkippableFact]
    public void Stories260KTrajectoriesReproduceTheReferenceGreedyIds()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).Build();
        var references = ReferenceGreedy.Load(ShippedModels.Stories260K);
        const int n = 16;
        var options = new TrajectoryCollectionOptions { BlockSize = n, MaxNewTokens = 128, EosTokenIds = engine.EosTokenIds, Seed = 1 };
        var collector = new JacobiTrajectoryCollector(engine.Model, references.Select(r => (IReadOnlyList<int>)engine.Tokenizer.Encode(r.Prompt)).ToList(), options);
        for (int i = 0; i < references.Count; i++)
        {
            var result = collector.CollectPrompt(i);
            Assert.Equal(references[i].GreedyIds, result.Records.SelectMany(r => r.FixedPoint).ToArray());
            AssertWellFormed(references[i].PromptIds, i, n, result.Records);
            Assert.True(result.ForwardPasses <= 128 + 1, $"prompt {i}: {result.ForwardPasses} forwards for 128 tokens");   // never more than autoregressive decoding
            foreach (var record in result.Records)
            {
                int at = record.PromptIds.Count - references[i].PromptIds.Length;            // where the block starts in the greedy output
                Assert.Equal(references[i].GreedyIds.Skip(at).Take(n), record.FixedPoint);
            }
        }
    }

    /// <summary>The structural promises of a prompt's records.</summary>
    private static void AssertWellFormed(IReadOnlyList<int> prompt, int promptIndex, int n, IReadOnlyList<TrajectoryRecord> records)
    {
        var context = prompt.ToList();
        for (int k = 0; k < records.Count; k++)
        {
            var r = records[k];
            r.Validate();
            Assert.Equal($"data_{promptIndex}", r.DataId);
            Assert.Equal(k, r.BlockIndex);
            Assert.Equal(prompt.Count, r.PromptLength);
            Assert.Equal(context, r.PromptIds);
            Assert.All(r.Trajectory, s => Assert.Equal(n, s.Length));
            Assert.Equal(r.FixedPoint[0], r.Trajectory[0][0]);                            // the block's first token is known from the start
            for (int j = 0; j + 1 < r.Trajectory.Count; j++)
            {
                Assert.NotEqual(r.FixedPoint, r.Trajectory[j]);
            }

            Assert.Equal(context.Concat(r.FixedPoint), r.TeacherOutputIds);
            context.AddRange(r.FixedPoint);
        }

        Assert.All(records, r => Assert.Equal(context, r.CompleteTeacherOutputIds));
    }
}
