using System;
using Cllm.Training;

namespace Cllm.Reproduction.Training;

/// <summary>Settings of autoregressive pretraining from scratch with the library's <see cref="CausalLmTrainer"/> (AdamW, linear warm-up, cosine decay).</summary>
public sealed record PretrainOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 800;

    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 2e-3;

    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>The cosine decays to this fraction of the peak.</summary>
    public double MinLearningRateRatio { get; init; } = 0.05;

    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Global gradient-norm clip (0 = none).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Take the loss on the answer tokens (and EOS) only; otherwise on every next token after BOS.</summary>
    public bool AnswerOnly { get; init; } = true;

    /// <summary>
    /// Every sequence is continued with EOS up to the batch's longest sequence plus this many positions, and the model
    /// learns to follow EOS with EOS. A Jacobi block that holds the answer's end then has a trivial fixed point after
    /// it (all EOS) instead of whatever an untrained position predicts, which keeps collected trajectories clean.
    /// </summary>
    public int EosTail { get; init; } = 8;

    /// <summary>Seed of the data order.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws for settings out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Steps, 1, nameof(Steps));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupSteps, nameof(WarmupSteps));
        ArgumentOutOfRangeException.ThrowIfNegative(EosTail, nameof(EosTail));
        if (!(LearningRate > 0) || !(MinLearningRateRatio >= 0 && MinLearningRateRatio <= 1) || !(WeightDecay >= 0) || !(MaxGradNorm >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), "learning rate > 0, min ratio in [0, 1], weight decay and clip ≥ 0.");
        }
    }

    /// <summary>
    /// The library's settings for these: <see cref="Steps"/> steps of <see cref="BatchSize"/> sequences, warm-up then
    /// cosine decay to <see cref="MinLearningRateRatio"/>, plain cross-entropy (no label smoothing), answer only and an
    /// EOS tail as set here.
    /// </summary>
    public TrainingOptions ToTrainingOptions() => new()
    {
        MaxSteps = Steps,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        WarmupSteps = WarmupSteps,
        MinLearningRateRatio = MinLearningRateRatio,
        WeightDecay = WeightDecay,
        MaxGradNorm = MaxGradNorm,
        AnswerOnlyAutoregressive = AnswerOnly,
        EndPadding = EosTail,
        LabelSmoothing = 0,
        Seed = Seed,
    };
}
