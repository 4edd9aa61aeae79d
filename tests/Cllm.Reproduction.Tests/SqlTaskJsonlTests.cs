using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Sql;
using Cllm.Tests.TestKit;

namespace Cllm.Reproduction.Tests;

[Collection(SqlCollection.Name)]
public class SqlTaskJsonlTests(SqlFixture fixture)
{
    [Fact]
    public void WritesOneObjectPerLineAndReadsItBack()
    {
        using var folder = new TempFolder();
        string path = folder.File("sql-test.jsonl");
        SqlTaskJsonl.Write(path, fixture.Set.Test);

        string[] lines = File.ReadAllLines(path);
        Assert.Equal(fixture.Set.Test.Count, lines.Length);
        using (JsonDocument first = JsonDocument.Parse(lines[0]))
        {
            JsonElement root = first.RootElement;
            Assert.Equal(fixture.Set.Test[0].Prompt, root.GetProperty("prompt").GetString());
            Assert.Equal(fixture.Set.Test[0].Sql, root.GetProperty("answer").GetString());
            Assert.Equal(fixture.Set.Test[0].DbId, root.GetProperty("db_id").GetString());
            Assert.Equal(["prompt", "answer", "db_id", "question", "construct"], root.EnumerateObject().Select(p => p.Name));
        }

        Assert.Equal(fixture.Set.Test, SqlTaskJsonl.Read(path));
    }

    [Fact]
    public void ReportsTheBadLine()
    {
        using var folder = new TempFolder();
        string path = folder.Write("bad.jsonl", "{\"prompt\":\"p\",\"answer\":\"a;\",\"db_id\":\"music\"}\n\n{\"prompt\":\"p\"}\n");
        FormatException e = Assert.Throws<FormatException>(() => SqlTaskJsonl.Read(path));
        Assert.Contains("bad.jsonl:3:", e.Message);
    }

    [Fact]
    public void CommittedTestSetIsTheSeedOneTestSplit()
    {
        string path = Path.Combine(ShippedModels.RepositoryRoot, "samples", "data", "sql-test.jsonl");
        Assert.Equal(fixture.Set.Test, SqlTaskJsonl.Read(path));
    }
}
