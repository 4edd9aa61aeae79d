using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// Scores predicted SQL against gold SQL, as Spider's execution accuracy: both run on the task's database and
/// must return the same rows — as a multiset, or in the same order when the gold query has ORDER BY. A
/// prediction that fails to run is wrong; it never throws. Also exact match after whitespace normalisation.
/// Not thread-safe (one SQLite connection per database).
/// </summary>
/// <remarks>
/// Only the first statement's rows count: text after the first <c>;</c> is ignored, as a decoder that runs
/// past the answer would leave it. Cut predictions at EOS before scoring; exact match sees the whole text.
/// </remarks>
public sealed partial class ExecutionScorer : IDisposable
{
    private readonly SqlExecutor _executor;
    private readonly Dictionary<(string DbId, string Sql), QueryResult> _goldResults = [];

    /// <summary>A scorer over <see cref="SqlCatalog.Default"/>.</summary>
    public ExecutionScorer()
        : this(SqlCatalog.Default)
    {
    }

    /// <summary>A scorer over the databases of <paramref name="catalog"/>.</summary>
    public ExecutionScorer(SqlCatalog catalog)
    {
        _executor = new SqlExecutor(catalog);
    }

    /// <summary>Runs a query on a database (read-only, bounded work); SQL errors come back in the result.</summary>
    /// <exception cref="KeyNotFoundException">No such database.</exception>
    public QueryResult Execute(string dbId, string sql) => _executor.Execute(dbId, sql);

    /// <summary>True when <paramref name="predicted"/> returns the rows <paramref name="gold"/> returns.</summary>
    /// <exception cref="ArgumentException">The gold query itself fails.</exception>
    public bool ExecutionMatch(string dbId, string predicted, string gold)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(gold);
        if (!_goldResults.TryGetValue((dbId, gold), out QueryResult? expected))
        {
            expected = _executor.Execute(dbId, gold);
            if (!expected.Succeeded)
            {
                throw new ArgumentException($"gold SQL fails on {dbId}: {expected.Error}: {gold}", nameof(gold));
            }

            _goldResults[(dbId, gold)] = expected;
        }

        QueryResult actual = _executor.Execute(dbId, predicted);
        return actual.Succeeded && SameRows(expected, actual, ordered: OrderBy().IsMatch(gold));
    }

    /// <summary>True when both strings are equal after <see cref="Normalize"/>.</summary>
    public static bool ExactMatch(string predicted, string gold) =>
        string.Equals(Normalize(predicted), Normalize(gold), StringComparison.Ordinal);

    /// <summary>Trims and turns every run of whitespace into one space.</summary>
    public static string Normalize(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        return Whitespace().Replace(sql.Trim(), " ");
    }

    /// <summary>Scores predictions against their tasks' gold SQL.</summary>
    /// <param name="tasks">The tasks.</param>
    /// <param name="predictions">One prediction per task, in the same order.</param>
    public SqlScore Score(IReadOnlyList<SqlTask> tasks, IReadOnlyList<string> predictions)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(predictions);
        if (tasks.Count != predictions.Count)
        {
            throw new ArgumentException($"{tasks.Count} tasks but {predictions.Count} predictions", nameof(predictions));
        }

        int execution = 0, exact = 0;
        for (int i = 0; i < tasks.Count; i++)
        {
            execution += ExecutionMatch(tasks[i].DbId, predictions[i], tasks[i].Sql) ? 1 : 0;
            exact += ExactMatch(predictions[i], tasks[i].Sql) ? 1 : 0;
        }

        return new SqlScore(tasks.Count, execution, exact);
    }

    /// <inheritdoc/>
    public void Dispose() => _executor.Dispose();

    private static bool SameRows(QueryResult expected, QueryResult actual, bool ordered)
    {
        if (expected.ColumnCount != actual.ColumnCount || expected.Rows.Count != actual.Rows.Count)
        {
            return false;
        }

        return ordered
            ? expected.Rows.SequenceEqual(actual.Rows, StringComparer.Ordinal)
            : expected.Rows.Order(StringComparer.Ordinal).SequenceEqual(actual.Rows.Order(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    [GeneratedRegex(@"\bORDER\s+BY\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OrderBy();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
