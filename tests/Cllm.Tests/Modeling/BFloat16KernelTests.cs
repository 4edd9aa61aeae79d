using System;
using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

/// <summary>
/// Packed bfloat16 weights (<see cref="WeightQuantization.BFloat16"/>): the product against the exact one of the same
/// bfloat16 numbers, row and thread invariance bit for bit, the in-place product against Forward, the odd-K fallback, and
/// that a machine with AVX-512 BF16 runs the kernel.
/// </summary>
public class BFloat16KernelTests
{
    private static Tensor Weight(long n, long k, ulong seed) => NativeKernelBuild.RandomWeight(n, k, seed);

    private static void SkipWithoutKernel() => Skip.IfNot(BFloat16Kernel.IsSupported, $"the packed bfloat16 kernel does not run here: {BFloat16Kernel.Missing}");

    [SkippableTheory]
    [InlineData(64, 256, 1)]
    [InlineData(40, 64, 1)]       // N not a multiple of 16: the last group is padded
    [InlineData(172, 64, 1)]      // stories260K's gate/up
    [InlineData(704, 256, 1)]     // sql-cllm's MLP
    [InlineData(2048, 640, 2)]    // large enough to be split over two workers
    public void ProductIsTheExactProductOfTheBFloat16NumbersUpToFloat32Sums(long n, long k, int threads)
    {
        SkipWithoutKernel();
        using var scope = NewDisposeScope();
        var w = Weight(n, k, 1);
        using var q = QuantizedWeight.Create(w, WeightQuantization.BFloat16, ScalarType.BFloat16);
        q.KernelThreads = threads;
        Assert.Equal(WeightQuantization.BFloat16, q.Format);
        Assert.Equal("bfloat16 packed", q.Description);
        Assert.Equal(BFloat16Kernel.PackedLength(n, k) * 2, q.Bytes);
        using var generator = new Generator(2);
        foreach (int tokens in new[] { 1, 5, 6, 7, 17, 33 })
        {
            var x = randn(new long[] { tokens, k }, generator: generator).to_type(ScalarType.BFloat16);
            var exact = matmul(x.to_type(ScalarType.Float64), w.to_type(ScalarType.BFloat16).to_type(ScalarType.Float64).t());   // (T, N)
            var y = q.Forward(x.to_type(ScalarType.Float32));                                                 // float32 in: rounded to bfloat16, float32 out
            Assert.Equal(new[] { (long)tokens, n }, y.shape);
            Assert.Equal(ScalarType.Float32, y.dtype);
            double error = y.to_type(ScalarType.Float64).sub(exact).abs().max().item<double>();
            double scale = exact.abs().max().item<double>();
            Assert.True(error <= 1e-5 * scale, $"T = {tokens}: the packed product differs from the exact one by {error} (largest output {scale})");
        }
    }

    [SkippableFact]
    public void DequantizingGivesTheWeightRoundedToBFloat16()
    {
        SkipWithoutKernel();
        using var scope = NewDisposeScope();
        var w = Weight(40, 96, 3);
        using var q = QuantizedWeight.Create(w, WeightQuantization.BFloat16, ScalarType.BFloat16);
        Assert.True(q.Dequantize().eq(w.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32)).all().item<bool>());
    }

    [SkippableFact]
    public void EachRowComesOutBitForBitAsWhenComputedAloneOnAnyNumberOfWorkers()
    {
        // Jacobi verifies T tokens in one forward where autoregressive decoding computes one, and a loaded engine may split
        // a call over its workers: neither may change how an output is rounded (the grown 1B's MLP shape, T up to 33).
        SkipWithoutKernel();
        using var scope = NewDisposeScope();
        using var q = QuantizedWeight.Create(Weight(5632, 256, 4), WeightQuantization.BFloat16, ScalarType.BFloat16);
        using var generator = new Generator(5);
        foreach (int t in new[] { 2, 4, 7, 16, 33 })
        {
            var x = randn(new long[] { t, 256 }, generator: generator).to_type(ScalarType.BFloat16);
            q.KernelThreads = 2;
            var together = q.Forward(x);
            q.KernelThreads = 1;
            Assert.True(q.Forward(x).eq(together).all().item<bool>(), $"T = {t}: one worker and two round differently");
            for (int i = 0; i < t; i++)
            {
                Assert.True(q.Forward(x.narrow(0, i, 1)).eq(together.narrow(0, i, 1)).all().item<bool>(), $"row {i} of {t} differs from the same row alone");
            }
        }
    }

    [SkippableTheory]
    [InlineData(ScalarType.BFloat16, false)]
    [InlineData(ScalarType.BFloat16, true)]
    public void ProductIntoAnOutputHasTheBitsOfForwardThenCopyOrAdd(ScalarType dtype, bool accumulate)
    {
        SkipWithoutKernel();
        using var scope = NewDisposeScope();
        using var q = QuantizedWeight.Create(Weight(72, 128, 6), WeightQuantization.BFloat16, ScalarType.BFloat16);
        using var generator = new Generator(7);
        var x = randn(new long[] { 9, 128 }, generator: generator).to_type(dtype);
        var start = randn(new long[] { 9, 72 }, generator: generator).to_type(dtype);
        var output = start.clone();
        Assert.True(q.TryForwardInto(x, output, accumulate));
        using var one = 1.ToScalar();
        var expected = accumulate ? start.add(q.Forward(x), one) : q.Forward(x);
        Assert.True(output.eq(expected).all().item<bool>(), "the in-place product differs from Forward followed by copy_/add_");
        Assert.False(q.TryForwardInto(x.to_type(ScalarType.Float32), output.to_type(ScalarType.Float32), accumulate));   // float32 activations go through Forward
    }

    [Fact]
    public void OddInputSizesStayUnpacked()
    {
        using var scope = NewDisposeScope();
        Assert.False(BFloat16Kernel.Fits(171));
        using var q = QuantizedWeight.Create(Weight(64, 171, 8), WeightQuantization.BFloat16, ScalarType.BFloat16, ScalarType.BFloat16);
        Assert.Equal(WeightQuantization.None, q.Format);
        Assert.Equal("BFloat16", q.Description);
    }

    [SkippableFact]
    public void ThisLinuxX64MachineRunsTheKernelWhereItsCpuHasAvx512Bf16()
    {
        // Built (a C compiler was found) and a CPU with AVX-512 BF16: the kernel must run, or --quantize bf16 is refused
        // where it should work and the tests above skip.
        bool built = NativeKernelBuild.Built;
        bool cpuHas = System.Runtime.Intrinsics.X86.Avx512BW.VL.IsSupported
            && (System.Runtime.Intrinsics.X86.X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0;
        if (!cpuHas || !OperatingSystem.IsLinux())
        {
            Assert.False(BFloat16Kernel.IsSupported);
            Assert.NotNull(BFloat16Kernel.Missing);
            return;
        }

        Skip.IfNot(built, "this build found no C compiler, so libcllm_native was not built");
        Assert.True(BFloat16Kernel.IsSupported, $"the packed bfloat16 kernel does not run: {BFloat16Kernel.Missing}");
    }
}
