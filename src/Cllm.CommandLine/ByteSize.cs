using System.Globalization;

namespace Cllm.CommandLine;

/// <summary>Byte counts for people: 812 B, 1.1 MB, 4.40 GB (decimal units, as disks and downloads count them).</summary>
internal static class ByteSize
{
    public static string Format(long bytes) => bytes switch
    {
        < 1_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:F1} kB"),
        < 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F2} GB"),
    };
}
