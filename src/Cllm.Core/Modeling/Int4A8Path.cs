namespace Cllm.Core;

/// <summary>
/// The instructions <see cref="Int4A8Kernel"/> multiplies with. All three add the same integer products per 32-bit lane and
/// do the same float steps in the same order, so every path gives the same bits (tests compare them).
/// </summary>
internal enum Int4A8Path
{
    /// <summary><c>vpmaddubsw</c> + <c>vpmaddwd</c> + <c>vpaddd</c> on 256 bits: three instructions per 32 products.</summary>
    Avx2,

    /// <summary>AVX-VNNI <c>vpdpbusd</c> on 256 bits (VEX; Intel Alder Lake and later): one instruction per 32 products.</summary>
    AvxVnni,

    /// <summary>
    /// AVX-512 VNNI <c>vpdpbusd</c> on 512 bits (AMD Zen 4, Intel Ice Lake to Sapphire Rapids): one instruction per 64
    /// products, in the native kernel <c>libcllm_native</c> (.NET 10 has no AVX-512 VNNI intrinsics outside AVX10.1).
    /// </summary>
    Avx512Vnni,
}
