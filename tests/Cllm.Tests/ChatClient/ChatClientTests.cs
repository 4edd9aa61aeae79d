using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Cllm;
using Cllm.Tests.TestKit;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Cllm.Tests.ChatClient;

public class ChatClientTests
{
    private static readonly string[] Prompts =
    {
        "Once upon a time", "Lily and Ben went to the park", "The little dog", "One day, a girl named Sue", "Tom had a red ball",
        "There was a big tree", "Mom said it was time for bed", "The cat saw a bird",
    };

    [SkippableFact]
    public async Task GreedyResponseEqualsTheEnginesGreedyTextAndReportsUsage()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 16).Build();
        var client = engine.AsChatClient();
        var options = new ChatOptions { MaxOutputTokens = 40, StopSequences = new List<string>() };
        engine.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 40 });              // the decoder learns a first-token guess
        var expected = engine.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 40 });
        var response = await client.GetResponseAsync(new[] { new ChatMessage(ChatRole.User, "Once upon a time") }, options);
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(expected.PromptIds.Count, response.Usage!.InputTokenCount);
        Assert.Equal(expected.PromptIds.Count - 1, response.Usage.CachedInputTokenCount);              // the same prompt as the request before it
        Assert.Equal(40, response.Usage.OutputTokenCount);
        Assert.Equal(expected.Stats.ForwardPasses, response.Usage.AdditionalCounts!["ForwardPasses"]);
        Assert.True(response.Usage.AdditionalCounts["JacobiIterations"] > 0);
        Assert.Equal(40, options.MaxOutputTokens);                                               // the caller's options are untouched
        Assert.Empty(options.StopSequences);
        Assert.Null(options.Temperature);

        var streamed = new StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(new[] { new ChatMessage(ChatRole.User, "Once upon a time") }, options))
        {
            streamed.Append(update.Text);
        }

        Assert.Equal(expected.Text, streamed.ToString());
    }

    /// <summary>A conversation's second turn resends the first; the engine reuses that prefix (<see cref="UsageDetails.CachedInputTokenCount"/>).</summary>
    [SkippableFact]
    public async Task TheSecondTurnOfAConversationReusesTheFirst()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).Build();
        var client = engine.AsChatClient();
        var options = new ChatOptions { MaxOutputTokens = 30 };
        var history = new List<ChatMessage> { new(ChatRole.User, "Once upon a time") };
        var first = await client.GetResponseAsync(history, options);
        Assert.Equal(0, first.Usage!.CachedInputTokenCount);
        history.AddRange(first.Messages);
        history.Add(new ChatMessage(ChatRole.User, "Then the cat"));
        var second = await client.GetResponseAsync(history, options);
        Assert.True(second.Usage!.CachedInputTokenCount >= first.Usage.InputTokenCount,
            $"reused {second.Usage.CachedInputTokenCount} of {second.Usage.InputTokenCount}; the first turn's prompt had {first.Usage.InputTokenCount}");
    }

    [SkippableFact]
    public async Task StopSequenceEndsTheResponseBeforeIt()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseLookahead().Build();
        var full = engine.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 60 }).Text;
        int at = full.IndexOf("Lily", StringComparison.Ordinal);
        Assert.True(at > 0);
        var response = await engine.AsChatClient().GetResponseAsync(
            new[] { new ChatMessage(ChatRole.User, "Once upon a time") }, new ChatOptions { MaxOutputTokens = 60, StopSequences = new[] { "Lily" } });
        Assert.Equal(full[..at], response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [SkippableFact]
    public async Task ThirtyTwoConcurrentRequestsAreServedWithoutCrossTalkAndOneCancellationStaysLocal()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 8).Build();
        var client = engine.AsChatClient();
        var expected = Prompts.Select(p => engine.Generate(p, new GenerationOptions { MaxNewTokens = 30 }).Text).ToArray();
        using var cancelled = new CancellationTokenSource();
        var tasks = Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            var options = new ChatOptions { MaxOutputTokens = 30 };
            var messages = new[] { new ChatMessage(ChatRole.User, Prompts[i % Prompts.Length]) };
            if (i == 5)
            {
                var text = new StringBuilder();
                await foreach (var update in client.GetStreamingResponseAsync(messages, new ChatOptions { MaxOutputTokens = 400 }, cancelled.Token))
                {
                    text.Append(update.Text);
                    cancelled.Cancel();
                }

                return text.ToString();
            }

            return (await client.GetResponseAsync(messages, options)).Text;
        })).ToArray();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tasks[5]);
        for (int i = 0; i < tasks.Length; i++)
        {
            if (i != 5)
            {
                Assert.Equal(expected[i % Prompts.Length], await tasks[i]);
            }
        }
    }

    [SkippableFact]
    public void DependencyInjectionRegistersTheChatClient()
    {
        var services = new ServiceCollection();
        services.AddCllm(CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 16));
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();
        Assert.Same(provider.GetRequiredService<CllmEngine>(), client.GetService(typeof(CllmEngine)));
        Assert.Equal("cllm", client.GetService<ChatClientMetadata>()!.ProviderName);
    }

    [SkippableFact]
    public async Task RequestsAreMeasuredOnTheCllmMeter()
    {
        long tokens = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CllmTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) =>
        {
            if (instrument.Name == "cllm.tokens.generated")
            {
                Interlocked.Add(ref tokens, value);
            }
        });
        listener.Start();
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).Build();
        await engine.AsChatClient().GetResponseAsync(new[] { new ChatMessage(ChatRole.User, "The cat") }, new ChatOptions { MaxOutputTokens = 12 });
        Assert.True(Interlocked.Read(ref tokens) >= 12);
    }
}
