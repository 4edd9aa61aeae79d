using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cllm.Core;

/// <summary>Eight bfloat16 values to and from float32 in AVX2 registers, for the CPU kernels of bfloat16 models.</summary>
internal static unsafe class BFloat16Vectors
{
    /// <summary>The eight bfloat16 values at <paramref name="from"/> as float32 (exact).</summary>
    public static Vector256<float> Widen(ushort* from)
        => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Sse2.LoadVector128(from)), 16).AsSingle();

    /// <summary>
    /// Eight float32 values rounded to bfloat16 to nearest even, as bits in the high halves of the lanes (the float32 values
    /// of the rounded bfloat16 numbers): Int4A8Kernel.ToBFloat16's rule, NaN included.
    /// </summary>
    public static Vector256<uint> RoundHigh(Vector256<float> values)
    {
        var bits = values.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256.Create(1u))) & Vector256.Create(0xFFFF0000u);
        return Vector256.ConditionalSelect(Vector256.Equals(values, values).AsUInt32(), rounded, Vector256.Create(0x7FC00000u));
    }

    /// <summary>Eight float32 values rounded to bfloat16 (<see cref="RoundHigh"/>) and stored at <paramref name="into"/>.</summary>
    public static void Store(Vector256<float> values, ushort* into)
    {
        var rounded = (RoundHigh(values) >> 16).AsInt32();
        var packed = Avx2.PackUnsignedSaturate(rounded, rounded);                             // per 128-bit half: its 4 values twice
        Avx2.Permute4x64(packed.AsUInt64(), 0b_00_00_10_00).AsUInt16().GetLower().Store(into); // the halves' first 4 together
    }
}
