using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cllm.Core;
using TorchSharp;

using Cllm.Tests.TestKit;

namespace Cllm.Tests.Checkpoints;

/// <summary>The real stories260K checkpoint shipped in samples/models/stories260K.</summary>
public class Stories260KTests
{
    private static readonly SkeletonShape Shape = new(Vocab: 512, Dim: 64, Hidden: 172, Layers: 5, KvDim: 32, Tied: true);

    [SkippableFact]
    public void SafetensorsHasTheFortySevenTensorsOfTheReadme()
    {
        var folder = RequireFolder();

        var file = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors"));

        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = new long[] { 512, 64 },
            ["model.norm.weight"] = new long[] { 64 },
        };
        for (var i = 0; i < 5; i++)
        {
            var p = $"model.layers.{i}.";
            expected[p + "input_layernorm.weight"] = new long[] { 64 };
            expected[p + "post_attention_layernorm.weight"] = new long[] { 64 };
            expected[p + "self_attn.q_proj.weight"] = new long[] { 64, 64 };
            expected[p + "self_attn.k_proj.weight"] = new long[] { 32, 64 };
            expected[p + "self_attn.v_proj.weight"] = new long[] { 32, 64 };
            expected[p + "self_attn.o_proj.weight"] = new long[] { 64, 64 };
            expected[p + "mlp.gate_proj.weight"] = new long[] { 172, 64 };
            expected[p + "mlp.up_proj.weight"] = new long[] { 172, 64 };
            expected[p + "mlp.down_proj.weight"] = new long[] { 64, 172 };
        }

        Assert.Equal(47, file.Tensors.Count);
        Assert.Equal(expected.Keys.OrderBy(k => k, System.StringComparer.Ordinal), file.Tensors.Keys.OrderBy(k => k, System.StringComparer.Ordinal));
        foreach (var (name, shape) in expected)
        {
            Assert.Equal(shape, file.Tensors[name].Shape);
            Assert.Equal("F32", file.Tensors[name].Dtype);
        }

        Assert.Equal(260_032, file.Tensors.Values.Sum(e => e.ByteLength) / 4);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.DoesNotContain("lm_head.weight", file.Tensors.Keys);
    }

    [SkippableFact]
    public void ConfigMatchesTheReadme()
    {
        var folder = RequireFolder();

        var directory = HfModelDirectory.Open(folder);
        var config = directory.ReadConfig();

        Assert.Equal("llama", config.ModelType);
        Assert.Equal(512, config.VocabSize);
        Assert.Equal(64, config.HiddenSize);
        Assert.Equal(172, config.IntermediateSize);
        Assert.Equal(5, config.NumHiddenLayers);
        Assert.Equal(8, config.NumAttentionHeads);
        Assert.Equal(4, config.NumKeyValueHeads);
        Assert.Equal(8, config.HeadDim);
        Assert.Equal(512, config.MaxPositionEmbeddings);
        Assert.Equal(1e-5, config.RmsNormEps);
        Assert.Equal(10000.0, config.RopeTheta);
        Assert.Null(config.RopeScaling);
        Assert.True(config.TieWordEmbeddings);
        Assert.False(config.AttentionBias);
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal(new[] { 2 }, config.EosTokenIds);
        Assert.Null(config.PadTokenId);
        Assert.Equal("float32", config.TorchDtype);
        Assert.False(directory.IsSharded);
        Assert.NotNull(directory.TokenizerModelPath);
        Assert.NotNull(directory.GenerationConfigPath);
    }

    [SkippableFact]
    public void WeightsLoadIntoAModelWithHuggingFaceNames()
    {
        var folder = RequireFolder();
        using var scope = torch.NewDisposeScope();
        var model = new NamedSkeleton(Shape);
        var directory = HfModelDirectory.Open(folder);

        CheckpointLoader.LoadWeights(model, directory, tiedEmbeddings: true);

        var file = SafetensorsFile.Open(directory.WeightFiles.Single());
        Assert.Equal(47, model.state_dict().Count);
        foreach (var (name, parameter) in model.state_dict())
        {
            Assert.True(parameter.Equals(file.ReadTensor(name)), name);
        }
    }

    private static string RequireFolder()
    {
        return ShippedModels.Stories260K;
    }
}
