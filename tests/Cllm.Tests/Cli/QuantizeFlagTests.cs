using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

/// <summary><c>--quantize</c> on generate and bench: the load line, the greedy ids, and one clear error line for bad input.</summary>
[Collection("Console")]
public class QuantizeFlagTests
{
    [Fact]
    public async Task GenerateWithInt4SaysWhatWasQuantizedAndJacobiEqualsAr()
    {
        var reference = ReferenceGreedy.Load(ShippedModels.Stories260K)[0];
        using var temp = new TempFolder();
        string ar = temp.File("ar.jsonl"), jacobi = temp.File("jacobi.jsonl");
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", reference.Prompt, "--max-new-tokens", "32", "--quantize", "int4", "--output", ar);
        Assert.Equal(0, code);
        Assert.Contains("quantized: Int4 weights, activations BFloat16: ", error, StringComparison.Ordinal);
        Assert.Contains("not quantized: down_proj 64x172", error, StringComparison.Ordinal);
        Assert.Equal(0, (await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", reference.Prompt, "--max-new-tokens", "32", "--quantize", "int4", "--decoder", "jacobi", "--output", jacobi)).Code);
        int[] Ids(string file) => JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(32, Ids(ar).Length);
        Assert.Equal(Ids(ar), Ids(jacobi));
    }

    [SkippableFact]
    public async Task GenerateWithPackedBFloat16SaysSoAndJacobiEqualsAr()
    {
        Skip.IfNot(Cllm.Core.BFloat16Kernel.IsSupported, $"the packed bfloat16 kernel does not run here: {Cllm.Core.BFloat16Kernel.Missing}");
        var reference = ReferenceGreedy.Load(ShippedModels.Stories260K)[0];
        using var temp = new TempFolder();
        string ar = temp.File("ar.jsonl"), jacobi = temp.File("jacobi.jsonl");
        string[] Args(string output, string decoder) => new[] { "generate", "--model", ShippedModels.Stories260K, "--prompt", reference.Prompt, "--max-new-tokens", "32", "--dtype", "bfloat16", "--quantize", "bf16", "--decoder", decoder, "--output", output };
        var (code, error) = await CliRunner.Run(Args(ar, "ar"));
        Assert.Equal(0, code);
        Assert.Contains("quantized: BFloat16 weights, activations BFloat16 (AVX-512 BF16, native kernel; ", error, StringComparison.Ordinal);
        Assert.Contains("bfloat16 packed: 20 projections", error, StringComparison.Ordinal);   // stacked q/k/v, o, stacked gate/up and down of 5 layers (even K)
        Assert.Equal(0, (await CliRunner.Run(Args(jacobi, "jacobi"))).Code);
        int[] Ids(string file) => JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(32, Ids(ar).Length);
        Assert.Equal(Ids(ar), Ids(jacobi));
    }

    [Fact]
    public async Task BadQuantizeValuesFailWithOneLineBeforeLoading()
    {
        var (code, error) = await CliRunner.Run("generate", "--model", ShippedModels.Stories260K, "--prompt", "hello", "--quantize", "int3");
        Assert.Equal(1, code);
        Assert.Equal("error: --quantize: 'int3' is not one of none, int8, int4, int4a8, bf16.", error.Trim());

        (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--quantize", "int8");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --quantize needs a checkpoint folder", error.Trim(), StringComparison.Ordinal);
    }
}
