using System;
using System.Collections.Generic;
using System.Linq;

namespace Cllm.Reproduction.Sql;

/// <summary>
/// Draws one question and its canonical SQL for a construct on one database. Each construct has two or three
/// phrasings; filters have two ("whose age is above 30" / "with age greater than 30"). Literals come from the
/// database's own rows, so equality filters always match something.
/// </summary>
/// <remarks>
/// Canonical SQL: uppercase keywords, single spaces, <c>COUNT(*)</c>, explicit <c>ASC</c>/<c>DESC</c>, joins
/// written <c>FROM a JOIN b ON parent.id = child.parent_id</c> with table-qualified columns, a final <c>;</c>.
/// </remarks>
internal sealed class QuestionSampler
{
    private static readonly (string Sql, string Word)[] Aggregates = [("AVG", "average"), ("MAX", "maximum"), ("MIN", "minimum"), ("SUM", "total")];

    private readonly SqlDatabase _db;
    private readonly Random _rng;

    public QuestionSampler(SqlDatabase db, Random rng)
    {
        _db = db;
        _rng = rng;
    }

    private DatabaseSchema Schema => _db.Schema;

    /// <summary>A question and its SQL for <paramref name="construct"/>.</summary>
    public (string Question, string Sql) Sample(SqlConstruct construct) => construct switch
    {
        SqlConstruct.Select => Select(),
        SqlConstruct.SelectAnd => SelectAnd(),
        SqlConstruct.Lookup => Lookup(),
        SqlConstruct.Like => Like(),
        SqlConstruct.Count => Count(),
        SqlConstruct.Aggregate => Aggregate(),
        SqlConstruct.Superlative => Superlative(),
        SqlConstruct.SortedList => SortedList(),
        SqlConstruct.Distinct => Distinct(),
        SqlConstruct.GroupCount => GroupCount(),
        SqlConstruct.GroupAggregate => GroupAggregate(),
        SqlConstruct.Having => Having(),
        SqlConstruct.JoinParentFilter => JoinParentFilter(),
        SqlConstruct.JoinChildFilter => JoinChildFilter(),
        SqlConstruct.JoinGroup => JoinGroup(),
        SqlConstruct.NestedAverage => NestedAverage(),
        SqlConstruct.NestedNotIn => NestedNotIn(),
        _ => throw new ArgumentOutOfRangeException(nameof(construct), construct, "unknown construct"),
    };

    private (string, string) Select()
    {
        TableSchema t = AnyTable();
        Filter f = AnyFilter(t, allowLabel: false);
        string q = Phrase(f);
        string question = Choose(
            $"List the {t.Label.PluralPhrase} of {t.Plural} {q}.",
            $"What are the {t.Label.PluralPhrase} of {t.Plural} {q}?",
            $"Show the {t.Label.PluralPhrase} of all {t.Plural} {q}.");
        return (question, $"SELECT {t.Label.Name} FROM {t.Name} WHERE {f.Sql()};");
    }

    private (string, string) SelectAnd()
    {
        TableSchema t = AnyTable();
        Filter first = TextFilter(t, Pick(t.Categories));
        Filter second = MeasureFilter(t, Pick(t.Measures));
        bool whose = Coin();
        string q = first.Phrase(whose) + " and " + second.Body(whose);
        string question = Choose(
            $"List the {t.Label.PluralPhrase} of {t.Plural} {q}.",
            $"What are the {t.Label.PluralPhrase} of {t.Plural} {q}?",
            $"Show the {t.Label.PluralPhrase} of all {t.Plural} {q}.");
        return (question, $"SELECT {t.Label.Name} FROM {t.Name} WHERE {first.Sql()} AND {second.Sql()};");
    }

