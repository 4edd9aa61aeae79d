using System.Linq;
using System.Reflection;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Tests.TestKit;

/// <summary>What the kernel tests share: whether this build compiled libcllm_native, and seeded random weights.</summary>
internal static class NativeKernelBuild
{
    /// <summary>Whether the build found a C compiler and built libcllm_native (Cllm.Core's metadata says so).</summary>
    public static bool Built => typeof(LlamaForCausalLM).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Any(a => a.Key == "CllmNativeKernelBuilt" && a.Value == "true");

    /// <summary>A standard normal (N, K) float32 weight from <paramref name="seed"/>.</summary>
    public static Tensor RandomWeight(long n, long k, ulong seed)
    {
        using var generator = new Generator(seed);
        return randn(new[] { n, k }, generator: generator);
    }
}
