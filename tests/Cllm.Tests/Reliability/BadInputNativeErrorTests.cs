using System.Runtime.InteropServices;
using Cllm.CommandLine;
using TorchSharp;

namespace Cllm.Tests.Reliability;

/// <summary>A libtorch error the up-front checks could not foresee is still one line, without C++ frames.</summary>
public class BadInputNativeErrorTests
{
    [Fact]
    public void AFailedNativeAllocationBecomesOneLineWithoutFrames()
    {
        var ex = Assert.ThrowsAny<ExternalException>(() =>
        {
            using var huge = torch.empty(new long[] { 1L << 50 }, dtype: torch.ScalarType.Float32);
        });
        Assert.Contains("frame #", ex.Message);                                            // what used to be printed

        string line = CliErrors.OneLine(ex);
        Assert.DoesNotContain("frame #", line);
        Assert.DoesNotContain("Exception raised from", line);
        Assert.DoesNotContain("\n", line);
        Assert.Contains("allocate", line);
    }
}
