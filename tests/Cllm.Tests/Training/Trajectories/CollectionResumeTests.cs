using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Training;

namespace Cllm.Tests.Training.Trajectories;

public sealed class CollectionResumeTests : IDisposable
{
    private static readonly TrajectoryCollectionOptions Options = new() { BlockSize = 4, MaxNewTokens = 12, Seed = 9, Augment = true, Clean = true };
    private readonly LlamaForCausalLM _model = TinyLlama.Create(2);
    private readonly TempFolder _folder = new();

    public void Dispose()
    {
        _model.Dispose();
        _folder.Dispose();
    }

    private JacobiTrajectoryCollector Collector(TrajectoryCollectionOptions? options = null) => new(_model, TrajectoryFixtures.Prompts, options ?? Options);

    [Fact]
    public void TheFileHoldsWhatTheLiveSourceYields()
    {
        var path = _folder.File("traj.jsonl");
        var summary = Collector().CollectToFile(path);
        var live = Collector().Read().ToList();
        var read = new JsonlTrajectorySource(path).Read().ToList();

        Assert.Equal(live.Count, read.Count);
        for (int i = 0; i < live.Count; i++)
        {
            TrajectoryFixtures.AssertSame(live[i], read[i]);
        }

        Assert.Equal(TrajectoryFixtures.Prompts.Count, summary.Prompts);
        Assert.Equal(TrajectoryFixtures.Prompts.Count, summary.PromptsCollected);
        Assert.Equal(0, summary.PromptsResumed);
        Assert.Equal(read.Count, summary.BlocksWritten);
        Assert.True(summary.StatesAugmented > 0);
        Assert.Equal((long)(summary.BlocksWritten + summary.BlocksDropped) * 4, summary.TokensGenerated);
        Assert.True(summary.Elapsed > TimeSpan.Zero);
    }

    public static TheoryData<string> Cuts => new() { "mid-line", "line-boundary", "first-line", "after-first-prompt" };

