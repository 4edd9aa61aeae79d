using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Sql;

/// <summary>A synthetic table: name, nouns for questions, columns, row count and (for a child table) its parent.</summary>
public sealed class TableSchema
{
    /// <summary>Creates a table. The first column must be the key; a child table has one reference column.</summary>
    /// <param name="name">The SQL table name.</param>
    /// <param name="singular">The noun for one row ("singer").</param>
    /// <param name="plural">The noun for rows ("singers").</param>
    /// <param name="rowCount">How many rows the database gets.</param>
    /// <param name="columns">The columns, key first.</param>
    /// <param name="parentPreposition">For a child table, how questions tie it to its parent ("albums by singers").</param>
    public TableSchema(string name, string singular, string plural, int rowCount, IReadOnlyList<ColumnSchema> columns, string? parentPreposition = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowCount, 1);
        if (columns.Count == 0 || columns[0].Role != ColumnRole.Key)
        {
            throw new ArgumentException($"table {name}: the first column must be the key", nameof(columns));
        }

        Name = name;
        Singular = singular;
        Plural = plural;
        RowCount = rowCount;
        Columns = columns;
        Label = columns.Single(c => c.Role == ColumnRole.Label);
        Reference = columns.SingleOrDefault(c => c.Role == ColumnRole.Reference);
        if ((Reference is null) != (parentPreposition is null))
        {
            throw new ArgumentException($"table {name}: a child table needs both a reference column and a preposition", nameof(parentPreposition));
        }

        ParentPreposition = parentPreposition;
    }

    /// <summary>The SQL table name.</summary>
    public string Name { get; }

    /// <summary>The noun for one row.</summary>
    public string Singular { get; }

    /// <summary>The noun for several rows.</summary>
    public string Plural { get; }

    /// <summary>The number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The columns, key first.</summary>
    public IReadOnlyList<ColumnSchema> Columns { get; }

    /// <summary>The column that names a row.</summary>
    public ColumnSchema Label { get; }

    /// <summary>The foreign key of a child table, else null.</summary>
    public ColumnSchema? Reference { get; }

    /// <summary>The preposition tying a child to its parent in questions ("by", "in", "of"), else null.</summary>
    public string? ParentPreposition { get; }

    /// <summary>The category columns.</summary>
    public IEnumerable<ColumnSchema> Categories => Columns.Where(c => c.Role == ColumnRole.Category);

    /// <summary>The measure columns.</summary>
    public IEnumerable<ColumnSchema> Measures => Columns.Where(c => c.Role == ColumnRole.Measure);

    /// <summary>The columns a question may ask about or filter on: labels, categories and measures.</summary>
    public IEnumerable<ColumnSchema> Attributes => Columns.Where(c => c.Role is ColumnRole.Label or ColumnRole.Category or ColumnRole.Measure);

    /// <summary>The index of a column by name.</summary>
    public int IndexOf(ColumnSchema column) => Columns.ToList().IndexOf(column);

    /// <summary>The compact form used in prompts: <c>singer(id name country age)</c>.</summary>
    public string CompactText => Name + "(" + string.Join(' ', Columns.Select(c => c.Name)) + ")";
}