    private (string, string) Lookup()
    {
        TableSchema t = AnyTable();
        List<ColumnSchema> others = [.. t.Attributes.Where(c => c.Role != ColumnRole.Label)];
        Filter f = TextFilter(t, t.Label);
        string q = Phrase(f);
        if (_rng.NextDouble() < 0.3)
        {
            string both = Choose(
                $"What are the {others[0].Phrase} and {others[1].Phrase} of the {t.Singular} {q}?",
                $"Find the {others[0].Phrase} and {others[1].Phrase} of the {t.Singular} {q}.");
            return (both, $"SELECT {others[0].Name}, {others[1].Name} FROM {t.Name} WHERE {f.Sql()};");
        }

        ColumnSchema asked = Pick(others);
        string question = Choose(
            $"What is the {asked.Phrase} of the {t.Singular} {q}?",
            $"Find the {asked.Phrase} of the {t.Singular} {q}.");
        return (question, $"SELECT {asked.Name} FROM {t.Name} WHERE {f.Sql()};");
    }

    private (string, string) Like()
    {
        TableSchema t = AnyTable();
        string prefix = ((string)AnyValue(t, t.Label))[..(Coin() ? 1 : 2)];
        string question = Choose(
            $"Which {t.Plural} have a {t.Label.Phrase} starting with '{prefix}'?",
            $"List the {t.Label.PluralPhrase} of {t.Plural} that start with '{prefix}'.");
        return (question, $"SELECT {t.Label.Name} FROM {t.Name} WHERE {t.Label.Name} LIKE '{prefix}%';");
    }

    private (string, string) Count()
    {
        TableSchema t = AnyTable();
        Filter? f = _rng.NextDouble() < 0.85 ? AnyFilter(t, allowLabel: false) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = Choose(
            $"How many {t.Plural}{q} are there?",
            $"Count the {t.Plural}{q}.",
            $"What is the number of {t.Plural}{q}?");
        return (question, $"SELECT COUNT(*) FROM {t.Name}{Where(f)};");
    }

    private (string, string) Aggregate()
    {
        TableSchema t = AnyTable();
        ColumnSchema m = Pick(t.Measures);
        (string sql, string word) = PickAggregate(m);
        Filter? f = _rng.NextDouble() < 0.8 ? AnyFilter(t, allowLabel: false) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = Choose(
            $"What is the {word} {m.Phrase} of {t.Plural}{q}?",
            $"Find the {word} {m.Phrase} of all {t.Plural}{q}.");
        return (question, $"SELECT {sql}({m.Name}) FROM {t.Name}{Where(f)};");
    }

    private (string, string) Superlative()
    {
        TableSchema t = AnyTable();
        ColumnSchema m = Pick(t.Measures);
        bool highest = Coin();
        string most = highest ? "highest" : "lowest";
        int k = _rng.NextDouble() < 0.4 ? 1 : _rng.Next(2, 6);
        Filter? f = _rng.NextDouble() < 0.7 ? AnyFilter(t, allowLabel: false) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = k == 1
            ? Choose(
                $"Which {t.Singular}{q} has the {most} {m.Phrase}?",
                $"What is the {t.Label.Phrase} of the {t.Singular}{q} with the {most} {m.Phrase}?")
            : Choose(
                $"Which {k} {t.Plural}{q} have the {most} {m.Phrase}?",
                $"List the {t.Label.PluralPhrase} of the {k} {t.Plural}{q} with the {most} {m.Phrase}.");
        return (question, $"SELECT {t.Label.Name} FROM {t.Name}{Where(f)} ORDER BY {m.Name} {(highest ? "DESC" : "ASC")} LIMIT {k};");
    }

    private (string, string) SortedList()
    {
        TableSchema t = AnyTable();
        ColumnSchema m = Pick(t.Measures);
        bool ascending = Coin();
        string order = ascending ? "ascending" : "descending";
        Filter? f = _rng.NextDouble() < 0.8 ? AnyFilter(t, allowLabel: false) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = Choose(
            $"List the {t.Label.PluralPhrase} of {t.Plural}{q} sorted by {m.Phrase} in {order} order.",
            $"Sort the {t.Plural}{q} by {m.Phrase} in {order} order and show their {t.Label.PluralPhrase}.");
        return (question, $"SELECT {t.Label.Name} FROM {t.Name}{Where(f)} ORDER BY {m.Name} {(ascending ? "ASC" : "DESC")};");
    }

