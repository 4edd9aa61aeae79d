using System;

namespace Cllm.Training;

/// <summary>Where a training run stands after an optimizer step.</summary>
public sealed record TrainingProgress
{
    /// <summary>Optimizer steps completed (1-based after the first step).</summary>
    public required int Step { get; init; }

    /// <summary>Optimizer steps in the run.</summary>
    public required int TotalSteps { get; init; }

    /// <summary>Passes over the records completed so far (fractional).</summary>
    public required double Epoch { get; init; }

    /// <summary>This step's losses (mean over its micro-batches).</summary>
    public required LossComponents Loss { get; init; }

    /// <summary>Learning rate used by this step.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Global gradient norm before clipping.</summary>
    public required double GradientNorm { get; init; }

    /// <summary>Tokens run through the model with gradients per second, over the steps of this process.</summary>
    public required double TokensPerSecond { get; init; }

    /// <summary>Wall-clock time of this process's steps.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Estimated time to the last step.</summary>
    public required TimeSpan Eta { get; init; }

    /// <summary>The checkpoint folder written after this step, if one was.</summary>
    public string? Checkpoint { get; init; }
}
