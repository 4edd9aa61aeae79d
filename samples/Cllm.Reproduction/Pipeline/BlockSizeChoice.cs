namespace Cllm.Reproduction.Pipeline;

/// <summary>One candidate block size of the CLLM on the dev tasks, against the measured forward-cost curve.</summary>
/// <param name="BlockSize">n.</param>
/// <param name="TokensPerForward">The CLLM's Jacobi tokens per forward on dev.</param>
/// <param name="CostVsOne">Cost of an n-token forward relative to a 1-token forward (median).</param>
/// <param name="EstimatedSpeedup">TokensPerForward / CostVsOne: the speed the curve predicts relative to one token per one-token forward.</param>
/// <param name="MeasuredTokensPerSecond">Tokens per second measured on dev (noisy; shown, not used for the choice).</param>
public sealed record BlockSizeChoice(int BlockSize, double TokensPerForward, double CostVsOne, double EstimatedSpeedup, double MeasuredTokensPerSecond);