    private (string, string) Distinct()
    {
        TableSchema t = AnyTable();
        ColumnSchema c = Pick(t.Categories);
        Filter? f = _rng.NextDouble() < 0.75 ? MeasureFilter(t, Pick(t.Measures)) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = Choose(
            $"What are the distinct {c.PluralPhrase} of {t.Plural}{q}?",
            $"List the different {c.PluralPhrase} of {t.Plural}{q}.");
        return (question, $"SELECT DISTINCT {c.Name} FROM {t.Name}{Where(f)};");
    }

    private (string, string) GroupCount()
    {
        TableSchema t = AnyTable();
        ColumnSchema c = Pick(t.Categories);
        Filter? f = _rng.NextDouble() < 0.75 ? MeasureFilter(t, Pick(t.Measures)) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = Choose(
            $"How many {t.Plural}{q} are there for each {c.Phrase}?",
            $"For each {c.Phrase}, how many {t.Plural}{q} are there?");
        return (question, $"SELECT {c.Name}, COUNT(*) FROM {t.Name}{Where(f)} GROUP BY {c.Name};");
    }

    private (string, string) GroupAggregate()
    {
        TableSchema t = AnyTable();
        ColumnSchema c = Pick(t.Categories);
        ColumnSchema m = Pick(t.Measures);
        (string sql, string word) = PickAggregate(m);
        Filter? f = _rng.NextDouble() < 0.7 ? MeasureFilter(t, m) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = Choose(
            $"What is the {word} {m.Phrase} of {t.Plural}{q} for each {c.Phrase}?",
            $"For each {c.Phrase}, what is the {word} {m.Phrase} of {t.Plural}{q}?");
        return (question, $"SELECT {c.Name}, {sql}({m.Name}) FROM {t.Name}{Where(f)} GROUP BY {c.Name};");
    }

    private (string, string) Having()
    {
        TableSchema t = AnyTable();
        ColumnSchema c = Pick(t.Categories);
        if (Coin())
        {
            int k = _rng.Next(1, Math.Max(2, MaxGroupSize(t, c)));
            string question = Choose(
                $"Which {c.PluralPhrase} have more than {k} {t.Plural}?",
                $"List the {c.PluralPhrase} with more than {k} {t.Plural}.");
            return (question, $"SELECT {c.Name} FROM {t.Name} GROUP BY {c.Name} HAVING COUNT(*) > {k};");
        }

        ColumnSchema m = Pick(t.Measures);
        Filter threshold = MeasureFilter(t, m);
        string side = threshold.Op == ">" ? "above" : "below";
        string q2 = Choose(
            $"Which {c.PluralPhrase} have an average {m.Phrase} {side} {threshold.Literal}?",
            $"List the {c.PluralPhrase} with an average {m.Phrase} {side} {threshold.Literal}.");
        return (q2, $"SELECT {c.Name} FROM {t.Name} GROUP BY {c.Name} HAVING AVG({m.Name}) {threshold.Op} {threshold.Literal};");
    }

    private (string, string) JoinParentFilter()
    {
        (TableSchema p, TableSchema c) = (Schema.Parent, Schema.Child);
        Filter f = AnyFilter(p, allowLabel: true);
        string q = Phrase(f);
        if (_rng.NextDouble() < 0.3)
        {
            string count = Choose(
                $"How many {c.Plural} {c.ParentPreposition} {p.Plural} {q} are there?",
                $"Count the {c.Plural} {c.ParentPreposition} {p.Plural} {q}.");
            return (count, $"SELECT COUNT(*) FROM {c.Name} JOIN {p.Name} ON {JoinCondition()} WHERE {f.Sql(qualified: true)};");
        }

        string question = Choose(
            $"List the {c.Label.PluralPhrase} of {c.Plural} {c.ParentPreposition} {p.Plural} {q}.",
            $"What are the {c.Label.PluralPhrase} of {c.Plural} {c.ParentPreposition} {p.Plural} {q}?");
        return (question, $"SELECT {c.Name}.{c.Label.Name} FROM {c.Name} JOIN {p.Name} ON {JoinCondition()} WHERE {f.Sql(qualified: true)};");
    }

