using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

/// <summary>
/// <c>cllm collect --shard I/K</c> as K separate runs, the way a cluster runs it (samples/deploy): the concatenated
/// shard files hold exactly the records of one run over all prompts. Shards take prompts i with i % K == I and
/// seed every prompt from its global index, so only the order of whole prompts differs.
/// </summary>
[Collection("Console")]
public class ShardedCollectTests
{
    private const int Shards = 3;

    private static readonly string[] Prompts =
    [
        "Once upon a time", "Lily and Ben went to the park", "The little dog", "One day, a girl named Sue",
        "Tom had a red ball", "The sun was shining", "A cat sat on", "Sam wanted to fly",
    ];

    [Fact]
    public async Task ThreeShardRunsConcatenateToTheSingleRun()
    {
        using var temp = new TempFolder();
        string prompts = WritePrompts(temp);
        string whole = temp.File("whole.jsonl");
        var (code, error) = await CliRunner.Run([.. CollectArgs(prompts, whole)]);
        Assert.True(code == 0, error);

        var shardLines = new List<string>();
        for (int i = 0; i < Shards; i++)
        {
            string path = temp.File($"shard{i}.jsonl");
            (code, error) = await CliRunner.Run([.. CollectArgs(prompts, path), "--shard", $"{i}/{Shards}"]);
            Assert.True(code == 0, error);
            var lines = File.ReadAllLines(path);
            Assert.Equal(Enumerable.Range(0, Prompts.Length).Where(p => p % Shards == i), lines.Select(PromptIndex).Distinct().Order());
            shardLines.AddRange(lines);
        }

        AssertSameRecords(File.ReadAllLines(whole), shardLines);
    }

    [SkippableFact]
    public async Task TheDeployScriptsMapSchedulerIndicesToShardsAndConcatenateOnlyFinishedShards()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "the deploy scripts are bash");
        using var temp = new TempFolder();
        string prompts = WritePrompts(temp);
        string whole = temp.File("whole.jsonl");
        var (code, error) = await CliRunner.Run([.. CollectArgs(prompts, whole)]);
        Assert.True(code == 0, error);

        string deploy = Path.Combine(ShippedModels.RepositoryRoot, "samples", "deploy");
        string outputDir = temp.File("traj");
        var common = new Dictionary<string, string>
        {
            ["CLLM"] = $"dotnet {CliRunner.Executable}",
            ["MODEL"] = ShippedModels.Stories260K,
            ["PROMPTS"] = prompts,
            ["OUTPUT_DIR"] = outputDir,
            ["BLOCK_SIZE"] = "8",
            ["MAX_NEW_TOKENS"] = "32",
            ["SEED"] = "3",
            ["COLLECT_ARGS"] = "--augment --clean --threads 1",
        };

        // Shard 0 as a Kubernetes Indexed Job pod, shards 1 and 2 as Slurm array tasks (K from the array size).
        var shardEnvironments = new[]
        {
            new Dictionary<string, string>(common) { ["JOB_COMPLETION_INDEX"] = "0", ["SHARDS"] = $"{Shards}" },
            new Dictionary<string, string>(common) { ["SLURM_ARRAY_TASK_ID"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = $"{Shards}" },
            new Dictionary<string, string>(common) { ["SLURM_ARRAY_TASK_ID"] = "2", ["SLURM_ARRAY_TASK_COUNT"] = $"{Shards}" },
        };
        string concat = Path.Combine(deploy, "concat-shards.sh");
        string joined = temp.File("traj.jsonl");

        (code, string output) = Bash(Path.Combine(deploy, "collect-shard.sh"), [], shardEnvironments[0]);
        Assert.True(code == 0, output);
        (code, output) = Bash(concat, [outputDir, $"{Shards}", joined], common);
        Assert.Equal(1, code);
        Assert.Contains("shards not finished", output);
        Assert.Contains(": 1 2 (of 0..2)", output);
        Assert.False(File.Exists(joined));

        foreach (var environment in shardEnvironments.Skip(1))
        {
            (code, output) = Bash(Path.Combine(deploy, "collect-shard.sh"), [], environment);
            Assert.True(code == 0, output);
        }

        (code, output) = Bash(concat, [outputDir, $"{Shards}", joined], common);
        Assert.True(code == 0, output);
        AssertSameRecords(File.ReadAllLines(whole), File.ReadAllLines(joined));
    }

    private static void AssertSameRecords(IReadOnlyList<string> whole, IReadOnlyList<string> joined)
    {
        Assert.NotEmpty(whole);
        Assert.Equal(whole.Order(StringComparer.Ordinal), joined.Order(StringComparer.Ordinal));

        // Within a prompt the blocks keep their order: the files differ only in the order of whole prompts.
        Assert.Equal(ByPrompt(whole), ByPrompt(joined));
        Assert.Equal(Prompts.Length, ByPrompt(joined).Count);
    }

    private static SortedDictionary<int, string> ByPrompt(IEnumerable<string> lines)
        => new(lines.GroupBy(PromptIndex).ToDictionary(g => g.Key, g => string.Join("\n", g)));

    private static int PromptIndex(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return int.Parse(doc.RootElement.GetProperty("data_id").GetString()!["data_".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static IEnumerable<string> CollectArgs(string prompts, string output) =>
    [
        "collect", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--output", output, "--block-size", "8",
        "--max-new-tokens", "32", "--seed", "3", "--augment", "--clean", "--threads", "1",
    ];

    private static string WritePrompts(TempFolder temp)
        => temp.Write("prompts.jsonl", string.Join("\n", Prompts.Select(p => JsonSerializer.Serialize(new { prompt = p }))) + "\n");

    /// <summary>Runs a bash script with exactly the given scheduler variables (none inherited from the test run).</summary>
    private static (int Code, string Output) Bash(string script, string[] args, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "SHARD_INDEX", "SHARDS", "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT" })
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bash {script} did not finish in 3 minutes");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
