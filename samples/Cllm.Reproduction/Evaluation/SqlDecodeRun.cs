using System.Collections.Generic;
using Cllm.Reproduction.Sql;

namespace Cllm.Reproduction.Evaluation;

/// <summary>One decoder's outputs on a list of tasks: the generated ids, the SQL text and the score.</summary>
/// <param name="Decoder">The decoder label (ar, jacobi:16, …).</param>
/// <param name="Results">Per task, in task order.</param>
/// <param name="Sql">Per task, the decoded SQL.</param>
/// <param name="Score">Execution accuracy and exact match.</param>
public sealed record SqlDecodeRun(string Decoder, IReadOnlyList<DecodeResult> Results, IReadOnlyList<string> Sql, SqlScore Score);