    private (string, string) JoinChildFilter()
    {
        (TableSchema p, TableSchema c) = (Schema.Parent, Schema.Child);
        Filter f = AnyFilter(c, allowLabel: true);
        string q = Phrase(f);
        string question = Choose(
            $"Which {p.Plural} have {c.Plural} {q}?",
            $"List the {p.Label.PluralPhrase} of {p.Plural} that have {c.Plural} {q}.");
        return (question, $"SELECT DISTINCT {p.Name}.{p.Label.Name} FROM {p.Name} JOIN {c.Name} ON {JoinCondition()} WHERE {f.Sql(qualified: true)};");
    }

    private (string, string) JoinGroup()
    {
        (TableSchema p, TableSchema c) = (Schema.Parent, Schema.Child);
        Filter? f = _rng.NextDouble() < 0.7 ? AnyFilter(c, allowLabel: false) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string from = $"FROM {p.Name} JOIN {c.Name} ON {JoinCondition()}{(f is null ? "" : " WHERE " + f.Sql(qualified: true))} GROUP BY {p.Name}.{p.Label.Name}";
        switch (_rng.Next(3))
        {
            case 0:
                return (Choose(
                    $"How many {c.Plural}{q} does each {p.Singular} have?",
                    $"For each {p.Singular}, how many {c.Plural}{q} are there?"),
                    $"SELECT {p.Name}.{p.Label.Name}, COUNT(*) {from};");
            case 1:
                int k = _rng.Next(1, 4);
                return (Choose(
                    $"Which {p.Plural} have more than {k} {c.Plural}{q}?",
                    $"List the {p.Label.PluralPhrase} of {p.Plural} with more than {k} {c.Plural}{q}."),
                    $"SELECT {p.Name}.{p.Label.Name} {from} HAVING COUNT(*) > {k};");
            default:
                ColumnSchema m = Pick(c.Measures);
                (string sql, string word) = PickAggregate(m);
                return (Choose(
                    $"What is the {word} {m.Phrase} of {c.Plural}{q} for each {p.Singular}?",
                    $"For each {p.Singular}, what is the {word} {m.Phrase} of their {c.Plural}{q}?"),
                    $"SELECT {p.Name}.{p.Label.Name}, {sql}({c.Name}.{m.Name}) {from};");
        }
    }

    private (string, string) NestedAverage()
    {
        TableSchema t = AnyTable();
        ColumnSchema m = Pick(t.Measures);
        bool above = Coin();
        string side = above ? "above" : "below";
        string op = above ? ">" : "<";
        string average = $"(SELECT AVG({m.Name}) FROM {t.Name})";
        int shape = _rng.Next(3);
        if (shape == 1)
        {
            Filter outer = TextFilter(t, Pick(t.Categories));
            string p = outer.Phrase(whose: false);
            string among = Choose(
                $"Which {t.Plural} {p} have {Article(m.Phrase)} {m.Phrase} {side} the average?",
                $"List the {t.Label.PluralPhrase} of {t.Plural} {p} whose {m.Phrase} is {side} the average {m.Phrase}.");
            return (among, $"SELECT {t.Label.Name} FROM {t.Name} WHERE {outer.Sql()} AND {m.Name} {op} {average};");
        }

        Filter? f = shape == 2 ? TextFilter(t, Pick(t.Categories)) : null;
        if (f is null)
        {
            string question = Choose(
                $"Which {t.Plural} have {Article(m.Phrase)} {m.Phrase} {side} the average?",
                $"List the {t.Label.PluralPhrase} of {t.Plural} whose {m.Phrase} is {side} the average {m.Phrase}.");
            return (question, $"SELECT {t.Label.Name} FROM {t.Name} WHERE {m.Name} {op} {average};");
        }

        string q = Phrase(f);
        string filtered = Choose(
            $"Which {t.Plural} have {Article(m.Phrase)} {m.Phrase} {side} the average {m.Phrase} of {t.Plural} {q}?",
            $"List the {t.Label.PluralPhrase} of {t.Plural} whose {m.Phrase} is {side} the average {m.Phrase} of {t.Plural} {q}.");
        return (filtered, $"SELECT {t.Label.Name} FROM {t.Name} WHERE {m.Name} {op} (SELECT AVG({m.Name}) FROM {t.Name} WHERE {f.Sql()});");
    }

