namespace Cllm.Reproduction.Sql;

/// <summary>What a column is for: it decides its SQL type, how its rows are filled and which questions use it.</summary>
public enum ColumnRole
{
    /// <summary>The integer primary key <c>id</c>, numbered 1..n.</summary>
    Key,

    /// <summary>A foreign key <c>{parent}_id</c> to the parent table's <c>id</c>.</summary>
    Reference,

    /// <summary>The text that names a row (a person's name, a title); unique within its table.</summary>
    Label,

    /// <summary>A text attribute with few distinct values (country, genre); used in equality filters and GROUP BY.</summary>
    Category,

    /// <summary>An integer attribute (age, year, salary); unique within its table so that ORDER BY has no ties.</summary>
    Measure,
}
