using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// The candidate side of draft-and-verify decoding (Hugging Face's <c>CandidateGenerator</c>), holding one request's
/// guessing state: the loop calls <see cref="Propose"/> (<c>get_candidates</c>) before every verification forward and
/// <see cref="Observe"/> (<c>update_candidate_strategy</c>) after it; the prefill forward verifies the draft of
/// <see cref="ProposeAtPrefill"/>, when there is one. A proposer is created per request, so it needs no begin or reset;
/// it never touches the model or the KV cache, which only the loop moves.
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

    /// <summary>
    /// Guesses what follows the prompt's last token, for the prefill forward to verify along with the prompt
    /// (<see cref="DraftVerifyDecoder.DraftAtPrefill"/>). Called at most once per request, before any other call, with
    /// the prompt alone and <paramref name="maxDepth"/> ≥ 1; a draft returned here is observed like any other, so the
    /// first forward may emit several tokens. The default offers none (<see cref="Draft.Empty"/>): the prompt is
    /// prefilled alone and <see cref="Propose"/> is first called after the first generated token.
    /// </summary>
    Draft ProposeAtPrefill(IReadOnlyList<int> prompt, int maxDepth) => Draft.Empty;

    /// <summary>Learns from the verification of the last draft.</summary>
    void Observe(VerifyOutcome outcome);
}
