using System;
using System.Linq;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

/// <summary>The int8/int4 projection weights: round-trip error, the quantized product against the float one, row invariance, the kernel compilation.</summary>
public class QuantizedWeightTests
{
    private static Tensor Weight(long n, long k, ulong seed) => NativeKernelBuild.RandomWeight(n, k, seed);

    [Fact]
    public void Int8RoundTripErrIsAtMostHalfAStepPerRow()
    {
        using var scope = NewDisposeScope();
        var w = Weight(48, 96, 1);
        using var q = QuantizedWeight.Create(w, WeightQuantization.Int8, ScalarType.Float32);
        Assert.Equal(WeightQuantization.Int8, q.Format);
        using var levels = 127.0f.ToScalar();
        var step = w.abs().amax(new long[] { 1 }).div(levels).unsqueeze(1);                         // (N, 1)
        var error = q.Dequantize().sub(w).abs();                                                                // (N, K)
        var worst = error.div(step).max().item<float>();
        Assert.InRange(worst, 0.0f, 0.5f + 1e-3f);
        Assert.True(error.max().item<float>() > 0, "quantization changed nothing: the round trip was not exercised");
    }

    [Theory]
    [InlineData(256, 128)]
    [InlineData(192, 64)]
    [InlineData(96, 32)]
    public void Int4RoundTripErrIsAtMostHalfAStepPerGroup(long k, int group)
    {
        using var scope = NewDisposeScope();
        var w = Weight(48, k, 2);
        using var q = QuantizedWeight.Create(w, WeightQuantization.Int4, ScalarType.Float32);
        Assert.Equal(WeightQuantization.Int4, q.Format);
        Assert.Equal(group, q.GroupSize);
        var grouped = w.reshape(48, k / group, group);
        using var levels = 15.0f.ToScalar();
        var step = grouped.amax(new long[] { 2 }).sub(grouped.amin(new long[] { 2 })).div(levels).unsqueeze(2); // (N, K/g, 1)
        var error = q.Dequantize().reshape(48, k / group, group).sub(grouped).abs();
        Assert.InRange(error.div(step).max().item<float>(), 0.0f, 0.5f + 1e-3f);
    }

    [Theory]
    [InlineData(40, 64)]    // N not a multiple of 16
    [InlineData(64, 48)]    // no group of 32, 64 or 128 divides K
    [InlineData(172, 64)]   // stories260K's gate/up
    public void Int4FallsBackToInt8ForShapesTheKernelCannotTake(long n, long k)
    {
        using var scope = NewDisposeScope();
        Assert.Null(QuantizedWeight.Int4GroupSize(n, k));
        using var q = QuantizedWeight.Create(Weight(n, k, 3), WeightQuantization.Int4, ScalarType.Float32);
        Assert.Equal(WeightQuantization.Int8, q.Format);
        Assert.Equal("int8", q.Description);
    }

    [Theory]
    [InlineData(WeightQuantization.Int8)]
    [InlineData(WeightQuantization.Int4)]
    [InlineData(WeightQuantization.Int4A8)]
    public void InputSizesTheInt8KernelMisreadsStayUnquantized(WeightQuantization requested)
    {
        // ATen's bfloat16 int8 kernel returns infinities (T = 1) or crashes (T = 5) for K = 172 (stories260K's down_proj).
        using var scope = NewDisposeScope();
        var w = Weight(64, 172, 8);
        Assert.False(QuantizedWeight.Int8Fits(172));
        using var q = QuantizedWeight.Create(w, requested, ScalarType.BFloat16, ScalarType.BFloat16);
        Assert.Equal(WeightQuantization.None, q.Format);
        Assert.Equal("BFloat16", q.Description);
        using var generator = new Generator(9);
        var x = randn(new long[] { 5, 172 }, generator: generator);
        var exact = matmul(x, w.t());
        Assert.InRange(q.Forward(x).sub(exact).norm().item<float>() / exact.norm().item<float>(), 0.0, 0.01);
    }

