using System.Collections.Generic;

namespace Cllm;

/// <summary>Autoregressive decoding: never guesses, so every forward pass emits exactly one token.</summary>
internal sealed class NoDraftProposer : IDraftProposer
{
    public int MaxDraftTokens => 0;

    public Draft Propose(IReadOnlyList<int> sequence, int maxDepth) => Draft.Empty;

    public void Observe(VerifyOutcome outcome)
    {
    }
}
