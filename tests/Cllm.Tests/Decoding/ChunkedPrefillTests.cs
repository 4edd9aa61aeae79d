using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

/// <summary>
/// Chunked prefill (<see cref="DecodeSession.Plan"/> with a prefill chunk, <see cref="CllmBuilder.WithPrefillChunk"/>): a
/// prompt longer than the chunk is cached over several forwards that emit nothing, and every greedy output still equals
/// the request decoded alone with one whole prefill, token for token.
/// </summary>
public class ChunkedPrefillTests
{
    /// <summary>
    /// Long prompts (longer than the chunk) join a batch whose short-prompt requests are already decoding, with AR, Jacobi
    /// and lookahead decoders: outputs equal each request alone; the prefill takes ⌈P / C⌉ forwards and emits what the
    /// whole prefill emitted; AR's forwards are its lone forwards plus the extra chunks.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public void LongPromptsPrefilledInChunksEqualEachRequestAlone(int chunk)
    {
        using var model = TinyLlama.Create(100 + chunk);
        var random = new Random(chunk);
        var decoders = new[] { (DraftVerifyDecoder)Decoders.Autoregressive(model), Decoders.Jacobi(model, 8), (DraftVerifyDecoder)Decoders.Lookahead(model) };

        // Two short prompts first (they join and decode), then long ones, alternating with short ones; near-ties (top-2
        // margin ≤ 1e-4) in the lone run are drawn again, since float rounding may flip them either way.
        var requests = new List<(DraftVerifyDecoder Decoder, DecodeRequest Request)>();
        var alone = new List<DecodeResult>();
        for (int attempt = 0; requests.Count < 9 && attempt < 40; attempt++)
        {
            var decoder = decoders[requests.Count % decoders.Length];
            bool longPrompt = requests.Count >= 2 && requests.Count % 2 == 0;
            int length = longPrompt ? chunk + 1 + random.Next(Math.Min(2 * chunk, 60) + 5) : 1 + random.Next(4);
            var request = new DecodeRequest
            {
                PromptIds = Enumerable.Range(0, length).Select(_ => random.Next(model.Config.VocabSize)).ToArray(),
                Options = new GenerationOptions { MaxNewTokens = 10 + random.Next(30) },
            };
            var result = decoder.DecodeToEnd(request);
            if (result.Stats.MinLogitMargin > 1e-4)
            {
                requests.Add((decoder, request));
                alone.Add(result);
            }
        }

        Assert.Equal(9, requests.Count);
        var outputs = BatchedDecodingTests.RunBatch(model, requests, capacity: 16, joinEvery: 2, cap: () => int.MaxValue, prefillChunk: chunk);
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.Equal(alone[i].OutputIds, outputs[i].Tokens);
            Assert.Equal(alone[i].Finish, outputs[i].Finish);
            int prompt = requests[i].Request.PromptIds.Count;
            int chunks = (prompt + chunk - 1) / chunk;
            var stats = outputs[i].Stats;
            Assert.Equal(chunks, stats.PrefillForwards);
            Assert.Equal(prompt, stats.PromptTokens);
            Assert.Equal(alone[i].Stats.GeneratedTokens, stats.GeneratedTokens);
            if (requests[i].Decoder.Name == "ar")
            {
                Assert.Equal(1, stats.PrefillTokens);
                Assert.Equal(alone[i].Stats.ForwardPasses + chunks - 1, stats.ForwardPasses);
                Assert.Equal(1.0, stats.AcceptedPerStep, 9);
            }
        }

