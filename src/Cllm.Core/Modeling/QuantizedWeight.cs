using System;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// One projection weight W (N, K) in 8 or 4 bits for <see cref="QuantizedKernels"/>, owned and detached.
/// Int8: q = round(W / s) in [−127, 127] with s (N) = max|W row| / 127. Int4: per group of g input features,
/// q = round((W − min) / scale) in [0, 15] with scale = (max − min) / 15, stored as the kernel's (scale, zero = min + 8·scale).
/// Scales are kept in the compute dtype (float32 or bfloat16) and the integers are rounded against the stored scales.
/// Int4A8: per group of g input features, q = round((W − min) / scale) in [0, 15] with float32 scale and offset = min, in
/// <see cref="Int4A8Kernel"/>'s packed layout; activations are quantized to 8 bits on every call. BFloat16: W rounded to
/// bfloat16 in <see cref="BFloat16Kernel"/>'s packed layout; activations are bfloat16.
/// A weight whose input size K is not a multiple of 16 stays unquantized in the model dtype (<see cref="WeightQuantization.None"/>):
/// ATen's bfloat16 int8 kernel reads past such rows (measured: infinities at T = 1 and a segmentation fault at T = 5 for K = 172).
/// </summary>
internal sealed class QuantizedWeight : IDisposable
{
    private readonly Tensor _weight;     // int8 (N, K), packed int4 (N, K/2) uint8, packed bfloat16 (⌈N/16⌉·16·K), or unquantized (N, K) in the model dtype
    private readonly Tensor _scales;     // int8: (N); int4: (K/g, N, 2) scale and zero; int4a8: (2, N, K/g) float32 scale and offset; unquantized: empty

    internal QuantizedWeight(WeightQuantization format, int groupSize, long outFeatures, long inFeatures, ScalarType computeDType, Tensor weight, Tensor scales)
    {
        Format = format;
        GroupSize = groupSize;
        OutFeatures = outFeatures;
        InFeatures = inFeatures;
        ComputeDType = computeDType;
        _weight = weight.DetachFromDisposeScope();
        _scales = scales.DetachFromDisposeScope();
    }

    /// <summary>Int8, Int4, or None for a weight kept unquantized (what was built, after any fallback).</summary>
    public WeightQuantization Format { get; }

    /// <summary>Input features per int4 scale; 0 for int8.</summary>
    public int GroupSize { get; }

    /// <summary>N.</summary>
    public long OutFeatures { get; }

    /// <summary>K.</summary>
    public long InFeatures { get; }

    /// <summary>Activation dtype of the kernel (inputs of another dtype are converted per call).</summary>
    public ScalarType ComputeDType { get; }

    /// <summary>Workers of the int4a8 and packed bfloat16 kernels (their own .NET threads, not libtorch's); set by the loader.</summary>
    public int KernelThreads { get; set; } = 1;

    /// <summary>The integers as stored (int8 (N, K), packed int4 (N, K/2), or the unquantized weight); for tests.</summary>
    internal Tensor Integers => _weight;

    /// <summary>The scales as stored (see the field); for tests.</summary>
    internal Tensor Scales => _scales;

    /// <summary>Bytes held: integers plus scales.</summary>
    public long Bytes => _weight.NumberOfElements * _weight.ElementSize + _scales.NumberOfElements * _scales.ElementSize;

    /// <summary>"int8", "int4 g64", "int4a8 g128", "bfloat16 packed", or the dtype of an unquantized weight ("Float32").</summary>
    public string Description => Format switch
    {
        WeightQuantization.BFloat16 => "bfloat16 packed",
        WeightQuantization.Int4 => string.Create(CultureInfo.InvariantCulture, $"int4 g{GroupSize}"),
        WeightQuantization.Int4A8 => string.Create(CultureInfo.InvariantCulture, $"int4a8 g{GroupSize}"),
        WeightQuantization.Int8 => "int8",
        _ => _weight.dtype.ToString(),
    };

    /// <summary>Whether ATen's int8 kernel takes an input size of K (a multiple of 16).</summary>
    public static bool Int8Fits(long inFeatures) => inFeatures % 16 == 0;

    /// <summary>The int4 group size for an (N, K) weight: the largest of 128, 64, 32 dividing K; null when N is not a multiple of 16 or none divides K.</summary>
    public static int? Int4GroupSize(long outFeatures, long inFeatures)
    {
        if (outFeatures % 16 != 0)
        {
            return null;
        }

        int group = QuantizedKernels.Int4GroupSizes.FirstOrDefault(g => inFeatures % g == 0);
        return group == 0 ? null : group;
    }

