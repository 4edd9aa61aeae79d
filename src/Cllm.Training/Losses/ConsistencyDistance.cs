namespace Cllm.Training;

/// <summary>
/// The distance D(teacher ‖ student) between the teacher's and the student's next-token distributions at one
/// position. Every distance is computed in float32 over the full vocabulary and is 0 when both agree.
/// </summary>
public enum ConsistencyDistance
{
    /// <summary>
    /// KL(p_teacher ‖ p_student) = Σ p_T (log p_T − log p_S). Its gradient with respect to the student equals that of
    /// the reference implementation's soft cross-entropy −Σ p_T log p_S, which differs only by the teacher's
    /// entropy, a constant under stop-gradient. The default.
    /// </summary>
    ForwardKl = 0,

    /// <summary>KL(p_student ‖ p_teacher) = Σ p_S (log p_S − log p_T): mode-seeking.</summary>
    ReverseKl,

    /// <summary>
    /// Jensen–Shannon divergence ½ KL(p_T ‖ m) + ½ KL(p_S ‖ m) with m = ½ (p_T + p_S): symmetric, bounded by ln 2.
    /// </summary>
    JensenShannon,
}
