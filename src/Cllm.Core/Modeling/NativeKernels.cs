using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Cllm.Core;

/// <summary>
/// The optional native library <c>libcllm_native</c> (src/Cllm.Core/Native, built where a C compiler is found; Linux x64
/// packages carry it): the Int4A8 rows with AVX-512 VNNI, and the packed bfloat16 rows with AVX-512 BF16. A missing
/// library, a missing export or a CPU without the instructions leaves a kernel null: int4a8 then runs its managed kernel,
/// with the same bits; packed bfloat16 weights are refused (<see cref="BFloat16Kernel.IsSupported"/>).
/// </summary>
internal static unsafe class NativeKernels
{
    private static readonly nint Library = Open();

    /// <summary>
    /// <c>cllm_int4a8_rows(w, scale, offset, xq, sx, u, yF32, yBF16, accumulate, tokens, N, K, groupSize, n0, n1)</c>:
    /// rows [n0, n1) of y for every token (int4a8_vnni.c); null where it cannot run.
    /// </summary>
    public static readonly delegate* unmanaged<byte*, float*, float*, sbyte*, float*, float*, float*, ushort*, int, int, int, int, int, int, int, void> Int4A8Rows =
        (delegate* unmanaged<byte*, float*, float*, sbyte*, float*, float*, float*, ushort*, int, int, int, int, int, int, int, void>)Export("cllm_int4a8_rows", HasAvx512Vnni(), "AVX-512 VNNI", out Int4A8Missing);

    /// <summary>
    /// <c>cllm_bf16_rows(w, x, yF32, yBF16, accumulate, tokens, N, K, g0, g1)</c>: feature groups [g0, g1) of y for every
    /// token (bf16_dot.c); null where it cannot run.
    /// </summary>
    public static readonly delegate* unmanaged<ushort*, ushort*, float*, ushort*, int, int, int, int, int, int, void> BFloat16Rows =
        (delegate* unmanaged<ushort*, ushort*, float*, ushort*, int, int, int, int, int, int, void>)Export("cllm_bf16_rows", HasAvx512Bf16(), "AVX-512 BF16", out BFloat16Missing);

    /// <summary>Why <see cref="Int4A8Rows"/> is null, for the load message; null when it is not.</summary>
    public static readonly string? Int4A8Missing;

    /// <summary>Why <see cref="BFloat16Rows"/> is null, for errors; null when it is not.</summary>
    public static readonly string? BFloat16Missing;

    private static nint Open() => NativeLibrary.TryLoad("cllm_native", typeof(NativeKernels).Assembly, null, out var library) ? library : 0;

    private static nint Export(string name, bool cpu, string instructions, out string? missing)
    {
        missing = !cpu ? $"no {instructions} on this CPU"
            : Library == 0 ? "libcllm_native not found (it is built where a C compiler is found)"
            : !NativeLibrary.TryGetExport(Library, name, out var export) ? $"libcllm_native has no {name}"
            : null;
        return missing is null ? NativeLibrary.GetExport(Library, name) : 0;
    }

    /// <summary>AVX-512 F, BW and VL usable (the runtime checks the OS saves the registers) and CPUID leaf 7's AVX512_VNNI bit (ECX 11).</summary>
    private static bool HasAvx512Vnni()
        => Avx512BW.VL.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;

    /// <summary>AVX-512 F, BW and VL usable and CPUID leaf 7 sub-leaf 1's AVX512_BF16 bit (EAX 5).</summary>
    private static bool HasAvx512Bf16()
        => Avx512BW.VL.IsSupported && (X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0;
}
