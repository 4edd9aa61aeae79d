using System;
using System.IO;
using System.Linq;
using Cllm.Core;
using TorchSharp;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Checkpoints;

public sealed class CheckpointWriterTests : IDisposable
{
    private static readonly LlamaConfig SmallConfig = new()
    {
        VocabSize = 16,
        HiddenSize = 8,
        IntermediateSize = 12,
        NumHiddenLayers = 2,
        NumAttentionHeads = 2,
        NumKeyValueHeads = 1,
        MaxPositionEmbeddings = 32,
        RmsNormEps = 1e-5,
        BosTokenId = 1,
        EosTokenIds = new[] { 2 },
    };

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void SavedFolderLoadsBackWithTokenizerAndGenerationConfig()
    {
        using var scope = torch.NewDisposeScope();
        var tokenizerSource = Directory.CreateDirectory(_folder.File("source")).FullName;
        File.WriteAllText(Path.Combine(tokenizerSource, "tokenizer.model"), "sentencepiece bytes");
        File.WriteAllText(Path.Combine(tokenizerSource, "tokenizer_config.json"), "{\"add_bos_token\": true}");
        File.WriteAllText(Path.Combine(tokenizerSource, "generation_config.json"), "{\"eos_token_id\": [2, 5], \"temperature\": 0.7}");
        var output = _folder.File("out");
        var model = new NamedSkeleton(SkeletonShape.Small);

        CheckpointWriter.Save(model, SmallConfig, output, tokenizerSource, storeAs: null);

        var directory = HfModelDirectory.Open(output);
        Assert.Equal(
            new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json" },
            Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("{\"eos_token_id\": [2, 5], \"temperature\": 0.7}", File.ReadAllText(Path.Combine(output, "generation_config.json")));
        Assert.Equal("sentencepiece bytes", File.ReadAllText(directory.TokenizerModelPath!));
        var config = directory.ReadConfig();
        Assert.Equal(SmallConfig with { TorchDtype = "float32", EosTokenIds = config.EosTokenIds }, config);
        Assert.Equal(new[] { 2, 5 }, config.EosTokenIds);
        var loaded = new NamedSkeleton(SkeletonShape.Small);
        CheckpointLoader.LoadWeights(loaded, directory, tiedEmbeddings: false);
        Assert.All(model.state_dict(), kv => Assert.True(kv.Value.Equals(loaded.state_dict()[kv.Key]), kv.Key));
    }

    [Fact]
    public void TiedModelStoredAsBFloat16WithoutTokenizer()
    {
        using var scope = torch.NewDisposeScope();
        var output = _folder.File("tied");
        var model = new NamedSkeleton(SkeletonShape.Small with { Tied = true });
        var config = SmallConfig with { TieWordEmbeddings = true, EosTokenIds = new[] { 2, 3 } };

        CheckpointWriter.Save(model, config, output, copyTokenizerFrom: null, torch.ScalarType.BFloat16);

        var directory = HfModelDirectory.Open(output);
        var file = SafetensorsFile.Open(directory.WeightFiles.Single());
        Assert.DoesNotContain("lm_head.weight", file.Tensors.Keys);
        Assert.Equal(model.state_dict().Count, file.Tensors.Count);
        Assert.All(file.Tensors.Values, e => Assert.Equal("BF16", e.Dtype));
        Assert.Equal("bfloat16", directory.ReadConfig().TorchDtype);
        Assert.Equal(new[] { 2, 3 }, HfConfigReader.ReadGenerationEos(directory.GenerationConfigPath!));
        Assert.Empty(directory.TokenizerFiles);
        Assert.DoesNotContain(Directory.GetFiles(output), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void SavingOverAnExistingCheckpointReplacesIt()
    {
        using var scope = torch.NewDisposeScope();
        var output = _folder.File("again");
        CheckpointWriter.Save(new NamedSkeleton(SkeletonShape.Small), SmallConfig, output, null, null);
        var second = new NamedSkeleton(SkeletonShape.Small);

        CheckpointWriter.Save(second, SmallConfig, output, null, null);

        var loaded = new NamedSkeleton(SkeletonShape.Small);
        CheckpointLoader.LoadWeights(loaded, HfModelDirectory.Open(output), tiedEmbeddings: false);
        Assert.True(loaded.state_dict()["lm_head.weight"].Equals(second.state_dict()["lm_head.weight"]));
        Assert.Equal(3, Directory.GetFiles(output).Length);
    }

    [Fact]
    public void TokenizerSourceMayBeTheOutputFolder()
    {
        using var scope = torch.NewDisposeScope();
        var output = Directory.CreateDirectory(_folder.File("inplace")).FullName;
        File.WriteAllText(Path.Combine(output, "tokenizer.json"), "{}");
        File.WriteAllText(Path.Combine(output, "generation_config.json"), "{\"eos_token_id\": 9}");

        CheckpointWriter.Save(new NamedSkeleton(SkeletonShape.Small), SmallConfig, output, output, null);

        Assert.Equal("{\"eos_token_id\": 9}", File.ReadAllText(Path.Combine(output, "generation_config.json")));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(output, "tokenizer.json")));
    }

    [Fact]
    public void MissingOrEmptyTokenizerSource()
    {
        using var scope = torch.NewDisposeScope();
        var model = new NamedSkeleton(SkeletonShape.Small);
        var empty = Directory.CreateDirectory(_folder.File("empty")).FullName;

        var missing = Assert.Throws<CheckpointException>(() => CheckpointWriter.Save(model, SmallConfig, _folder.File("o1"), _folder.File("nowhere"), null));
        var none = Assert.Throws<CheckpointException>(() => CheckpointWriter.Save(model, SmallConfig, _folder.File("o2"), empty, null));

        Assert.Equal($"{_folder.File("nowhere")}: tokenizer source folder not found", missing.Message);
        Assert.Equal($"{empty}: tokenizer source folder has neither tokenizer.model nor tokenizer.json", none.Message);
        Assert.False(Directory.Exists(_folder.File("o1")));
    }

    [Fact]
    public void InconsistentConfigIsRefusedBeforeWriting()
    {
        using var scope = torch.NewDisposeScope();
        var tied = new NamedSkeleton(SkeletonShape.Small with { Tied = true });

        Assert.Throws<ArgumentException>(() => CheckpointWriter.Save(tied, SmallConfig, _folder.File("x"), null, null));
        Assert.Throws<ArgumentException>(() => CheckpointWriter.Save(tied, SmallConfig with { TieWordEmbeddings = true, NumKeyValueHeads = 3 }, _folder.File("x"), null, null));
        Assert.Throws<ArgumentException>(() => CheckpointWriter.Save(tied, SmallConfig with { TieWordEmbeddings = true }, _folder.File("x"), null, torch.ScalarType.Int8));
        Assert.False(Directory.Exists(_folder.File("x")));
    }
}