    [Theory]
    [InlineData(WeightQuantization.Int8, ScalarType.Float32, 0.02)]
    [InlineData(WeightQuantization.Int8, ScalarType.BFloat16, 0.03)]
    [InlineData(WeightQuantization.Int4, ScalarType.Float32, 0.15)]
    [InlineData(WeightQuantization.Int4, ScalarType.BFloat16, 0.15)]
    [InlineData(WeightQuantization.Int4A8, ScalarType.Float32, 0.15)]
    public void QuantizedProductApproximatesTheFloatOne(WeightQuantization format, ScalarType compute, double bound)
    {
        // Expected relative error of x·Wᵀ: int8 per-row steps of ~3.5σ/127 give ~1%; int4 steps of ~5σ/15 per group give ~10%.
        using var scope = NewDisposeScope();
        var w = Weight(64, 256, 4);
        using var q = QuantizedWeight.Create(w, format, compute);
        using var generator = new Generator(5);
        var x = randn(new long[] { 2, 7, 256 }, generator: generator);                                      // (B, T, K)
        var exact = matmul(x, w.t());                                                                        // (B, T, N)
        var approx = q.Forward(x);
        Assert.Equal(new long[] { 2, 7, 64 }, approx.shape);
        Assert.Equal(ScalarType.Float32, approx.dtype);
        double relative = approx.sub(exact).norm().item<float>() / exact.norm().item<float>();
        Assert.InRange(relative, 1e-5, bound);                                                               // > 0: the weights really are quantized
        var reference = matmul(x, q.Dequantize().t());                                                       // the dequantized weight explains the product
        // Activations rounded to bfloat16 (8 bits) or to int8 per group (int4a8: steps of max/127) add about 1%.
        double activationBound = format == WeightQuantization.Int4A8 ? 2e-2 : compute == ScalarType.Float32 ? 1e-5 : 1e-2;
        Assert.InRange(approx.sub(reference).norm().item<float>() / reference.norm().item<float>(), 0.0, activationBound);
    }

    [Theory]
    [InlineData(WeightQuantization.Int8, ScalarType.Float32)]
    [InlineData(WeightQuantization.Int8, ScalarType.BFloat16)]
    [InlineData(WeightQuantization.Int4, ScalarType.Float32)]
    [InlineData(WeightQuantization.Int4, ScalarType.BFloat16)]
    [InlineData(WeightQuantization.Int4A8, ScalarType.Float32)]
    public void EachRowComesOutBitForBitAsWhenComputedAlone(WeightQuantization format, ScalarType compute)
    {
        // Jacobi verifies T tokens in one forward where autoregressive decoding computes one: the kernels must not round a
        // row differently depending on how many rows come with it (sql-cllm's MLP shape, T up to 33).
        using var scope = NewDisposeScope();
        using var q = QuantizedWeight.Create(Weight(704, 256, 6), format, compute);
        using var generator = new Generator(7);
        foreach (int t in new[] { 2, 4, 8, 16, 33 })
        {
            var x = randn(new long[] { t, 256 }, generator: generator).to_type(compute);
            var together = q.Forward(x);
            for (int i = 0; i < t; i++)
            {
                var alone = q.Forward(x.narrow(0, i, 1));
                Assert.True(alone.eq(together.narrow(0, i, 1)).all().item<bool>(), $"{format} {compute}: row {i} of {t} differs from the same row alone");
            }
        }
    }

    [Theory]
    [InlineData(256, 128)]
    [InlineData(704, 64)]    // sql-cllm's down_proj
    [InlineData(2048, 128)]  // the grown 1B shape: the projection is split over threads
    public void Int4A8RoundTripErrIsAtMostHalfAStepPerGroup(long k, int group)
    {
        using var scope = NewDisposeScope();
        var w = Weight(1000, k, 11);                                                                        // N needs no multiple of 16
        using var q = QuantizedWeight.Create(w, WeightQuantization.Int4A8, ScalarType.Float32);
        Assert.Equal(WeightQuantization.Int4A8, q.Format);
        Assert.Equal(group, q.GroupSize);
        Assert.Equal(1000 * k / 2 + 2 * 4 * 1000 * (k / group), q.Bytes);                                   // nibbles, then float32 scale and offset per group
        var grouped = w.reshape(1000, k / group, group);
        using var levels = 15.0f.ToScalar();
        var step = grouped.amax(new long[] { 2 }).sub(grouped.amin(new long[] { 2 })).div(levels).unsqueeze(2); // (N, K/g, 1)
        var error = q.Dequantize().reshape(1000, k / group, group).sub(grouped).abs();
        Assert.InRange(error.div(step).max().item<float>(), 0.0f, 0.5f + 1e-3f);
    }

    [Theory]
    [InlineData(64, 96)]    // K divisible by 32 only
    [InlineData(64, 48)]
    public void Int4A8FallsBackToInt8WhereNoGroupOf64Or128DividesK(long n, long k)
    {
        using var scope = NewDisposeScope();
        Assert.Null(Int4A8Kernel.GroupSize(k));
        using var q = QuantizedWeight.Create(Weight(n, k, 12), WeightQuantization.Int4A8, ScalarType.BFloat16);
        Assert.Equal(WeightQuantization.Int8, q.Format);
    }

