using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Sql;

/// <summary>A synthetic database: a parent table and a child table that references it.</summary>
public sealed class DatabaseSchema
{
    /// <summary>Creates a database from its parent and child tables.</summary>
    public DatabaseSchema(string dbId, TableSchema parent, TableSchema child)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(child);
        if (parent.Reference is not null || child.Reference?.Name != parent.Name + "_id")
        {
            throw new ArgumentException($"database {dbId}: {child.Name} must reference {parent.Name} through {parent.Name}_id", nameof(child));
        }

        DbId = dbId;
        Parent = parent;
        Child = child;
    }

    /// <summary>The database id (the <c>db_id</c> of its tasks).</summary>
    public string DbId { get; }

    /// <summary>The table referenced by the other one.</summary>
    public TableSchema Parent { get; }

    /// <summary>The table with the foreign key.</summary>
    public TableSchema Child { get; }

    /// <summary>Both tables, parent first.</summary>
    public IReadOnlyList<TableSchema> Tables => [Parent, Child];

    /// <summary>The schema as prompts show it: <c>singer(id name country age) album(id singer_id title genre year)</c>.</summary>
    public string CompactText => string.Join(' ', Tables.Select(t => t.CompactText));

    /// <summary>The CREATE TABLE statements, with primary and foreign keys.</summary>
    public IEnumerable<string> CreateStatements()
    {
        foreach (TableSchema table in Tables)
        {
            IEnumerable<string> columns = table.Columns.Select(c => c.Name + " " + c.SqlType + (c.Role == ColumnRole.Key ? " PRIMARY KEY" : ""));
            if (table.Reference is { } reference)
            {
                columns = columns.Append($"FOREIGN KEY ({reference.Name}) REFERENCES {Parent.Name}(id)");
            }

            yield return $"CREATE TABLE {table.Name} ({string.Join(", ", columns)})";
        }
    }
}
