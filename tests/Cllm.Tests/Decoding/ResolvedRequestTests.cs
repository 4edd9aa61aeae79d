using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;
using Microsoft.Extensions.AI;

namespace Cllm.Tests.Decoding;

/// <summary>
/// One request path: a request is checked and resolved once, when it is submitted, into a <see cref="ResolvedRequest"/>
/// that shares nothing with the caller; the session decodes that form, and bad input fails at the call with one message
/// whichever public entry took it.
/// </summary>
public class ResolvedRequestTests
{
    [Fact]
    public void ResolvingAppliesTheDefaultsAndCopiesEveryListOfTheCaller()
    {
        var prompt = new List<int> { 1, 5, 9 };
        var stops = new List<int> { 2, 7 };
        var sequence = new List<int> { 4, 4 };
        var request = new DecodeRequest { PromptIds = prompt, Options = new GenerationOptions { StopTokenIds = stops, StopSequences = new[] { sequence } } };

        var resolved = ResolvedRequest.From(request, vocabSize: 97, contextLength: 256);
        prompt[0] = 3;
        prompt.Add(8);
        stops.Clear();
        sequence[1] = 6;

        Assert.Equal(new[] { 1, 5, 9 }, resolved.PromptIds);
        Assert.Equal(GenerationOptions.DefaultMaxNewTokens, resolved.MaxNewTokens);
        Assert.Same(SamplingOptions.Greedy, resolved.Sampling);
        Assert.Equal(new[] { 2, 7 }, resolved.Stop.EosTokenIds);
        Assert.Equal(new[] { 4, 4 }, Assert.Single(resolved.Stop.StopSequences));
    }

    [Fact]
    public void TheRequestHandedToADecoderOfTheCallersOwnResolvesToTheSameValues()
    {
        var request = new DecodeRequest
        {
            PromptIds = new[] { 1, 6 },
            Options = new GenerationOptions { MaxNewTokens = 9, Temperature = 0.7, TopK = 5, TopP = 0.9, Seed = 3, StopTokenIds = new[] { 2 }, StopSequences = new[] { new[] { 8, 8 } } },
        };
        var resolved = ResolvedRequest.From(request, 97, 256);
        var again = ResolvedRequest.From(resolved.ToRequest(), 97, 256);

        Assert.Equal(resolved.PromptIds, again.PromptIds);
        Assert.Equal(9, again.MaxNewTokens);
        Assert.Equal(resolved.Sampling, again.Sampling);                                   // a record: equal values
        Assert.Equal(new SamplingOptions { Temperature = 0.7, TopK = 5, TopP = 0.9, Seed = 3 }, again.Sampling);
        Assert.Equal(resolved.Stop.EosTokenIds, again.Stop.EosTokenIds);
        Assert.Equal(resolved.Stop.StopSequences.Select(s => s.ToArray()), again.Stop.StopSequences.Select(s => s.ToArray()));
    }

    [Fact]
    public void TheSessionHoldsTheResolvedFormItWasGiven()
    {
        using var model = TinyLlama.Create(31);
        var decoder = Decoders.Jacobi(model, 8);
        var resolved = decoder.Resolve(new DecodeRequest { PromptIds = new[] { 1, 4, 9 }, Options = new GenerationOptions { MaxNewTokens = 12 } });
        var session = decoder.Start(resolved, default);
        Assert.Same(resolved, session.Request);
        Assert.Equal(3 + 12 + 7 + 1, session.CacheSlots);                                 // prompt, budget, deepest draft, pending
    }

    /// <summary>Before the request was copied at submission, the prefill read the caller's list: changing it changed the output.</summary>
    [Fact]
    public void APromptChangedAfterTheDecodeCallDoesNotChangeTheOutput()
    {
        using var model = TinyLlama.Create(32);
        var original = new[] { 1, 14, 27, 40, 53 };
        var options = new GenerationOptions { MaxNewTokens = 24 };
        foreach (var decoder in new[] { Decoders.Autoregressive(model), Decoders.Jacobi(model, 6) })
        {
            var expected = decoder.DecodeToEnd(new DecodeRequest { PromptIds = original, Options = options }).OutputIds;
            var changedAfter = decoder.DecodeToEnd(new DecodeRequest { PromptIds = new[] { 1, 60, 61, 62, 63, 64 }, Options = options }).OutputIds;
            Assert.NotEqual(expected, changedAfter);                                        // the change would show

            var prompt = original.ToList();
            var steps = decoder.Decode(new DecodeRequest { PromptIds = prompt, Options = options });
            prompt.RemoveRange(1, 4);
            prompt.AddRange(new[] { 60, 61, 62, 63, 64 });
            Assert.Equal(expected, steps.SelectMany(s => s.Tokens).ToList());
        }
    }

