using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cllm.Core;
using TorchSharp;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Checkpoints;

public sealed class CheckpointLoaderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void ShardedCheckpointLoadsExactly()
    {
        using var scope = torch.NewDisposeScope();
        var source = new NamedSkeleton(SkeletonShape.Small);
        var tensors = source.state_dict().ToList();
        ModelFolders.Sharded(_folder.Path, tensors, shards: 3);
        var target = new NamedSkeleton(SkeletonShape.Small);
        Assert.False(Same(source, target));

        CheckpointLoader.LoadWeights(target, HfModelDirectory.Open(_folder.Path), tiedEmbeddings: false);

        Assert.True(Same(source, target));
        Assert.All(target.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void HalfPrecisionFilesAreConvertedToTheParameterType()
    {
        using var scope = torch.NewDisposeScope();
        var source = new NamedSkeleton(SkeletonShape.Small);
        var directory = ModelFolders.SingleFile(_folder.Path, source.state_dict(), torch.ScalarType.BFloat16);
        var target = new NamedSkeleton(SkeletonShape.Small);

        CheckpointLoader.LoadWeights(target, directory, tiedEmbeddings: false);

        foreach (var (name, parameter) in target.state_dict())
        {
            Assert.Equal(torch.ScalarType.Float32, parameter.dtype);
            var expected = source.state_dict()[name].to_type(torch.ScalarType.BFloat16).to_type(torch.ScalarType.Float32);
            Assert.True(parameter.Equals(expected), name);
        }
    }

    [Fact]
    public void FloatFileIntoHalfModel()
    {
        using var scope = torch.NewDisposeScope();
        var source = new NamedSkeleton(SkeletonShape.Small);
        var directory = ModelFolders.SingleFile(_folder.Path, source.state_dict());
        var target = new NamedSkeleton(SkeletonShape.Small);
        target.to(torch.ScalarType.Float16);

        CheckpointLoader.LoadWeights(target, directory, tiedEmbeddings: false);

        var weight = target.state_dict()["model.norm.weight"];
        Assert.Equal(torch.ScalarType.Float16, weight.dtype);
        Assert.True(weight.Equals(source.state_dict()["model.norm.weight"].to_type(torch.ScalarType.Float16)));
    }

    [Fact]
    public void MissingTensorsAreListedAndTheModelIsLeftAlone()
    {
        using var scope = torch.NewDisposeScope();
        var source = new NamedSkeleton(SkeletonShape.Small);
        var directory = ModelFolders.SingleFile(_folder.Path, source.state_dict()
            .Where(kv => kv.Key is not ("model.norm.weight" or "model.layers.1.mlp.up_proj.weight")));
        var target = new NamedSkeleton(SkeletonShape.Small);
        var before = target.state_dict()["model.embed_tokens.weight"].clone();

        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(target, directory, tiedEmbeddings: false));

        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2 tensor(s) the model needs are missing: model.layers.1.mlp.up_proj.weight, model.norm.weight", ex.Message, StringComparison.Ordinal);
        Assert.True(before.Equals(target.state_dict()["model.embed_tokens.weight"]), "nothing was copied");
    }

    [Fact]
    public void LongListsAreCut()
    {
        using var scope = torch.NewDisposeScope();
        var directory = ModelFolders.SingleFile(_folder.Path, new Dictionary<string, torch.Tensor> { ["unrelated"] = torch.ones(1) });
        var target = new NamedSkeleton(SkeletonShape.Small);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(target, directory, tiedEmbeddings: false));

        var count = target.state_dict().Count;
        Assert.Contains($"{count} tensor(s) the model needs are missing", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"({count - 10} more)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1 tensor(s) in the checkpoint are unexpected (the model has no such parameter): unrelated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnexpectedTensorIsAnError()
    {
        using var scope = torch.NewDisposeScope();
        var source = new NamedSkeleton(SkeletonShape.Small);
        var tensors = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["model.layers.0.self_attn.q_proj.bias"] = torch.zeros(8);
        var directory = ModelFolders.SingleFile(_folder.Path, tensors);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(new NamedSkeleton(SkeletonShape.Small), directory, tiedEmbeddings: false));

        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unexpected (the model has no such parameter): model.layers.0.self_attn.q_proj.bias", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TiedModelIgnoresLmHeadAndRotaryCachesAreIgnored()
    {
        using var scope = torch.NewDisposeScope();
        var untied = new NamedSkeleton(SkeletonShape.Small);
        var tensors = untied.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.ones(2);
        var directory = ModelFolders.SingleFile(_folder.Path, tensors);
        var tied = new NamedSkeleton(SkeletonShape.Small with { Tied = true });

        CheckpointLoader.LoadWeights(tied, directory, tiedEmbeddings: true);

        Assert.True(tied.state_dict()["model.embed_tokens.weight"].Equals(untied.state_dict()["model.embed_tokens.weight"]));
        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(tied, directory, tiedEmbeddings: false));
        Assert.Contains("unexpected (the model has no such parameter): lm_head.weight (a model that ties", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TiedLoadNeitherNeedsNorLoadsTheModelsLmHead()
    {
        using var scope = torch.NewDisposeScope();
        var source = new NamedSkeleton(SkeletonShape.Small);
        var directory = ModelFolders.SingleFile(_folder.Path, source.state_dict().Where(kv => kv.Key != "lm_head.weight"));
        var target = new NamedSkeleton(SkeletonShape.Small);
        var head = target.state_dict()["lm_head.weight"].clone();

        CheckpointLoader.LoadWeights(target, directory, tiedEmbeddings: true);

        Assert.True(head.Equals(target.state_dict()["lm_head.weight"]));
        Assert.True(source.state_dict()["model.norm.weight"].Equals(target.state_dict()["model.norm.weight"]));
    }

    [Fact]
    public void ShapeMismatchNamesTensorAndBothShapes()
    {
        using var scope = torch.NewDisposeScope();
        var source = new NamedSkeleton(SkeletonShape.Small with { KvDim = 8 });
        var directory = ModelFolders.SingleFile(_folder.Path, source.state_dict());

        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(new NamedSkeleton(SkeletonShape.Small), directory, tiedEmbeddings: false));

        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'model.layers.0.self_attn.k_proj.weight' has shape [8, 8] in the file but [4, 8] in the model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IntegerTensorForFloatParameterIsRejected()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new NamedSkeleton(SkeletonShape.Small).state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["model.norm.weight"] = torch.ones(8, dtype: torch.ScalarType.Int32);
        var directory = ModelFolders.SingleFile(_folder.Path, tensors);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(new NamedSkeleton(SkeletonShape.Small), directory, tiedEmbeddings: false));

        Assert.Contains("tensor 'model.norm.weight' is I32 in the file, which cannot be loaded into the model's Float32 parameter", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IndexThatDisagreesWithItsShards()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new NamedSkeleton(SkeletonShape.Small).state_dict().ToList();
        ModelFolders.Sharded(_folder.Path, tensors, shards: 2);
        var index = _folder.File("model.safetensors.index.json");
        File.WriteAllText(index, File.ReadAllText(index).Replace(
            "\"model.norm.weight\":\"model-00002-of-00002.safetensors\"",
            "\"model.norm.weight\":\"model-00001-of-00002.safetensors\"",
            StringComparison.Ordinal));

        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(new NamedSkeleton(SkeletonShape.Small), HfModelDirectory.Open(_folder.Path), tiedEmbeddings: false));

        Assert.Contains("model.safetensors.index.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("weight_map puts tensor 'model.norm.weight' in model-00001-of-00002.safetensors, but it is stored in model-00002-of-00002.safetensors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptShardIsReportedByName()
    {
        using var scope = torch.NewDisposeScope();
        ModelFolders.Sharded(_folder.Path, new NamedSkeleton(SkeletonShape.Small).state_dict().ToList(), shards: 2);
        var shard = _folder.File("model-00002-of-00002.safetensors");
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..100]);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadWeights(new NamedSkeleton(SkeletonShape.Small), HfModelDirectory.Open(_folder.Path), tiedEmbeddings: false));

        Assert.Equal(shard, ex.FilePath);
    }

    [Fact]
    public void LoadingLeavesNoLiveTensorsBehind()
    {
        var target = new NamedSkeleton(SkeletonShape.Small);
        HfModelDirectory directory;
        using (var setup = torch.NewDisposeScope())
        {
            directory = ModelFolders.SingleFile(_folder.Path, new NamedSkeleton(SkeletonShape.Small).state_dict(), torch.ScalarType.Float16);
        }

        using var scope = torch.NewDisposeScope();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        CheckpointLoader.LoadWeights(target, directory, tiedEmbeddings: false);

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static bool Same(torch.nn.Module a, torch.nn.Module b)
    {
        var left = a.state_dict();
        var right = b.state_dict();
        return left.Count == right.Count && left.All(kv => right.TryGetValue(kv.Key, out var other) && kv.Value.Equals(other));
    }
}
