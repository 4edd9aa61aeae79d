using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// The iterates of one Jacobi block: <c>States[0]</c> is the initial guess y(0), each later state is the
/// block after one more parallel forward, and the last state is the fixed point y*. Every state has the
/// block's length; token 0 (the token carried over from the previous block) is correct from the start. When the
/// first block's draft rode on the prefill (<see cref="DraftVerifyDecoder.DraftAtPrefill"/>), its token 0 is the
/// prompt's last token and its context the rest of the prompt.
/// </summary>
/// <param name="BlockIndex">0 for the first block of the request.</param>
/// <param name="ContextIds">The tokens before the block: prompt and all earlier blocks (all but the prompt's last token, for a first block verified at prefill).</param>
/// <param name="States">y(0) … y(k) = y*.</param>
/// <param name="Complete">False when the request stopped (EOS, stop, cancellation) before the block converged; the states are then cut to the tokens known correct.</param>
internal sealed record JacobiTrajectory(int BlockIndex, IReadOnlyList<int> ContextIds, IReadOnlyList<int[]> States, bool Complete)
{
    /// <summary>The fixed point y*: the last state.</summary>
    public int[] FixedPoint => States[^1];
}
