using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Sql;

/// <summary>A database schema with its synthetic rows (integers as <see cref="long"/>, text as <see cref="string"/>).</summary>
public sealed class SqlDatabase
{
    private readonly Dictionary<string, IReadOnlyList<IReadOnlyList<object>>> _rows;

    /// <summary>Creates a database from its schema and the rows of each table (in column order).</summary>
    public SqlDatabase(DatabaseSchema schema, IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<object>>> rows)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(rows);
        Schema = schema;
        _rows = new Dictionary<string, IReadOnlyList<IReadOnlyList<object>>>(StringComparer.Ordinal);
        foreach (TableSchema table in schema.Tables)
        {
            IReadOnlyList<IReadOnlyList<object>> tableRows = rows[table.Name];
            if (tableRows.Any(r => r.Count != table.Columns.Count))
            {
                throw new ArgumentException($"{schema.DbId}.{table.Name}: every row needs {table.Columns.Count} values", nameof(rows));
            }

            _rows[table.Name] = tableRows;
        }
    }

    /// <summary>The schema.</summary>
    public DatabaseSchema Schema { get; }

    /// <summary>The database id.</summary>
    public string DbId => Schema.DbId;

    /// <summary>The rows of a table, in id order.</summary>
    public IReadOnlyList<IReadOnlyList<object>> Rows(TableSchema table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return _rows[table.Name];
    }

    /// <summary>The values of one column, in row order.</summary>
    public IReadOnlyList<object> ColumnValues(TableSchema table, ColumnSchema column)
    {
        int index = table.IndexOf(column);
        return [.. Rows(table).Select(r => r[index])];
    }
}