    [Theory]
    [MemberData(nameof(Cuts))]
    public void ResumingAfterACrashGivesTheSameFileAsAnUninterruptedRun(string cut)
    {
        var full = _folder.File("full.jsonl");
        Collector().CollectToFile(full);
        var bytes = File.ReadAllBytes(full);
        var lineEnds = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] == (byte)'\n').Select(i => i + 1).ToArray();
        Assert.True(lineEnds.Length >= 6);
        int length = cut switch
        {
            "mid-line" => lineEnds[4] + 25,                                               // a half-written record
            "line-boundary" => lineEnds[4],                                               // whole lines, but maybe not the whole prompt
            "first-line" => 10,
            _ => PromptEnd(full, 0),
        };
        var crashed = _folder.File("crashed.jsonl");
        File.WriteAllBytes(crashed, bytes[..length]);

        var summary = Collector().CollectToFile(crashed);

        Assert.Equal(bytes, File.ReadAllBytes(crashed));
        int before = CompletePromptsIn(bytes[..length], full);
        Assert.Equal(before, summary.PromptsResumed);
        Assert.Equal(TrajectoryFixtures.Prompts.Count - before, summary.PromptsCollected);
        Assert.Equal(length - (before == 0 ? 0 : PromptEnd(full, before - 1)), summary.TruncatedBytes);
    }

    [Fact]
    public void RerunningOnACompleteOutputChangesNothing()
    {
        var path = _folder.File("traj.jsonl");
        Collector().CollectToFile(path);
        var bytes = File.ReadAllBytes(path);
        var progress = new List<CollectionSummary>();

        var summary = Collector().CollectToFile(path, new SynchronousProgress<CollectionSummary>(progress.Add));

        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Equal(TrajectoryFixtures.Prompts.Count, summary.PromptsResumed);
        Assert.Equal(0, summary.PromptsCollected);
        Assert.Equal(0, summary.BlocksWritten);
        Assert.Empty(progress);
    }

    [Fact]
    public void ProgressIsReportedAfterEachPrompt()
    {
        var progress = new List<CollectionSummary>();
        Collector().CollectToFile(_folder.File("traj.jsonl"), new SynchronousProgress<CollectionSummary>(progress.Add));
        Assert.Equal(Enumerable.Range(0, TrajectoryFixtures.Prompts.Count), progress.Select(p => p.LastPrompt!.PromptIndex));
        Assert.Equal(Enumerable.Range(1, TrajectoryFixtures.Prompts.Count), progress.Select(p => p.PromptsDone));
        Assert.All(progress, p => Assert.Equal(TrajectoryFixtures.Prompts.Count, p.Prompts));
    }

    [Fact]
    public void ProgressAfterAResumeCountsTheResumedPromptsAsDone()
    {
        var full = _folder.File("full.jsonl");
        Collector().CollectToFile(full);
        var resumed = _folder.File("resumed.jsonl");
        File.WriteAllBytes(resumed, File.ReadAllBytes(full)[..PromptEnd(full, 0)]);       // the first prompt is complete
        var progress = new List<CollectionSummary>();

        var summary = Collector().CollectToFile(resumed, new SynchronousProgress<CollectionSummary>(progress.Add));

        Assert.Equal(1, summary.PromptsResumed);
        Assert.Equal(Enumerable.Range(2, TrajectoryFixtures.Prompts.Count - 1), progress.Select(p => p.PromptsDone));
        Assert.Equal(Enumerable.Range(1, TrajectoryFixtures.Prompts.Count - 1), progress.Select(p => p.LastPrompt!.PromptIndex));
        Assert.Equal(TrajectoryFixtures.Prompts.Count, summary.PromptsDone);
        Assert.Same(progress[^1].LastPrompt, summary.LastPrompt);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ShardsConcatenatedHoldTheSameRecordsAsOneRun(int count)
    {
        var whole = _folder.File("whole.jsonl");
        Collector().CollectToFile(whole);
        var shardLines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var path = _folder.File($"shard{i}.jsonl");
            var summary = Collector(Options with { Shard = new TrajectoryShard(i, count) }).CollectToFile(path);
            Assert.Equal(Enumerable.Range(0, TrajectoryFixtures.Prompts.Count).Count(p => p % count == i), summary.Prompts);
            var lines = File.ReadAllLines(path);
            Assert.All(lines, l => Assert.Equal(i, PromptIndex(l) % count));
            shardLines.AddRange(lines);
        }

        Assert.Equal(File.ReadAllLines(whole).Order(StringComparer.Ordinal), shardLines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void PromptsWhollyDroppedByCleaningLeaveNothingAndAreDecodedAgainOnResume()
    {
        var prompts = new IReadOnlyList<int>[] { new[] { 1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8 } };
        var path = _folder.File("traj.jsonl");
        var first = new JacobiTrajectoryCollector(_model, prompts, Options).CollectToFile(path);
        var second = new JacobiTrajectoryCollector(_model, prompts, Options).CollectToFile(path);
        Assert.Equal(0, new FileInfo(path).Length);
        Assert.Equal((3, 0, 1), (first.BlocksDropped, first.BlocksWritten, first.PromptsCollected));
        Assert.Equal((3, 0, 1), (second.BlocksDropped, second.PromptsResumed, second.PromptsCollected));
    }

    [Fact]
    public void ResumingRejectsOutputsThatDoNotBelongToThisRun()
    {
        var path = _folder.File("traj.jsonl");
        Collector().CollectToFile(path);
        var text = File.ReadAllText(path);

        var other = Assert.Throws<FormatException>(() => Collector(Options with { BlockSize = 8 }).CollectToFile(path));
        Assert.StartsWith(path + ":1: blocks of 4 tokens; this run uses 8", other.Message, StringComparison.Ordinal);

        var shard = Assert.Throws<FormatException>(() => Collector(Options with { Shard = new TrajectoryShard(1, 2) }).CollectToFile(path));
        Assert.Contains("data_0 is not in shard 1/2", shard.Message, StringComparison.Ordinal);

        var swapped = new[] { TrajectoryFixtures.Prompts[1], TrajectoryFixtures.Prompts[0] };
        var prompts = Assert.Throws<FormatException>(() => new JacobiTrajectoryCollector(_model, swapped, Options).CollectToFile(path));
        Assert.Contains("collected from another prompt", prompts.Message, StringComparison.Ordinal);

        File.WriteAllText(path, text + text);
        var twice = Assert.Throws<FormatException>(() => Collector().CollectToFile(path));
        Assert.Contains("data_0 appears twice", twice.Message, StringComparison.Ordinal);

        var lines = text.Split('\n');
        File.WriteAllText(path, string.Join('\n', lines.Where((_, i) => i != 1)));      // a hole in the middle
        var hole = Assert.Throws<FormatException>(() => Collector().CollectToFile(path));
        Assert.Contains("more data follows", hole.Message, StringComparison.Ordinal);

        File.WriteAllText(path, lines[0] + "\n{oops\n" + string.Join('\n', lines.Skip(1)));
        var corrupt = Assert.Throws<FormatException>(() => Collector().CollectToFile(path));
        Assert.StartsWith(path + ":2: not valid JSON", corrupt.Message, StringComparison.Ordinal);

        using (var writer = new JsonlTrajectoryWriter(path, append: false))
        {
            writer.WritePrompt(new[] { TrajectoryFixtures.Record() });
        }

        File.WriteAllText(path, File.ReadAllText(path).Replace(",\"prompt_record_count\":1", string.Empty, StringComparison.Ordinal));
        var foreign = Assert.Throws<FormatException>(() => Collector().CollectToFile(path));
        Assert.Contains("not written by cllm collect", foreign.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("2/4", 2, 4)]
    [InlineData(" 1 / 3 ", 1, 3)]
    public void ShardsParse(string text, int index, int count) => Assert.Equal(new TrajectoryShard(index, count), TrajectoryShard.Parse(text));

    [Theory]
    [InlineData("1")]
    [InlineData("4/4")]
    [InlineData("-1/4")]
    [InlineData("0/0")]
    [InlineData("a/b")]
    public void BadShardsFail(string text) => Assert.Throws<FormatException>(() => TrajectoryShard.Parse(text));

    private static int PromptIndex(string line)
    {
        const string key = "\"data_id\":\"data_";
        int start = line.IndexOf(key, StringComparison.Ordinal) + key.Length;
        return int.Parse(line.AsSpan(start, line.IndexOf('"', start) - start), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Byte offset just after the last line of the <paramref name="promptOrdinal"/>-th prompt batch of <paramref name="path"/>.</summary>
    private static int PromptEnd(string path, int promptOrdinal)
    {
        var lines = File.ReadAllLines(path);
        var ids = lines.Select(PromptIndex).Distinct().ToList();
        int last = Array.FindLastIndex(lines, l => PromptIndex(l) == ids[promptOrdinal]);
        return lines.Take(last + 1).Sum(l => Encoding.UTF8.GetByteCount(l) + 1);
    }

    /// <summary>How many whole prompt batches of <paramref name="full"/> fit in <paramref name="prefix"/>.</summary>
    private static int CompletePromptsIn(byte[] prefix, string full)
    {
        int prompts = File.ReadAllLines(full).Select(PromptIndex).Distinct().Count();
        int complete = 0;
        while (complete < prompts && PromptEnd(full, complete) <= prefix.Length)
        {
            complete++;
        }

        return complete;
    }
}
