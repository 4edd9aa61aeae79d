using System;
using System.Linq;
using System.Threading.Tasks;
using Cllm.CommandLine;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Reliability;

/// <summary>The <c>cllm dev stress</c> check on a real model: parallel decoders and concurrent chat requests under GC pressure.</summary>
[Collection("Console")]
public class StressRunTests
{
    [SkippableFact]
    public void ParallelDecodersAndConcurrentChatRequestsOnOneEngineNeverFail()
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Stories260K).UseJacobi(n: 16).Build();
        var outcome = new StressRun
        {
            Engine = engine,
            Prompts = new[] { "Once upon a time", "The little dog", "Tom had a red ball" },
            Decoders = new[] { DecoderOptions.Parse("ar"), DecoderOptions.Parse("jacobi:16"), DecoderOptions.Parse("lookahead") },
            Workers = 3,
            ChatRequests = 40,
            MaxNewTokens = 24,
            Duration = TimeSpan.FromSeconds(6),
        }.Run();

        Assert.True(outcome.Failures.Count == 0, string.Join(" | ", outcome.Failures.Take(5)));
        Assert.Equal(40, outcome.ChatResponses);
        Assert.True(outcome.Decodes >= 6, $"only {outcome.Decodes} decodes ran");
        Assert.True(outcome.GarbageCollections >= 50, $"only {outcome.GarbageCollections} garbage collections ran");
    }

    [SkippableFact]
    public async Task StressCommandExitsZeroWhenNothingFailsAndRefusesBadDurations()
    {
        var (code, error) = await CliRunner.Run("dev", "stress", "--model", ShippedModels.Stories260K, "--seconds", "2", "--chat-requests", "6", "--decoders", "ar,jacobi:8", "--threads", "1");
        Assert.True(code == 0, error);

        // bfloat16 with int4a8 weights: the CPU attention, norms and integer kernel under the same concurrency.
        (code, error) = await CliRunner.Run("dev", "stress", "--model", ShippedModels.Stories260K, "--seconds", "2", "--chat-requests", "6", "--decoders", "ar,jacobi:8,lookahead", "--dtype", "bfloat16", "--quantize", "int4a8");
        Assert.True(code == 0, error);

        (code, error) = await CliRunner.Run("dev", "stress", "--model", ShippedModels.Stories260K, "--seconds", "0");
        Assert.Equal(1, code);
        Assert.Contains("--seconds", error, StringComparison.Ordinal);
    }
}
