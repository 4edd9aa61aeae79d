using Cllm.Core;
namespace Cllm.Tools;

/// <summary>How a GGUF export stores the 2-D weight matrices (norm vectors always stay F32).</summary>
public enum GgufFileType
{
    /// <summary>32-bit floats: bit-exact with the checkpoint when it is float32 or float16.</summary>
    F32 = 0,

    /// <summary>16-bit floats.</summary>
    F16 = 1,

    /// <summary>8-bit blocks of 32 values with one f16 scale (llama.cpp's Q8_0); matrices whose rows are not a multiple of 32 stay F16.</summary>
    Q8_0 = 7,
}
