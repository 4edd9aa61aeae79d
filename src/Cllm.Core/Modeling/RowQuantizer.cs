using System;
using System.Threading.Tasks;

namespace Cllm.Core;

/// <summary>
/// The integers and scales of <see cref="QuantizedWeight"/>, computed in one pass per row over a float32 weight (N, K),
/// rows shared out to worker threads. The arithmetic is float32 elementwise in the order of the tensor formulation
/// (difference, then division, round half to even, clamp), so the results are the same bits that formulation gives
/// (tested against it); it replaces about fifteen whole-tensor passes, which made loading a quantized model several
/// times slower than loading it in bfloat16.
/// </summary>
internal static unsafe class RowQuantizer
{
    /// <summary>The smallest scale: an all-equal group would otherwise divide by zero.</summary>
    private const float Tiny = 1e-12f;

    /// <summary>
    /// Int8, per row: s = max(max|w| / 127, tiny), rounded to bfloat16 when <paramref name="bf16Scales"/>; q = clamp(round(w / s), ±127).
    /// q: (N, K) sbyte; scales: (N) float32 (bfloat16 values when rounded).
    /// </summary>
    public static void Int8(float* w, int n, int k, bool bf16Scales, sbyte* q, float* scales)
    {
        nint wp = (nint)w, qp = (nint)q, sp = (nint)scales;
        Rows(n, row =>
        {
            float* src = (float*)wp + (long)row * k;
            float max = 0f;
            for (int i = 0; i < k; i++)
            {
                max = MathF.Max(max, MathF.Abs(src[i]));
            }

            float scale = Round(MathF.Max(max / 127f, Tiny), bf16Scales);
            sbyte* dst = (sbyte*)qp + (long)row * k;
            for (int i = 0; i < k; i++)
            {
                dst[i] = (sbyte)Math.Clamp(MathF.Round(src[i] / scale), -127f, 127f);
            }

            ((float*)sp)[row] = scale;
        });
    }

    /// <summary>
    /// ATen's int4 layout, per row and group of g: scale = max((max − min) / 15, tiny) and zero = min + 8·scale, each rounded
    /// to bfloat16 when <paramref name="bf16Scales"/>; offset = zero − 8·scale; q = clamp(round((w − offset) / scale), 0, 15).
    /// q: (N, K) int32 for the packing op; scalesAndZeros: (K/g, N, 2) float32.
    /// </summary>
    public static void Int4(float* w, int n, int k, int group, bool bf16Scales, int* q, float* scalesAndZeros)
    {
        nint wp = (nint)w, qp = (nint)q, sz = (nint)scalesAndZeros;
        int groups = k / group;
        Rows(n, row =>
        {
            for (int g = 0; g < groups; g++)
            {
                float* src = (float*)wp + (long)row * k + (long)g * group;
                var (low, high) = MinMax(src, group);
                float scale = Round(MathF.Max((high - low) / 15f, Tiny), bf16Scales);
                float zero = Round(low + scale * 8f, bf16Scales);
                float offset = zero - scale * 8f;
                int* dst = (int*)qp + (long)row * k + (long)g * group;
                for (int i = 0; i < group; i++)
                {
                    dst[i] = (int)Math.Clamp(MathF.Round((src[i] - offset) / scale), 0f, 15f);
                }

                float* pair = (float*)sz + ((long)g * n + row) * 2;
                pair[0] = scale;
                pair[1] = zero;
            }
        });
    }

    /// <summary>
    /// <see cref="Int4A8Kernel"/>'s layout, per row and group of g: scale = max((max − min) / 15, tiny), offset = min,
    /// q = clamp(round((w − min) / scale), 0, 15), packed 64 features per 32 bytes (feature j low nibble, j + 32 high).
    /// packed: (N, K/2) bytes; scaleAndOffset: (2, N, K/g) float32, scales then offsets.
    /// </summary>
    public static void Int4A8(float* w, int n, int k, int group, byte* packed, float* scaleAndOffset)
    {
        nint wp = (nint)w, pp = (nint)packed, so = (nint)scaleAndOffset;
        int groups = k / group;
        Rows(n, row =>
        {
            byte* dst = (byte*)pp + (long)row * (k / 2);
            for (int g = 0; g < groups; g++)
            {
                float* src = (float*)wp + (long)row * k + (long)g * group;
                var (low, high) = MinMax(src, group);
                float scale = MathF.Max((high - low) / 15f, Tiny);
                for (int unit = 0; unit < group; unit += Int4A8Kernel.UnitFeatures)
                {
                    byte* bytes = dst + ((long)g * group + unit) / 2;
                    for (int j = 0; j < Int4A8Kernel.UnitFeatures / 2; j++)
                    {
                        int lo = (int)Math.Clamp(MathF.Round((src[unit + j] - low) / scale), 0f, 15f);
                        int hi = (int)Math.Clamp(MathF.Round((src[unit + j + 32] - low) / scale), 0f, 15f);
                        bytes[j] = (byte)(lo | (hi << 4));
                    }
                }

                ((float*)so)[(long)row * groups + g] = scale;
                ((float*)so)[(long)n * groups + (long)row * groups + g] = low;
            }
        });
    }

    private static (float Low, float High) MinMax(float* src, int count)
    {
        float low = src[0], high = src[0];
        for (int i = 1; i < count; i++)
        {
            low = MathF.Min(low, src[i]);
            high = MathF.Max(high, src[i]);
        }

        return (low, high);
    }

    /// <summary>x rounded to the nearest bfloat16 (ties to even), as float32; x itself when not rounding. Finite inputs only.</summary>
    private static float Round(float x, bool bf16)
    {
        if (!bf16)
        {
            return x;
        }

        uint bits = BitConverter.SingleToUInt32Bits(x);
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
    }

    /// <summary>Runs body(row) for every row, in chunks over the processor's cores (loading is not a decode step).</summary>
    private static void Rows(int n, Action<int> body)
    {
        int workers = Math.Max(1, Math.Min(Environment.ProcessorCount, n / 64));
        if (workers == 1)
        {
            for (int row = 0; row < n; row++)
            {
                body(row);
            }

            return;
        }

        int chunks = 4 * workers, perChunk = (n + chunks - 1) / chunks;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = workers }, c =>
        {
            for (int row = c * perChunk, end = Math.Min(n, (c + 1) * perChunk); row < end; row++)
            {
                body(row);
            }
        });
    }
}
