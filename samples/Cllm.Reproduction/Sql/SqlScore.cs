namespace Cllm.Reproduction.Sql;

/// <summary>Execution accuracy and exact match over a set of predictions.</summary>
/// <param name="Count">The number of predictions scored.</param>
/// <param name="ExecutionCorrect">Predictions whose results equal the gold query's.</param>
/// <param name="ExactCorrect">Predictions equal to the gold SQL after whitespace normalisation.</param>
public sealed record SqlScore(int Count, int ExecutionCorrect, int ExactCorrect)
{
    /// <summary>The share of execution matches (0 when nothing was scored).</summary>
    public double ExecutionAccuracy => Count == 0 ? 0 : (double)ExecutionCorrect / Count;

    /// <summary>The share of exact matches (0 when nothing was scored).</summary>
    public double ExactMatchAccuracy => Count == 0 ? 0 : (double)ExactCorrect / Count;
}
