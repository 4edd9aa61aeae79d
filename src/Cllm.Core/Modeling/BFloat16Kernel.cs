using System;

namespace Cllm.Core;

/// <summary>
/// y = x·Wᵀ with bfloat16 weights packed for AVX-512 BF16 (<c>vdpbf16ps</c>), in the native kernel
/// <c>cllm_bf16_rows</c> (Native/bf16_dot.c): weights in groups of 16 output features, each group K/2 units of 32 values
/// (unit p holds W[16g + i, 2p] and W[16g + i, 2p + 1] at 2i and 2i + 1), so every operand is one contiguous load and a
/// group streams from memory in order; N is padded with zero rows to whole groups.
/// <para>
/// Activations are bfloat16 and every output is one float32 chain over the input pairs in order, so a row of a T-token
/// call equals that token computed alone, bit for bit, whatever the number of tokens or workers. Outputs are float32, or
/// bfloat16 rounded to nearest even (added to: the rounded product added and rounded again, as ATen's <c>add_</c> after a product).
/// </para>
/// </summary>
internal static unsafe class BFloat16Kernel
{
    /// <summary>Output features per packed group.</summary>
    public const int GroupFeatures = 16;

    /// <summary>Groups per tile of the native kernel: worker chunks are whole tiles.</summary>
    private const int TileGroups = 4;

    /// <summary>Whether this machine runs the kernel (x64 Linux with AVX-512 BF16 and libcllm_native).</summary>
    public static bool IsSupported => NativeKernels.BFloat16Rows != null;

    /// <summary>Why <see cref="IsSupported"/> is false; null when it is true.</summary>
    public static string? Missing => NativeKernels.BFloat16Missing;

    /// <summary>Whether an (N, K) weight can be packed: K even.</summary>
    public static bool Fits(long inFeatures) => inFeatures % 2 == 0;

    /// <summary>Values of the packed (N, K) weight: N rounded up to whole groups, times K.</summary>
    public static long PackedLength(long outFeatures, long inFeatures) => (outFeatures + GroupFeatures - 1) / GroupFeatures * GroupFeatures * inFeatures;

    /// <summary>
    /// Rows [<paramref name="firstRow"/>, firstRow + <paramref name="rows"/>) of W from <paramref name="w"/> (rows, K) float32,
    /// rounded to bfloat16 as <see cref="Int4A8Kernel.ToBFloat16"/> does, into their places in <paramref name="packed"/>.
    /// </summary>
    public static void Pack(float* w, int rows, int inFeatures, long firstRow, ushort* packed)
    {
        for (int r = 0; r < rows; r++)
        {
            long n = firstRow + r;
            ushort* group = packed + (n / GroupFeatures * GroupFeatures * inFeatures) + (2 * (n % GroupFeatures));
            float* row = w + ((long)r * inFeatures);
            for (int p = 0; p < inFeatures; p += 2)
            {
                ushort* unit = group + (16L * p);                                             // unit p/2: 32 values
                unit[0] = Int4A8Kernel.ToBFloat16(row[p]);
                unit[1] = Int4A8Kernel.ToBFloat16(row[p + 1]);
            }
        }
    }

    /// <summary>
    /// (T, N) = x (T, K) bfloat16 bits · Wᵀ from <paramref name="packed"/>, into <paramref name="output"/>, the feature groups
    /// shared out to <paramref name="threads"/> workers.
    /// </summary>
    public static void MatMul(ushort* packed, ushort* x, KernelOutput output, int tokens, int outFeatures, int inFeatures, int threads)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException($"the packed bfloat16 kernel does not run here: {Missing}");
        }

        var job = new Job(packed, x, output, tokens, outFeatures, inFeatures);
        int groups = (outFeatures + GroupFeatures - 1) / GroupFeatures;
        KernelWorkers.For(groups, TileGroups, (long)outFeatures * inFeatures, threads, job.Groups);
    }

    /// <summary>One call's pointers and sizes, shared by its workers (each writes its own features of y).</summary>
    private readonly struct Job(ushort* w, ushort* x, KernelOutput y, int tokens, int n, int k)
    {
        public void Groups(int g0, int g1)
        {
            if (g0 < g1)
            {
                NativeKernels.BFloat16Rows(w, x, y.F32, y.BF16, y.Accumulate ? 1 : 0, tokens, n, k, g0, g1);
            }
        }
    }
}
