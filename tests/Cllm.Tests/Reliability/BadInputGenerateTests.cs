using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Reliability;

/// <summary>Bad prompts and flags of generate: one row fails without losing the others; bad values name their flag or file:line.</summary>
[Collection("Console")]
public class BadInputGenerateTests
{
    [SkippableFact]
    public async Task APromptLongerThanTheContextFailsItsOwnRowAndTheRowsAfterItAreGenerated()
    {
        using var temp = new TempFolder();
        string tooLong = string.Join(' ', Enumerable.Repeat("Once upon a time", 400));
        var prompts = temp.Write("prompts.jsonl", string.Join("\n", new[] { "Once upon a time", tooLong, "The cat" }.Select(p => JsonSerializer.Serialize(new { prompt = p }))) + "\n");
        var output = temp.File("out.jsonl");

        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--max-new-tokens", "8", "--output", output, "--threads", "1");

        Assert.Equal(1, code);
        var rows = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Equal("error", rows[1].GetProperty("finish_reason").GetString());
        Assert.Contains("context", rows[1].GetProperty("error").GetString());
        Assert.Equal(0, rows[1].GetProperty("output_ids").GetArrayLength());
        foreach (int i in new[] { 0, 2 })
        {
            Assert.NotEqual("error", rows[i].GetProperty("finish_reason").GetString());
            Assert.Equal(8, rows[i].GetProperty("output_ids").GetArrayLength());
            Assert.False(rows[i].TryGetProperty("error", out _));
        }

        var lines = ModelCopies.Lines(error);
        var rowError = Assert.Single(lines, l => l.StartsWith("error: " + prompts + ":2: ", StringComparison.Ordinal));
        Assert.Contains("context", rowError);
        Assert.Contains(lines, l => l.StartsWith("[3/3]", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("1 of 3 prompts failed", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task BenchNamesTheLineOfAPromptLongerThanTheContextBeforeMeasuring()
    {
        using var temp = new TempFolder();
        string tooLong = string.Join(' ', Enumerable.Repeat("Once upon a time", 400));
        var prompts = temp.Write("prompts.jsonl", string.Join("\n\n", new[] { "Once upon a time", tooLong }.Select(p => JsonSerializer.Serialize(new { prompt = p }))) + "\n");

        var (code, error) = await CliRunner.Run("bench", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--decoders", "ar", "--curve", "1", "--max-new-tokens", "4", "--threads", "1");

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));                                // no table: nothing was measured
        Assert.StartsWith("error: " + prompts + ":3: the prompt has ", line);
    }

    [SkippableTheory]
    [InlineData("--temperature", "Infinity")]
    [InlineData("--temperature", "-Infinity")]
    [InlineData("--temperature", "NaN")]
    [InlineData("--temperature", "-0.5")]
    [InlineData("--top-p", "NaN")]
    public async Task NonFiniteOrNegativeSamplingValuesAreRefusedNamingTheFlag(string flag, string value)
    {
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--max-new-tokens", "4", flag, value, "--threads", "1");
        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.StartsWith("error: " + flag + " ", line);
        Assert.Contains($"(got {value})", line);
    }

    [Fact]
    public void TheLibraryAlsoRefusesAnInfiniteTemperature()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingOptions { Temperature = double.PositiveInfinity }.Validate());
    }

    [SkippableTheory]
    [InlineData("generate", "jacobi:8", "--block-size", "32")]
    [InlineData("generate", "lookahead:3x3x3", "--window", "5")]
    [InlineData("generate", "lookahead:3x3x3", "--guesses", "7")]
    [InlineData("bench", "ar,jacobi:8", "--block-size", "32")]
    public async Task ADecoderSpecAndAConflictingSizeFlagAreRefused(string command, string decoder, string flag, string value)
    {
        var args = command == "generate"
            ? new[] { "generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--max-new-tokens", "4", "--decoder", decoder, flag, value, "--threads", "1" }
            : new[] { "bench", "--model", "random:260k", "--decoders", decoder, flag, value, "--requests", "1", "--max-new-tokens", "4", "--curve", "1", "--threads", "1" };
        var (code, error) = await CliRunner.Run(args);
        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains(flag + " " + value, line);
        Assert.Contains(decoder.Split(',').Last(), line);
    }

    [SkippableFact]
    public async Task ABlockSizeThatIsNeitherANumberNorAutoIsRefusedNamingTheFlag()
    {
        // The library's message says what is wrong with the value; the command names the flag it came from.
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--max-new-tokens", "4", "--decoder", "jacobi", "--block-size", "big", "--threads", "1");
        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Equal("error: --block-size: the block size 'big' is neither a whole number nor auto.", line);
    }

    [SkippableTheory]
    [InlineData("--block-size", "100000000")]                                              // once tried to reserve a cache of 51 GB
    [InlineData("--decoder", "jacobi:512")]
    [InlineData("--decoder", "lookahead:300x3x3")]
    public async Task ADecoderTooWideForTheContextIsRefusedBeforeOverwrittenRowsAreLost(string flag, string value)
    {
        using var temp = new TempFolder();
        var output = temp.Write("out.jsonl", "{\"prompt\": \"kept\"}\n");
        var args = flag == "--block-size"
            ? new[] { "generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--decoder", "jacobi", flag, value, "--output", output, "--overwrite", "--threads", "1" }
            : new[] { "generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", flag, value, "--output", output, "--overwrite", "--threads", "1" };

        var (code, error) = await CliRunner.Run(args);

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains("context of 512 positions", line);
        Assert.Equal("{\"prompt\": \"kept\"}\n", File.ReadAllText(output));
    }

    [SkippableTheory]
    [InlineData("--block-size", "-3", "error: --block-size must be at least 1 (got -3).")]
    [InlineData("--decoder", "jacobi:-3", "error: --decoder jacobi:-3: the block size N must be at least 1 (got -3).")]
    [InlineData("--decoder", "lookahead:1x3x3", "error: --decoder lookahead:1x3x3: the window W must be at least 2 (got 1).")]
    public async Task AnOutOfRangeSizeSaysItsRangeNamingWhereItWasTyped(string flag, string value, string expected)
    {
        var args = flag == "--block-size"
            ? new[] { "generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--decoder", "jacobi", flag, value, "--threads", "1" }
            : new[] { "generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", flag, value, "--threads", "1" };
        var (code, error) = await CliRunner.Run(args);
        Assert.Equal(1, code);
        Assert.Equal(expected, Assert.Single(ModelCopies.Lines(error)));
    }

    [SkippableFact]
    public async Task BenchNamesItsDecodersFlagForAnUnknownDecoderAndPromptsForAMissingOrUnusedFile()
    {
        var (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--decoders", "ar,foo", "--requests", "1", "--max-new-tokens", "4", "--curve", "1", "--threads", "1");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --decoders: unknown decoder 'foo'", Assert.Single(ModelCopies.Lines(error)));

        (code, error) = await CliRunner.Run("bench", "--model", ShippedModels.Stories260K, "--prompts", "no-such-prompts.jsonl", "--decoders", "ar", "--requests", "1", "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal("error: --prompts no-such-prompts.jsonl: file not found.", Assert.Single(ModelCopies.Lines(error)));

        (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--prompts", "no-such-prompts.jsonl", "--decoders", "ar", "--requests", "1", "--threads", "1");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --prompts no-such-prompts.jsonl: the random model 'random:260k' has no tokenizer", Assert.Single(ModelCopies.Lines(error)));
    }

    [Fact]
    public async Task ACurveSizeBeyondTheContextIsRefusedNamingTheFlagBeforeMeasuring()
    {
        var (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--decoders", "ar", "--requests", "1", "--max-new-tokens", "2", "--curve", "1,2,5000", "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal("error: --curve: T = 5000 does not fit the model's context of 512 positions beside the 128 cached tokens the curve is measured over; use T ≤ 384.",
            Assert.Single(ModelCopies.Lines(error)));
    }

    [SkippableFact]
    public async Task ASizeGivenTwiceWithTheSameValueIsAccepted()
    {
        using var temp = new TempFolder();
        var output = temp.File("out.jsonl");
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--max-new-tokens", "4", "--decoder", "jacobi:8", "--block-size", "8", "--output", output, "--threads", "1");
        Assert.True(code == 0, error);
        Assert.Single(File.ReadAllLines(output));
    }

    [SkippableFact]
    public async Task NonUtf8PromptBytesAreRefusedWithFileAndLine()
    {
        using var temp = new TempFolder();
        var prompts = temp.File("prompts.jsonl");
        var bytes = Encoding.UTF8.GetBytes("{\"prompt\": \"Once\"}\n{\"prompt\": \"caf").Concat(new byte[] { 0xE9 }).Concat(Encoding.UTF8.GetBytes("\"}\n")).ToArray();
        File.WriteAllBytes(prompts, bytes);                                                // "café" in Latin-1

        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--max-new-tokens", "4", "--threads", "1");
        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains(prompts + ":2:", line);
        Assert.Contains("UTF-8", line);
        Assert.Contains("0xE9", line);
    }

    [SkippableFact]
    public async Task ALoneSurrogateEscapeIsRefusedWithFileAndLine()
    {
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", "{\"prompt\": \"Once\"}\n\n{\"prompt\": \"x\\ud800y\"}\n");
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--max-new-tokens", "4", "--threads", "1");
        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains(prompts + ":3:", line);
        Assert.Contains("not valid Unicode", line);
    }

    [SkippableFact]
    public async Task AnOutputThatHoldsRowsIsKeptUnlessOverwriteIsGiven()
    {
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", "{\"prompt\": \"Once\"}\n{\"prompt\": \"The cat\"}\n");
        var output = temp.File("out.jsonl");
        var (code, log) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--max-new-tokens", "4", "--output", output, "--threads", "1");
        Assert.True(code == 0, log);
        var finished = File.ReadAllBytes(output);
        Assert.Equal(2, File.ReadAllLines(output).Length);

        // Refused before the model loads (this model folder does not exist), the rows untouched.
        var (again, error) = await CliRunner.Run("generate", "--model", temp.File("no-model"), "--prompts", prompts, "--max-new-tokens", "4", "--output", output, "--threads", "1");
        Assert.Equal(1, again);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains($"--output {output} already holds 2 rows", line);
        Assert.Contains("--overwrite", line);
        Assert.Equal(finished, File.ReadAllBytes(output));

        (again, log) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "The dog", "--max-new-tokens", "4", "--output", output, "--overwrite", "--threads", "1");
        Assert.True(again == 0, log);
        var row = Assert.Single(File.ReadAllLines(output));
        Assert.Equal("The dog", JsonDocument.Parse(row).RootElement.GetProperty("prompt").GetString());
    }

    [SkippableTheory]
    [InlineData("multiblock:16x0", "the blocks in flight K")]
    [InlineData("multiblock:16x2x1.5", "the spawn ratio R")]
    [InlineData("multiblock:16x2x0.85x4x9", "multiblock takes N x K x R x P")]
    public async Task TheCliNamesTheDecoderSpec(string decoder, string expected)
    {
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "Once", "--max-new-tokens", "4", "--decoder", decoder, "--threads", "1");
        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains(decoder, line);
        Assert.Contains(expected, line);
    }
}
