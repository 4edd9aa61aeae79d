namespace Cllm.Training.Losses;

/// <summary>How the objective lays examples out for the model; both give the same losses and gradients (up to float rounding).</summary>
public enum ForwardLayout
{
    /// <summary>
    /// One forward per example group: the examples of one record (same context and labels) share a sequence
    /// <c>[context | fixed point | other states]</c> in which each block sees only the context and itself, so the
    /// context runs once for the autoregressive loss, the teacher and every student state. The default: several
    /// times cheaper when several states of a record are trained together, or contexts are long.
    /// </summary>
    Packed = 0,

    /// <summary>
    /// Batched forwards over right-padded sequences: one over the autoregressive sequences (whose detached logits are
    /// the teacher when they are the teacher sequences), one no-grad teacher forward otherwise, one over the student
    /// sequences — the reference's layout.
    /// </summary>
    Padded,
}
