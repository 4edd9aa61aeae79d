using System.Linq;
using Cllm.Tests.TestKit;
using TorchSharp;

namespace Cllm.Tests.Decoding;

public class MemoryTests
{
    [Fact]
    public void LiveTensorCountStaysFlatOverAThousandJacobiBlocks()
    {
        var config = TinyLlama.Config(context: 4200, layers: 1);
        using var model = TinyLlama.Create(21, config);
        var decoder = Decoders.Jacobi(model, 4);
        var request = new DecodeRequest { PromptIds = new[] { 1, 7, 9 }, Options = new GenerationOptions { MaxNewTokens = 4100 } };
        decoder.DecodeToEnd(request with { Options = request.Options with { MaxNewTokens = 8 } });                                // builds the model's lean weight copy, which the model owns
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long atStep50 = -1, atStep500 = -1;
        DecodeStats? stats = null;
        foreach (var step in decoder.Decode(request))
        {
            if (step.StepIndex == 50)
            {
                atStep50 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }

            if (step.StepIndex == 500)
            {
                atStep500 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }

            stats = step.Stats ?? stats;
        }

        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.NotNull(stats);
        Assert.True(stats!.BlockIterations.Count >= 1000, $"only {stats.BlockIterations.Count} blocks");
        Assert.Equal(atStep50, atStep500);                                                     // nothing accumulates while decoding
        Assert.Equal(before, after);                                                           // and nothing is left behind
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LiveTensorCountStaysFlatOverALongLookaheadDecode(bool sampled)
    {
        var config = TinyLlama.Config(context: 2200, layers: 1);
        using var model = TinyLlama.Create(22, config);
        var decoder = Decoders.Lookahead(model, window: 3, ngram: 3, guesses: 3);
        var request = new DecodeRequest
        {
            PromptIds = new[] { 1, 7, 9 },
            Options = new GenerationOptions { MaxNewTokens = 2000, Temperature = sampled ? 1.0 : null, Seed = sampled ? 5 : null },
        };
        decoder.DecodeToEnd(request with { Options = request.Options with { MaxNewTokens = 8 } });                                // builds the model's lean weight copy, which the model owns
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long atStep50 = -1, atStep400 = -1;
        int steps = 0;
        foreach (var step in decoder.Decode(request))
        {
            steps++;
            if (step.StepIndex == 50)
            {
                atStep50 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }

            if (step.StepIndex == 400)
            {
                atStep400 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
        }

        Assert.True(steps > 400, $"only {steps} steps");
        Assert.Equal(atStep50, atStep400);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
