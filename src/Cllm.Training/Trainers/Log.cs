using Microsoft.Extensions.Logging;

namespace Cllm.Training;

/// <summary>Cllm.Training log messages; event ids 3000–3999.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Consistency training ({Consistency}, {Distance}, AR weight {ArWeight}): {Records} records, {Steps} steps of {Batch} × {Accumulation} records, learning rate {LearningRate}, seed {Seed}")]
    public static partial void TrainingStarted(ILogger logger, string consistency, string distance, double arWeight, int records, int steps, int batch, int accumulation, double learningRate, int seed);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Resumed from {Checkpoint} at step {Step}")]
    public static partial void Resumed(ILogger logger, string checkpoint, int step);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Step {Step}/{TotalSteps}: loss {Loss:F4} (consistency {Consistency:F4}, AR {Autoregressive:F4}), lr {LearningRate:G3}, grad norm {GradNorm:F3}, {TokensPerSecond:F0} tokens/s")]
    public static partial void StepDone(ILogger logger, int step, int totalSteps, double loss, double consistency, double autoregressive, double learningRate, double gradNorm, double tokensPerSecond);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Saved checkpoint {Checkpoint}")]
    public static partial void CheckpointSaved(ILogger logger, string checkpoint);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Training finished at step {Step} in {Seconds:F1} s")]
    public static partial void TrainingFinished(ILogger logger, int step, double seconds);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Training cancelled after step {Step}")]
    public static partial void TrainingCancelled(ILogger logger, int step);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Causal-LM training: {Sequences} sequences, {Steps} steps of {Batch} × {Accumulation} sequences, learning rate {LearningRate}, seed {Seed}")]
    public static partial void CausalLmTrainingStarted(ILogger logger, int sequences, int steps, int batch, int accumulation, double learningRate, int seed);
}
