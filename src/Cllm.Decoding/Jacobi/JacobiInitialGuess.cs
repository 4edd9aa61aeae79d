namespace Cllm;

/// <summary>How a new Jacobi block's n − 1 unknown tokens are first guessed.</summary>
public enum JacobiInitialGuess
{
    /// <summary>
    /// Tokens drawn uniformly, with replacement, from the context (prompt and output so far) with a
    /// seeded generator — what the reference implementation does, and so the distribution a CLLM's
    /// training trajectories start from. The default.
    /// </summary>
    ContextSample = 0,

    /// <summary>Every guess is the block's first (already known) token. Deterministic and context-free.</summary>
    RepeatFirst,
}
