using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

[Collection("Console")]
public class CliSignalAndErrorTests
{
    [SkippableFact]
    public async Task SigtermStopsTrainingAfterTheCurrentStepSavesACheckpointAndExits130()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "POSIX signals");
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", string.Join("\n", Enumerable.Range(0, 4).Select(i => JsonSerializer.Serialize(new { prompt = $"Once upon a time, there was a cat number {i}." }))) + "\n");
        var data = temp.File("traj.jsonl");
        var (collected, _) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--output", data, "--max-new-tokens", "64", "--threads", "1");
        Assert.Equal(0, collected);

        string output = temp.File("run");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { CliRunner.Executable, "train", "--model", ShippedModels.Stories260K, "--data", data, "--output", output, "--max-steps", "5000", "--save-every", "0", "--threads", "1" })
        {
            info.ArgumentList.Add(arg);
        }

        var stderr = new StringBuilder();
        var stepping = new TaskCompletionSource();
        using var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }

            if (e.Data?.StartsWith("step ", StringComparison.Ordinal) == true)
            {
                stepping.TrySetResult();
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            await stepping.Task.WaitAsync(TimeSpan.FromMinutes(2));
            // SIGTERM, handled like Ctrl+C: a shell starts background jobs with SIGINT ignored, and so may a CI runner.
            using (var kill = Process.Start("kill", $"-TERM {process.Id}"))
            {
                await kill.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        string log;
        lock (stderr)
        {
            log = stderr.ToString();
        }

        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}:\n{log}");
        Assert.Contains("cancelled.", log);
        var checkpoint = Assert.Single(Directory.GetDirectories(output, "checkpoint-*"));
        Assert.True(File.Exists(Path.Combine(checkpoint, "model.safetensors")), log);

    }

    [SkippableTheory]
    [InlineData("--block-size", "0", "BlockSize")]
    [InlineData("--max-new-tokens", "0", "MaxNewTokens")]
    [InlineData("--temperature", "-1", "Temperature")]
    [InlineData("--top-k", "-2", "TopK")]
    [InlineData("--top-p", "0", "TopP")]
    public async Task InvalidOptionsFailWithOneLineNamingTheFlagNotTheProperty(string option, string value, string property)
    {
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--decoder", "jacobi", option, value);
        Assert.Equal(1, code);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, error);
        Assert.StartsWith($"error: {option} ", lines[0]);
        Assert.Contains(value, lines[0]);
        Assert.DoesNotContain(property, lines[0]);                                              // the library's property name, which the user never typed
        Assert.DoesNotContain("(Parameter", lines[0]);
    }

    [Theory]
    [InlineData("--lr", "-1", "LearningRate")]
    [InlineData("--ar-weight", "-1", "AutoregressiveWeight")]
    [InlineData("--grad-accum", "0", "GradientAccumulation")]
    [InlineData("--batch-size", "0", "BatchSize")]
    [InlineData("--states-per-record", "0", "StatesPerRecord")]
    [InlineData("--label-smoothing", "1", "LabelSmoothing")]
    public async Task TrainingSettingErrorsNameTheTrainFlag(string option, string value, string property)
    {
        using var temp = new TempFolder();
        var (code, error) = await CliRunner.Run("train", "--model", temp.File("model"), "--data", temp.File("data.jsonl"), "--output", temp.File("out"), option, value);
        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {option} must be", line);
        Assert.DoesNotContain(property, line);
    }

    [Theory]
    [InlineData(new[] { "generate", "--model", "m", "--prompt", "x", "--max-new-tokens", "abc" }, "error: --max-new-tokens: 'abc' is not a whole number (cllm generate --help lists the options).")]
    [InlineData(new[] { "generate", "--model", "m", "--prompt", "x", "--temperature", "warm" }, "error: --temperature: 'warm' is not a number (cllm generate --help lists the options).")]
    [InlineData(new[] { "bench", "--model", "random:260k", "--block-size" }, "error: Required argument missing for option: '--block-size' (cllm bench --help lists the options).")]
    [InlineData(new[] { "generate", "--prompt", "x" }, "error: Option '--model' is required (cllm generate --help lists the options).")]
    [InlineData(new[] { "dev", "init", "--shape", "260k", "--output", "o", "--seed", "x" }, "error: --seed: 'x' is not a whole number (cllm dev init --help lists the options).")]
    public async Task ParseErrorsAreOneLineNamingTheFlagWithoutTheHelpText(string[] args, string expected)
    {
        var original = Console.Out;
        using var stdout = new StringWriter();
        Console.SetOut(stdout);
        try
        {
            var (code, error) = await CliRunner.Run(args);
            Assert.Equal(1, code);
            Assert.Equal(expected, Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)).TrimEnd('\r'));
            Assert.Equal(string.Empty, stdout.ToString());                                       // no help text in front of the error
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Fact]
    public async Task ASizeOutOfRangeInTheDecoderSpecNamesTheSpec()
    {
        var (code, error) = await CliRunner.Run("generate", "--model", "anywhere", "--prompt", "Once", "--decoder", "jacobi:0");
        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --decoder jacobi:0: the block size N ", line);
        Assert.DoesNotContain("--block-size", line);                                            // the size was typed in the spec, not as --block-size
        Assert.DoesNotContain("BlockSize", line);
    }

    /// <summary>
    /// Decoder flags are checked whenever given, even when the chosen decoder does not use them (ar uses none), and a
    /// --decoders list with an empty entry is refused; all before any model is looked for (--model does not exist).
    /// </summary>
    [Theory]
    [InlineData("generate --model anywhere --prompt Once --block-size many", "error: --block-size: the block size 'many' is neither a whole number nor auto.")]
    [InlineData("generate --model anywhere --prompt Once --decoder ar --block-size 0", "error: --block-size ")]
    [InlineData("generate --model anywhere --prompt Once --decoder jacobi --window 1", "error: --window ")]
    [InlineData("generate --model anywhere --prompt Once --decoder lookahead:5x4x5 --block-size x", "error: --block-size: ")]
    [InlineData("generate --model anywhere --prompt Once --block-size auto --window 3", "error: --model anywhere: model folder not found")]
    [InlineData("bench --model anywhere --prompts p.jsonl --decoders ar --ngram 2", "error: --ngram ")]
    [InlineData("bench --model anywhere --prompts p.jsonl --decoders ar,,jacobi", "error: --decoders 'ar,,jacobi': entry 2 is empty; ")]
    [InlineData("bench --model anywhere --prompts p.jsonl --decoders ar,", "error: --decoders 'ar,': entry 2 is empty; ")]
    [InlineData("bench --model anywhere --prompts p.jsonl --decoders ,", "error: --decoders names no decoder")]
    [InlineData("dev stress --model anywhere --decoders ar,,lookahead", "error: --decoders 'ar,,lookahead': entry 2 is empty; ")]
    public async Task DecoderFlagsAreCheckedWhateverTheDecoder(string args, string expected)
    {
        var (code, error) = await CliRunner.Run(args.Split(' '));
        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)).TrimEnd('\r');
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", line, StringComparison.Ordinal);
        Assert.DoesNotContain("BlockSize", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--requests", "0", "--requests")]
    [InlineData("--max-new-tokens", "0", "--max-new-tokens")]
    [InlineData("--curve", "1,abc", "--curve")]
    public async Task BenchRefusesBadNumbersBeforeMeasuringAnything(string option, string value, string named)
    {
        var (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--decoders", "ar", option, value);
        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(named, line);
    }

    [SkippableFact]
    public async Task PromptsLongerThanTheContextAndUnwritableOutputsFailWithOneLine()
    {
        using var temp = new TempFolder();
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", string.Join(' ', Enumerable.Repeat("Once upon a time", 400)));
        Assert.Equal(1, code);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("context", error, StringComparison.OrdinalIgnoreCase);

        (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--max-new-tokens", "4", "--output", temp.Path);
        Assert.Equal(1, code);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", error);
    }
}
