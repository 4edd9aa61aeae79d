namespace Cllm.Core;

/// <summary>
/// Quantization of the attention and MLP projections for CPU inference (<c>--quantize</c>): weight-only, 4-bit weights with
/// 8-bit activations, or bfloat16 weights and activations packed for AVX-512 BF16. Embeddings, norms and the classifier
/// keep the model dtype. A quantized model is inference-only: training refuses it.
/// </summary>
public enum WeightQuantization
{
    /// <summary>Every weight in the model dtype.</summary>
    None = 0,

    /// <summary>8-bit integers with one scale per output channel (symmetric).</summary>
    Int8 = 1,

    /// <summary>
    /// 4-bit integers with a scale and a zero point per group of 128, 64 or 32 input features (the largest that divides
    /// the input size). A projection whose shape ATen's int4 kernel cannot take (output size not a multiple of 16, or no
    /// group size dividing the input size) falls back to <see cref="Int8"/>, and one whose input size is not a multiple of
    /// 16 stays unquantized (ATen's int8 kernel misreads it); the load summary names them.
    /// </summary>
    Int4 = 2,

    /// <summary>
    /// 4-bit weights (a scale and an offset per group of 128 or 64 input features) multiplied by 8-bit activations
    /// quantized per token and group on every call, in integer dot products (AVX-VNNI, or AVX2 at lower speed; x64 only).
    /// Unlike <see cref="Int4"/>, a block of T tokens costs far less than T one-token calls, which is what Jacobi blocks
    /// need. A projection whose input size no group divides falls back as <see cref="Int4"/> does; the load summary names it.
    /// </summary>
    Int4A8 = 3,

    /// <summary>
    /// Bfloat16 weights packed for AVX-512 BF16 dot products (<c>vdpbf16ps</c>; AMD Zen 4 and later, Intel Cooper Lake and
    /// Sapphire Rapids and later) in Cllm's native kernel, bfloat16 activations (a float32 model's are rounded per call),
    /// float32 sums. Lossless for a bfloat16 checkpoint; the same bytes as bfloat16, but on such CPUs without AMX a
    /// one-token forward ran 2.4x and a 16-token one 1.75x faster than through ATen's bfloat16 product (docs/quantization.md). Needs
    /// libcllm_native (Linux x64) and such a CPU. A projection whose input size is odd stays in the model dtype.
    /// </summary>
    BFloat16 = 4,
}
