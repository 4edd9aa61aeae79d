namespace Cllm.Reproduction.Pipeline;

/// <summary>How long a stage took when it ran, and whether this run skipped it (its outputs existed).</summary>
/// <param name="Stage">Stage name.</param>
/// <param name="Seconds">Wall time of the run that produced the outputs.</param>
/// <param name="SkippedNow">True when this invocation found the outputs and did not rerun the stage.</param>
public sealed record StageTiming(string Stage, double Seconds, bool SkippedNow);
