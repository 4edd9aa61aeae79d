using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Cllm.Reproduction.Sql;

namespace Cllm.Reproduction.Tests;

[Collection(SqlCollection.Name)]
public class ExecutionScorerTests(SqlFixture fixture)
{
    private ExecutionScorer Scorer => fixture.Scorer;

    [Fact]
    public void RowOrderDoesNotMatterWithoutOrderBy()
    {
        const string gold = "SELECT name FROM singer WHERE age > 30;";
        Assert.True(Scorer.ExecutionMatch("music", "SELECT name FROM singer WHERE age > 30 ORDER BY name DESC;", gold));
        Assert.True(Scorer.ExecutionMatch("music", "SELECT name FROM singer WHERE NOT age <= 30", gold));
        Assert.False(Scorer.ExecutionMatch("music", "SELECT name FROM singer WHERE age > 31;", gold));
    }

    [Fact]
    public void RowOrderMattersWhenTheGoldQueryOrders()
    {
        const string gold = "SELECT name FROM singer ORDER BY age ASC;";
        Assert.True(Scorer.ExecutionMatch("music", "SELECT name FROM singer ORDER BY age;", gold));
        Assert.False(Scorer.ExecutionMatch("music", "SELECT name FROM singer ORDER BY age DESC;", gold));
        Assert.False(Scorer.ExecutionMatch("music", "SELECT name FROM singer;", gold));
    }

    [Fact]
    public void RowsAreAMultisetAndColumnsMustMatch()
    {
        const string gold = "SELECT DISTINCT genre FROM album;";
        Assert.False(Scorer.ExecutionMatch("music", "SELECT genre FROM album;", gold));
        Assert.True(Scorer.ExecutionMatch("music", "SELECT genre FROM album GROUP BY genre;", gold));
        Assert.False(Scorer.ExecutionMatch("music", "SELECT DISTINCT genre, genre FROM album;", gold));
    }

    [Fact]
    public void ResultsCompareByValueNotBySpelling()
    {
        Assert.True(Scorer.ExecutionMatch("music", "SELECT AVG(age) FROM singer;", "SELECT SUM(age) * 1.0 / COUNT(*) FROM singer;"));
        Assert.True(Scorer.ExecutionMatch("music", "SELECT 2.0;", "SELECT 2;"));
        Assert.False(Scorer.ExecutionMatch("music", "SELECT '2';", "SELECT 2;"));
    }

    [Theory]
    [InlineData("SELEC name FROM singer;")]
    [InlineData("SELECT name FROM singers;")]
    [InlineData("SELECT nome FROM singer;")]
    [InlineData("SELECT name FROM singer WHERE country = 'France")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("SELECT name FROM singer WHERE (")]
    public void AFailingPredictionScoresWrongAndDoesNotThrow(string predicted)
    {
        Assert.False(Scorer.ExecutionMatch("music", predicted, "SELECT name FROM singer;"));
        Assert.False(Scorer.Execute("music", predicted).Succeeded && predicted.Trim().Length > 0);
    }

    [Fact]
    public void OnlyTheFirstStatementCounts()
    {
        const string gold = "SELECT name FROM singer;";
        Assert.True(Scorer.ExecutionMatch("music", "SELECT name FROM singer; SELEC", gold));
        Assert.True(Scorer.ExecutionMatch("music", "SELECT name FROM singer; SELECT 1;", gold));
        Assert.False(ExecutionScorer.ExactMatch("SELECT name FROM singer; SELEC", gold));
    }

    [Fact]
    public void PredictionsCannotChangeTheData()
    {
        const string gold = "SELECT COUNT(*) FROM singer;";
        Assert.False(Scorer.ExecutionMatch("music", "DELETE FROM singer;", gold));
        Assert.False(Scorer.ExecutionMatch("music", "DROP TABLE singer;", gold));
        Assert.False(Scorer.ExecutionMatch("music", "PRAGMA query_only = OFF; DELETE FROM singer;", gold));
        Assert.Equal(["16"], Scorer.Execute("music", gold).Rows);
    }

    [Fact]
    public void ARunawayQueryIsStopped()
    {
        var clock = Stopwatch.StartNew();
        const string endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n;";
        Assert.False(Scorer.ExecutionMatch("music", endless, "SELECT COUNT(*) FROM singer;"));
        Assert.True(clock.Elapsed.TotalSeconds < 10, $"took {clock.Elapsed}");

        // The connection still works afterwards.
        Assert.True(Scorer.ExecutionMatch("music", "SELECT COUNT(*) FROM singer;", "SELECT COUNT(*) FROM singer;"));
    }

    [Fact]
    public void AFailingGoldQueryIsAnError()
    {
        Assert.Throws<ArgumentException>(() => Scorer.ExecutionMatch("music", "SELECT 1;", "SELECT nothing FROM nowhere;"));
        Assert.Throws<KeyNotFoundException>(() => Scorer.ExecutionMatch("nope", "SELECT 1;", "SELECT 1;"));
    }

    [Theory]
    [InlineData("SELECT name FROM singer;", "SELECT name FROM singer;", true)]
    [InlineData("  SELECT  name\nFROM\tsinger; ", "SELECT name FROM singer;", true)]
    [InlineData("select name from singer;", "SELECT name FROM singer;", false)]
    [InlineData("SELECT name FROM singer", "SELECT name FROM singer;", false)]
    public void ExactMatchNormalisesWhitespaceOnly(string predicted, string gold, bool expected)
    {
        Assert.Equal(expected, ExecutionScorer.ExactMatch(predicted, gold));
    }

    [Fact]
    public void GoldAgainstItselfScoresOneHundredPercent()
    {
        var tasks = fixture.Set.Test;
        SqlScore perfect = Scorer.Score(tasks, [.. tasks.Select(t => t.Sql)]);
        Assert.Equal(new SqlScore(tasks.Count, tasks.Count, tasks.Count), perfect);
        Assert.Equal(1.0, perfect.ExecutionAccuracy);

        // Shuffled predictions: almost all wrong; broken ones never throw.
        string[] wrong = [.. tasks.Select((t, i) => i % 2 == 0 ? tasks[(i + 1) % tasks.Count].Sql : "garbage")];
        SqlScore bad = Scorer.Score(tasks, wrong);
        Assert.Equal(0, bad.ExactCorrect);
        Assert.True(bad.ExecutionAccuracy < 0.1, $"{bad}");
        Assert.Throws<ArgumentException>(() => Scorer.Score(tasks, ["x"]));
    }
}
