using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;
using Cllm.Training;

namespace Cllm.Tests.Reliability;

/// <summary>
/// collect's block size and cap: a block that cannot fit the model's context, or a cap below one block, is refused up
/// front naming the flag (nothing written); the generated length honours --max-new-tokens and the header says so.
/// </summary>
[Collection("Console")]
public class BadInputCollectTests
{
    private static string Prompts(TempFolder temp, params string[] prompts) =>
        temp.Write("prompts.jsonl", string.Join("\n", prompts.Select(p => JsonSerializer.Serialize(new { prompt = p }))) + "\n");

    [SkippableFact]
    public async Task ABlockLargerThanTheContextIsRefusedNamingTheFlagAndTheContextLength()
    {
        using var temp = new TempFolder();
        var data = temp.File("traj.jsonl");
        var (code, error) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", Prompts(temp, "Once upon a time"), "--output", data,
            "--block-size", "600", "--max-new-tokens", "600", "--threads", "1");

        Assert.Equal(1, code);
        var line = ModelCopies.ErrorLine(error);
        Assert.Contains("--block-size 600", line);
        Assert.Contains("context of 512 tokens", line);
        Assert.DoesNotContain("collecting", error);                                       // refused before the header: nothing decoded
        Assert.False(File.Exists(data));

        // Without --max-new-tokens (256, less than one block) the context is still what is named.
        (code, error) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", temp.File("prompts.jsonl"), "--output", data, "--block-size", "600", "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal(line, Assert.Single(ModelCopies.Lines(error)));

        // Refused from config.json before the weights load: a folder without weights gets the same line.
        var configOnly = Directory.CreateDirectory(temp.File("config-only")).FullName;
        File.Copy(Path.Combine(ShippedModels.Stories260K, "config.json"), Path.Combine(configOnly, "config.json"));
        (code, error) = await CliRunner.Run("collect", "--model", configOnly, "--prompts", temp.File("prompts.jsonl"), "--output", data,
            "--block-size", "600", "--max-new-tokens", "600", "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal(line, Assert.Single(ModelCopies.Lines(error)));
        Assert.False(File.Exists(data));

        // The largest block a one-token prompt has room for (510) passes that check; then the prompts' own lengths count.
        (code, error) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", temp.File("prompts.jsonl"), "--output", data,
            "--block-size", "510", "--max-new-tokens", "510", "--threads", "1");
        Assert.Equal(1, code);
        line = ModelCopies.ErrorLine(error);
        Assert.Contains("--block-size 510 does not fit the model's context of 512 tokens", line);
        Assert.Contains("the shortest prompt has 5 tokens; use --block-size 506 or less", line);
        Assert.False(File.Exists(data));
    }

    [SkippableFact]
    public async Task ACapBelowOneBlockIsRefusedBeforeTheModelLoads()
    {
        using var temp = new TempFolder();
        var data = temp.File("traj.jsonl");
        var (code, error) = await CliRunner.Run("collect", "--model", temp.File("no-model"), "--prompts", Prompts(temp, "Once upon a time"), "--output", data,
            "--block-size", "500", "--max-new-tokens", "64", "--threads", "1");

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains("--max-new-tokens 64 is less than --block-size 500", line);
        Assert.False(File.Exists(data));
    }

    [SkippableFact]
    public async Task GeneratedTokensStayWithinMaxNewTokensAndTheHeaderSaysHowMany()
    {
        using var temp = new TempFolder();
        var data = temp.File("traj.jsonl");
        var (code, log) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", Prompts(temp, "Once upon a time", "The little dog"), "--output", data,
            "--block-size", "16", "--max-new-tokens", "40", "--threads", "1");

        Assert.True(code == 0, log);
        Assert.Contains("up to 2 blocks = 32 new tokens per prompt (--max-new-tokens 40 rounded down to whole blocks)", log);
        var records = new JsonlTrajectorySource(data).Read().ToList();
        var blocksPerPrompt = records.GroupBy(r => r.DataId).Select(g => g.Count()).ToList();
        Assert.Equal(2, blocksPerPrompt.Count);
        Assert.All(blocksPerPrompt, count => Assert.InRange(count, 1, 2));              // ⌈40 / 16⌉ = 3 blocks (48 tokens) before
        Assert.Contains(2, blocksPerPrompt);                                              // the cap, not EOS, ended a prompt
        Assert.All(records, r => Assert.All(r.Trajectory, s => Assert.Equal(16, s.Length)));
    }

    [SkippableFact]
    public async Task PromptsWithNoRoomForABlockAreNamedUpFrontAndTheOthersCollected()
    {
        using var temp = new TempFolder();
        var data = temp.File("traj.jsonl");
        string tooLong = string.Join(' ', Enumerable.Repeat("Once upon a time", 110));   // about 440 tokens: > 512 − 101
        var (code, log) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", Prompts(temp, "Once upon a time", tooLong), "--output", data,
            "--block-size", "100", "--max-new-tokens", "100", "--threads", "1");

        Assert.True(code == 0, log);
        var lines = ModelCopies.Lines(log);
        int warning = Array.FindIndex(lines, l => l.StartsWith("warning: 1 of 2 prompts (data_1) are too long for a block of 100 tokens in the model's context of 512 tokens", StringComparison.Ordinal));
        Assert.True(warning >= 0, log);
        Assert.True(warning < Array.FindIndex(lines, l => l.StartsWith("collecting ", StringComparison.Ordinal)), log);   // before anything is decoded
        Assert.Equal(new[] { "data_0" }, new JsonlTrajectorySource(data).Read().Select(r => r.DataId).Distinct());
    }
}
