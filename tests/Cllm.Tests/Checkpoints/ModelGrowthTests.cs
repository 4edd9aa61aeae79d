using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Checkpoints;

/// <summary>
/// Function-preserving growth (<see cref="ModelGrowth"/>): the grown folder computes the small model's logits (to
/// float32 rounding) and greedy ids, has the target shape's parameter count, and bad shapes are refused in one line.
/// </summary>
public class ModelGrowthTests
{
    private const int NewTokens = 24;

    /// <summary>
    /// (shipped model, shape): sql-cllm is 256 hidden, 4 layers, 8 heads of 32, 8 kv heads, SwiGLU 704;
    /// stories260K is 64 hidden, 5 layers, 8 heads of 8, 4 kv heads (2 query heads per kv head), SwiGLU 172.
    /// </summary>
    public static TheoryData<string, string> Shapes => new()
    {
        { "sql-cllm", "512x4" },                 // wider only: 16 heads, 16 kv heads, SwiGLU 1408
        { "sql-cllm", "256x6x8x8x704" },         // deeper only
        { "sql-cllm", "384x6" },                 // both
        { "sql-cllm", "512x5x16x8x1024" },       // MHA → GQA (2 query heads per kv head)
        { "sql-cllm", "256x4x12x12x704" },       // more heads and kv heads than hidden / head size (head_dim written)
        { "stories260K", "128x5" },              // wider, GQA kept (16 heads, 8 kv heads)
        { "stories260K", "64x7x8x4x172" },       // deeper only
        { "stories260K", "128x6x16x16x344" },    // GQA → MHA: each kv head copied for its two query heads
        { "stories260K", "160x6x20x5x400" },     // wider groups (4 query heads per kv head), both
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Grown_model_computes_the_small_models_logits_and_greedy_ids(string model, string shape)
    {
        string source = ShippedModels.Folder(model);
        using var folder = new TempFolder();
        var config = HfModelDirectory.Open(source).ReadConfig();
        var target = ModelGrowth.TargetConfig(config, shape);
        ModelGrowth.Write(source, target, folder.Path, ScalarType.Float32);

        using var small = PretrainedModel.Load(source);
        using var grown = PretrainedModel.Load(folder.Path);
        Assert.Equal(target.HiddenSize, grown.Config.HiddenSize);
        Assert.Equal(target.NumHiddenLayers, grown.Config.NumHiddenLayers);
        Assert.Equal(target.NumKeyValueHeads, grown.Config.NumKeyValueHeads);
        Assert.Equal(config.HeadDim, grown.Config.HeadDim);
        Assert.Equal(config.RmsNormEps * config.HiddenSize / target.HiddenSize, grown.Config.RmsNormEps, 1e-15);

        foreach (var prompt in Prompts(model))
        {
            var ids = small.Tokenizer.Encode(prompt);
            Assert.Equal(ids, grown.Tokenizer.Encode(prompt));
            var (smallIds, smallLogits) = Greedy(small.Model, ids);
            var (grownIds, grownLogits) = Greedy(grown.Model, ids);
            Assert.Equal(smallIds, grownIds);

            // Same logits over the prompt and the generated tokens, to float32 rounding (sums over D, not d).
            float scale = smallLogits.Select(MathF.Abs).Max();
            float diff = smallLogits.Zip(grownLogits, (a, b) => MathF.Abs(a - b)).Max();
            Assert.True(diff <= 1e-4f * Math.Max(1f, scale), $"{model} → {shape}: logits differ by {diff} (scale {scale})");
        }
    }

    /// <summary>Biases (Qwen2 q/k/v; LLaMA attention and MLP biases) and an untied lm_head move with their weights.</summary>
    [Theory]
    [InlineData("qwen2-bias", "128x3")]
    [InlineData("llama-all-bias", "128x3x8x2x256")]
    [InlineData("untied", "96x4x6x6x200")]
    public void Biases_and_an_untied_head_are_grown_with_their_weights(string kind, string shape)
    {
        var config = kind switch
        {
            "qwen2-bias" => TinyLlama.Config() with { ModelType = "qwen2", AttentionBias = true },
            "llama-all-bias" => TinyLlama.Config() with { AttentionBias = true, MlpBias = true },
            _ => TinyLlama.Config(),
        };
        using var folder = new TempFolder();
        string source = folder.File("source"), grownFolder = folder.File("grown");
        using (var model = TinyLlama.Create(5, config))
        {
            CheckpointWriter.Save(model, config, source, copyTokenizerFrom: null, storeAs: null);
        }

        ModelGrowth.Write(source, ModelGrowth.TargetConfig(config, shape), grownFolder, ScalarType.Float32);
        var options = new PretrainedModelOptions { LoadTokenizer = false };
        using var small = PretrainedModel.Load(source, options);
        using var grown = PretrainedModel.Load(grownFolder, options);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = tensor(new long[] { 1, 9, 23, 4, 77, 15, 60, 3, 41, 8, 19, 52 }).view(1, -1);
        var expected = small.Model.Forward(ids);
        float diff = (expected - grown.Model.Forward(ids)).abs().max().item<float>();
        float scale = expected.abs().max().item<float>();
        Assert.True(diff <= 1e-4f * Math.Max(1f, scale), $"{kind} → {shape}: logits differ by {diff} (scale {scale})");
    }

    [Theory]
    [InlineData("sql-cllm", "tinyllama-1.1b", 2048, 22, 64, 8, 5632)]
    [InlineData("sql-cllm", "llama-7b", 4096, 32, 128, 128, 11008)]
    [InlineData("stories260K", "tinyllama-1.1b", 2048, 22, 256, 32, 5632)]
    [InlineData("sql-cllm", "1024x8", 1024, 8, 32, 32, 2816)]
    public void Named_and_short_shapes_keep_the_head_size(string model, string shape, int hidden, int layers, int heads, int kvHeads, int intermediate)
    {
        var config = HfModelDirectory.Open(ShippedModels.Folder(model)).ReadConfig();
        var target = ModelGrowth.TargetConfig(config, shape);
        Assert.Equal((hidden, layers, heads, kvHeads, intermediate), (target.HiddenSize, target.NumHiddenLayers, target.NumAttentionHeads, target.NumKeyValueHeads, target.IntermediateSize));
        Assert.Equal(config.HeadDim, target.HeadDim);
        Assert.Equal(config.VocabSize, target.VocabSize);
        Assert.Equal(config.TieWordEmbeddings, target.TieWordEmbeddings);
    }

    [Theory]
    [InlineData("sql-cllm", "384x6")]
    [InlineData("stories260K", "160x6x20x5x400")]
    public void Grown_folder_holds_the_target_shapes_parameter_count(string model, string shape)
    {
        string source = ShippedModels.Folder(model);
        using var folder = new TempFolder();
        var target = ModelGrowth.TargetConfig(HfModelDirectory.Open(source).ReadConfig(), shape);
        ModelGrowth.Write(source, target, folder.Path, ScalarType.BFloat16);

        var file = SafetensorsFile.Open(folder.File(HfModelDirectory.SingleWeightsFileName));
        long stored = file.Tensors.Values.Sum(e => e.ShapeArray.Aggregate(1L, (p, s) => p * s));
        using var built = new LlamaForCausalLM(target);
        Assert.Equal(built.ParameterCount, stored);
        Assert.All(file.Tensors.Values, e => Assert.Equal(ScalarType.BFloat16, e.ScalarType));
        Assert.Equal("bfloat16", HfModelDirectory.Open(folder.Path).ReadConfig().TorchDtype);
        Assert.All(HfModelDirectory.Open(source).TokenizerFiles, path => Assert.True(File.Exists(folder.File(Path.GetFileName(path))), path));
    }

    [Theory]
    [InlineData("100x4", "not a multiple of the source's head size 32")]
    [InlineData("128x4", "hidden size 128 is smaller than the source's 256")]
    [InlineData("512x2", "layer count 2 is smaller than the source's 4")]
    [InlineData("512x4x16x12x1408", "16 heads are not divisible by 12 kv heads")]
    [InlineData("512x4x16x16x512", "intermediate size 512 is smaller than the source's 704")]
    [InlineData("512x4x4x4x1408", "head count 4 is smaller than the source's 8")]
    [InlineData("512", "is not one of")]
    [InlineData("llama-70b", "is not one of")]
    public void Bad_shapes_are_refused_in_one_line(string shape, string expected)
    {
        var config = HfModelDirectory.Open(ShippedModels.Folder("sql-cllm")).ReadConfig();
        var error = Assert.Throws<ArgumentException>(() => ModelGrowth.TargetConfig(config, shape));
        Assert.StartsWith("--shape: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Kv_heads_too_few_for_the_source_groups_are_refused()
    {
        // 8 heads of 8 in 2 kv heads (4 query heads each) into 3 kv heads of 3 query heads: each source group needs
        // 2 target groups, 4 kv heads in all.
        var config = HfModelDirectory.Open(ShippedModels.Stories260K).ReadConfig() with { NumKeyValueHeads = 2 };
        var error = Assert.Throws<ArgumentException>(() => ModelGrowth.TargetConfig(config, "72x5x9x3x172"));
        Assert.StartsWith("--shape: 3 kv heads of 3 query heads each cannot hold the source's 2 kv heads of 4 query heads each", error.Message, StringComparison.Ordinal);
    }

    private static string[] Prompts(string model) => model == "sql-cllm"
        ? File.ReadLines(Path.Combine(ShippedModels.RepositoryRoot, "samples", "data", "sql-test.jsonl")).Take(3)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!).ToArray()
        : new[] { "Once upon a time", "Lily saw a big dog" };

    /// <summary>Greedy ids after <paramref name="prompt"/> (no cache, full forward each step) and the last forward's (T, V) logits, flattened.</summary>
    private static (long[] Ids, float[] Logits) Greedy(LlamaForCausalLM model, int[] prompt)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = prompt.Select(i => (long)i).ToList();
        Tensor logits = null!;
        for (int step = 0; step < NewTokens; step++)
        {
            logits = model.Forward(tensor(ids.ToArray()).view(1, -1));
            ids.Add(logits[0, -1].argmax().item<long>());
        }

        return (ids.Skip(prompt.Length).ToArray(), logits.to_type(ScalarType.Float32).data<float>().ToArray());
    }
}
