using System.Collections.Generic;

namespace Cllm.Reproduction.Sql;

/// <summary>The three splits of a generated benchmark. No gold SQL and no question occurs in two splits.</summary>
/// <param name="Train">Training tasks.</param>
/// <param name="Dev">Validation tasks.</param>
/// <param name="Test">Held-out tasks.</param>
public sealed record SqlTaskSet(IReadOnlyList<SqlTask> Train, IReadOnlyList<SqlTask> Dev, IReadOnlyList<SqlTask> Test);
