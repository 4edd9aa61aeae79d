using System;
using System.Runtime.InteropServices;

namespace Cllm.Core;

/// <summary>
/// Gives the C heap's free pages back to the operating system (glibc's <c>malloc_trim</c>). Quantizing a checkpoint while
/// loading allocates and frees float blocks of a few megabytes between long-lived integer tensors; glibc serves such sizes
/// from its heap and keeps the freed ones, so resident memory grew by about 0.8 GB over a 6.5B model's int4 load
/// (docs/quantization.md). The loader trims every few quantized tensors, which keeps it near the weights. No-op off glibc.
/// </summary>
internal static class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns free heap pages to the OS; true when glibc released any.</summary>
    public static bool Trim()
    {
        if (_unavailable)
        {
            return false;
        }

        try
        {
            return MallocTrim(0) != 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;                                                               // musl and others: no malloc_trim
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim", ExactSpelling = true)]
    private static extern int MallocTrim(nuint pad);
}
