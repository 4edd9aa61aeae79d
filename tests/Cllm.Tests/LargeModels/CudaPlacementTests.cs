using System.Linq;
using Cllm.CommandLine;
using Cllm.Tests.TestKit;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.LargeModels;

/// <summary>
/// The same checkpoint decodes to the same greedy tokens on CUDA as on CPU, with weights, cache and logits on the GPU.
/// Skips with a message where libtorch sees no CUDA device (the CPU libtorch package, or no GPU).
/// </summary>
public class CudaPlacementTests
{
    [SkippableFact]
    public void GreedyDecodeOnCudaMatchesCpu()
    {
        Skip.IfNot(torch.cuda.is_available(), "no CUDA device: reference a libtorch-cuda package and run on a GPU machine (docs/large-models.md, \"Running on CUDA\")");
        using var temp = new TempFolder();
        string folder = temp.File("m");
        RandomCheckpoint.Write(TinyLlama.Config(vocab: 300) with { BosTokenId = 1 }, ScalarType.Float32, folder, seed: 5);
        var settings = new GenerationOptions { MaxNewTokens = 16 };
        using var cpu = CllmBuilder.FromCheckpoint(folder).Build();
        using var gpu = CllmBuilder.FromCheckpoint(folder).OnDevice("cuda").UseJacobi(n: 4).Build();
        Assert.Equal(DeviceType.CUDA, gpu.Model.Device.type);
        Assert.All(gpu.Model.parameters(), p => Assert.Equal(DeviceType.CUDA, p.device_type));

        var expected = cpu.Generate("hello", settings).OutputIds;
        Assert.Equal(expected, gpu.Run(gpu.CreateRequest("hello", settings), DecoderOptions.Autoregressive).SelectMany(s => s.Tokens).ToList());
        Assert.Equal(16, gpu.Generate("hello", settings).OutputIds.Count);                  // Jacobi runs on the GPU too
    }
}
