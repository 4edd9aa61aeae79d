using Cllm.Core;
using Cllm.Tests.TestKit;
using TorchSharp;

namespace Cllm.Tests.Checkpoints;

/// <summary><c>--dtype auto</c>: bfloat16 for large models on a CPU with native bfloat16, else the checkpoint's own dtype.</summary>
public class AutoDTypeTests
{
    [Fact]
    public void Large_models_on_a_native_bf16_cpu_load_in_bfloat16()
    {
        var directory = HfModelDirectory.Open(ShippedModels.Folder("sql-cllm"));
        var large = ModelGrowth.TargetConfig(directory.ReadConfig(), "tinyllama-1.1b");                 // 0.97B parameters
        var (type, reason) = CheckpointDType.ChooseAuto(directory, large, onCpu: true, nativeBFloat16: "avx512_bf16");
        Assert.Equal(torch.ScalarType.BFloat16, type);
        Assert.Contains("avx512_bf16", reason, System.StringComparison.Ordinal);
        Assert.Contains("971.6M parameters", reason, System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, true, true)]      // small model
    [InlineData(true, false, true)]      // no native bf16
    [InlineData(true, true, false)]      // not a CPU
    public void Otherwise_the_checkpoints_own_dtype(bool large, bool native, bool cpu)
    {
        var directory = HfModelDirectory.Open(ShippedModels.Folder("sql-cllm"));                        // torch_dtype float16
        var config = large ? ModelGrowth.TargetConfig(directory.ReadConfig(), "tinyllama-1.1b") : directory.ReadConfig();
        var (type, reason) = CheckpointDType.ChooseAuto(directory, config, cpu, native ? "amx_bf16" : null);
        Assert.Equal(torch.ScalarType.Float16, type);
        Assert.StartsWith("float16 (the checkpoint's own", reason, System.StringComparison.Ordinal);
    }
}
