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
        var request = new DecodeRequest { PromptIds = new[] { 1, 7, 9 }, MaxNewTokens = 4100 };
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
}
