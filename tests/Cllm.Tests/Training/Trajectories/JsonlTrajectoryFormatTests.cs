using System;
using System.IO;
using System.Linq;
using Cllm.Tests.TestKit;
using Cllm.Training;

namespace Cllm.Tests.Training.Trajectories;

public class JsonlTrajectoryFormatTests
{
    [Fact]
    public void RecordsSurviveAWriteReadRoundTrip()
    {
        using var folder = new TempFolder();
        var path = folder.File("sub/traj.jsonl");
        var first = new[] { TrajectoryFixtures.Record("data_0", 0), TrajectoryFixtures.Record("data_0", 1, labels: new[] { 1, 5, 3, 42 }) };
        var second = new[] { TrajectoryFixtures.Record("data_7", 0) with { CompleteTeacherOutputIds = null } };
        using (var writer = new JsonlTrajectoryWriter(path, append: false))
        {
            writer.WritePrompt(first);
            writer.WritePrompt(Array.Empty<TrajectoryRecord>());
            writer.WritePrompt(second);
        }

        var read = new JsonlTrajectorySource(path).Read().ToList();
        var expected = first.Concat(second).ToList();
        Assert.Equal(expected.Count, read.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            TrajectoryFixtures.AssertSame(expected[i], read[i]);
        }

        var lines = File.ReadAllLines(path);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("{\"data_id\":\"data_0\",\"jacobian_itr_id\":\"itr_0\",\"prompt_ids_len\":[3],\"prompt_ids\":[1,5,3],\"answer_trajectory_ids\":[[7,9,9,9],", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("\"prompt_record_count\":2}", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("\"prompt_record_count\":1}", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void WriterAppendsByDefault()
    {
        using var folder = new TempFolder();
        var path = folder.File("traj.jsonl");
        using (var writer = new JsonlTrajectoryWriter(path))
        {
            writer.WritePrompt(new[] { TrajectoryFixtures.Record("data_0") });
        }

        using (var writer = new JsonlTrajectoryWriter(path))
        {
            writer.WritePrompt(new[] { TrajectoryFixtures.Record("data_1") });
        }

        Assert.Equal(new[] { "data_0", "data_1" }, new JsonlTrajectorySource(path).Read().Select(r => r.DataId));
    }

    [Fact]
    public void WriterRejectsABatchMixingPrompts()
    {
        using var folder = new TempFolder();
        using var writer = new JsonlTrajectoryWriter(folder.File("traj.jsonl"));
        Assert.Throws<ArgumentException>(() => writer.WritePrompt(new[] { TrajectoryFixtures.Record("data_0"), TrajectoryFixtures.Record("data_1") }));
    }

    /// <summary>The reference's nesting: prompt_ids triple-nested for itr_0 and double-nested later; teacher and labels double-nested.</summary>
    private const string ReferenceLines =
        """
        {"data_id": "data_0", "jacobian_itr_id": "itr_0", "prompt_ids_len": [3], "prompt_ids": [[[1, 5, 3]]], "answer_trajectory_ids": [[5, 5, 1], [7, 8, 1], [7, 8, 6]], "labels_ids": [[1, 5, 3, 7, 8, 9, 2]], "teacher_output_ids": [[1, 5, 3, 7, 8, 6]], "complete_teacher_output_ids": [1, 5, 3, 7, 8, 6, 4, 4, 2]}
        {"data_id": "data_0", "jacobian_itr_id": "itr_1", "prompt_ids_len": [3], "prompt_ids": [[1, 5, 3, 7, 8, 6]], "answer_trajectory_ids": [[3, 3, 3], [4, 4, 2]], "labels_ids": [[1, 5, 3, 7, 8, 9, 2]], "teacher_output_ids": [[1, 5, 3, 7, 8, 6, 4, 4, 2]], "complete_teacher_output_ids": [1, 5, 3, 7, 8, 6, 4, 4, 2]}
        """;

    [Fact]
    public void ReadsTheReferenceNestingFlat()
    {
        using var folder = new TempFolder();
        var records = new JsonlTrajectorySource(folder.Write("ref.jsonl", ReferenceLines)).Read().ToList();
        AssertReferenceRecords(records);
    }

    [Fact]
    public void ReadsAJsonArrayFileLikeTheReferenceOutput()
    {
        using var folder = new TempFolder();
        var array = "[\n" + string.Join(",\n", ReferenceLines.Split('\n')) + "\n]\n";
        var records = new JsonlTrajectorySource(folder.Write("ref.json", array)).Read().ToList();
        AssertReferenceRecords(records);
    }

    private static void AssertReferenceRecords(System.Collections.Generic.List<TrajectoryRecord> records)
    {
        Assert.Equal(2, records.Count);
        var (a, b) = (records[0], records[1]);
        Assert.Equal(("data_0", 0, 3), (a.DataId, a.BlockIndex, a.PromptLength));
        Assert.Equal(new[] { 1, 5, 3 }, a.PromptIds);
        Assert.Equal(new[] { 7, 8, 6 }, a.FixedPoint);
        Assert.Equal(3, a.Trajectory.Count);
        Assert.Equal(new[] { 1, 5, 3, 7, 8, 6 }, a.TeacherOutputIds);
        Assert.Equal(new[] { 1, 5, 3, 7, 8, 9, 2 }, a.LabelIds);
        Assert.Equal(new[] { 1, 5, 3, 7, 8, 6, 4, 4, 2 }, a.CompleteTeacherOutputIds);
        Assert.Equal(("data_0", 1, 3), (b.DataId, b.BlockIndex, b.PromptLength));
        Assert.Equal(new[] { 1, 5, 3, 7, 8, 6 }, b.PromptIds);
        Assert.Equal(new[] { 4, 4, 2 }, b.FixedPoint);
        Assert.Equal(new[] { 1, 5, 3, 7, 8, 6, 4, 4, 2 }, b.TeacherOutputIds);
    }

    [Theory]
    [InlineData("{\"data_id\": \"data_0\",", "not valid JSON")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"data_id\": \"data_0\", \"jacobian_itr_id\": \"itr_0\", \"prompt_ids_len\": [3], \"prompt_ids\": [1, 5, 3], \"teacher_output_ids\": [1, 5, 3, 7]}", "missing field \"answer_trajectory_ids\"")]
    [InlineData("{\"data_id\": 0, \"jacobian_itr_id\": \"itr_0\", \"prompt_ids_len\": [3], \"prompt_ids\": [1, 5, 3], \"answer_trajectory_ids\": [[7]], \"teacher_output_ids\": [1, 5, 3, 7]}", "data_id must be a non-empty string")]
    [InlineData("{\"data_id\": \"data_0\", \"jacobian_itr_id\": \"one\", \"prompt_ids_len\": [3], \"prompt_ids\": [1, 5, 3], \"answer_trajectory_ids\": [[7]], \"teacher_output_ids\": [1, 5, 3, 7]}", "jacobian_itr_id must be \"itr_<k>\"")]
    [InlineData("{\"data_id\": \"data_0\", \"jacobian_itr_id\": \"itr_0\", \"prompt_ids_len\": [3], \"prompt_ids\": [1, \"a\", 3], \"answer_trajectory_ids\": [[7]], \"teacher_output_ids\": [1, 5, 3, 7]}", "prompt_ids[1] is \"a\", not a token id")]
    [InlineData("{\"data_id\": \"data_0\", \"jacobian_itr_id\": \"itr_0\", \"prompt_ids_len\": [3], \"prompt_ids\": [[1, 5, 3], [1, 5, 3]], \"answer_trajectory_ids\": [[7]], \"teacher_output_ids\": [1, 5, 3, 7]}", "batch of 2 lists")]
    [InlineData("{\"data_id\": \"data_0\", \"jacobian_itr_id\": \"itr_0\", \"prompt_ids_len\": [9], \"prompt_ids\": [1, 5, 3], \"answer_trajectory_ids\": [[7]], \"teacher_output_ids\": [1, 5, 3, 7]}", "prompt_ids_len is 9")]
    [InlineData("{\"data_id\": \"data_0\", \"jacobian_itr_id\": \"itr_0\", \"prompt_ids_len\": [3], \"prompt_ids\": [1, 5, 3], \"answer_trajectory_ids\": [[7, 1], [7]], \"teacher_output_ids\": [1, 5, 3, 7]}", "mixes states of 2 and 1 tokens")]
    [InlineData("{\"data_id\": \"data_0\", \"jacobian_itr_id\": \"itr_0\", \"prompt_ids_len\": [3], \"prompt_ids\": [1, 5, 3], \"answer_trajectory_ids\": [[7]], \"teacher_output_ids\": [1, 5, 3]}", "teacher_output_ids has 3 tokens")]
    public void AMalformedLineFailsWithFileAndLine(string badLine, string problem)
    {
        using var folder = new TempFolder();
        var good = File.ReadAllLines(Write(folder, "good.jsonl"));
        var path = folder.Write("bad.jsonl", good[0] + "\n\n" + badLine + "\n" + good[0] + "\n");
        var source = new JsonlTrajectorySource(path);
        var ex = Assert.Throws<FormatException>(() => source.Read().ToList());
        Assert.StartsWith(path + ":3: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHalfWrittenLastLineIsReportedAsAnInterruptedWrite()
    {
        using var folder = new TempFolder();
        var text = File.ReadAllText(Write(folder, "good.jsonl"));
        var path = folder.Write("cut.jsonl", text + text[..40]);
        var ex = Assert.Throws<FormatException>(() => new JsonlTrajectorySource(path).Read().ToList());
        Assert.StartsWith(path + ":2: not valid JSON at byte ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", ex.Message, StringComparison.Ordinal);               // System.Text.Json's own line count (always 0 in one line)
        Assert.Contains("ends mid-line", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMalformedArrayElementNamesItsIndex()
    {
        using var folder = new TempFolder();
        var line = File.ReadAllLines(Write(folder, "good.jsonl"))[0];
        var path = folder.Write("bad.json", "[" + line + ", {\"data_id\": \"data_1\"}]");
        var ex = Assert.Throws<FormatException>(() => new JsonlTrajectorySource(path).Read().ToList());
        Assert.Equal(path + ": element 1: missing field \"answer_trajectory_ids\".", ex.Message);
    }

    [Fact]
    public void AMissingFileFailsClearly()
    {
        using var folder = new TempFolder();
        var ex = Assert.Throws<FileNotFoundException>(() => new JsonlTrajectorySource(folder.File("none.jsonl")).Read());
        Assert.Contains("none.jsonl: trajectory file not found", ex.Message, StringComparison.Ordinal);
    }

    private static string Write(TempFolder folder, string name)
    {
        var path = folder.File(name);
        using var writer = new JsonlTrajectoryWriter(path, append: false);
        writer.WritePrompt(new[] { TrajectoryFixtures.Record() });
        return path;
    }
}
