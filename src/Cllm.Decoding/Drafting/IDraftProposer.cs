using System.Collections.Generic;

namespace Cllm.Drafting;

/// <summary>
/// The candidate side of draft-and-verify decoding, holding one request's guessing state.
/// The decode loop calls <see cref="Begin"/> after the prefill, then <see cref="Propose"/> and
/// <see cref="Observe"/> once per forward pass, and <see cref="Report"/> at the end.
/// </summary>
public interface IDraftProposer
{
    /// <summary>The most draft tokens <see cref="Propose"/> ever returns (sizes the KV cache).</summary>
    int MaxDraftTokens { get; }

    /// <summary>Starts a request: its prompt and the first generated token (now pending).</summary>
    void Begin(IReadOnlyList<int> promptIds, int firstToken);

    /// <summary>Guesses what follows <paramref name="pending"/>, no deeper than <paramref name="maxDepth"/> tokens.</summary>
    Draft Propose(int pending, int maxDepth);

    /// <summary>Learns from the verification of the last draft.</summary>
    void Observe(VerifyOutcome outcome);

    /// <summary>Adds the proposer's own figures to the request's stats, once it ends.</summary>
    void Report(DecodeStats stats);
}
