using Cllm.Core;
namespace Cllm.Tools;

/// <summary>The ggml tensor types the GGUF writer emits (the numbers are ggml's <c>ggml_type</c>).</summary>
internal enum GgufTensorType : uint
{
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}
