using System;
using System.Threading;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// ATen's CPU weight-only kernels, reached through TorchScript (TorchSharp binds none of them): <c>_weight_int8pack_mm</c>
/// and <c>_weight_int4pack_mm_for_cpu</c> with its packing op. The source is compiled once per process, on first use,
/// under a lock: a TorchScript compile error aborts the process natively, so the source is a constant that a unit test
/// compiles, and nothing else is ever compiled.
/// </summary>
internal static class QuantizedKernels
{
    /// <summary>Group sizes of the int4 kernel that Cllm uses, largest first (ATen also takes 256).</summary>
    public static readonly int[] Int4GroupSizes = { 128, 64, 32 };

    // Integer literals only: TorchScript ints passed from C# would need an IValue conversion per call.
    private const string Source = """
        def mm8(x: Tensor, w: Tensor, s: Tensor):
            return torch._weight_int8pack_mm(x, w, s)
        def pack4(w: Tensor):
            return torch._convert_weight_to_int4pack_for_cpu(w, 8)
        def mm4_32(x: Tensor, w: Tensor, sz: Tensor):
            return torch._weight_int4pack_mm_for_cpu(x, w, 32, sz)
        def mm4_64(x: Tensor, w: Tensor, sz: Tensor):
            return torch._weight_int4pack_mm_for_cpu(x, w, 64, sz)
        def mm4_128(x: Tensor, w: Tensor, sz: Tensor):
            return torch._weight_int4pack_mm_for_cpu(x, w, 128, sz)

        """;                                                                                                        // TorchScript wants the final newline

    private static int _compilations;

    private static readonly Lazy<jit.CompilationUnit> Unit = new(Compile, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>How many times the source was compiled in this process (0 or 1).</summary>
    public static int Compilations => Volatile.Read(ref _compilations);

    /// <summary>x: (T, K) float32 or bfloat16; w: (N, K) int8; s: (N) in x's dtype. Returns x·(s ⊙ w)ᵀ, (T, N) in x's dtype.</summary>
    public static Tensor Int8MatMul(Tensor x, Tensor w, Tensor s) => Invoke("mm8", x, w, s);

    /// <summary>w: (N, K) int32 values 0..15, N a multiple of 16. Returns the kernel's packed (N, K/2) uint8.</summary>
    public static Tensor PackInt4(Tensor w) => Invoke("pack4", w);

    /// <summary>
    /// x: (T, K) float32 or bfloat16; w: packed by <see cref="PackInt4"/>; sz: (K/g, N, 2) scale and zero in x's dtype, the
    /// weight being (q − 8)·scale + zero per group of g input features. Returns (T, N) in x's dtype.
    /// </summary>
    public static Tensor Int4MatMul(Tensor x, Tensor w, int groupSize, Tensor sz) => groupSize switch
    {
        32 => Invoke("mm4_32", x, w, sz),
        64 => Invoke("mm4_64", x, w, sz),
        128 => Invoke("mm4_128", x, w, sz),
        _ => throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, "the int4 group size must be 32, 64 or 128."),
    };

    /// <summary>Runs one function of the source. Tensor arguments only: invoke boxes numbers into Scalars nothing keeps alive, hence the ban this one call site lifts.</summary>
    private static Tensor Invoke(string function, params Tensor[] args)
    {
#pragma warning disable RS0030 // Tensor-only arguments (see build/BannedSymbols.txt: "Tensor-only calls are not affected").
        return Unit.Value.invoke<Tensor>(function, args);
#pragma warning restore RS0030
    }

    private static jit.CompilationUnit Compile()
    {
        Interlocked.Increment(ref _compilations);
        return jit.compile(Source);
    }
}
