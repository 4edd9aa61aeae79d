using System.Collections.Generic;

namespace Cllm.Drafting;

/// <summary>Autoregressive decoding: never guesses, so every forward pass emits exactly one token.</summary>
public sealed class NoDraftProposer : IDraftProposer
{
    public int MaxDraftTokens => 0;

    public void Begin(IReadOnlyList<int> promptIds, int firstToken)
    {
    }

    public Draft Propose(int pending, int maxDepth) => Draft.Empty;

    public void Observe(VerifyOutcome outcome)
    {
    }

    public void Report(DecodeStats stats)
    {
    }
}
