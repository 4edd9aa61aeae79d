using System.Collections.Generic;
using Cllm.Jacobi;

namespace Cllm.Training.Trajectories;

/// <summary>Collects one request's block trajectories from the Jacobi decoder and notices the first block that reaches EOS.</summary>
internal sealed class BlockRecorder : IJacobiObserver
{
    private readonly IReadOnlyList<int> _eosTokenIds;

    public BlockRecorder(IReadOnlyList<int> eosTokenIds) => _eosTokenIds = eosTokenIds;

    /// <summary>The blocks in order.</summary>
    public List<JacobiTrajectory> Blocks { get; } = new();

    /// <summary>True once a completed block's fixed point contains an EOS id: collection stops after that block.</summary>
    public bool ReachedEos { get; private set; }

    public void OnBlock(JacobiTrajectory trajectory)
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
