using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;

namespace Cllm.Tests.Reliability;

/// <summary>Bad model folders: config sizes that disagree with the weights or cannot fit, NaN weights, a broken tokenizer.</summary>
[Collection("Console")]
public class BadInputModelTests
{
    [SkippableTheory]
    [InlineData("hidden_size", 1_000_000L, "hidden_size 1000000")]
    [InlineData("vocab_size", 1_000_000_000L, "vocab_size 1000000000")]
    [InlineData("intermediate_size", 999L, "intermediate_size 999")]
    [InlineData("num_hidden_layers", 6L, "model.layers.5")]
    public async Task ConfigSizesThatDisagreeWithTheWeightsFailBeforeTheModelIsBuilt(string field, long value, string named)
    {
        using var temp = new TempFolder();
        var model = ModelCopies.Copy(temp.File("model"));
        ModelCopies.SetConfig(model, field, value);

        var clock = Stopwatch.StartNew();
        var (code, error) = await CliRunner.Run("generate", "--model", model, "--prompt", "Once", "--max-new-tokens", "4", "--threads", "1");
        clock.Stop();

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.StartsWith("error: ", line);
        Assert.Contains(named, line);
        Assert.Contains("config.json", line);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed} (the model was built before the check?)");
    }

    [SkippableFact]
    public async Task AContextTooLargeForMemoryIsRefusedBeforeTheRotaryTablesAreAllocated()
    {
        using var temp = new TempFolder();
        var model = ModelCopies.Copy(temp.File("model"));
        ModelCopies.SetConfig(model, "max_position_embeddings", 1_000_000_000);

        var clock = Stopwatch.StartNew();
        var (code, error) = await CliRunner.Run("generate", "--model", model, "--prompt", "Once", "--max-new-tokens", "4", "--threads", "1");

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains("max_position_embeddings 1000000000", line);
        Assert.Contains("available", line);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [SkippableFact]
    public void TheMemoryEstimateComparesWeightsAndRotaryTablesWithTheAvailableMemory()
    {
        var directory = HfModelDirectory.Open(ShippedModels.Stories260K);
        var config = directory.ReadConfig();
        CheckpointLoader.CheckBeforeBuilding(directory, config);                           // fits this machine

        // stories260K: 260K float32 weights ≈ 1 MB; rotary 1024 × 8 × 40 B ≈ 0.3 MB (the KV cache is per request, not counted).
        CheckpointLoader.CheckBeforeBuilding(directory, config, availableBytes: 2_000_000);
        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.CheckBeforeBuilding(directory, config, availableBytes: 1_200_000));
        Assert.Contains("needs about 1.", ex.Message);
        Assert.Contains("rotary tables", ex.Message);
    }

    public static TheoryData<bool, bool, bool, string> Variants => new()
    {
        { false, false, false, "llama" },
        { true, false, false, "llama" },
        { false, true, true, "llama" },
        { false, true, false, "qwen2" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void TheShapesComputedFromTheConfigAreTheModelsOwn(bool tied, bool attentionBias, bool mlpBias, string type)
    {
        var config = TinyLlama.Config(tied: tied) with { AttentionBias = attentionBias, MlpBias = mlpBias, ModelType = type };
        using var model = new LlamaForCausalLM(config);
        var actual = model.state_dict()
            .Where(kv => !(tied && kv.Key == "lm_head.weight"))
            .ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = LlamaTensorShapes.Expected(config).ToList();

        Assert.Equal(actual.Keys.Order(StringComparer.Ordinal), expected.Select(e => e.Name).Order(StringComparer.Ordinal));
        foreach (var (name, shape, _) in expected)
        {
            Assert.Equal(actual[name], shape);
        }
    }

    [SkippableFact]
    public async Task WeightsHoldingNaNAreRefusedAtLoadNamingTheTensor()
    {
        using var temp = new TempFolder();
        var model = ModelCopies.Copy(temp.File("model"));
        ModelCopies.ChangeTensor(model, "model.layers.2.mlp.up_proj.weight", t =>
        {
            t[3, 5] = torch.tensor(float.NaN);
        });

        var (code, error) = await CliRunner.Run("generate", "--model", model, "--prompt", "Once", "--max-new-tokens", "4", "--threads", "1");

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains("model.layers.2.mlp.up_proj.weight", line);
        Assert.Contains("NaN", line);
    }

    [SkippableTheory]
    [InlineData(0, "empty")]
    [InlineData(3000, "cannot read the SentencePiece model")]
    public async Task AnEmptyOrTruncatedTokenizerModelIsNamed(int keepBytes, string problem)
    {
        using var temp = new TempFolder();
        var model = ModelCopies.Copy(temp.File("model"));
        var path = Path.Combine(model, "tokenizer.model");
        File.WriteAllBytes(path, File.ReadAllBytes(path).Take(keepBytes).ToArray());

        var (code, error) = await CliRunner.Run("generate", "--model", model, "--prompt", "Once", "--max-new-tokens", "4", "--threads", "1");

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains("tokenizer.model", line);
        Assert.Contains(problem, line);
        Assert.DoesNotContain("Object reference", line);
    }
}
