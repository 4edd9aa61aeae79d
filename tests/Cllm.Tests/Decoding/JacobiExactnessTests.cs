using System.Linq;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Decoding;

public class JacobiExactnessTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(64)]
    public void GreedyJacobiEqualsAutoregressiveOnRandomModels(int n)
    {
        foreach (var seed in new[] { 1, 2, 3 })
        {
            using var model = TinyLlama.Create(seed);
            var request = new DecodeRequest { PromptIds = new[] { 1, 5 + seed, 17, 33, 4 }, Options = new GenerationOptions { MaxNewTokens = 80 } };
            var ar = Decoders.Autoregressive(model).DecodeToEnd(request);
            var jacobi = Decoders.Jacobi(model, n).DecodeToEnd(request);
            Assert.True(ar.Stats.MinLogitMargin > 1e-4, $"seed {seed}: near-tie {ar.Stats.MinLogitMargin} makes the comparison meaningless");
            Assert.Equal(ar.OutputIds, jacobi.OutputIds);
            Assert.Equal(80, ar.OutputIds.Count);
            Assert.Equal(ar.OutputIds.Count, ar.Stats.ForwardPasses);
            Assert.True(jacobi.Stats.ForwardPasses <= ar.Stats.ForwardPasses);
            Assert.Equal(jacobi.Stats.BlockIterations.Sum() + 1, jacobi.Stats.ForwardPasses);
        }
    }

    [Fact]
    public void TheBlockFiguresArriveInTheStatsOfJacobiRequestsOnly()
    {
        using var model = TinyLlama.Create(7);
        var request = new DecodeRequest { PromptIds = new[] { 1, 9, 17, 33 }, Options = new GenerationOptions { MaxNewTokens = 48 } };
        var jacobi = Decoders.Jacobi(model, 8).DecodeToEnd(request).Stats;
        var ar = Decoders.Autoregressive(model).DecodeToEnd(request).Stats;

        Assert.NotEmpty(jacobi.BlockIterations);
        Assert.Equal(jacobi.BlockIterations.Average(), jacobi.IterationsPerBlock, 12);
        Assert.InRange(jacobi.FastForwarded, 1.0, 8.0);                                   // every iteration fixes at least one token of its block
        Assert.InRange(jacobi.Stationary, 0, jacobi.GeneratedTokens);
        Assert.Empty(ar.BlockIterations);
        Assert.Equal((0.0, 0.0, 0), (ar.IterationsPerBlock, ar.FastForwarded, ar.Stationary));
    }
}
