using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;
using Xunit.Abstractions;

namespace Cllm.Tests.Decoding;

/// <summary>
/// bfloat16 as an inference path of its own: under greedy decoding Jacobi and lookahead in bfloat16 produce the ids of
/// autoregressive decoding in bfloat16 (the same weights, the same dtype), on stories260K and on a grown sql-cllm.
/// </summary>
public class BFloat16ExactnessTests
{
    private readonly ITestOutputHelper _output;

    public BFloat16ExactnessTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string, string> Cases => new()
    {
        { "stories260K", "jacobi:16" },
        { "stories260K", "jacobi:5" },
        { "stories260K", "lookahead" },
        { "sql-cllm@512x6", "jacobi:16" },
        { "sql-cllm@512x6", "lookahead" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parallel_decoding_in_bfloat16_equals_autoregressive_in_bfloat16(string model, string decoder)
    {
        using var temp = new TempFolder();
        string folder = Folder(model, temp);
        using var loaded = PretrainedModel.Load(folder, new PretrainedModelOptions { DType = torch.ScalarType.BFloat16 });
        Assert.Equal(torch.ScalarType.BFloat16, loaded.Model.DType);
        var ar = Decoders.Autoregressive(loaded.Model);
        var parallel = DecoderOptions.Parse(decoder).CreateDecoder(loaded.Model);
        foreach (var prompt in Prompts(model))
        {
            var request = new DecodeRequest { PromptIds = loaded.Tokenizer.Encode(prompt), Options = new GenerationOptions { MaxNewTokens = 48 } };
            var expected = ar.DecodeToEnd(request);
            var actual = parallel.DecodeToEnd(request);
            _output.WriteLine($"{model} {decoder}: AR margin {expected.Stats.MinLogitMargin:G3}, {decoder} margin {actual.Stats.MinLogitMargin:G3}, {actual.Stats.TokensPerForward:F2} tokens/forward, equal {expected.OutputIds.SequenceEqual(actual.OutputIds)}");
            Assert.Equal(expected.OutputIds, actual.OutputIds);
            Assert.True(actual.Stats.ForwardPasses <= expected.Stats.ForwardPasses);
        }
    }

    private static string Folder(string model, TempFolder temp)
    {
        var parts = model.Split('@');
        string source = ShippedModels.Folder(parts[0]);
        if (parts.Length == 1)
        {
            return source;
        }

        var target = ModelGrowth.TargetConfig(HfModelDirectory.Open(source).ReadConfig(), parts[1]);
        ModelGrowth.Write(source, target, temp.Path, torch.ScalarType.BFloat16);
        return temp.Path;
    }

    private static IEnumerable<string> Prompts(string model) => model.StartsWith("sql-cllm", StringComparison.Ordinal)
        ? File.ReadLines(Path.Combine(ShippedModels.RepositoryRoot, "samples", "data", "sql-test.jsonl")).Take(4)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!)
        : new[] { "Once upon a time", "Lily saw a big dog", "The sun was", "Tom and his mom" };
}