    /// <summary>
    /// Quantizes <paramref name="weight"/> (N, K), any float dtype, in <paramref name="requested"/> (Int4 falls back to Int8
    /// for shapes the int4 kernel cannot take, Int8 to the unquantized weight in <paramref name="computeDType"/> when K is not a
    /// multiple of 16: it is then kept in <paramref name="modelDType"/>, default the compute dtype, and multiplied in the
    /// input's dtype). <paramref name="computeDType"/>: float32 or bfloat16.
    /// </summary>
    public static QuantizedWeight Create(Tensor weight, WeightQuantization requested, ScalarType computeDType, ScalarType? modelDType = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 2 || !is_floating_point(weight.dtype))
        {
            throw new ArgumentException($"expected a 2-D float weight, got {weight.dtype} of {weight.dim()} dimensions.", nameof(weight));
        }

        using var builder = new QuantizedWeightBuilder(weight.shape[0], weight.shape[1], requested, computeDType, modelDType ?? computeDType);
        builder.Add(0, weight);
        return builder.Build();
    }

    /// <summary>x: (…, K) any float dtype → (…, N) in x's dtype.</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var rows = x.reshape(-1, InFeatures);                                                               // (T, K)
        if (Format == WeightQuantization.None)
        {
            return nn.functional.linear(x, _weight.dtype == x.dtype ? _weight : _weight.to_type(x.dtype)).MoveToOuterDisposeScope();
        }

        var input = Format switch
        {
            WeightQuantization.Int4A8 => ScalarType.Float32,                                                // int4a8 rounds float32 activations itself
            WeightQuantization.BFloat16 => ScalarType.BFloat16,
            _ => ComputeDType,
        };
        if (rows.dtype != input)
        {
            rows = rows.to_type(input);
        }

        rows = rows.contiguous();
        var y = Format switch
        {
            WeightQuantization.Int8 => QuantizedKernels.Int8MatMul(rows, _weight, _scales),
            WeightQuantization.Int4A8 => Int4A8MatMul(rows, Int4A8Kernel.Best),
            WeightQuantization.BFloat16 => BFloat16MatMul(rows),
            _ => QuantizedKernels.Int4MatMul(rows, _weight, GroupSize, _scales),
        };                                                                                                  // (T, N)
        if (y.dtype != x.dtype)
        {
            y = y.to_type(x.dtype);
        }

        var shape = x.shape.ToArray();
        shape[^1] = OutFeatures;
        return y.reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>The weight the kernel multiplies by, (N, K) float32 (read through the kernel itself: x = I).</summary>
    public Tensor Dequantize()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var identity = eye(InFeatures, dtype: ComputeDType);                                               // (K, K)
        return Forward(identity).t().to_type(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _weight.Dispose();
        _scales.Dispose();
    }

    /// <summary>
    /// Int4A8 and BFloat16 only, without a tensor in between: output (T, N) = (or +=, <paramref name="accumulate"/>) x (T, K) · Wᵀ,
    /// both contiguous float32 or bfloat16 (BFloat16: bfloat16) on the CPU, with the bits <see cref="Forward"/> followed by
    /// <c>copy_</c> or <c>add_</c> gives. A one-token step's projection thus skips four conversions and three tensors per
    /// call. False (nothing done) for other formats, dtypes or layouts.
    /// </summary>
    internal unsafe bool TryForwardInto(Tensor x, Tensor output, bool accumulate)
    {
        bool bf16 = x.dtype == ScalarType.BFloat16;
        if (Format is not (WeightQuantization.Int4A8 or WeightQuantization.BFloat16) || x.dtype != output.dtype
            || !(bf16 || (x.dtype == ScalarType.Float32 && Format == WeightQuantization.Int4A8))
            || x.device_type != DeviceType.CPU || output.device_type != DeviceType.CPU || x.dim() != 2 || output.dim() != 2
            || x.shape[1] != InFeatures || output.shape[1] != OutFeatures || output.shape[0] != x.shape[0]
            || !x.is_contiguous() || !output.is_contiguous())
        {
            return false;
        }

        fixed (byte* xs = x.bytes)
        fixed (byte* ys = output.bytes)
        {
            var into = bf16 ? new KernelOutput(null, (ushort*)ys, accumulate) : new KernelOutput((float*)ys, null, accumulate);
            if (Format == WeightQuantization.BFloat16)
            {
                BFloat16Into((ushort*)xs, checked((int)x.shape[0]), into);
            }
            else
            {
                Int4A8Into(xs, bf16, checked((int)x.shape[0]), into, Int4A8Kernel.Best);
            }
        }

        return true;
    }

    /// <summary>x (T, K) bfloat16 contiguous → (T, N) float32 through <see cref="BFloat16Kernel"/> on <see cref="KernelThreads"/> workers.</summary>
    private unsafe Tensor BFloat16MatMul(Tensor x)
    {
        int tokens = checked((int)x.shape[0]);
        var y = empty(tokens, OutFeatures, dtype: ScalarType.Float32);                                    // (T, N)
        fixed (byte* xs = x.bytes)
        fixed (byte* ys = y.bytes)
        {
            BFloat16Into((ushort*)xs, tokens, new KernelOutput((float*)ys, null, accumulate: false));
        }

        return y;
    }

    /// <summary>The BFloat16 product of <paramref name="tokens"/> contiguous rows of K bfloat16 activations at <paramref name="xs"/> into <paramref name="into"/>.</summary>
    private unsafe void BFloat16Into(ushort* xs, int tokens, KernelOutput into)
    {
        fixed (byte* w = _weight.bytes)
        {
            BFloat16Kernel.MatMul((ushort*)w, xs, into, tokens, checked((int)OutFeatures), checked((int)InFeatures), KernelThreads);
        }
    }

    /// <summary>x (T, K) float32 contiguous → (T, N) float32 through <see cref="Int4A8Kernel"/> on <see cref="KernelThreads"/> workers.</summary>
    private unsafe Tensor Int4A8MatMul(Tensor x, Int4A8Path path)
    {
        int tokens = checked((int)x.shape[0]);
        var y = empty(tokens, OutFeatures, dtype: ScalarType.Float32);                                    // (T, N)
        fixed (byte* xs = x.bytes)
        fixed (byte* ys = y.bytes)
        {
            Int4A8Into(xs, bf16: false, tokens, new KernelOutput((float*)ys, null, accumulate: false), path);
        }

        return y;
    }

    /// <summary>
    /// The Int4A8 product of <paramref name="tokens"/> contiguous rows of K activations at <paramref name="xs"/> (float32, or
    /// bfloat16 bits when <paramref name="bf16"/>) into <paramref name="into"/>: the activations rounded to int8 per group in
    /// native scratch memory, then the kernel.
    /// </summary>
    private unsafe void Int4A8Into(byte* xs, bool bf16, int tokens, KernelOutput into, Int4A8Path path)
    {
        int n = checked((int)OutFeatures), k = checked((int)InFeatures), groups = k / GroupSize;
        var xq = (sbyte*)NativeMemory.Alloc((nuint)((long)tokens * k));                                    // (T·K)
        var sx = (float*)NativeMemory.Alloc((nuint)(2L * tokens * groups * sizeof(float)));                 // sx, then u = sx·Σ xq: (2, T·G)
        var row = bf16 ? (float*)NativeMemory.Alloc((nuint)((long)k * sizeof(float))) : null;              // one token's activations as float32
        try
        {
            float* u = sx + (long)tokens * groups;
            if (bf16)
            {
                for (int t = 0; t < tokens; t++)
                {
                    ushort* source = (ushort*)xs + (long)t * k;
                    for (int i = 0; i < k; i++)
                    {
                        row[i] = Int4A8Kernel.FromBFloat16(source[i]);
                    }

                    Int4A8Kernel.QuantizeActivations(row, 1, k, GroupSize, xq + (long)t * k, sx + (long)t * groups, u + (long)t * groups);
                }
            }
            else
            {
                Int4A8Kernel.QuantizeActivations((float*)xs, tokens, k, GroupSize, xq, sx, u);
            }

            fixed (byte* w = _weight.bytes)
            fixed (byte* sz = _scales.bytes)
            {
                Int4A8Kernel.MatMul(w, (float*)sz, (float*)sz + (long)n * groups, xq, sx, u, into, tokens, n, k, GroupSize, KernelThreads, path);
            }
        }
        finally
        {
            NativeMemory.Free(xq);
            NativeMemory.Free(sx);
            NativeMemory.Free(row);
        }
    }

    /// <summary>Test hook: the Int4A8 product of x (T, K) float32 through one kernel path.</summary>
    internal Tensor Int4A8Forward(Tensor x, Int4A8Path path)
    {
        using var scope = NewDisposeScope();
        return Int4A8MatMul(x.to_type(ScalarType.Float32).contiguous(), path).MoveToOuterDisposeScope();
    }
}
