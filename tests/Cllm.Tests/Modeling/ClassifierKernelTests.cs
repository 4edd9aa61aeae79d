using System.Linq;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

/// <summary>ClassifierKernel, the bfloat16 CPU classifier: ATen's bfloat16 product within rounding, each row's bits its own.</summary>
public unsafe class ClassifierKernelTests
{
    [Theory]
    [InlineData(1, 96, 75, 1)]                                                                // 9 blocks of 8 columns and 3 left
    [InlineData(7, 96, 75, 1)]                                                                // tokens 4 + 3
    [InlineData(9, 1024, 1100, 2)]                                                            // two workers' columns, 4 left
    public void AgreesWithAtenAndEachRowHasTheBitsOfItsTokenAlone(int n, int c, int v, int workers)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        var h = randn(new long[] { n, c }, generator: generator).to_type(ScalarType.BFloat16);
        var w = randn(new long[] { c, v }, generator: generator).to_type(ScalarType.BFloat16);
        var logits = Run(h, w, workers);                                                    // (N, V) float32 of bf16 values

        var expected = h.to_type(ScalarType.Float32).matmul(w.to_type(ScalarType.Float32));
        using var ulp = (1.0 / 128).ToScalar();
        using var floor = (1e-6 * c).ToScalar();
        using var one = 1.ToScalar();
        Assert.True((logits - expected).abs().le(expected.abs().mul(ulp).add(floor, one)).all().item<bool>(),
            $"largest difference {(logits - expected).abs().max().item<float>()}");
        Assert.True(logits.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32).eq(logits).all().item<bool>(), "logits are bfloat16 values");

        for (int t = 0; t < n; t++)
        {
            var alone = Run(h.narrow(0, t, 1).contiguous(), w, 1);
            Assert.True(logits.narrow(0, t, 1).contiguous().bytes.ToArray().SequenceEqual(alone.bytes.ToArray()), $"row {t}");
        }
    }

    private static Tensor Run(Tensor h, Tensor w, int workers)
    {
        int n = (int)h.shape[0], c = (int)w.shape[0], v = (int)w.shape[1];
        var logits = empty(new long[] { n, v }, dtype: ScalarType.Float32);
        fixed (byte* hs = h.bytes)
        fixed (byte* ws = w.bytes)
        fixed (byte* ys = logits.bytes)
        {
            ClassifierKernel.Run((ushort*)hs, n, c, (ushort*)ws, v, (float*)ys, workers);
        }

        return logits;
    }
}
