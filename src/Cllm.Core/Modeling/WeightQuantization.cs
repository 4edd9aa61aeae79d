namespace Cllm.Core;

/// <summary>
/// Weight-only quantization of the attention and MLP projections for CPU inference (<c>--quantize</c>). Embeddings, norms
/// and the classifier keep the model dtype. A quantized model is inference-only: training refuses it.
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
}
