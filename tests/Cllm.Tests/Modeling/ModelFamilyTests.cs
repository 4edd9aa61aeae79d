using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tests.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.Modeling;

public class ModelFamilyTests
{
    [Theory]
    [InlineData("llama", false, null, false)]
    [InlineData("llama", true, 24, true)]                                                     // tied, explicit head_dim, attention bias incl. o_proj
    [InlineData("mistral", false, null, false)]
    [InlineData("qwen2", false, null, true)]                                                   // q/k/v bias, untied
    public void SavedCheckpointLoadsBackThroughTheBuilderWithIdenticalLogits(string modelType, bool tied, int? headDim, bool bias)
    {
        var config = TinyLlama.Config(vocab: 300, tied: tied) with { ModelType = modelType, HeadDimOverride = headDim, AttentionBias = bias };
        using var source = TinyLlama.Create(3, config);
        using var temp = new TempFolder();
        var builder = new TokenizerJsonBuilder();
        System.IO.File.WriteAllText(temp.File("tokenizer.json"), builder.ToJson());
        CheckpointWriter.Save(source, config, temp.Path, copyTokenizerFrom: null, storeAs: null);
        using var engine = CllmBuilder.FromCheckpoint(temp.Path).Build();
        Assert.Equal(source.state_dict().Keys.OrderBy(k => k), engine.Model.state_dict().Keys.OrderBy(k => k));
        Assert.Equal(bias && modelType == "llama", engine.Model.state_dict().ContainsKey("model.layers.0.self_attn.o_proj.bias"));
        Assert.Equal(!tied, engine.Model.state_dict().ContainsKey("lm_head.weight"));
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 50, 70, 90, 110 }).view(1, -1);
        Assert.Equal(0f, (source.Forward(ids) - engine.Model.Forward(ids)).abs().max().item<float>());
    }

    [Fact]
    public void LinearRopeScalingStretchesPositions()
    {
        var plain = TinyLlama.Config();
        var scaled = plain with { RopeScaling = new RopeScaling { Type = "linear", Factor = 2 } };
        using var a = new RotaryEmbedding(plain, 64, ScalarType.Float32);
        using var b = new RotaryEmbedding(scaled, 64, ScalarType.Float32);
        using var scope = NewDisposeScope();
        var at3 = a.At(tensor(new long[] { 3 }));
        var at6 = b.At(tensor(new long[] { 6 }));
        Assert.True((at3.Cos - at6.Cos).abs().max().item<float>() < 1e-6f);
        Assert.True((at3.SinSigned - at6.SinSigned).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void Llama3RopeScalingKeepsHighFrequenciesAndScalesLowOnes()
    {
        // head_dim 16 and theta 10000: wavelengths 2π·10000^(2i/16) run from 6.3 to ~19,900 positions.
        var plain = TinyLlama.Config() with { HiddenSize = 64, NumAttentionHeads = 4, NumKeyValueHeads = 2 };
        var scaled = plain with { RopeScaling = new RopeScaling { Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 256 } };
        using var a = new RotaryEmbedding(plain, 512, ScalarType.Float32);
        using var b = new RotaryEmbedding(scaled, 512, ScalarType.Float32);
        using var scope = NewDisposeScope();
        var pa = a.At(tensor(new long[] { 5 }));
        var pb = b.At(tensor(new long[] { 5 }));
        // i = 0: wavelength 6.3 < 256/4 = 64 → unchanged.
        Assert.Equal(pa.Cos[0, 0].item<float>(), pb.Cos[0, 0].item<float>(), 6);
        // i = 7: wavelength 2π·10000^(14/16) ≈ 19,900 > 256 → divided by 8, so position 40 scaled = position 5 plain.
        var pb40 = b.At(tensor(new long[] { 40 }));
        Assert.Equal(pa.Cos[0, 7].item<float>(), pb40.Cos[0, 7].item<float>(), 5);
        Assert.NotEqual(pa.Cos[0, 7].item<float>(), pb.Cos[0, 7].item<float>());
    }

    [Fact]
    public void InvalidConfigsAreRejected()
    {
        Assert.Throws<System.ArgumentException>(() => new LlamaForCausalLM(TinyLlama.Config() with { NumKeyValueHeads = 3 }));
        Assert.Throws<System.ArgumentException>(() => new LlamaForCausalLM(TinyLlama.Config() with { RopeScaling = new RopeScaling { Type = "yarn", Factor = 2 } }));
        Assert.Throws<System.ArgumentException>(() => new LlamaForCausalLM(TinyLlama.Config() with { VocabSize = 0 }));
    }
}
