using System;
using System.Collections.Generic;

namespace Cllm.Training;

/// <summary>What a training run did.</summary>
/// <param name="StartStep">The step the run started from (0, or a resumed checkpoint's step).</param>
/// <param name="Steps">The step it ended at (the run's total).</param>
/// <param name="FinalCheckpoint">The last checkpoint folder written, or null without an output folder.</param>
/// <param name="Losses">Each optimizer step's losses run in this process, in order.</param>
/// <param name="Elapsed">Wall-clock time of this process's steps.</param>
public sealed record TrainingResult(int StartStep, int Steps, string? FinalCheckpoint, IReadOnlyList<LossComponents> Losses, TimeSpan Elapsed)
{
    /// <summary>The folder holding the final model (the output folder itself), or null without an output folder.</summary>
    public string? Model { get; init; }
}
