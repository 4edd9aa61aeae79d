using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Builds a <see cref="QuantizedWeight"/> (N, K) from blocks of rows, in any order, each row once: quantization is per row
/// (int8 per output channel, int4 and int4a8 per group of inputs within a row), so a block is quantized the moment it
/// arrives, straight into the final storage. A stacked projection (q/k/v, gate/up) is filled one Hugging Face tensor, and
/// a large tensor one block of rows, at a time: a load holds one block's float copy, not the whole float matrix.
/// </summary>
/// <remarks>
/// Int4's ATen packing interleaves rows within blocks of up to <see cref="PackRows"/> (tested:
/// <c>Int4PackingIsPerBlockOf64Rows</c>), so a block is packed at once only when it starts on such a boundary and ends on
/// one (or at N); otherwise its values wait, one byte each, and are packed by <see cref="Build"/>.
/// </remarks>
internal sealed class QuantizedWeightBuilder : IDisposable
{
    /// <summary>Rows converted to float32 and quantized at once.</summary>
    public const int BlockRows = 1024;

    /// <summary>Rows the int4 packing interleaves.</summary>
    public const int PackRows = 64;

    private readonly long _n, _k;
    private readonly WeightQuantization _format;
    private readonly int _group;
    private readonly ScalarType _computeDType, _modelDType;
    private readonly Tensor _integers;        // int8 (N, K); int4 and int4a8 packed (N, K/2) uint8; bfloat16 packed (⌈N/16⌉·16·K); None: (N, K) model dtype
    private readonly Tensor _scales;          // int8 (N); int4 (K/g, N, 2); int4a8 (2, N, K/g); all float32; bfloat16 and None: empty
    private Tensor? _waiting;                 // int4 values 0..15 (N, K) uint8 of packing blocks not packed on arrival
    private bool[]? _waitingBlocks;           // per packing block of PackRows rows: its values wait in _waiting
    private long _rows;
    private bool _built;

    /// <summary>An empty (N, K) weight in <paramref name="requested"/> (with <see cref="QuantizedWeight.Create"/>'s fallbacks).</summary>
    public QuantizedWeightBuilder(long n, long k, WeightQuantization requested, ScalarType computeDType, ScalarType modelDType)
    {
        if (computeDType is not (ScalarType.Float32 or ScalarType.BFloat16))
        {
            throw new ArgumentException($"the quantized kernels compute in Float32 or BFloat16, not {computeDType}.", nameof(computeDType));
        }

        (_n, _k, _computeDType, _modelDType) = (n, k, computeDType, modelDType);
        (_format, _group) = requested switch
        {
            WeightQuantization.Int4 when QuantizedWeight.Int4GroupSize(n, k) is { } group => (WeightQuantization.Int4, group),
            WeightQuantization.Int4A8 when Int4A8Kernel.GroupSize(k) is { } group => (WeightQuantization.Int4A8, group),
            WeightQuantization.Int8 or WeightQuantization.Int4 or WeightQuantization.Int4A8 when QuantizedWeight.Int8Fits(k) => (WeightQuantization.Int8, 0),
            WeightQuantization.Int8 or WeightQuantization.Int4 or WeightQuantization.Int4A8 => (WeightQuantization.None, 0),
            WeightQuantization.BFloat16 when BFloat16Kernel.Fits(k) => (WeightQuantization.BFloat16, 0),
            WeightQuantization.BFloat16 => (WeightQuantization.None, 0),
            _ => throw new ArgumentOutOfRangeException(nameof(requested), requested, "expected Int8, Int4, Int4A8 or BFloat16."),
        };
        if (_format == WeightQuantization.Int4A8 && !Int4A8Kernel.IsSupported)
        {
            throw new PlatformNotSupportedException("int4a8 quantization needs an x64 CPU with AVX2 and FMA; use int4 or int8 on this machine.");
        }

        if (_format == WeightQuantization.BFloat16 && !BFloat16Kernel.IsSupported)
        {
            throw new PlatformNotSupportedException($"packed bfloat16 weights need the native kernel: {BFloat16Kernel.Missing}.");
        }

        using var scope = NewDisposeScope();
        (_integers, _scales) = _format switch
        {
            WeightQuantization.Int8 => (empty(n, k, dtype: ScalarType.Int8), empty(n, dtype: ScalarType.Float32)),
            WeightQuantization.Int4 => (empty(n, k / 2, dtype: ScalarType.Byte), empty(k / _group, n, 2, dtype: ScalarType.Float32)),
            WeightQuantization.Int4A8 => (empty(n, k / 2, dtype: ScalarType.Byte), empty(2, n, k / _group, dtype: ScalarType.Float32)),
            WeightQuantization.BFloat16 => (zeros(BFloat16Kernel.PackedLength(n, k), dtype: ScalarType.BFloat16), empty(0, dtype: ScalarType.Float32)),   // padding rows stay 0
            _ => (empty(n, k, dtype: modelDType), empty(0, dtype: computeDType)),
        };
        _integers.DetachFromDisposeScope();
        _scales.DetachFromDisposeScope();
    }

    /// <summary>Whether every row has been added.</summary>
    public bool Complete => _rows == _n;

