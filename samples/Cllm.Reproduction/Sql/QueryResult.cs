using System.Collections.Generic;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// The outcome of running one query: its rows in the order SQLite returned them, each row a canonical
/// string (values joined by U+001F; text prefixed by <c>'</c>, numbers in invariant form, integral reals as
/// integers, other reals rounded to 6 decimals), or the error when it failed.
/// </summary>
/// <param name="Error">Null on success, else the SQLite message.</param>
/// <param name="ColumnCount">The number of result columns.</param>
/// <param name="Rows">The canonical rows.</param>
public sealed record QueryResult(string? Error, int ColumnCount, IReadOnlyList<string> Rows)
{
    /// <summary>True when the query ran.</summary>
    public bool Succeeded => Error is null;

    /// <summary>A failed query.</summary>
    public static QueryResult Failed(string error) => new(error, 0, []);
}
