using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

/// <summary><c>cllm grow</c> writes a loadable grown folder; bad shapes and a used output folder fail with one line first.</summary>
[Collection("Console")]
public sealed class GrowCommandTests
{
    [Fact]
    public async Task Grow_writes_a_folder_of_the_target_shape()
    {
        using var temp = new TempFolder();
        string output = temp.File("grown");
        var (code, error) = await CliRunner.Run("grow", "--model", ShippedModels.Stories260K, "--shape", "128x6", "--dtype", "bfloat16", "--output", output);
        Assert.True(code == 0, error);
        Assert.Contains("hidden 128, 6 layers, 16 heads of 8 (8 kv)", error, StringComparison.Ordinal);
        var config = HfModelDirectory.Open(output).ReadConfig();
        Assert.Equal((128, 6, "bfloat16"), (config.HiddenSize, config.NumHiddenLayers, config.TorchDtype));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.model")));
    }

    [Theory]
    [InlineData("--shape", "100x5", "--shape: hidden size 100 is not a multiple of the source's head size 8")]
    [InlineData("--shape", "32x5", "--shape: hidden size 32 is smaller than the source's 64")]
    [InlineData("--dtype", "int8", "--dtype: 'int8' is not one of")]
    public async Task Bad_flags_fail_with_one_line_before_writing(string flag, string value, string expected)
    {
        using var temp = new TempFolder();
        string output = temp.File("grown");
        var args = new[] { "grow", "--model", ShippedModels.Stories260K, "--shape", "128x6", "--output", output };
        args = flag == "--shape" ? args.Select(a => a == "128x6" ? value : a).ToArray() : args.Concat(new[] { flag, value }).ToArray();
        var (code, error) = await CliRunner.Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task A_non_empty_output_folder_is_refused()
    {
        using var temp = new TempFolder();
        temp.Write("existing.txt", "x");
        var (code, error) = await CliRunner.Run("grow", "--model", ShippedModels.Stories260K, "--shape", "128x6", "--output", temp.Path);
        Assert.NotEqual(0, code);
        Assert.Contains("--output:", error, StringComparison.Ordinal);
    }
}
