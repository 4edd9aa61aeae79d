using System;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// Row order of q/k projections. Hugging Face LLaMA rotates halves: within a head of d rows, row j pairs with row
/// j + d/2. llama.cpp's LLAMA rope (and Meta's original weights) rotates adjacent pairs: row 2j pairs with 2j + 1.
/// <see cref="ToInterleaved"/> moves HF row t·d/2 + j of each head to row 2j + t (t ∈ {0, 1}); it undoes the permute of
/// Hugging Face's conversion script and is what llama.cpp's converter applies. <see cref="ToRotateHalf"/> is its inverse.
/// </summary>
internal static class GgufRope
{
    /// <summary>HF rotate-half rows → interleaved rows; <paramref name="weight"/> is [heads·headDim, cols] row-major.</summary>
    public static float[] ToInterleaved(ReadOnlySpan<float> weight, int heads, int columns) => Permute(weight, heads, columns, toInterleaved: true);

    /// <summary>Interleaved rows → HF rotate-half rows (the inverse of <see cref="ToInterleaved"/>).</summary>
    public static float[] ToRotateHalf(ReadOnlySpan<float> weight, int heads, int columns) => Permute(weight, heads, columns, toInterleaved: false);

    private static float[] Permute(ReadOnlySpan<float> weight, int heads, int columns, bool toInterleaved)
    {
        int rows = weight.Length / columns;
        if (rows * columns != weight.Length || rows % heads != 0 || rows / heads % 2 != 0)
        {
            throw new ArgumentException($"cannot permute {weight.Length} values as {heads} heads of even size × {columns} columns.");
        }

        int headDim = rows / heads, half = headDim / 2;
        var result = new float[weight.Length];
        for (int h = 0; h < heads; h++)
        {
            for (int t = 0; t < 2; t++)
            {
                for (int j = 0; j < half; j++)
                {
                    int hf = h * headDim + t * half + j, interleaved = h * headDim + 2 * j + t;
                    var (from, to) = toInterleaved ? (hf, interleaved) : (interleaved, hf);
                    weight.Slice(from * columns, columns).CopyTo(result.AsSpan(to * columns, columns));
                }
            }
        }

        return result;
    }
}
