using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace Cllm.Core;

/// <summary>
/// Whether this CPU computes bfloat16 natively (x86: the <c>avx512_bf16</c> or <c>amx_bf16</c> flag; Arm: <c>bf16</c>),
/// read once from <c>/proc/cpuinfo</c>. .NET exposes no bfloat16 intrinsics class to ask, and libtorch's oneDNN kernels
/// use these instructions when present; elsewhere (no /proc/cpuinfo) the answer is no.
/// </summary>
internal static class NativeBFloat16
{
    private static readonly Lazy<string?> Flag = new(Detect);

    /// <summary>True when the CPU has native bfloat16 arithmetic.</summary>
    public static bool Available => Flag.Value is not null;

    /// <summary>The cpuinfo flag that showed it (e.g. <c>avx512_bf16</c>), or null.</summary>
    public static string? Evidence => Flag.Value;

    private static string? Detect()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!OperatingSystem.IsLinux() || !File.Exists(cpuinfo))
        {
            return null;
        }

        try
        {
            var wanted = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 ? new[] { "bf16" } : new[] { "amx_bf16", "avx512_bf16" };
            var flags = File.ReadLines(cpuinfo)
                .Where(line => line.StartsWith("flags", StringComparison.Ordinal) || line.StartsWith("Features", StringComparison.Ordinal))
                .Take(1)
                .SelectMany(line => line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .ToHashSet(StringComparer.Ordinal);
            return wanted.FirstOrDefault(flags.Contains);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