        Assert.Contains(requests, r => r.Request.PromptIds.Count > chunk);
    }

    /// <summary>
    /// A request alone in its batch, prefilled in chunks of 3 (no other request to mask against: the default positions
    /// and causal mask at the cache's end), equals the whole prefill: greedy outputs, a seeded sample (a chunk draws
    /// nothing), the forwards and the tokens of the prefill.
    /// </summary>
    [Theory]
    [InlineData("ar", false)]
    [InlineData("jacobi:8", false)]
    [InlineData("lookahead", false)]
    [InlineData("ar", true)]
    public void AChunkedPrefillAloneEqualsTheWholePrefill(string spec, bool sampled)
    {
        using var model = TinyLlama.Create(41);
        var random = new Random(41);
        var request = new DecodeRequest
        {
            PromptIds = Enumerable.Range(0, 23).Select(_ => random.Next(model.Config.VocabSize)).ToArray(),
            Options = new GenerationOptions { MaxNewTokens = 30, Temperature = sampled ? 0.9 : null, Seed = sampled ? 5 : null },
        };
        var whole = BatchedDecodingTests.RunBatch(model, new[] { ((DraftVerifyDecoder)DecoderOptions.Parse(spec).CreateDecoder(model), request) }, capacity: 4, joinEvery: 0, cap: () => int.MaxValue)[0];
        var chunked = BatchedDecodingTests.RunBatch(model, new[] { ((DraftVerifyDecoder)DecoderOptions.Parse(spec).CreateDecoder(model), request) }, capacity: 4, joinEvery: 0, cap: () => int.MaxValue, prefillChunk: 3)[0];
        if (!sampled)
        {
            Assert.True(whole.Stats.MinLogitMargin > 1e-4, $"a near-tie ({whole.Stats.MinLogitMargin}): pick another seed");
        }

        Assert.Equal(whole.Tokens, chunked.Tokens);
        Assert.Equal(whole.Finish, chunked.Finish);
        Assert.Equal(1, whole.Stats.PrefillForwards);
        Assert.Equal(8, chunked.Stats.PrefillForwards);                                    // ⌈23 / 3⌉
        Assert.Equal(whole.Forwards + 7, chunked.Forwards);
        Assert.Equal(whole.Stats.PrefillTokens, chunked.Stats.PrefillTokens);
        Assert.Equal(whole.Stats.AcceptedPerStep, chunked.Stats.AcceptedPerStep, 9);
    }

    /// <summary>
    /// A request whose chunked prefill is cut short (cancelled: it leaves the batch mid-prompt) leaves the others exact,
    /// and its cached chunks are freed: the next forward compacts them away, so the cache holds exactly what a batch of the
    /// others alone holds.
    /// </summary>
    [Fact]
    public void ARequestLeavingMidPrefillFreesItsChunksAndLeavesTheOthersExact()
    {
        using var model = TinyLlama.Create(43);
        var random = new Random(43);
        var ar = (DraftVerifyDecoder)Decoders.Autoregressive(model);
        var jacobi = Decoders.Jacobi(model, 4);
        DecodeRequest Request(int length, int budget) => new()
        {
            PromptIds = Enumerable.Range(0, length).Select(_ => random.Next(model.Config.VocabSize)).ToArray(),
            Options = new GenerationOptions { MaxNewTokens = budget, StopAtEos = false },
        };
        var others = new[] { (ar, Request(2, 20)), (jacobi, Request(3, 40)) };
        var expected = others.Select(o => o.Item1.DecodeToEnd(o.Item2)).ToArray();
        Assert.All(expected, e => Assert.True(e.Stats.MinLogitMargin > 1e-4, "a near-tie: pick another seed"));
        var victimRequest = Request(120, 20);

        using var withVictim = new DecodeBatch(model, 8);
        using var reference = new DecodeBatch(model, 8);
        var sessions = others.Select(o => o.Item1.Start(o.Item1.Resolve(o.Item2), default)).ToList();
        var referenceSessions = others.Select(o => o.Item1.Start(o.Item1.Resolve(o.Item2), default)).ToList();
        sessions.ForEach(withVictim.Add);
        referenceSessions.ForEach(reference.Add);
        var index = new List<int> { 0, 1 };                                                // sessions[i] is others[index[i]]
        var tokens = others.Select(_ => new List<int>()).ToArray();
        var referenceTokens = others.Select(_ => new List<int>()).ToArray();
        DecodeSession? victim = null;
        for (int forward = 0; sessions.Count > 0; forward++)
        {
            if (forward == 2)
            {
                victim = jacobi.Start(jacobi.Resolve(victimRequest), default);
                withVictim.Add(victim);
            }

            var running = victim is null ? sessions.ToArray() : sessions.Append(victim).ToArray();
            var steps = DraftVerifyDecoder.Step(withVictim, running, prefillChunk: 16);
            var referenceSteps = DraftVerifyDecoder.Step(reference, referenceSessions, prefillChunk: 16);
            if (victim is not null)
            {
                Assert.Null(steps[^1]);                                                    // still prefilling: nothing emitted
            }

            if (forward == 5)
            {
                // Cancelled after 4 chunks (64 slots): it leaves, and the next forward compacts its slots away.
                Assert.True(victim!.AtPrefill);
                withVictim.Remove(victim);
                victim = null;
                Assert.True(withVictim.Length > reference.Length);
            }
            else if (forward > 5)
            {
                Assert.Equal(reference.Length, withVictim.Length);
            }

            for (int i = sessions.Count - 1; i >= 0; i--)
            {
                tokens[index[i]].AddRange(steps[i]!.Tokens);
                referenceTokens[index[i]].AddRange(referenceSteps[i]!.Tokens);
                if (steps[i]!.Finish != FinishReason.None)
                {
                    Assert.NotEqual(FinishReason.None, referenceSteps[i]!.Finish);
                    withVictim.Remove(sessions[i]);
                    reference.Remove(referenceSessions[i]);
                    sessions.RemoveAt(i);
                    referenceSessions.RemoveAt(i);
                    index.RemoveAt(i);
                }
            }
        }

        for (int i = 0; i < others.Length; i++)
        {
            Assert.Equal(expected[i].OutputIds, tokens[i]);
            Assert.Equal(expected[i].OutputIds, referenceTokens[i]);
        }
    }

    /// <summary>
    /// stories260K through the engine with chunks of 2: concurrent callers with mixed decoders and long and short prompts
    /// get what a one-at-a-time engine gives; a chunk size below 1 is refused at the builder.
    /// </summary>
    [Fact]
    public void ConcurrentChunkedEngineRequestsEqualTheSerialEngine()
    {
        var shorts = BatchedDecodingTests.Prompts("stories260K", 8);
        var prompts = shorts.Select((p, i) => i % 3 == 0 ? string.Join(" ", shorts.Skip(i).Concat(shorts.Take(i))) : p).ToArray();
        var specs = new[] { "ar", "jacobi:16", "lookahead", "jacobi:auto" };
        using var serial = CllmBuilder.FromCheckpoint(ShippedModels.Folder("stories260K")).WithMaxBatchSize(1).Build();
        using var batched = CllmBuilder.FromCheckpoint(ShippedModels.Folder("stories260K")).WithPrefillChunk(2).Build();
        var options = prompts.Select((_, i) => new GenerationOptions { MaxNewTokens = 24 + 8 * (i % 4), Decoder = DecoderOptions.Parse(specs[i % specs.Length]) }).ToArray();
        var expected = prompts.Select((p, i) => serial.Generate(p, options[i])).ToArray();
        Assert.Contains(expected, e => e.Stats.PromptTokens > 40);

        var results = new DecodeResult[prompts.Length];
        Parallel.For(0, prompts.Length, new ParallelOptions { MaxDegreeOfParallelism = prompts.Length }, i => results[i] = batched.Generate(prompts[i], options[i]));
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(expected[i].OutputIds, results[i].OutputIds);
            Assert.Equal(expected[i].Finish, results[i].Finish);
            Assert.InRange(results[i].Stats.PrefillForwards, 1, (results[i].Stats.PromptTokens + 1) / 2);
        }

        var builder = CllmBuilder.FromCheckpoint(ShippedModels.Folder("stories260K"));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.WithPrefillChunk(0));
    }

    /// <summary>
    /// Through the engine: a long-prompt request cancelled while its prefill is still in chunks (it has emitted nothing)
    /// ends alone; the request decoding next to it finishes exact, and the engine serves on.
    /// </summary>
    [Fact]
    public async Task CancellingAChunkedPrefillLeavesTheOthersExact()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Folder("stories260K")).WithPrefillChunk(1).Build();
        var prompts = BatchedDecodingTests.Prompts("stories260K", 8);
        var options = new GenerationOptions { MaxNewTokens = 150, StopAtEos = false, Decoder = DecoderOptions.Autoregressive };
        var expected = engine.Generate(prompts[1], options).OutputIds;
        var longRequest = engine.CreateRequest(string.Join(" ", prompts.Concat(prompts)), options);
        Assert.True(longRequest.PromptIds.Count > 80, $"{longRequest.PromptIds.Count} prompt tokens");

        // The other request streams; once it has emitted a token the long one joins, and after 3 more of the other's tokens
        // (a handful of forwards, far fewer than the long prompt's one-token chunks) it is cancelled.
        var decoder = (DraftVerifyDecoder)DecoderOptions.Autoregressive.CreateDecoder(engine.Model);  // batched on the engine's thread
        var other = engine.Submit(engine.Resolve(engine.CreateRequest(prompts[1], options)), decoder, default);
        var got = new List<int>();
        using var cancel = new CancellationTokenSource();
        StepCounter? victim = null;
        int seen = 0;
        await foreach (var step in other.ReadAllAsync())
        {
            got.AddRange(step.Tokens);
            seen++;
            if (seen == 1)
            {
                victim = new StepCounter(engine.Submit(engine.Resolve(longRequest), decoder, cancel.Token));
            }
            else if (seen == 4)
            {
                cancel.Cancel();
            }
        }

        Assert.Equal(expected, got);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => victim!.Completion);
        Assert.Equal(0, victim!.Steps);                                                    // cancelled while still prefilling
        Assert.Equal(expected, engine.Generate(prompts[1], options).OutputIds);
    }

    /// <summary>Reads a request's steps to the end, counting them.</summary>
    private sealed class StepCounter
    {
        public StepCounter(System.Threading.Channels.ChannelReader<DecodeStep> reader)
        {
            Completion = Task.Run(async () =>
            {
                await foreach (var _ in reader.ReadAllAsync())
                {
                    Steps++;
                }
            });
        }

        public Task Completion { get; }

        public int Steps { get; private set; }
    }
}
