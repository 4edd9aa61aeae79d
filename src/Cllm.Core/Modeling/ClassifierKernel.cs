using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading.Tasks;

namespace Cllm.Core;

/// <summary>
/// The classifier of a bfloat16 model on the CPU, where <see cref="CachedAttention"/> runs: logits (N, V) float32 =
/// bf16(h (N, C) · W (C, V)), each logit the chain Σ_c h_c·W_cv over c in order (fused), rounded to bfloat16 as ATen's
/// bfloat16 product rounds its output, then widened. A token's logits never depend on the other rows, so a block's rows
/// equal the one-token steps; ATen's bfloat16 product on the one thread libtorch keeps beside the int4a8 kernel took
/// ~1 ms of a one-token forward of the 0.97B shape (vocabulary 1257).
/// </summary>
internal static unsafe class ClassifierKernel
{
    private const int Lanes = 8;
    private const int TokensPerPass = 4;

    /// <summary>h: (N, C) bfloat16, row stride C; w: (C, V) bfloat16 contiguous; logits: (N, V) float32. Columns shared out to <paramref name="workers"/>.</summary>
    public static void Run(ushort* h, int n, int c, ushort* w, int v, float* logits, int workers)
    {
        // h widened once: (N, C) float32.
        float* hf = (float*)NativeMemory.AlignedAlloc((nuint)((long)n * c * sizeof(float)), 64);
        try
        {
            long count = (long)n * c;
            long i = 0;
            for (; i + Lanes <= count; i += Lanes)
            {
                BFloat16Vectors.Widen(h + i).Store(hf + i);
            }

            for (; i < count; i++)
            {
                hf[i] = Int4A8Kernel.FromBFloat16(h[i]);
            }

            var job = new Job(hf, n, c, w, v, logits);
            int blocks = (v + Lanes - 1) / Lanes;                                      // columns in blocks of 8
            if (workers <= 1 || blocks < 2 * workers || (long)n * c * v < 1 << 20)
            {
                job.Columns(0, v);
                return;
            }

            int per = (blocks + workers - 1) / workers * Lanes;
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers },
                k => job.Columns(Math.Min(v, k * per), Math.Min(v, (k + 1) * per)));
        }
        finally
        {
            NativeMemory.AlignedFree(hf);
        }
    }

    private readonly struct Job(float* h, int n, int c, ushort* w, int v, float* logits)
    {
        /// <summary>
        /// Columns [col0, col1) of every token: W read row by row in order (a sequential stream), each token's logits
        /// accumulated in float32 for up to four tokens at a time, then rounded.
        /// </summary>
        public void Columns(int col0, int col1)
        {
            int width = col1 - col0;
            if (width <= 0)
            {
                return;
            }

            float* acc = (float*)NativeMemory.AlignedAlloc((nuint)((long)TokensPerPass * width * sizeof(float)), 64);
            try
            {
                for (int t = 0; t < n; t += TokensPerPass)
                {
                    int count = Math.Min(TokensPerPass, n - t);
                    new Span<float>(acc, count * width).Clear();
                    ushort* row = w + col0;
                    float* ht = h + (long)t * c;
                    for (int k = 0; k < c; k++, row += v)
                    {
                        for (int q = 0; q < count; q++)
                        {
                            Accumulate(row, acc + q * width, width, ht[(long)q * c + k]);
                        }
                    }

                    for (int q = 0; q < count; q++)
                    {
                        float* from = acc + q * width;
                        float* to = logits + (long)(t + q) * v + col0;
                        int j = 0;
                        for (; j + Lanes <= width; j += Lanes)
                        {
                            BFloat16Vectors.RoundHigh(Vector256.Load(from + j)).AsSingle().Store(to + j);
                        }

                        for (; j < width; j++)
                        {
                            to[j] = Int4A8Kernel.FromBFloat16(Int4A8Kernel.ToBFloat16(from[j]));
                        }
                    }
                }
            }
            finally
            {
                NativeMemory.AlignedFree(acc);
            }
        }

        /// <summary>acc[j] = fma(x, W[k, j], acc[j]) over one row's columns: lanes, then the last columns one by one (the same fma).</summary>
        private static void Accumulate(ushort* row, float* acc, int width, float x)
        {
            var xv = Vector256.Create(x);
            int j = 0;
            for (; j + 2 * Lanes <= width; j += 2 * Lanes)
            {
                Fma.MultiplyAdd(xv, BFloat16Vectors.Widen(row + j), Vector256.Load(acc + j)).Store(acc + j);
                Fma.MultiplyAdd(xv, BFloat16Vectors.Widen(row + j + Lanes), Vector256.Load(acc + j + Lanes)).Store(acc + j + Lanes);
            }

            for (; j + Lanes <= width; j += Lanes)
            {
                Fma.MultiplyAdd(xv, BFloat16Vectors.Widen(row + j), Vector256.Load(acc + j)).Store(acc + j);
            }

            for (; j < width; j++)
            {
                acc[j] = MathF.FusedMultiplyAdd(x, Int4A8Kernel.FromBFloat16(row[j]), acc[j]);
            }
        }
    }
}