    [SkippableTheory]
    [InlineData(nameof(Int4A8Path.AvxVnni), 77, 128, 9)]
    [InlineData(nameof(Int4A8Path.AvxVnni), 1000, 2048, 16)]
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 77, 128, 9)]
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 1000, 2048, 16)]
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 64, 192, 7)]      // groups of 64, three per row
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 5, 1024, 1)]      // an odd row count (a single row left after the pairs)
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 33, 2048, 6)]
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 40, 256, 1)]      // a one-token call: rows in pairs
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 40, 256, 2)]      // blocks of 16 rows, 8 rows left in pairs
    [InlineData(nameof(Int4A8Path.Avx512Vnni), 48, 256, 37)]     // tokens 16 + 16 + 5 per block of 16 rows
    public void Int4A8PathsGiveTheSameBits(string pathName, long n, long k, int tokens)
    {
        var path = Enum.Parse<Int4A8Path>(pathName);
        // vpdpbusd (256 or 512 bits) and vpmaddubsw + vpmaddwd add the same four products per 32-bit lane and the float steps
        // are the same, so a machine without VNNI, or without the native library, gets the same model.
        Skip.IfNot(Int4A8Kernel.Runs(path), $"this machine does not run the {path} path, so there is no second path to compare");
        using var scope = NewDisposeScope();
        using var q = QuantizedWeight.Create(Weight(n, k, 13), WeightQuantization.Int4A8, ScalarType.Float32);
        using var generator = new Generator(14);
        var x = randn(new long[] { tokens, k }, generator: generator);
        var fast = q.Int4A8Forward(x, path);
        var avx2 = q.Int4A8Forward(x, Int4A8Path.Avx2);
        Assert.True(fast.eq(avx2).all().item<bool>(), $"the AVX2 path differs from the {path} path");
        Assert.True(q.Int4A8Forward(x, Int4A8Kernel.Best).eq(q.Forward(x)).all().item<bool>(), "Forward does not run the kernel it names");
    }

    [SkippableFact]
    public void ThisLinuxX64MachineRunsTheNativeKernelWhereItsCpuHasAvx512Vnni()
    {
        // The build compiles libcllm_native where a C compiler is found (.ci/run installs one), and says so in Cllm.Core's
        // metadata. Built and a CPU with AVX-512 VNNI: the native kernel must run, or the benchmarks measure the fallback.
        bool built = NativeKernelBuild.Built;
        bool cpuHas = System.Runtime.Intrinsics.X86.Avx512BW.VL.IsSupported
            && (System.Runtime.Intrinsics.X86.X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;
        if (!cpuHas || !OperatingSystem.IsLinux())
        {
            Assert.False(Int4A8Kernel.Runs(Int4A8Path.Avx512Vnni));
            Assert.NotNull(NativeKernels.Int4A8Missing);
            return;
        }

        Skip.IfNot(built, "this build found no C compiler, so libcllm_native was not built (the managed kernel runs, same bits)");
        Assert.True(Int4A8Kernel.Runs(Int4A8Path.Avx512Vnni), $"the native kernel does not run: {NativeKernels.Int4A8Missing}");
        Assert.Equal(Int4A8Path.Avx512Vnni, Int4A8Kernel.Best);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 1)]
    [InlineData(ScalarType.BFloat16, 3)]
    [InlineData(ScalarType.BFloat16, 16)]
    [InlineData(ScalarType.Float32, 1)]
    [InlineData(ScalarType.Float32, 7)]
    public void Int4A8IntoAnOutputGivesTheBitsOfForwardThenCopyOrAdd(ScalarType dtype, int tokens)
    {
        // The projection's direct path (no tensors between) rounds and adds as ATen's to_type, copy_ and add_ would.
        using var scope = NewDisposeScope();
        using var q = QuantizedWeight.Create(Weight(330, 640, 16), WeightQuantization.Int4A8, dtype);
        using var generator = new Generator(17);
        var x = randn(new long[] { tokens, 640 }, generator: generator).to_type(dtype);
        var start = randn(new long[] { tokens, 330 }, generator: generator).to_type(dtype);
        var y = q.Forward(x);

        var replaced = start.clone();
        Assert.True(q.TryForwardInto(x, replaced, accumulate: false));
        Assert.True(replaced.eq(y).all().item<bool>(), "the written output differs from Forward");

        var added = start.clone();
        Assert.True(q.TryForwardInto(x, added, accumulate: true));
        using var one = 1.ToScalar();
        Assert.True(added.eq(start.clone().add_(y, one)).all().item<bool>(), "the accumulated output differs from Forward + add_");

        Assert.False(q.TryForwardInto(x, start.t(), accumulate: false) && tokens != 330);                    // another layout: not taken
    }

    [Fact]
    public void Int4A8ActivationsSurviveZerosAndExtremes()
    {
        // An all-zero group has scale 0 (no NaN from 0/0); a huge value saturates nothing (its own group's scale grows).
        using var scope = NewDisposeScope();
        using var q = QuantizedWeight.Create(Weight(32, 128, 15), WeightQuantization.Int4A8, ScalarType.Float32);
        var values = new float[3 * 128];
        values[128 + 5] = 1e15f;
        Array.Fill(values, -2.5f, 256, 128);
        var x = tensor(values).reshape(3, 128);
        var y = q.Forward(x);
        var reference = matmul(x, q.Dequantize().t()).narrow(0, 1, 2);
        Assert.Equal(0, y[0].count_nonzero().item<long>());                                                 // zeros in, zeros out
        Assert.True(isfinite(y).all().item<bool>());
        Assert.InRange(y.narrow(0, 1, 2).sub(reference).norm().item<float>() / reference.norm().item<float>(), 0.0, 1e-3);
    }

    [Theory]
    [InlineData(WeightQuantization.Int8, ScalarType.Float32)]
    [InlineData(WeightQuantization.Int8, ScalarType.BFloat16)]
    [InlineData(WeightQuantization.Int4, ScalarType.Float32)]
    [InlineData(WeightQuantization.Int4, ScalarType.BFloat16)]
    [InlineData(WeightQuantization.Int4A8, ScalarType.Float32)]
    public void OnePassQuantizerGivesTheTensorFormulationsBits(WeightQuantization format, ScalarType compute)
    {
        // The loader quantizes each row in one pass (RowQuantizer); the whole-tensor formulation below is the definition.
        using var scope = NewDisposeScope();
        var w = Weight(400, 256, 16).mul(Weight(400, 256, 17).exp());                                        // (N, K) heavy-tailed
        w[3] = zeros(256);                                                                                   // an all-equal row: the smallest scale
        w[7] = Weight(1, 256, 18).squeeze(0).abs();                                                          // all positive
        using var q = QuantizedWeight.Create(w, format, compute);
        Assert.Equal(format, q.Format);
        var (integers, scales) = Reference(w, format, compute, q.GroupSize);
        Assert.True(q.Integers.eq(integers).all().item<bool>(), $"{format} {compute}: integers differ from the tensor formulation");
        Assert.Equal(scales.dtype, q.Scales.dtype);
        Assert.True(q.Scales.eq(scales).all().item<bool>(), $"{format} {compute}: scales differ from the tensor formulation");
    }

    [Fact]
    public void Int4PackingIsPerBlockOf64Rows()
    {
        // QuantizedWeightBuilder packs blocks of rows as they arrive: that is only the whole weight's packing if ATen packs
        // each 64-row block on its own (the last one may be shorter).
        using var scope = NewDisposeScope();
        using var fifteen = 15.ToScalar();
        var q = Weight(208, 128, 21).mul(Weight(208, 128, 22)).abs().mul(Scalars.Two).floor().clamp(Scalars.Zero, fifteen).to_type(ScalarType.Int32);
        Assert.True(q.max().item<int>() >= 8, "the values span the nibble");
        var whole = QuantizedKernels.PackInt4(q);
        var blocks = cat(new[] { 0L, 64, 128, 192 }.Select(start => QuantizedKernels.PackInt4(q.narrow(0, start, Math.Min(64, 208 - start)))).ToArray(), 0);
        Assert.True(whole.shape.SequenceEqual(blocks.shape) && whole.eq(blocks).all().item<bool>(), "the packing is not per block of 64 rows");
    }

    [Theory]
    [InlineData(WeightQuantization.Int8, ScalarType.Float32)]
    [InlineData(WeightQuantization.Int4, ScalarType.Float32)]
    [InlineData(WeightQuantization.Int4, ScalarType.BFloat16)]
    [InlineData(WeightQuantization.Int4A8, ScalarType.Float32)]
    public void RowsAddedInPiecesInAnyOrderGiveTheWholeWeightsBits(WeightQuantization format, ScalarType compute)
    {
        // Pieces as a stacked projection's parts and a large part's row blocks arrive: unaligned to the 64-row packing
        // blocks and aligned, larger than one builder block (1024 rows), in shuffled order.
        using var scope = NewDisposeScope();
        var w = Weight(2128, 128, 23);
        using var whole = QuantizedWeight.Create(w, format, compute);
        long[] cuts = { 0, 40, 64, 1200, 1216, 2100, 2128 };
        using var builder = new QuantizedWeightBuilder(2128, 128, format, compute, compute);
        foreach (int piece in new[] { 3, 0, 5, 2, 4, 1 })
        {
            Assert.False(builder.Complete);
            builder.Add(cuts[piece], w.narrow(0, cuts[piece], cuts[piece + 1] - cuts[piece]));
        }

        Assert.True(builder.Complete);
        using var pieces = builder.Build();
        Assert.Equal((format, whole.GroupSize), (pieces.Format, pieces.GroupSize));
        Assert.True(pieces.Integers.eq(whole.Integers).all().item<bool>(), $"{format}: integers differ");
        Assert.True(pieces.Scales.eq(whole.Scales).all().item<bool>(), $"{format}: scales differ");

        using var partial = new QuantizedWeightBuilder(64, 128, format, compute, compute);
        partial.Add(0, w.narrow(0, 0, 32));
        Assert.Throws<InvalidOperationException>(() => partial.Build());
    }

    /// <summary>The quantization as whole-tensor float32 operations (how Cllm first computed it).</summary>
    private static (Tensor Integers, Tensor Scales) Reference(Tensor weight, WeightQuantization format, ScalarType compute, int group)
    {
        long n = weight.shape[0], k = weight.shape[1];
        var w = weight.to_type(ScalarType.Float32);
        using var tiny = 1e-12.ToScalar();
        using var levels = 15.ToScalar();
        using var mid = 8.ToScalar();
        using var nibble = 16.ToScalar();
        using var max = 127.ToScalar();
        using var min = (-127).ToScalar();
        switch (format)
        {
            case WeightQuantization.Int8:
            {
                var scale = w.abs().amax(new long[] { 1 }).div(max).clamp_min(tiny).to_type(compute);
                var q = w.div(scale.to_type(ScalarType.Float32).unsqueeze(1)).round().clamp(min, max).to_type(ScalarType.Int8);
                return (q, scale);
            }
            case WeightQuantization.Int4:
            {
                var grouped = w.reshape(n, k / group, group);
                var low = grouped.amin(new long[] { 2 });
                var scale = grouped.amax(new long[] { 2 }).sub(low).div(levels).clamp_min(tiny).to_type(compute);
                var scale32 = scale.to_type(ScalarType.Float32);
                var zero = low.add(scale32.mul(mid), Scalars.One).to_type(compute);
                var offset = zero.to_type(ScalarType.Float32).sub(scale32.mul(mid));
                var q = grouped.sub(offset.unsqueeze(2)).div(scale32.unsqueeze(2)).round().clamp(Scalars.Zero, levels).to_type(ScalarType.Int32).view(n, k);
                return (QuantizedKernels.PackInt4(q), stack(new[] { scale.t(), zero.t() }, 2).contiguous());
            }
            default:
            {
                var grouped = w.reshape(n, k / group, group);
                var low = grouped.amin(new long[] { 2 });
                var scale = grouped.amax(new long[] { 2 }).sub(low).div(levels).clamp_min(tiny);
                var q = grouped.sub(low.unsqueeze(2)).div(scale.unsqueeze(2)).round().clamp(Scalars.Zero, levels)
                    .to_type(ScalarType.Byte).view(n, k / 64, 2, 32);
                var packed = q.select(2, 0).bitwise_or(q.select(2, 1).mul(nibble)).reshape(n, k / 2);
                return (packed, stack(new[] { scale, low }, 0));
            }
        }
    }

    [Fact]
    public void KernelSourceCompilesOncePerProcessUnderConcurrentFirstUse()
    {
        Parallel.For(0, 8, _ =>
        {
            using var scope = NewDisposeScope();
            using var q = QuantizedWeight.Create(ones(16, 32), WeightQuantization.Int8, ScalarType.Float32);
            var y = q.Forward(ones(1, 32));
            Assert.Equal(32.0f, y[0, 0].item<float>(), 3);
        });
        Assert.Equal(1, QuantizedKernels.Compilations);
    }
}
