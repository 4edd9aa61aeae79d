using System.Collections.Generic;

namespace Cllm.Drafting;

/// <summary>
/// What one verification forward decided, handed back to the proposer so it can plan its next draft.
/// </summary>
/// <param name="Draft">The draft that was verified.</param>
/// <param name="AcceptedNodes">Draft indices of the accepted path, root first.</param>
/// <param name="Emitted">The accepted tokens followed by the bonus token (the model's own next token).</param>
/// <param name="Predictions">Greedy prediction at every input: [0] after the pending token, [1 + i] after draft token i.</param>
public sealed record VerifyOutcome(Draft Draft, IReadOnlyList<int> AcceptedNodes, IReadOnlyList<int> Emitted, IReadOnlyList<int> Predictions);
