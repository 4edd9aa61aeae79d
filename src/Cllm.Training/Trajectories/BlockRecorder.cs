using System.Collections.Generic;
using Cllm;

namespace Cllm.Training;

/// <summary>
/// Attached to the Jacobi decode loop, collects one request's block trajectories and notices the first block that
/// reaches EOS.
/// </summary>
internal sealed class BlockRecorder : IDecodeObserver
{
    private readonly IReadOnlyList<int> _eosTokenIds;
    private readonly JacobiBlockTracker _tracker;

    public BlockRecorder(IReadOnlyList<int> eosTokenIds)
    {
        _eosTokenIds = eosTokenIds;
        _tracker = new JacobiBlockTracker(OnBlock);
    }

    /// <summary>The blocks in order.</summary>
    public List<JacobiTrajectory> Blocks { get; } = new();

    /// <summary>True once a completed block's fixed point contains an EOS id: collection stops after that block.</summary>
    public bool ReachedEos { get; private set; }

    public void OnVerified(VerifyOutcome outcome) => _tracker.OnVerified(outcome);

    public void OnFinished(DecodeStats stats) => _tracker.OnFinished(stats);

    private void OnBlock(JacobiTrajectory trajectory)
    {
        Blocks.Add(trajectory);
        foreach (var token in trajectory.FixedPoint)
        {
            for (int i = 0; i < _eosTokenIds.Count; i++)
            {
                if (token == _eosTokenIds[i])
                {
                    ReachedEos = true;
                }
            }
        }
    }
}
