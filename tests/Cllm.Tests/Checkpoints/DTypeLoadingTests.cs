using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.CommandLine;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Checkpoints;

/// <summary>
/// Checkpoints load in their own dtype: a bf16/f16 file stays bf16/f16 in the model and its KV cache, logits come out
/// float32, AR and Jacobi decode, and <c>--dtype auto</c> picks the checkpoint's dtype. Small random folders written by
/// <c>cllm dev init</c>'s writer (vocab 300: 3 specials + 256 bytes + 41 merges).
/// </summary>
[Collection("Console")]
public class DTypeLoadingTests
{
    private static string WriteFolder(TempFolder temp, ScalarType dtype, string name = "model")
    {
        string folder = temp.File(name);
        RandomCheckpoint.Write(TinyLlama.Config(vocab: 300, layers: 2) with { BosTokenId = 1 }, dtype, folder, seed: 7);
        return folder;
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void HalfCheckpointKeepsItsDtypeInWeightsAndCacheAndDecodesWithFloat32Logits(ScalarType dtype)
    {
        using var temp = new TempFolder();
        string folder = WriteFolder(temp, dtype);
        using var engine = CllmBuilder.FromCheckpoint(folder).WithCheckpointDType().UseJacobi(n: 4).Build();
        var model = engine.Model;

        Assert.Equal(dtype, model.DType);
        Assert.All(model.parameters(), p => Assert.Equal(dtype, p.dtype));
        long parameterBytes = model.parameters().Sum(p => p.numel()) * 2;
        long fileBytes = new FileInfo(Path.Combine(folder, "model.safetensors")).Length;
        Assert.InRange(parameterBytes, fileBytes - 4096, fileBytes);                   // the weights take the file's bytes, not float32's

        using (var cache = model.CreateCache(16))
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var kv = zeros(1, model.Config.NumKeyValueHeads, 1, model.Config.HeadDim);
            Assert.Equal(dtype, cache.Write(0, kv, kv).Keys.dtype);                      // the cache follows the model dtype
            var logits = model.Forward(tensor(new long[] { 1, 40, 41, 42 }).view(1, 4), cache);
            Assert.Equal(ScalarType.Float32, logits.dtype);
            Assert.Equal(new long[] { 1, 4, 300 }, logits.shape);
        }

        var settings = new GenerationOptions { MaxNewTokens = 12 };
        var jacobi = engine.Generate("abc", settings);
        var ar = engine.Run(engine.CreateRequest("abc", settings), DecoderOptions.Autoregressive).Last().Stats!;
        Assert.Equal(12, jacobi.Stats.GeneratedTokens);
        Assert.Equal(12, ar.GeneratedTokens);
        Assert.All(jacobi.OutputIds, id => Assert.InRange(id, 0, 299));
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void HalfComputeTracksFloat32ComputeOnTheSameWeights(ScalarType dtype)
    {
        using var temp = new TempFolder();
        string folder = WriteFolder(temp, dtype);
        using var half = CllmBuilder.FromCheckpoint(folder).WithCheckpointDType().Build();
        using var full = CllmBuilder.FromCheckpoint(folder).WithDType(ScalarType.Float32).Build();   // the same values, upcast on load
        Assert.Equal(ScalarType.Float32, full.Model.DType);

        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var ids = tensor(Enumerable.Range(0, 24).Select(i => (long)(3 + (i * 37 % 290))).ToArray()).view(1, 24);
        var a = half.Model.Forward(ids).view(-1);
        var b = full.Model.Forward(ids).view(-1);
        float cosine = (a * b).sum().item<float>() / (a.norm().item<float>() * b.norm().item<float>());
        Assert.True(cosine > 0.995f, $"{dtype} logits drift from float32 logits of the same weights: cosine {cosine}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SkippingTheRandomInitKeepsTheStateDictAndLoadsTheSameModel(bool attentionBias)
    {
        var config = TinyLlama.Config(vocab: 300) with { BosTokenId = 1, AttentionBias = attentionBias };
        using var temp = new TempFolder();
        string folder = temp.File("m");
        RandomCheckpoint.Write(config, ScalarType.Float32, folder, seed: 11);

        using var initialised = new Cllm.Core.LlamaForCausalLM(config);
        using var bare = new Cllm.Core.LlamaForCausalLM(config, ScalarType.Float32, null, initialize: false);
        Assert.Equal(
            initialised.state_dict().Select(kv => (kv.Key, string.Join("x", kv.Value.shape), kv.Value.dtype)),
            bare.state_dict().Select(kv => (kv.Key, string.Join("x", kv.Value.shape), kv.Value.dtype)));
        Assert.Equal(initialised.parameters().Sum(p => p.numel()), bare.parameters().Sum(p => p.numel()));

        var directory = HfModelDirectory.Open(folder);
        CheckpointLoader.LoadWeights(initialised, directory, config.TieWordEmbeddings);
        CheckpointLoader.LoadWeights(bare, directory, config.TieWordEmbeddings);
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var ids = tensor(new long[] { 1, 5, 50, 250, 7 }).view(1, 5);
        Assert.True(initialised.Forward(ids).eq(bare.Forward(ids)).all().item<bool>());
        Assert.All(bare.parameters(), p => Assert.True(p.requires_grad));                 // still trainable
    }

    [Fact]
    public void AutoDtypeComesFromTorchDtypeElseFromTheSafetensorsHeader()
    {
        using var temp = new TempFolder();
        string folder = WriteFolder(temp, ScalarType.BFloat16);
        var directory = HfModelDirectory.Open(folder);
        Assert.Equal(ScalarType.BFloat16, CheckpointDType.Detect(directory, directory.ReadConfig()));

        // Without torch_dtype the stored tensors decide.
        var config = JsonNode.Parse(File.ReadAllText(directory.ConfigPath))!.AsObject();
        config.Remove("torch_dtype");
        File.WriteAllText(directory.ConfigPath, config.ToJsonString());
        directory = HfModelDirectory.Open(folder);
        Assert.Null(directory.ReadConfig().TorchDtype);
        Assert.Equal(ScalarType.BFloat16, CheckpointDType.Detect(directory, directory.ReadConfig()));

        // A torch_dtype that disagrees with the file wins (it is what the model was published in).
        config["torch_dtype"] = "float16";
        File.WriteAllText(directory.ConfigPath, config.ToJsonString());
        directory = HfModelDirectory.Open(folder);
        Assert.Equal(ScalarType.Float16, CheckpointDType.Detect(directory, directory.ReadConfig()));
    }

    [Fact]
    public async Task CliDtypeAutoLoadsTheCheckpointDtypeAndBadPlacementIsOneLine()
    {
        using var temp = new TempFolder();
        string folder = WriteFolder(temp, ScalarType.Float16);
        string auto = temp.File("auto.jsonl"), explicitHalf = temp.File("f16.jsonl");
        Assert.Equal(0, (await CliRunner.Run("generate", "--model", folder, "--prompt", "hello", "--max-new-tokens", "6", "--dtype", "auto", "--threads", "1", "--output", auto)).Code);
        Assert.Equal(0, (await CliRunner.Run("generate", "--model", folder, "--prompt", "hello", "--max-new-tokens", "6", "--dtype", "float16", "--threads", "1", "--output", explicitHalf)).Code);
        Assert.Equal(OutputIds(explicitHalf), OutputIds(auto));

        var (code, error) = await CliRunner.Run("generate", "--model", folder, "--prompt", "hello", "--dtype", "float64");
        Assert.Equal(1, code);
        Assert.Equal("error: --dtype: 'float64' is not one of float32, float16, bfloat16, auto.", error.Trim());

        (code, error) = await CliRunner.Run("bench", "--model", "random:260k", "--device", "tpu");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --device: device 'tpu' is not one of cpu, cuda, cuda:<index>", error.Trim(), StringComparison.Ordinal);

        if (!torch.cuda.is_available())
        {
            (code, error) = await CliRunner.Run("generate", "--model", folder, "--prompt", "hello", "--device", "cuda:0");
            Assert.Equal(1, code);
            Assert.Contains("--device: device 'cuda:0': no CUDA device is available", error, StringComparison.Ordinal);
            Assert.Single(error.Trim().Split('\n'));
        }
    }

    [Fact]
    public async Task TrainRefusesFloat16WithOneLine()
    {
        using var temp = new TempFolder();
        string folder = WriteFolder(temp, ScalarType.Float16);
        var data = temp.Write("data.jsonl", "\n");
        var (code, error) = await CliRunner.Run("train", "--model", folder, "--data", data, "--output", temp.File("out"), "--dtype", "auto", "--max-steps", "1");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --dtype float16: training in float16 is not supported", error.Trim(), StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task InitWritesTheSyntheticTokenizerOverTheWholeVocabulary()
    {
        using var temp = new TempFolder();
        string folder = temp.File("m");
        var (code, error) = await CliRunner.Run("dev", "init", "--shape", "260k", "--dtype", "bfloat16", "--output", folder, "--seed", "3");
        Assert.True(code == 0, error);
        using var engine = CllmBuilder.FromCheckpoint(folder).WithCheckpointDType().Build();
        Assert.Equal(ScalarType.BFloat16, engine.Model.DType);
        Assert.Equal(512, engine.Model.Config.VocabSize);
        var ids = engine.Tokenizer.Encode("héllo, world", addSpecial: false);
        Assert.Equal("héllo, world", engine.Tokenizer.Decode(ids));
        Assert.Equal(1, (await CliRunner.Run("dev", "init", "--shape", "260k", "--output", folder)).Code);     // refuses a non-empty folder
    }

    private static string OutputIds(string jsonl) => JsonNode.Parse(File.ReadLines(jsonl).Single())!["output_ids"]!.ToJsonString();
}
