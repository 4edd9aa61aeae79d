using System;
using System.Globalization;
using Cllm.Core;

namespace Cllm;

/// <summary>
/// Multiblock Jacobi decoding with rejection recycling (Jacobi Forcing's inference): up to
/// <see cref="Blocks"/> blocks of <see cref="BlockSize"/> tokens in flight as one chain (the first commits, the others
/// iterate under its still-noisy tokens), a new block opened once the newest has <see cref="SpawnRatio"/>·n tokens
/// accepted, and up to <see cref="PoolSize"/> recycled rejected n-grams verified as extra branches. One forward carries
/// at most K·n + P·(n − 1) tokens.
/// </summary>
public sealed record MultiblockOptions : DecoderOptions
{
    /// <summary>n: tokens per block. Default 16.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>K: most blocks in flight (1 = plain Jacobi blocks). Default 2.</summary>
    public int Blocks { get; init; } = 2;

    /// <summary>r: a new block opens once the newest has at least ⌈r·n⌉ tokens accepted (0 &lt; r ≤ 1). Default 0.85.</summary>
    public double SpawnRatio { get; init; } = 0.85;

    /// <summary>P: rejected n-grams kept for recycling, and so the most candidates verified per forward. Default 4.</summary>
    public int PoolSize { get; init; } = 4;

    /// <summary>
    /// Choose n, K and P when the decoder is built, from the model's measured forward-cost curve (<see cref="MultiblockPlan"/>);
    /// <see cref="BlockSize"/>, <see cref="Blocks"/> and <see cref="PoolSize"/> are then ignored.
    /// </summary>
    public bool Auto { get; init; }

    /// <summary>Initial guess policy of a new block's tokens; see <see cref="JacobiInitialGuess"/>.</summary>
    public JacobiInitialGuess InitialGuess { get; init; } = JacobiInitialGuess.ContextSample;

    /// <summary>Seed of the initial-guess generator (each request starts from it, so runs repeat exactly).</summary>
    public int Seed { get; init; }

    /// <summary>Draft tokens of one forward at most: K·n − 1 in the blocks, n − 1 per recycled candidate.</summary>
    public int MaxDraftTokens => Blocks * BlockSize - 1 + PoolSize * (BlockSize - 1);

    /// <summary>The settings as the decoder spec writes them: NxKxRxP.</summary>
    public string Spec => string.Create(CultureInfo.InvariantCulture, $"{BlockSize}x{Blocks}x{SpawnRatio}x{PoolSize}");

    /// <summary>"multiblock:NxKxRxP", or "multiblock:auto" with <see cref="Auto"/>.</summary>
    public override string Label => Auto ? "multiblock:auto" : $"multiblock:{Spec}";

    private protected override long WidestForward => Auto ? 1 : (long)Blocks * BlockSize + (long)PoolSize * (BlockSize - 1);

    /// <summary>Throws for n &lt; 2, K &lt; 1, r outside (0, 1] or P &lt; 0.</summary>
    public override void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 2, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Blocks, 1, nameof(Blocks));
        if (!(SpawnRatio > 0 && SpawnRatio <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SpawnRatio), SpawnRatio, "SpawnRatio must be above 0 and at most 1.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(PoolSize, nameof(PoolSize));
    }

    /// <summary>
    /// With <see cref="Auto"/>, n, K and P are chosen now from the model's forward-cost curve (measured once per model) and
    /// the decoder is named after them (multiblock:auto=16x2x0.85x0); each request then runs that plan or jacobi:auto, as
    /// the model's measured acceptance says (<see cref="MultiblockGate"/>).
    /// </summary>
    private protected override DraftVerifyDecoder Build(LlamaForCausalLM model)
    {
        var firstTokens = new JacobiFirstTokens();
        if (!Auto)
        {
            return new DraftVerifyDecoder(model, Label, () => new MultiblockProposer(this, firstTokens));
        }

        return Build(model, MultiblockPlan.For(model, this), BlockSizePolicy.For(model), firstTokens);
    }

    /// <summary>multiblock:auto over a given plan and block-size policy (the model's own, or a test's).</summary>
    internal static DraftVerifyDecoder Build(LlamaForCausalLM model, MultiblockOptions plan, BlockSizePolicy policy, JacobiFirstTokens firstTokens)
    {
        var gate = new MultiblockGate(policy, plan.BlockSize);
        var jacobi = new JacobiOptions { AutoBlockSize = true, InitialGuess = plan.InitialGuess, Seed = plan.Seed };
        int maxDraft = Math.Max(plan.MaxDraftTokens, policy.MaxBlockSize - 1);
        return new DraftVerifyDecoder(model, $"multiblock:auto={plan.Spec}", () => new GatedMultiblockProposer(
            gate,
            () => new MultiblockProposer(plan, firstTokens),
            () => new JacobiProposer(jacobi, () => gate.Policy, firstTokens),
            maxDraft));
    }
}
