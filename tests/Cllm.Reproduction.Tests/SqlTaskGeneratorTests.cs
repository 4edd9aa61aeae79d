using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Cllm.Reproduction.Sql;

namespace Cllm.Reproduction.Tests;

[Collection(SqlCollection.Name)]
public partial class SqlTaskGeneratorTests(SqlFixture fixture)
{
    /// <summary>A universe small enough for repeated generation in a test.</summary>
    private const int SmallUniverse = 2_000;

    [Fact]
    public void SameSeedGivesTheSameTasks()
    {
        SqlTaskSet a = SqlTaskGenerator.Generate(SqlCatalog.Default, 7, 300, 50, 50, SmallUniverse);
        SqlTaskSet b = SqlTaskGenerator.Generate(SqlCatalog.Create(SqlCatalog.DefaultDataSeed), 7, 300, 50, 50, SmallUniverse);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Dev, b.Dev);
        Assert.Equal(a.Test, b.Test);

        SqlTaskSet other = SqlTaskGenerator.Generate(SqlCatalog.Default, 8, 300, 50, 50, SmallUniverse);
        Assert.NotEqual(a.Test.Select(t => t.Sql), other.Test.Select(t => t.Sql));
    }

    [Fact]
    public void SameDataSeedGivesTheSameRows()
    {
        SqlCatalog a = SqlCatalog.Create(SqlCatalog.DefaultDataSeed), b = SqlCatalog.Default;
        foreach ((SqlDatabase x, SqlDatabase y) in a.Databases.Zip(b.Databases))
        {
            foreach (TableSchema table in x.Schema.Tables)
            {
                Assert.Equal(x.Rows(table).SelectMany(r => r), y.Rows(table).SelectMany(r => r));
            }
        }
    }

    [Fact]
    public void SplitsShareNoSqlAndNoQuestion()
    {
        SqlTaskSet set = fixture.Set;
        Assert.Equal((10_000, 500, 200), (set.Train.Count, set.Dev.Count, set.Test.Count));
        SqlTask[] all = fixture.All;
        Assert.Equal(all.Length, all.Select(t => t.Sql).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(all.Length, all.Select(t => t.Question).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void TestSetDoesNotDependOnTheOtherSizes()
    {
        SqlTaskSet small = SqlTaskGenerator.Generate(SqlCatalog.Default, 3, 100, 10, 40, SmallUniverse);
        SqlTaskSet large = SqlTaskGenerator.Generate(SqlCatalog.Default, 3, 1_500, 150, 100, SmallUniverse);
        Assert.Equal(small.Test, large.Test.Take(40));
        Assert.Equal(small.Dev, large.Dev.Take(10));
        Assert.Equal(small.Train, large.Train.Take(100));
        Assert.Empty(large.Test.Select(t => t.Sql).Intersect(large.Train.Select(t => t.Sql).Concat(small.Train.Select(t => t.Sql))));
    }

    [Fact]
    public void CountsBeyondTheRegionsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SqlTaskGenerator.Generate(1, SqlTaskGenerator.TrainRegion + 1, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SqlTaskGenerator.Generate(1, 0, 0, SqlTaskGenerator.HeldOutRegion + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SqlTaskGenerator.Generate(1, -1, 0, 0));
    }

    [Fact]
    public void EveryGoldQueryRunsAndReturnsSomething()
    {
        foreach (SqlTask task in fixture.All)
        {
            QueryResult result = fixture.Scorer.Execute(task.DbId, task.Sql);
            Assert.True(result.Succeeded, $"{task.Sql}: {result.Error}");
            Assert.False(SqlTaskGenerator.IsTrivial(result), $"trivial result: {task.Sql}");
        }
    }

    [Fact]
    public void EveryConstructOccursInEverySplitOfTheRecommendedSizes()
    {
        foreach (SqlConstruct construct in Enum.GetValues<SqlConstruct>())
        {
            Assert.True(fixture.Set.Train.Count(t => t.Construct == construct) >= 100, $"{construct} is rare in train");
        }

        // A 200-task test set covers at least 15 of the 17 constructs.
        Assert.True(fixture.Set.Test.Select(t => t.Construct).Distinct().Count() >= 15);
    }

    [Fact]
    public void PromptsCarryOnlyTheirOwnSchema()
    {
        foreach (SqlTask task in fixture.All)
        {
            DatabaseSchema schema = SqlCatalog.Default.Get(task.DbId).Schema;
            Assert.Equal($"schema: {schema.CompactText}\nquestion: {task.Question}\nsql:\n", task.Prompt);
        }

        Assert.Equal(
            "schema: singer(id name country age) album(id singer_id title genre year)\nquestion: Q?\nsql:\n",
            SqlPrompt.Format(SqlCatalog.Default.Get("music").Schema, "Q?"));
    }

    [Fact]
    public void SqlIsCanonical()
    {
        string[] keywords = ["select", "from", "where", "and", "join", "on", "group", "by", "having", "order", "limit", "asc", "desc", "distinct", "not", "in", "like", "count", "avg", "min", "max", "sum"];
        foreach (SqlTask task in fixture.All)
        {
            string sql = task.Sql;
            Assert.EndsWith(";", sql);
            Assert.StartsWith("SELECT ", sql);
            Assert.Equal(ExecutionScorer.Normalize(sql), sql);
            Assert.DoesNotContain("  ", sql);
            Assert.Equal(1, sql.Count(c => c == ';'));

            // Keywords are uppercase: outside quoted literals no keyword appears in lowercase.
            string code = Literal().Replace(sql, "''");
            foreach (string word in Words().Matches(code).Select(m => m.Value))
            {
                Assert.DoesNotContain(word, keywords);
            }
        }
    }

    [Fact]
    public void LiteralsAppearVerbatimInTheQuestion()
    {
        foreach (SqlTask task in fixture.All)
        {
            foreach (Match literal in Literal().Matches(task.Sql))
            {
                string text = literal.Value.TrimEnd('\'').TrimEnd('%') + "'";
                Assert.Contains(text, task.Question);
            }

            string withoutLiterals = Literal().Replace(task.Sql, "''");
            foreach (Match number in Number().Matches(withoutLiterals))
            {
                // "LIMIT 1" is phrased as "the singer with the highest ...".
                if (number.Value == "1" && withoutLiterals.Contains("LIMIT 1;", StringComparison.Ordinal))
                {
                    continue;
                }

                Assert.Matches($@"\b{number.Value}\b", task.Question);
            }
        }
    }

    [Fact]
    public void DatabasesHaveKeysChildlessParentsAndUniqueMeasures()
    {
        foreach (SqlDatabase db in SqlCatalog.Default.Databases)
        {
            foreach (TableSchema table in db.Schema.Tables)
            {
                Assert.Equal(table.RowCount, db.Rows(table).Count);
                Assert.Equal(Enumerable.Range(1, table.RowCount).Select(i => (object)(long)i), db.ColumnValues(table, table.Columns[0]));
                foreach (ColumnSchema column in table.Columns.Where(c => c.Role is ColumnRole.Measure or ColumnRole.Label))
                {
                    IReadOnlyList<object> values = db.ColumnValues(table, column);
                    Assert.Equal(values.Count, values.Distinct().Count());
                }
            }

            // At least two parents have no children ("Which singers have no albums?").
            HashSet<object> referenced = [.. db.ColumnValues(db.Schema.Child, db.Schema.Child.Reference!)];
            Assert.InRange(referenced.Count, 1, db.Schema.Parent.RowCount - 2);
        }
    }

    [GeneratedRegex(@"'[^']*'")]
    private static partial Regex Literal();

    [GeneratedRegex(@"\b\d+\b")]
    private static partial Regex Number();

    [GeneratedRegex(@"[A-Za-z_]+")]
    private static partial Regex Words();
}