    [SkippableFact]
    public void APromptChangedAfterSubmissionToTheEngineDoesNotChangeTheOutput()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 8).Build();
        var options = new GenerationOptions { MaxNewTokens = 24 };
        var original = engine.Tokenizer.Encode("Once upon a time");
        var other = engine.Tokenizer.Encode("The dog ran to the park and");
        var expected = engine.Run(engine.CreateRequest(original, options)).SelectMany(s => s.Tokens).ToList();
        Assert.NotEqual(expected, engine.Run(engine.CreateRequest(other, options)).SelectMany(s => s.Tokens).ToList());

        var viaRun = original.ToList();
        var run = engine.Run(engine.CreateRequest(viaRun, options));                     // queued now, decoded on the engine's thread
        var viaDecoder = original.ToList();
        var decode = engine.Decoder.Decode(engine.CreateRequest(viaDecoder, options));    // checked and copied now, queued when enumerated
        foreach (var prompt in new[] { viaRun, viaDecoder })
        {
            prompt.Clear();
            prompt.AddRange(other);
        }

        Assert.Equal(expected, run.SelectMany(s => s.Tokens).ToList());
        Assert.Equal(expected, decode.SelectMany(s => s.Tokens).ToList());
    }

    /// <summary>
    /// Every public entry throws at the call, on the caller's thread (nothing was enumerated, so no forward ran), with the
    /// message of the one check; the engine serves on.
    /// </summary>
    [SkippableFact]
    public async Task BadInputFailsAtTheCallWithTheSameMessageOnEveryPath()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 8).Build();
        int context = engine.Model.Config.MaxPositionEmbeddings;
        var alone = DecoderOptions.Autoregressive.CreateDecoder(engine.Model);
        var bad = new[]
        {
            new DecodeRequest { PromptIds = Array.Empty<int>() },
            new DecodeRequest { PromptIds = Enumerable.Repeat(1, context).ToArray() },
            new DecodeRequest { PromptIds = new[] { 1, engine.Model.Config.VocabSize } },
            new DecodeRequest { PromptIds = new[] { 1 }, Options = new GenerationOptions { MaxNewTokens = 0 } },
            new DecodeRequest { PromptIds = new[] { 1 }, Options = new GenerationOptions { Temperature = -1 } },
            new DecodeRequest { PromptIds = new[] { 1 }, Options = new GenerationOptions { TopP = 0 } },
        };
        foreach (var request in bad)
        {
            var check = Assert.ThrowsAny<ArgumentException>(() => request.Validate(engine.Model.Config.VocabSize, context));
            foreach (Func<object> call in new Func<object>[]
            {
                () => alone.Decode(request),
                () => engine.Decoder.Decode(request),
                () => engine.CreateDecoder(DecoderOptions.Autoregressive).Decode(request),
                () => engine.Run(request),
                () => engine.RunAsync(request),
            })
            {
                var ex = Assert.ThrowsAny<ArgumentException>(call);
                Assert.Equal(check.GetType(), ex.GetType());
                Assert.Equal(check.Message, ex.Message);
            }
        }

        // A text prompt longer than the context: Generate and the chat client fail in the same check, with its message.
        string tooLong = string.Join(' ', Enumerable.Repeat("Once upon a time", 400));
        var ids = engine.Tokenizer.Encode(tooLong);
        var expected = Assert.Throws<ArgumentException>(() => alone.Decode(new DecodeRequest { PromptIds = ids })).Message;
        Assert.Equal(expected, Assert.Throws<ArgumentException>(() => engine.Generate(tooLong)).Message);
        Assert.Equal(expected, Assert.Throws<ArgumentException>(() => engine.GenerateStreaming(tooLong)).Message);
        var chat = await Assert.ThrowsAsync<ArgumentException>(() => engine.AsChatClient().GetResponseAsync(new[] { new ChatMessage(ChatRole.User, tooLong) }));
        Assert.StartsWith("the prompt has ", chat.Message);
        Assert.Contains($"the model's context holds {context}, so nothing could be generated.", chat.Message);

        Assert.Equal(4, engine.Generate("Once", new GenerationOptions { MaxNewTokens = 4, StopAtEos = false }).OutputIds.Count);
    }
}
