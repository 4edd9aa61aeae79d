using System;
using System.Collections.Generic;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// A column of a synthetic table: its SQL name, its role, the English words questions use for it and the
/// values its rows draw from.
/// </summary>
public sealed class ColumnSchema
{
    private ColumnSchema(string name, ColumnRole role, string phrase, string pluralPhrase, IReadOnlyList<string> values, int min, int max, int step, bool summable)
    {
        Name = name;
        Role = role;
        Phrase = phrase;
        PluralPhrase = pluralPhrase;
        Values = values;
        Min = min;
        Max = max;
        Step = step;
        Summable = summable;
    }

    /// <summary>The SQL column name.</summary>
    public string Name { get; }

    /// <summary>The column's role.</summary>
    public ColumnRole Role { get; }

    /// <summary>The column in a question, singular ("age", "birth year").</summary>
    public string Phrase { get; }

    /// <summary>The column in a question, plural ("countries").</summary>
    public string PluralPhrase { get; }

    /// <summary>The text values a <see cref="ColumnRole.Label"/> or <see cref="ColumnRole.Category"/> column draws from.</summary>
    public IReadOnlyList<string> Values { get; }

    /// <summary>The smallest value of a <see cref="ColumnRole.Measure"/>.</summary>
    public int Min { get; }

    /// <summary>The largest value of a <see cref="ColumnRole.Measure"/>.</summary>
    public int Max { get; }

    /// <summary>The spacing of a <see cref="ColumnRole.Measure"/>'s values.</summary>
    public int Step { get; }

    /// <summary>True when a SUM of the measure makes sense (salaries, pages; not ages or years).</summary>
    public bool Summable { get; }

    /// <summary>True for the integer columns (keys, references, measures).</summary>
    public bool IsInteger => Role is ColumnRole.Key or ColumnRole.Reference or ColumnRole.Measure;

    /// <summary>The SQLite type of the column.</summary>
    public string SqlType => IsInteger ? "INTEGER" : "TEXT";

    /// <summary>The primary key <c>id</c>.</summary>
    public static ColumnSchema Key() => new("id", ColumnRole.Key, "id", "ids", [], 0, 0, 1, false);

    /// <summary>The foreign key <c>{parentTable}_id</c>.</summary>
    public static ColumnSchema Reference(string parentTable) =>
        new(parentTable + "_id", ColumnRole.Reference, parentTable + " id", parentTable + " ids", [], 0, 0, 1, false);

    /// <summary>A label column whose rows take distinct values from <paramref name="values"/>.</summary>
    public static ColumnSchema Label(string name, string phrase, string pluralPhrase, IReadOnlyList<string> values) =>
        new(name, ColumnRole.Label, phrase, pluralPhrase, NonEmpty(values), 0, 0, 1, false);

    /// <summary>A category column whose rows draw (with repeats) from <paramref name="values"/>.</summary>
    public static ColumnSchema Category(string name, string phrase, string pluralPhrase, IReadOnlyList<string> values) =>
        new(name, ColumnRole.Category, phrase, pluralPhrase, NonEmpty(values), 0, 0, 1, false);

    /// <summary>A measure whose rows take distinct values among <paramref name="min"/>, min + step, ..., <paramref name="max"/>.</summary>
    public static ColumnSchema Measure(string name, string phrase, string pluralPhrase, int min, int max, int step = 1, bool summable = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        return new(name, ColumnRole.Measure, phrase, pluralPhrase, [], min, max, step, summable);
    }

    private static IReadOnlyList<string> NonEmpty(IReadOnlyList<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("a text column needs at least one value", nameof(values));
        }

        return values;
    }
}
