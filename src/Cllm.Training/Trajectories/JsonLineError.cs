using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Cllm.Training;

/// <summary>
/// System.Text.Json's error for one JSONL line in our words. Its own position tail ("LineNumber: 0 |
/// BytePositionInLine: 20.") counts lines within the parsed text, always 0 for one line, so next to the caller's
/// "file:line" prefix it misleads; the byte position is kept as "at byte 20".
/// </summary>
internal static partial class JsonLineError
{
    /// <summary>"not valid JSON at byte 20 ('o' is an invalid start of a property name. Expected a '"')".</summary>
    public static string Describe(JsonException ex)
    {
        System.ArgumentNullException.ThrowIfNull(ex);
        string reason = Position().Replace(ex.Message, string.Empty).Trim().TrimEnd('.');
        string at = ex.BytePositionInLine is { } bytes ? string.Create(CultureInfo.InvariantCulture, $" at byte {bytes}") : string.Empty;
        return reason.Length == 0 ? $"not valid JSON{at}" : $"not valid JSON{at} ({reason})";
    }

    [GeneratedRegex(@"\s*(Path: \S*\s*\|\s*)?LineNumber: \d+\s*\|\s*BytePositionInLine: \d+\.?\s*$")]
    private static partial Regex Position();
}
