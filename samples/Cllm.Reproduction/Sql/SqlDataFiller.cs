using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Sql;

/// <summary>Fills a schema with seeded synthetic rows.</summary>
internal static class SqlDataFiller
{
    /// <summary>Parents without children, so that "have no ..." questions have answers.</summary>
    private const int ChildlessParents = 2;

    public static SqlDatabase Fill(DatabaseSchema schema, Random rng)
    {
        var rows = new Dictionary<string, IReadOnlyList<IReadOnlyList<object>>>(StringComparer.Ordinal);
        TableSchema parent = schema.Parent;
        rows[parent.Name] = FillTable(parent, rng, parentIds: null);

        // Some parents get no children; the others share the child rows at random.
        List<long> withChildren = Shuffled(Enumerable.Range(1, parent.RowCount).Select(i => (long)i).ToList(), rng)
            .Skip(Math.Min(ChildlessParents, parent.RowCount - 1)).ToList();
        rows[schema.Child.Name] = FillTable(schema.Child, rng, withChildren);
        return new SqlDatabase(schema, rows);
    }

    private static List<IReadOnlyList<object>> FillTable(TableSchema table, Random rng, List<long>? parentIds)
    {
        int n = table.RowCount;
        var columns = new List<object[]>();
        foreach (ColumnSchema column in table.Columns)
        {
            columns.Add(column.Role switch
            {
                ColumnRole.Key => [.. Enumerable.Range(1, n).Select(i => (object)(long)i)],
                ColumnRole.Reference => [.. Enumerable.Range(0, n).Select(_ => (object)parentIds![rng.Next(parentIds.Count)])],
                ColumnRole.Label => [.. Distinct(column.Values, n, table, column, rng)],
                ColumnRole.Category => [.. Enumerable.Range(0, n).Select(_ => (object)column.Values[rng.Next(column.Values.Count)])],
                ColumnRole.Measure => [.. Distinct(MeasureRange(column), n, table, column, rng)],
                _ => throw new InvalidOperationException($"unknown role {column.Role}"),
            });
        }

        return [.. Enumerable.Range(0, n).Select(r => (IReadOnlyList<object>)columns.Select(c => c[r]).ToArray())];
    }

    private static List<object> MeasureRange(ColumnSchema column) =>
        [.. Enumerable.Range(0, ((column.Max - column.Min) / column.Step) + 1).Select(i => (object)(long)(column.Min + (i * column.Step)))];

    private static IEnumerable<object> Distinct<T>(IReadOnlyList<T> pool, int n, TableSchema table, ColumnSchema column, Random rng)
        where T : notnull
    {
        if (pool.Count < n)
        {
            throw new InvalidOperationException($"{table.Name}.{column.Name}: {n} rows need {n} distinct values, the column has {pool.Count}");
        }

        return Shuffled([.. pool], rng).Take(n).Select(v => (object)v);
    }

    /// <summary>A Fisher–Yates shuffle of a copy of <paramref name="items"/>.</summary>
    public static List<T> Shuffled<T>(List<T> items, Random rng)
    {
        var copy = new List<T>(items);
        for (int i = copy.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }

        return copy;
    }
}
