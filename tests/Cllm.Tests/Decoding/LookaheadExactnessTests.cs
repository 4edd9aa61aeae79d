using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

public class LookaheadExactnessTests
{
    [Theory]
    [InlineData(5, 4, 5)]
    [InlineData(2, 3, 0)]
    [InlineData(7, 5, 7)]
    [InlineData(3, 3, 10)]
    public void GreedyLookaheadEqualsAutoregressiveOnRandomModels(int window, int ngram, int guesses)
    {
        foreach (var seed in new[] { 1, 2, 3 })
        {
            using var model = TinyLlama.Create(seed);
            var request = new DecodeRequest { PromptIds = new[] { 1, 5 + seed, 17, 33, 4, 5 + seed, 17 }, Options = new GenerationOptions { MaxNewTokens = 90 } };
            var ar = Decoders.Autoregressive(model).DecodeToEnd(request);
            var lookahead = Decoders.Lookahead(model, window, ngram, guesses).DecodeToEnd(request);
            Assert.True(ar.Stats.MinLogitMargin > 1e-4, $"seed {seed}: near-tie {ar.Stats.MinLogitMargin}");
            Assert.Equal(ar.OutputIds, lookahead.OutputIds);
            Assert.True(lookahead.Stats.ForwardPasses <= ar.Stats.ForwardPasses);
        }
    }
}