    private (string, string) NestedNotIn()
    {
        (TableSchema p, TableSchema c) = (Schema.Parent, Schema.Child);
        Filter? f = _rng.NextDouble() < 0.8 ? AnyFilter(c, allowLabel: false) : null;
        string q = f is null ? "" : " " + Phrase(f);
        string question = Choose(
            $"Which {p.Plural} have no {c.Plural}{q}?",
            $"List the {p.Label.PluralPhrase} of {p.Plural} without {c.Plural}{q}.");
        return (question, $"SELECT {p.Label.Name} FROM {p.Name} WHERE id NOT IN (SELECT {c.Reference!.Name} FROM {c.Name}{Where(f)});");
    }

    private string JoinCondition() => $"{Schema.Parent.Name}.id = {Schema.Child.Name}.{Schema.Child.Reference!.Name}";

    private static string Article(string phrase) => "aeiou".Contains(phrase[0], StringComparison.Ordinal) ? "an" : "a";

    private static string Where(Filter? f) => f is null ? "" : " WHERE " + f.Sql();

    /// <summary>A category (or label) equality, or a measure comparison, each half the time.</summary>
    private Filter AnyFilter(TableSchema t, bool allowLabel)
    {
        if (Coin())
        {
            return MeasureFilter(t, Pick(t.Measures));
        }

        IEnumerable<ColumnSchema> texts = allowLabel ? t.Categories.Append(t.Label) : t.Categories;
        return TextFilter(t, Pick(texts));
    }

    private Filter TextFilter(TableSchema t, ColumnSchema c) => new(t, c, "=", AnyValue(t, c));

    /// <summary>
    /// <c>m &gt; v</c> or <c>m &lt; v</c> with v on the measure's grid (min, min + step, ..., max) short of the
    /// extreme on the passing side. Whether rows pass is checked by running the query.
    /// </summary>
    private Filter MeasureFilter(TableSchema t, ColumnSchema m)
    {
        int steps = (m.Max - m.Min) / m.Step;
        bool greater = Coin();
        int index = greater ? _rng.Next(steps) : _rng.Next(1, steps + 1);
        return new Filter(t, m, greater ? ">" : "<", (long)(m.Min + (index * m.Step)));
    }

    private int MaxGroupSize(TableSchema t, ColumnSchema c) =>
        _db.ColumnValues(t, c).GroupBy(v => (string)v, StringComparer.Ordinal).Max(g => g.Count());

    private (string Sql, string Word) PickAggregate(ColumnSchema m) =>
        Pick(Aggregates.Where(a => a.Sql != "SUM" || m.Summable));

    private string Phrase(Filter f) => f.Phrase(whose: Coin());

    private TableSchema AnyTable() => Pick(Schema.Tables);

    private object AnyValue(TableSchema t, ColumnSchema c)
    {
        IReadOnlyList<object> values = _db.ColumnValues(t, c);
        return values[_rng.Next(values.Count)];
    }

    private bool Coin() => _rng.Next(2) == 0;

    private string Choose(params string[] phrasings) => phrasings[_rng.Next(phrasings.Length)];

    private T Pick<T>(IEnumerable<T> items)
    {
        var list = items as IReadOnlyList<T> ?? [.. items];
        return list[_rng.Next(list.Count)];
    }
}
