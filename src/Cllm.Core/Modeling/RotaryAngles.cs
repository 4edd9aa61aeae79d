using static TorchSharp.torch;

namespace Cllm.Core;

/// <summary>
/// Rotary angles of the T tokens of one forward: Cos (T, D) and SinSigned (T, D), whose first half is −sin.
/// In the rotate-half convention x ↦ x·cos + [−x₂, x₁]·sin, and [−x₂, x₁]·sin = roll(x, D/2)·SinSigned,
/// so a rotation costs one roll, two products and a sum.
/// </summary>
internal readonly record struct RotaryAngles(Tensor Cos, Tensor SinSigned)
{
    /// <summary>x (B, heads, T, D) → x rotated to its positions, in the caller's dispose scope.</summary>
    public Tensor Apply(Tensor x) => (x * Cos).add(x.roll(x.shape[^1] / 2, -1) * SinSigned, Scalars.One);
}
