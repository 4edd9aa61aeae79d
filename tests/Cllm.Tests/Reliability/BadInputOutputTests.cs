using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Reliability;

/// <summary>Unusable --output paths fail up front, in our words, before any model is loaded or any step is run.</summary>
[Collection("Console")]
public class BadInputOutputTests
{
    private static readonly string[] OsWording = { "Access to the path", "already exists", "Could not find a part of the path", "Permission denied" };

    /// <summary>A path whose parent is a regular file: no user, root included, can create it.</summary>
    private static string Blocked(TempFolder temp, string name)
    {
        var file = temp.Write("a-file", "x");
        return Path.Combine(file, name);
    }

    private static string AssertOneLineNaming(int code, string error, string flag)
    {
        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.StartsWith("error: ", line);
        Assert.Contains(flag, line);
        foreach (var os in OsWording)
        {
            Assert.DoesNotContain(os, line);
        }

        return line;
    }

    [Fact]
    public async Task BenchOutputIsCheckedBeforeTheBenchmarkRuns()
    {
        using var temp = new TempFolder();
        var (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--decoders", "ar", "--requests", "1", "--max-new-tokens", "4", "--curve", "1", "--threads", "1", "--output", Blocked(temp, "bench.json"));
        var line = AssertOneLineNaming(code, error, "--output");
        Assert.Contains("cannot create the folder", line);                             // and no table was printed: the only line is the error
    }

    [SkippableFact]
    public async Task GenerateOutputThatIsAFolderOrUnderAFileFailsBeforeTheModelLoads()
    {
        using var temp = new TempFolder();

        // A model folder that does not exist: the output error must come first.
        var (code, error) = await CliRunner.Run("generate", "--model", temp.File("no-model"), "--prompt", "Once", "--output", temp.Path);
        Assert.Contains("is a folder", AssertOneLineNaming(code, error, "--output"));

        (code, error) = await CliRunner.Run("generate", "--model", temp.File("no-model"), "--prompt", "Once", "--output", Blocked(temp, "out.jsonl"));
        AssertOneLineNaming(code, error, "--output");
    }

    [SkippableFact]
    public async Task CollectOutputIsCheckedBeforeTheModelLoads()
    {
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", "{\"prompt\": \"Once\"}\n");
        var (code, error) = await CliRunner.Run("collect", "--model", temp.File("no-model"), "--prompts", prompts, "--output", Blocked(temp, "traj.jsonl"), "--threads", "1");
        AssertOneLineNaming(code, error, "--output");
    }

    [SkippableFact]
    public async Task TrainOutputThatIsAFileOrCannotBeCreatedFailsBeforeTheFirstStep()
    {
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", "{\"prompt\": \"Once upon a time\"}\n");
        var data = temp.File("traj.jsonl");
        var (collected, log) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--output", data, "--max-new-tokens", "16", "--threads", "1");
        Assert.True(collected == 0, log);

        var file = temp.Write("not-a-folder", "x");
        var (code, error) = await CliRunner.Run("train", "--model", ShippedModels.Stories260K, "--data", data, "--output", file, "--max-steps", "2", "--save-every", "0", "--threads", "1");
        Assert.Contains("is a file", AssertOneLineNaming(code, error, "--output"));
        Assert.Equal("x", File.ReadAllText(file));                                       // nothing overwritten

        (code, error) = await CliRunner.Run("train", "--model", ShippedModels.Stories260K, "--data", data, "--output", Path.Combine(file, "run"), "--max-steps", "2", "--save-every", "0", "--threads", "1");
        var line = AssertOneLineNaming(code, error, "--output");
        Assert.DoesNotContain("step ", line);

        // The final model goes into --output itself, so --output must not be the base model's folder.
        (code, error) = await CliRunner.Run("train", "--model", ShippedModels.Stories260K, "--data", data, "--output", ShippedModels.Stories260K + "/", "--max-steps", "2", "--save-every", "0", "--threads", "1");
        Assert.Contains("overwrite the base model", AssertOneLineNaming(code, error, "--output"));
    }
}
