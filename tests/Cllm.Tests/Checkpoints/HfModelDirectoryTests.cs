using System;
using System.IO;
using System.Linq;
using Cllm.Core;
using TorchSharp;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Checkpoints;

public sealed class HfModelDirectoryTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void MissingFolder()
    {
        var path = Path.Combine(_folder.Path, "no-such-model");

        var ex = Assert.Throws<CheckpointException>(() => HfModelDirectory.Open(path));

        Assert.Equal($"{path}: model folder not found", ex.Message);
    }

    [Fact]
    public void FileInsteadOfFolder()
    {
        var path = _folder.File("config.json");
        File.WriteAllText(path, "{}");

        var ex = Assert.Throws<CheckpointException>(() => HfModelDirectory.Open(path));

        Assert.Contains("config.json: is a file; expected a model folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingConfig()
    {
        var ex = Assert.Throws<CheckpointException>(() => HfModelDirectory.Open(_folder.Path));

        Assert.Equal($"{_folder.Path}: model folder has no config.json", ex.Message);
    }

    [Fact]
    public void NoWeights()
    {
        ModelFolders.WriteConfig(_folder.Path);

        var ex = Assert.Throws<CheckpointException>(() => HfModelDirectory.Open(_folder.Path));

        Assert.Contains(_folder.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("no weights file (expected model.safetensors or model.safetensors.index.json)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PyTorchBinOnlyGetsAHint()
    {
        ModelFolders.WriteConfig(_folder.Path);
        File.WriteAllText(_folder.File("pytorch_model.bin"), "pickle");

        var ex = Assert.Throws<CheckpointException>(() => HfModelDirectory.Open(_folder.Path));

        Assert.Contains("found pytorch_model.bin, which is not supported: convert the weights to safetensors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SingleFileWithTokenizerAndGenerationConfig()
    {
        ModelFolders.WriteConfig(_folder.Path);
        File.WriteAllText(_folder.File("model.safetensors"), "not parsed by Open");
        File.WriteAllText(_folder.File("tokenizer.json"), "{}");
        File.WriteAllText(_folder.File("special_tokens_map.json"), "{}");
        File.WriteAllText(_folder.File("generation_config.json"), "{}");

        var dir = HfModelDirectory.Open(_folder.Path + Path.DirectorySeparatorChar);

        Assert.Equal(_folder.Path, dir.Path.TrimEnd(Path.DirectorySeparatorChar));
        Assert.False(dir.IsSharded);
        Assert.Null(dir.WeightMap);
        Assert.Equal(new[] { _folder.File("model.safetensors") }, dir.WeightFiles);
        Assert.Equal(_folder.File("model.safetensors"), dir.WeightsPath);
        Assert.Equal(_folder.File("config.json"), dir.ConfigPath);
        Assert.Equal(_folder.File("generation_config.json"), dir.GenerationConfigPath);
        Assert.Null(dir.TokenizerModelPath);
        Assert.Equal(_folder.File("tokenizer.json"), dir.TokenizerJsonPath);
        Assert.Null(dir.TokenizerConfigPath);
        Assert.Equal(new[] { _folder.File("tokenizer.json"), _folder.File("special_tokens_map.json") }, dir.TokenizerFiles);
    }

    [Fact]
    public void ShardedIndexIsResolved()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = Enumerable.Range(0, 5).Select(i => new System.Collections.Generic.KeyValuePair<string, torch.Tensor>($"t{i}", torch.tensor(new float[] { i, i }))).ToList();
        ModelFolders.Sharded(_folder.Path, tensors, shards: 2);

        var dir = HfModelDirectory.Open(_folder.Path);

        Assert.True(dir.IsSharded);
        Assert.Equal(_folder.File("model.safetensors.index.json"), dir.WeightsPath);
        Assert.Equal(new[] { _folder.File("model-00001-of-00002.safetensors"), _folder.File("model-00002-of-00002.safetensors") }, dir.WeightFiles);
        Assert.Equal(5, dir.WeightMap!.Count);
        Assert.Equal(_folder.File("model-00002-of-00002.safetensors"), dir.WeightMap["t4"]);
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = Enumerable.Range(0, 4).Select(i => new System.Collections.Generic.KeyValuePair<string, torch.Tensor>($"t{i}", torch.ones(1))).ToList();
        ModelFolders.Sharded(_folder.Path, tensors, shards: 2);
        File.Delete(_folder.File("model-00002-of-00002.safetensors"));

        var ex = Assert.Throws<CheckpointException>(() => HfModelDirectory.Open(_folder.Path));

        Assert.Contains("model.safetensors.index.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("shard 'model-00002-of-00002.safetensors' (holding tensor 't2') is missing", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}", "missing required field 'weight_map'")]
    [InlineData("{\"weight_map\": {}}", "field 'weight_map' is empty")]
    [InlineData("{\"weight_map\": {\"a\": 3}}", "field 'weight_map.a' must be a shard file name")]
    [InlineData("{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}", "not a plain file name in the model folder")]
    [InlineData("{\"weight_map\": ", "not valid JSON")]
    public void BadIndex(string json, string problem)
    {
        ModelFolders.WriteConfig(_folder.Path);
        File.WriteAllText(_folder.File("model.safetensors.index.json"), json);

        var ex = Assert.Throws<CheckpointException>(() => HfModelDirectory.Open(_folder.Path));

        Assert.Contains("model.safetensors.index.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GenerationEosLeadsAndConfigEosIsKept()
    {
        File.WriteAllText(_folder.File("config.json"), ModelFolders.MinimalConfig.Replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": false, \"eos_token_id\": 2", StringComparison.Ordinal));
        File.WriteAllText(_folder.File("model.safetensors"), string.Empty);
        File.WriteAllText(_folder.File("generation_config.json"), """{"eos_token_id": [7, 2, 9]}""");

        var config = HfModelDirectory.Open(_folder.Path).ReadConfig();

        Assert.Equal(new[] { 7, 2, 9 }, config.EosTokenIds);
    }

    [Fact]
    public void WithoutGenerationEosTheConfigEosStays()
    {
        File.WriteAllText(_folder.File("config.json"), ModelFolders.MinimalConfig.Replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": false, \"eos_token_id\": [2, 3]", StringComparison.Ordinal));
        File.WriteAllText(_folder.File("model.safetensors"), string.Empty);
        File.WriteAllText(_folder.File("generation_config.json"), """{"do_sample": false}""");

        var config = HfModelDirectory.Open(_folder.Path).ReadConfig();

        Assert.Equal(new[] { 2, 3 }, config.EosTokenIds);
    }
}
