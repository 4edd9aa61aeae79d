using System.Collections.Generic;
using Cllm.Reproduction.Evaluation;

namespace Cllm.Reproduction.Pipeline;

/// <summary>What the evaluation stage reports (eval/results.json).</summary>
public sealed record EvaluationReport
{
    /// <summary>Forward cost relative to one token, per token count (past = a typical prompt).</summary>
    public IReadOnlyList<double[]> CostCurve { get; init; } = [];

    /// <summary>Block-size candidates on dev.</summary>
    public IReadOnlyList<BlockSizeChoice> BlockSearch { get; init; } = [];

    /// <summary>The chosen block size.</summary>
    public int ChosenBlockSize { get; init; }

    /// <summary>The table rows, test split.</summary>
    public IReadOnlyList<EvaluationRow> Rows { get; init; } = [];

    /// <summary>Test tasks whose CLLM Jacobi (every n) output differs from the CLLM's AR output: "decoder: task indices".</summary>
    public IReadOnlyList<string> Mismatches { get; init; } = [];

    /// <summary>Stage wall time, seconds.</summary>
    public double Seconds { get; init; }
}
