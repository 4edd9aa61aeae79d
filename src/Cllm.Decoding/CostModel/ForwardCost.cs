namespace Cllm;

/// <summary>The measured cost of one forward over T new tokens.</summary>
/// <param name="Tokens">T, the tokens fed in one forward.</param>
/// <param name="MedianMilliseconds">Median wall time of that forward.</param>
/// <param name="CostVsOne">Median ratio to a 1-token forward measured alongside.</param>
internal sealed record ForwardCost(int Tokens, double MedianMilliseconds, double CostVsOne);
