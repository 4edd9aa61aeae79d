using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// What one verification forward decided, handed to the proposer (to plan its next draft) and to the loop's observers.
/// </summary>
/// <param name="Draft">The draft that was verified.</param>
/// <param name="AcceptedNodes">Draft indices of the accepted path, root first.</param>
/// <param name="Emitted">The accepted tokens followed by the bonus token (the model's own next token).</param>
/// <param name="Predictions">Greedy prediction at every input: [0] after the pending token, [1 + i] after draft token i.</param>
/// <param name="Sequence">
/// Prompt and generated tokens after this step, <see cref="Emitted"/> included (its last token is the new pending one);
/// a live view of the loop's sequence, valid while the request runs: copy what must outlive the call.
/// </param>
public sealed record VerifyOutcome(Draft Draft, IReadOnlyList<int> AcceptedNodes, IReadOnlyList<int> Emitted, IReadOnlyList<int> Predictions, IReadOnlyList<int> Sequence);
