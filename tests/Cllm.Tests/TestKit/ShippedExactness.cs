using System.Collections.Generic;
using Xunit;

namespace Cllm.Tests.TestKit;

/// <summary>The shipped-model exactness check that decoders share: greedy output and finish equal AR's, in no more forwards.</summary>
internal static class ShippedExactness
{
    /// <summary>
    /// Decodes every prompt with budgets 1, 2 and 64 by AR and by <paramref name="spec"/> (one decoder for all, so a
    /// first-token memory fills as it goes) over the shipped model <paramref name="folder"/>; asserts equal ids and finish
    /// and no more forwards than AR, and returns both forward totals.
    /// </summary>
    public static (int Forwards, int ArForwards) AssertGreedyEqualsAr(string folder, IReadOnlyList<string> prompts, string spec)
    {
        using var engine = CllmBuilder.FromCheckpoint(ShippedModels.Folder(folder)).Build();
        var ar = DecoderOptions.Autoregressive.CreateDecoder(engine.Model);
        var decoder = DecoderOptions.Parse(spec).CreateDecoder(engine.Model);
        int forwards = 0, arForwards = 0;
        foreach (var budget in new[] { 1, 2, 64 })
        {
            foreach (var text in prompts)
            {
                var request = engine.CreateRequest(text, new GenerationOptions { MaxNewTokens = budget });
                var expected = ar.DecodeToEnd(request);
                var result = decoder.DecodeToEnd(request);
                Assert.Equal(expected.OutputIds, result.OutputIds);
                Assert.Equal(expected.Finish, result.Finish);
                Assert.True(result.Stats.ForwardPasses <= expected.Stats.ForwardPasses, $"{folder} '{text}': {result.Stats.ForwardPasses} forwards, AR {expected.Stats.ForwardPasses}");
                forwards += result.Stats.ForwardPasses;
                arForwards += expected.Stats.ForwardPasses;
            }
        }

        return (forwards, arForwards);
    }
}
