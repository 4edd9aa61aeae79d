namespace Cllm.Core;

/// <summary>Where a CPU kernel's (T, N) results go: float32 (<c>F32</c>) or bfloat16 (<c>BF16</c>, as raw bits), replaced or added to.</summary>
internal readonly unsafe struct KernelOutput(float* f32, ushort* bf16, bool accumulate)
{
    public float* F32 { get; } = f32;

    public ushort* BF16 { get; } = bf16;

    public bool Accumulate { get; } = accumulate;
}