    /// <summary>Quantizes <paramref name="rows"/> (R, K), any float dtype, as rows [offset, offset + R) of the weight.</summary>
    public void Add(long offset, Tensor rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ObjectDisposedException.ThrowIf(_built, this);
        if (rows.dim() != 2 || !is_floating_point(rows.dtype) || rows.shape[1] != _k || offset < 0 || offset + rows.shape[0] > _n)
        {
            throw new ArgumentException($"rows {offset}.. of {rows.dtype} {string.Join('x', rows.shape)} do not fit the {_n}x{_k} weight.", nameof(rows));
        }

        using var noGrad = no_grad();
        long count = rows.shape[0];
        for (long done = 0; done < count; done += BlockRows)
        {
            long r = Math.Min(BlockRows, count - done);
            using var scope = NewDisposeScope();
            var block = rows.narrow(0, done, r).to_type(ScalarType.Float32).contiguous();   // (r, K)
            AddBlock(offset + done, r, block);
        }

        _rows += count;
    }

    /// <summary>The weight, once every row is in; the builder is spent.</summary>
    public QuantizedWeight Build()
    {
        ObjectDisposedException.ThrowIf(_built, this);
        if (!Complete)
        {
            throw new InvalidOperationException($"{_rows} of the weight's {_n} rows were added.");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (_waiting is not null && _waitingBlocks is not null)
        {
            for (long b = 0; b < _waitingBlocks.Length; b++)
            {
                if (!_waitingBlocks[b])
                {
                    continue;
                }

                long start = b * PackRows, end = start;                                    // a run of waiting blocks, at most BlockRows
                while (end < _n && _waitingBlocks[end / PackRows] && end - start < BlockRows)
                {
                    end = Math.Min(_n, end + PackRows);
                }

                using var blockScope = NewDisposeScope();
                _integers.narrow(0, start, end - start).copy_(QuantizedKernels.PackInt4(_waiting.narrow(0, start, end - start).to_type(ScalarType.Int32)));
                b = ((end + PackRows - 1) / PackRows) - 1;
            }

            _waiting.Dispose();
            _waiting = null;
        }

        _built = true;
        var scales = _scales;
        if (_format is WeightQuantization.Int8 or WeightQuantization.Int4)
        {
            scales = _scales.to_type(_computeDType, copy: true);                           // the kernels read them in the compute dtype
            _scales.Dispose();
        }

        return new QuantizedWeight(_format, _group, _n, _k, _computeDType, _integers, scales);
    }

    private unsafe void AddBlock(long offset, long r, Tensor w)
    {
        int rows = checked((int)r), k = checked((int)_k);
        switch (_format)
        {
            case WeightQuantization.Int8:
            {
                var q = _integers.narrow(0, offset, r);                                    // contiguous rows
                var s = _scales.narrow(0, offset, r);
                fixed (byte* source = w.bytes)
                fixed (byte* integers = q.bytes)
                fixed (byte* scales = s.bytes)
                {
                    RowQuantizer.Int8((float*)source, rows, k, _computeDType == ScalarType.BFloat16, (sbyte*)integers, (float*)scales);
                }

                break;
            }

            case WeightQuantization.Int4A8:
            {
                var packed = _integers.narrow(0, offset, r);
                var scaleAndOffset = empty(2, r, _k / _group, dtype: ScalarType.Float32);  // (2, r, G)
                fixed (byte* source = w.bytes)
                fixed (byte* integers = packed.bytes)
                fixed (byte* scales = scaleAndOffset.bytes)
                {
                    RowQuantizer.Int4A8((float*)source, rows, k, _group, integers, (float*)scales);
                }

                _scales.narrow(1, offset, r).copy_(scaleAndOffset);
                break;
            }

            case WeightQuantization.BFloat16:
            {
                fixed (byte* source = w.bytes)
                fixed (byte* packed = _integers.bytes)
                {
                    BFloat16Kernel.Pack((float*)source, rows, k, offset, (ushort*)packed);
                }

                break;
            }

            case WeightQuantization.Int4:
            {
                var q = empty(r, _k, dtype: ScalarType.Int32);                             // (r, K) 0..15
                var scalesAndZeros = empty(_k / _group, r, 2, dtype: ScalarType.Float32);  // (K/g, r, 2)
                fixed (byte* source = w.bytes)
                fixed (byte* integers = q.bytes)
                fixed (byte* scales = scalesAndZeros.bytes)
                {
                    RowQuantizer.Int4((float*)source, rows, k, _group, _computeDType == ScalarType.BFloat16, (int*)integers, (float*)scales);
                }

                _scales.narrow(1, offset, r).copy_(scalesAndZeros);
                if (offset % PackRows == 0 && (r % PackRows == 0 || offset + r == _n))
                {
                    _integers.narrow(0, offset, r).copy_(QuantizedKernels.PackInt4(q));   // whole packing blocks
                }
                else
                {
                    // Its packing shares a block with rows not added yet: the values wait, and Build packs those blocks.
                    // (A block is never part packed: packed adds start and end on block boundaries.)
                    _waiting ??= zeros(_n, _k, dtype: ScalarType.Byte).DetachFromDisposeScope();
                    _waitingBlocks ??= new bool[(_n + PackRows - 1) / PackRows];
                    _waiting.narrow(0, offset, r).copy_(q);
                    for (long b = offset / PackRows; b * PackRows < offset + r; b++)
                    {
                        _waitingBlocks[b] = true;
                    }
                }

                break;
            }

            default:
                _integers.narrow(0, offset, r).copy_(w);
                break;
        }
    }

    public void Dispose()
    {
        _waiting?.Dispose();
        if (!_built)
        {
            _integers.Dispose();
            _scales.Dispose();
        }
    }
}
