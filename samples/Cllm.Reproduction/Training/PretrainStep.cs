namespace Cllm.Reproduction.Training;

/// <summary>What one pretraining step reports.</summary>
/// <param name="Step">1-based step number.</param>
/// <param name="Loss">Mean cross-entropy over the step's target tokens.</param>
/// <param name="TokenAccuracy">Share of target tokens the model already ranked first.</param>
/// <param name="LearningRate">The learning rate used.</param>
/// <param name="Seconds">Wall time since training started.</param>
public sealed record PretrainStep(int Step, double Loss, double TokenAccuracy, double LearningRate, double Seconds);
