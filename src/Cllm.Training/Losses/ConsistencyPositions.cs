namespace Cllm.Training;

/// <summary>Which logits of the block a consistency loss covers (logit p predicts token p + 1).</summary>
public enum ConsistencyPositions
{
    /// <summary>
    /// The reference rule: from the logit predicting the first block token where student and teacher differ to the
    /// logit predicting the block's last token; the logit after the block is dropped. Earlier logits see identical
    /// inputs in both sequences and would only add zeros. Nothing is kept when the states are equal. The default.
    /// </summary>
    FromFirstMismatch = 0,

    /// <summary>As <see cref="FromFirstMismatch"/>, plus the logit after the block (the next block's first token).</summary>
    FromFirstMismatchWithBlockEnd,
}
