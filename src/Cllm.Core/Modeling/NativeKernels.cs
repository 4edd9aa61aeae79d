using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Cllm.Core;

/// <summary>
/// The optional native library <c>libcllm_native</c> (src/Cllm.Core/Native, built where a C compiler is found; Linux x64
/// packages carry it): the Int4A8 rows with AVX-512 VNNI. Missing library, missing export or a CPU without AVX-512 VNNI
/// leave <see cref="Int4A8Rows"/> null and the managed kernel runs, with the same bits.
/// </summary>
internal static unsafe class NativeKernels
{
    /// <summary>
    /// <c>cllm_int4a8_rows(w, scale, offset, xq, sx, u, yF32, yBF16, accumulate, tokens, N, K, groupSize, n0, n1)</c>:
    /// rows [n0, n1) of y for every token (int4a8_vnni.c); null where it cannot run.
    /// </summary>
    public static readonly delegate* unmanaged<byte*, float*, float*, sbyte*, float*, float*, float*, ushort*, int, int, int, int, int, int, int, void> Int4A8Rows = Load();

    /// <summary>Why <see cref="Int4A8Rows"/> is null, for the load message; null when it is not.</summary>
    public static string? Missing { get; private set; }

    private static delegate* unmanaged<byte*, float*, float*, sbyte*, float*, float*, float*, ushort*, int, int, int, int, int, int, int, void> Load()
    {
        if (!HasAvx512Vnni())
        {
            Missing = "no AVX-512 VNNI on this CPU";
            return null;
        }

        if (!NativeLibrary.TryLoad("cllm_native", typeof(NativeKernels).Assembly, null, out var library))
        {
            Missing = "libcllm_native not found (it is built where a C compiler is found)";
            return null;
        }

        if (!NativeLibrary.TryGetExport(library, "cllm_int4a8_rows", out var rows))
        {
            Missing = "libcllm_native has no cllm_int4a8_rows";
            return null;
        }

        return (delegate* unmanaged<byte*, float*, float*, sbyte*, float*, float*, float*, ushort*, int, int, int, int, int, int, int, void>)rows;
    }

    /// <summary>AVX-512 F, BW and VL usable (the runtime checks the OS saves the registers) and CPUID leaf 7's AVX512_VNNI bit (ECX 11).</summary>
    private static bool HasAvx512Vnni()
        => Avx512BW.VL.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;
}
