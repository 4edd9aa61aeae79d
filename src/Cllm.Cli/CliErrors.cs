using System;
using System.IO;
using System.Text.RegularExpressions;
using Cllm.Core;

namespace Cllm.Cli;

/// <summary>Turns expected failures into one clear line on stderr and a non-zero exit code.</summary>
internal static partial class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is CheckpointException or ArgumentException or FormatException or IOException or InvalidDataException
                                      or NotSupportedException or InvalidOperationException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {OneLine(ex)}");
            return 1;
        }
        catch (System.Runtime.InteropServices.ExternalException ex)
        {
            Console.Error.WriteLine($"error: libtorch: {OneLine(ex)}");                    // e.g. an allocation the memory check could not foresee
            return 1;
        }
    }

    /// <summary>
    /// The message on one line, without .NET's argument decorations: "X must be ≥ 1. (Parameter 'X')\nActual value
    /// was 0." becomes "X must be ≥ 1 (got 0)".
    /// </summary>
    public static string OneLine(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        string message = ex.Message;
        foreach (var marker in new[] { "Exception raised from", "frame #0" })
        {
            int frames = message.IndexOf(marker, StringComparison.Ordinal);
            if (frames > 0)
            {
                message = message[..frames];                                              // libtorch appends C++ frames: keep its own first part
            }
        }

        string? actual = null;
        if (ex is ArgumentOutOfRangeException { ActualValue: { } value })
        {
            actual = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
        }

        message = ParameterSuffix().Replace(message, string.Empty);
        message = ActualValueLine().Replace(message, string.Empty);
        message = Whitespace().Replace(message, " ").Trim();
        if (actual is not null && !message.Contains($"'{actual}'", StringComparison.Ordinal))
        {
            message = $"{message.TrimEnd('.')} (got {actual}).";
        }

        return message;
    }

    [GeneratedRegex(@"\s*\(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();

    [GeneratedRegex(@"\s*Actual value was [^\r\n]*")]
    private static partial Regex ActualValueLine();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
