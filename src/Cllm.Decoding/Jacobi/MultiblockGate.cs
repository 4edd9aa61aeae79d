using System;
using System.Threading;

namespace Cllm;

/// <summary>
/// What makes <c>multiblock:auto</c> acceptance-aware. The plan (n, K, P) comes from the forward-cost curve alone, which
/// says how wide a forward may be, not whether the model accepts enough to fill it: a model that accepts about one token
/// per forward pays for a wide chain and emits one token. So each request of a multiblock:auto decoder runs the plan only
/// while the model's shared block-size policy (<see cref="BlockSizePolicy"/>, jacobi:auto's, fed by the acceptance its
/// requests measure) finds blocks of the plan's n the best single-block choice; otherwise it runs jacobi:auto, which
/// shrinks blocks and falls back to AR steps when no block pays. One request in <see cref="ProbeEvery"/>, and every
/// request until the policy has measured any, runs jacobi:auto, so that the policy keeps learning.
/// </summary>
internal sealed class MultiblockGate
{
    /// <summary>One request in this many runs jacobi:auto whatever the policy says.</summary>
    public const int ProbeEvery = 8;

    private readonly BlockSizePolicy _policy;
    private readonly int _blockSize;
    private long _requests;

    /// <param name="policy">The model's shared block-size policy.</param>
    /// <param name="blockSize">The plan's n.</param>
    public MultiblockGate(BlockSizePolicy policy, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _blockSize = blockSize;
    }

    /// <summary>The policy the jacobi:auto side reports to.</summary>
    public BlockSizePolicy Policy => _policy;

    /// <summary>Whether the next request runs the multiblock plan (else jacobi:auto).</summary>
    public bool Admit()
    {
        bool probe = Interlocked.Increment(ref _requests) % ProbeEvery == 0;
        return !probe && _policy.Measured && _policy.Choose() >= Math.Min(_blockSize, _policy.MaxBlockSize);
    }
}
