using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Cllm.Core;

namespace Cllm.CommandLine;

/// <summary>
/// Turns expected failures into one clear line on stderr and a non-zero exit code. The libraries name their C# properties
/// (<c>MaxNewTokens</c>, <c>BlockSize</c>); where the user typed a flag for one, the line names the flag instead.
/// </summary>
internal static partial class CliErrors
{
    /// <summary>Library properties set by a flag whose name is not the property's (the others match with the dashes removed: --max-new-tokens is MaxNewTokens).</summary>
    private static readonly Dictionary<string, string> FlagsNamedOtherwise = new(StringComparer.Ordinal)
    {
        ["LearningRate"] = "--lr",
        ["AutoregressiveWeight"] = "--ar-weight",
        ["GradientAccumulation"] = "--grad-accum",
        ["AnswerOnlyAutoregressive"] = "--ar-answer-only",
        ["UseLabelIds"] = "--gold-labels",
        ["OutputDirectory"] = "--output",
    };

    /// <summary>Runs a command's action; a failure is one line naming the flags of <paramref name="parse"/>'s command.</summary>
    public static int Run(ParseResult parse, Func<int> action)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(action);
        var command = parse.CommandResult.Command;
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is CheckpointException or ArgumentException or FormatException or IOException or InvalidDataException
                                      or NotSupportedException or InvalidOperationException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {OneLine(ex, command)}");
            return 1;
        }
        catch (System.Runtime.InteropServices.ExternalException ex)
        {
            Console.Error.WriteLine($"error: libtorch: {OneLine(ex)}");                    // e.g. an allocation the memory check could not foresee
            return 1;
        }
    }

    /// <summary>
    /// The command line's own parse errors (a value of the wrong type, a missing required option, an unknown token),
    /// one line each on stderr, naming the flag and what it takes instead of a .NET type; exit code 1. The help text
    /// is left to --help, so the error is the line a user sees.
    /// </summary>
    public static int ReportParseErrors(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var path = new List<string>();
        for (var result = parse.CommandResult; result.Command is not RootCommand && result.Parent is CommandResult parent; result = parent)
        {
            path.Insert(0, result.Command.Name);                                       // e.g. "dev init"
        }

        string help = $"cllm {string.Join(' ', path)} --help lists the options";
        foreach (var error in parse.Errors)
        {
            var wrongType = WrongType().Match(error.Message);
            string message = wrongType.Success
                ? $"{wrongType.Groups["option"].Value}: '{wrongType.Groups["value"].Value}' is not {Expected(wrongType.Groups["type"].Value)}"
                : error.Message.TrimEnd('.');
            Console.Error.WriteLine($"error: {message} ({help}).");
        }

        return 1;
    }

    /// <summary>What a flag of .NET type <paramref name="type"/> takes, in words.</summary>
    private static string Expected(string type) => type switch
    {
        _ when type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) => "a number",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ => $"a valid value ({type})",
    };

    /// <summary>
    /// The message on one line, without .NET's argument decorations: "X must be at least 1. (Parameter 'X')\nActual value
    /// was 0." becomes "X must be at least 1 (got 0)", as does .NET's "X ('0') must be greater than or equal to '1'".
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
        string plain = message;
        message = DotNetRange().Replace(message, m => $"{m.Groups["name"].Value} must be {m.Groups["rule"].Value switch
        {
            "greater than or equal to" => "at least",
            "less than or equal to" => "at most",
            "greater than" => "above",
            "less than" => "below",
            _ => "at least",
        }} {m.Groups["bound"].Value} (got {m.Groups["value"].Value}).");
        message = DotNetSign().Replace(message, m => $"{m.Groups["name"].Value} must be {(m.Groups["zero"].Success ? "above 0" : "at least 0")} (got {m.Groups["value"].Value}).");
        bool rewritten = message != plain;                                                     // .NET's range messages carry their own "(got …)"
        if (actual is not null && !rewritten && !message.Contains($"'{actual}'", StringComparison.Ordinal))
        {
            message = $"{message.TrimEnd('.')} (got {actual}).";
        }

        return message;
    }

    /// <summary>
    /// As <see cref="OneLine(Exception)"/>, with the library property the exception names (its parameter name) replaced by
    /// the flag of <paramref name="command"/> that sets it: "MaxNewTokens must be at least 1" becomes "--max-new-tokens
    /// must be at least 1"; a message that does not spell the property gets the flag in front.
    /// </summary>
    public static string OneLine(Exception ex, Command? command)
        => command is null ? OneLine(ex) : OneLine(ex, property => FlagFor(command, property));

    /// <summary>
    /// As <see cref="OneLine(Exception)"/>, with the property the exception names (its parameter name) spelled as
    /// <paramref name="rename"/> gives it (null: unchanged); a message that does not spell the property gets the new name in front.
    /// </summary>
    public static string OneLine(Exception ex, Func<string, string?> rename)
    {
        ArgumentNullException.ThrowIfNull(rename);
        string message = OneLine(ex);
        if (ex is not ArgumentException { ParamName: { Length: > 0 } property } || rename(property) is not { } name)
        {
            return message;
        }

        var named = new Regex($@"(?<![\w.-]){Regex.Escape(property)}(?![\w-])", RegexOptions.CultureInvariant);
        return named.IsMatch(message) ? named.Replace(message, name) : $"{name}: {message}";
    }

    /// <summary>The option of <paramref name="command"/> that sets the library property <paramref name="property"/>, or null.</summary>
    internal static string? FlagFor(Command command, string property)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(property);
        if (property.StartsWith('-'))
        {
            return null;                                                                   // already a flag
        }

        var names = command.Options.Select(o => o.Name).ToList();
        return names.FirstOrDefault(name => string.Equals(name.TrimStart('-').Replace("-", string.Empty, StringComparison.Ordinal), property, StringComparison.OrdinalIgnoreCase))
            ?? (FlagsNamedOtherwise.TryGetValue(property, out var flag) && names.Contains(flag) ? flag : null);
    }

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'\.?$")]
    private static partial Regex WrongType();

    [GeneratedRegex(@"\s*\(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();

    [GeneratedRegex(@"\s*Actual value was [^\r\n]*")]
    private static partial Regex ActualValueLine();

    /// <summary>.NET's ThrowIfLessThan and kin: "X ('0') must be greater than or equal to '1'."</summary>
    [GeneratedRegex(@"^(?<name>.+?) \('(?<value>[^']*)'\) must be (?<rule>greater than or equal to|less than or equal to|greater than|less than) '(?<bound>[^']*)'\.?$")]
    private static partial Regex DotNetRange();

    /// <summary>.NET's ThrowIfNegative / ThrowIfNegativeOrZero: "X ('-1') must be a non-negative (and non-zero) value."</summary>
    [GeneratedRegex(@"^(?<name>.+?) \('(?<value>[^']*)'\) must be a non-negative(?<zero> and non-zero)? value\.?$")]
    private static partial Regex DotNetSign();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
