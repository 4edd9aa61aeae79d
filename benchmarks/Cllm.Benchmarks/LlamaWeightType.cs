namespace Cllm.Benchmarks;

/// <summary>The llama.cpp side's GGUF weight type (<c>--gguf-type</c>).</summary>
internal enum LlamaWeightType
{
    /// <summary>32-bit floats, exported directly: the same numbers as Cllm's float32 weights.</summary>
    F32,

    /// <summary>16-bit floats, exported directly.</summary>
    F16,

    /// <summary>llama.cpp's Q8_0 (blocks of 32 int8 values, one f16 scale), made from the F32 export by llama.cpp's quantizer.</summary>
    Q8_0,

    /// <summary>llama.cpp's Q4_0 (blocks of 32 4-bit values, one f16 scale), made from the F32 export by llama.cpp's quantizer.</summary>
    Q4_0,
}
