using System;
using System.Collections.Generic;

namespace Cllm;

/// <summary>
/// One request of <c>multiblock:auto</c>: at its first call the <see cref="MultiblockGate"/> picks the multiblock plan or
/// jacobi:auto, and every call goes to that proposer. Both are exact, so the choice changes speed only.
/// </summary>
internal sealed class GatedMultiblockProposer : IDraftProposer
{
    private readonly MultiblockGate _gate;
    private readonly Func<IDraftProposer> _multiblock;
    private readonly Func<IDraftProposer> _jacobi;
    private IDraftProposer? _chosen;

    /// <param name="gate">The decoder's gate.</param>
    /// <param name="multiblock">Creates the plan's proposer.</param>
    /// <param name="jacobi">Creates a jacobi:auto proposer reporting to the gate's policy.</param>
    /// <param name="maxDraftTokens">The larger of the two proposers' most draft tokens.</param>
    public GatedMultiblockProposer(MultiblockGate gate, Func<IDraftProposer> multiblock, Func<IDraftProposer> jacobi, int maxDraftTokens)
    {
        _gate = gate;
        _multiblock = multiblock;
        _jacobi = jacobi;
        MaxDraftTokens = maxDraftTokens;
    }

    /// <inheritdoc />
    public int MaxDraftTokens { get; }

    /// <summary>Whether this request runs the multiblock plan (null before its first call).</summary>
    public bool? RunsMultiblock => _chosen is null ? null : _chosen is MultiblockProposer;

    private IDraftProposer Chosen => _chosen ??= _gate.Admit() ? _multiblock() : _jacobi();

    /// <inheritdoc />
    public Draft Propose(IReadOnlyList<int> sequence, int maxDepth) => Chosen.Propose(sequence, maxDepth);

    /// <inheritdoc />
    public Draft ProposeAtPrefill(IReadOnlyList<int> prompt, int maxDepth) => Chosen.ProposeAtPrefill(prompt, maxDepth);

    /// <inheritdoc />
    public void Observe(VerifyOutcome outcome) => Chosen.Observe(outcome);
}
