using System;
using System.Linq;
using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;

namespace Cllm.Tests.Checkpoints;

public class PretrainedModelTests
{
    [Fact]
    public void LoadsModelTokenizerStopIdsAndTemplateInOneCall()
    {
        using var pretrained = PretrainedModel.Load(ShippedModels.Stories260K);
        Assert.False(pretrained.Model.training);
        Assert.Equal(torch.ScalarType.Float32, pretrained.Model.DType);
        Assert.Equal(260_032, pretrained.Parameters);
        Assert.Equal(new[] { 2 }, pretrained.EosTokenIds);
        Assert.Equal(ChatTemplateKind.None, pretrained.ChatTemplate.Kind);
        Assert.Equal(new[] { 1 }, pretrained.Tokenizer.Encode(string.Empty));
        Assert.Equal(System.IO.Path.GetFullPath(ShippedModels.Stories260K), pretrained.Directory);
    }

    [Fact]
    public void WeightsOnlyLoadsHaveNoTokenizerAndWeightsLoadIntoAnExistingModel()
    {
        using var pretrained = PretrainedModel.Load(ShippedModels.Stories260K, new PretrainedModelOptions { LoadTokenizer = false, SingleThreadForSmallModels = false });
        Assert.Throws<InvalidOperationException>(() => pretrained.Tokenizer);
        using var fresh = new LlamaForCausalLM(pretrained.Config);
        PretrainedModel.LoadWeightsInto(fresh, ShippedModels.Stories260K);
        var expected = pretrained.Model.state_dict();
        foreach (var (name, tensor) in fresh.state_dict())
        {
            Assert.True(tensor.allclose(expected[name], rtol: 0, atol: 0), name);
        }
    }

    [Fact]
    public void BadOptionsAndRefusedDTypesFailBeforeAnythingIsAllocated()
    {
        Assert.Throws<ArgumentException>(() => PretrainedModel.Load(ShippedModels.Stories260K, new PretrainedModelOptions { DType = torch.ScalarType.Int64 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => PretrainedModel.Load(ShippedModels.Stories260K, new PretrainedModelOptions { Threads = 0 }));
        Assert.Throws<ArgumentException>(() => PretrainedModel.Load(ShippedModels.Stories260K, new PretrainedModelOptions { Device = "tpu" }));
        torch.ScalarType? seen = null;
        var ex = Assert.Throws<NotSupportedException>(() => PretrainedModel.Load(ShippedModels.Stories260K, new PretrainedModelOptions
        {
            DType = null,
            CheckDType = dtype => { seen = dtype; throw new NotSupportedException("refused"); },
        }));
        Assert.Equal("refused", ex.Message);
        Assert.Equal(torch.ScalarType.Float32, seen);                                    // auto: the checkpoint's own dtype
    }

    [Fact]
    public void Int4A8IsRefusedByOptionValidationOnACpuWithoutAvx2()
    {
        var options = new PretrainedModelOptions { Quantization = WeightQuantization.Int4A8 };
        var ex = Assert.Throws<ArgumentException>(() => options.Validate(int4A8Supported: false, bfloat16Missing: null));
        Assert.Equal(nameof(PretrainedModelOptions.Quantization), ex.ParamName);
        Assert.StartsWith("Int4A8 quantization needs an x64 CPU with AVX2 and FMA", ex.Message, StringComparison.Ordinal);
        options.Validate(int4A8Supported: true, bfloat16Missing: null);                  // the same options on a CPU with it
        new PretrainedModelOptions { Quantization = WeightQuantization.Int4 }.Validate(int4A8Supported: false, bfloat16Missing: "no AVX-512 BF16 on this CPU");
    }

    [Fact]
    public void BFloat16PackingIsRefusedByOptionValidationWhereItsKernelDoesNotRun()
    {
        var options = new PretrainedModelOptions { DType = torch.ScalarType.BFloat16, Quantization = WeightQuantization.BFloat16 };
        var ex = Assert.Throws<ArgumentException>(() => options.Validate(int4A8Supported: true, bfloat16Missing: "no AVX-512 BF16 on this CPU"));
        Assert.Equal(nameof(PretrainedModelOptions.Quantization), ex.ParamName);
        Assert.Equal("BFloat16 weight packing needs Cllm's native kernel with AVX-512 BF16 (no AVX-512 BF16 on this CPU); load with DType BFloat16 and no quantization instead. (Parameter 'Quantization')", ex.Message);
        options.Validate(int4A8Supported: true, bfloat16Missing: null);                  // where the kernel runs
        Assert.Throws<ArgumentException>(() => (options with { Device = "cuda" }).Validate(int4A8Supported: true, bfloat16Missing: null));
    }
}
