using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Cllm.Tests.LargeModels;

/// <summary>Peak and current resident memory of this process (Linux /proc), with a way to restart the peak.</summary>
internal static class ProcessMemory
{
    /// <summary>True where /proc/self/status reports VmHWM.</summary>
    public static bool Available => OperatingSystem.IsLinux() && File.Exists("/proc/self/status");

    /// <summary>VmHWM: the peak resident set since start or the last <see cref="RestartPeak"/>, in bytes.</summary>
    public static long PeakBytes => Field("VmHWM:");

    /// <summary>VmRSS: the resident set now, in bytes.</summary>
    public static long CurrentBytes => Field("VmRSS:");

    /// <summary>
    /// Frees what can be freed (managed garbage, then glibc's free heap pages via malloc_trim) and restarts the peak at
    /// the current resident set (writing 5 to /proc/self/clear_refs), so the next measurement starts from here.
    /// </summary>
    public static void RestartPeak()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        _ = MallocTrim(0);
        File.WriteAllText("/proc/self/clear_refs", "5");
    }

    private static long Field(string name)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return long.Parse(line[name.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;   // "  123456 kB"
            }
        }

        throw new InvalidOperationException($"/proc/self/status has no {name} line.");
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
