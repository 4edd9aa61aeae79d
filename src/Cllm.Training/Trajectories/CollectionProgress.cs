namespace Cllm.Training;

/// <summary>Reported after each prompt of a collection run.</summary>
/// <param name="PromptsDone">Prompts of the shard finished so far, resumed ones included.</param>
/// <param name="PromptsTotal">Prompts in the shard.</param>
/// <param name="LastPrompt">The prompt just finished.</param>
/// <param name="Totals">The run's totals so far.</param>
public readonly record struct CollectionProgress(int PromptsDone, int PromptsTotal, PromptTrajectories LastPrompt, CollectionSummary Totals);
