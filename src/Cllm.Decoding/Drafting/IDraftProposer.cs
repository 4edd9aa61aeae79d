using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// The candidate side of draft-and-verify decoding (Hugging Face's <c>CandidateGenerator</c>), holding one request's
/// guessing state: the loop calls <see cref="Propose"/> (<c>get_candidates</c>) before every verification forward and
/// <see cref="Observe"/> (<c>update_candidate_strategy</c>) after it. A proposer is created per request, so it needs no
/// begin or reset; it never touches the model or the KV cache, which only the loop moves.
/// </summary>
public interface IDraftProposer
{
    /// <summary>The most draft tokens <see cref="Propose"/> ever returns (sizes the KV cache).</summary>
    int MaxDraftTokens { get; }

    /// <summary>
    /// Guesses what follows the pending token, the last of <paramref name="sequence"/> (prompt and generated tokens so
    /// far; a live view the loop keeps up to date), no deeper than <paramref name="maxDepth"/> tokens.
    /// </summary>
    Draft Propose(IReadOnlyList<int> sequence, int maxDepth);

    /// <summary>Learns from the verification of the last draft.</summary>
    void Observe(VerifyOutcome outcome);
}
