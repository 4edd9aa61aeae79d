using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// --output, and --overwrite where a command replaces an existing file only when asked. <see cref="Check"/> refuses an
/// unusable path with one line naming --output before any work is done (before a model loads or a step runs).
/// </summary>
internal sealed class OutputArguments
{
    /// <param name="kind">A file, a folder, or a folder that must be empty or absent.</param>
    /// <param name="description">What the command writes there and what it does with what is already there.</param>
    /// <param name="required">Whether --output must be given (else the command writes elsewhere, e.g. stdout, or nothing).</param>
    /// <param name="overwrite">Adds --overwrite: an existing file that holds rows is refused unless it is given (a file output only).</param>
    /// <param name="alias">A short name as well (download's -o), or null.</param>
    public OutputArguments(OutputKind kind, string description, bool required = true, bool overwrite = false, string? alias = null)
    {
        if (overwrite && kind != OutputKind.File)
        {
            throw new ArgumentException("--overwrite goes with a file output.", nameof(overwrite));
        }

        Kind = kind;
        Output = alias is null ? new Option<string?>("--output") : new Option<string?>("--output", alias);
        Output.Description = description;
        Output.Required = required;
        Overwrite = overwrite
            ? new Option<bool>("--overwrite") { Description = "Replace the rows an existing --output file holds (without it such a file is refused and kept)" }
            : null;
    }

    public OutputKind Kind { get; }

    public Option<string?> Output { get; }

    /// <summary>--overwrite, or null when the command has no such option.</summary>
    public Option<bool>? Overwrite { get; }

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Output);
        if (Overwrite is not null)
        {
            command.Options.Add(Overwrite);
        }
    }

    /// <summary>
    /// The --output path (null when it was not given), checked before any work: a file or folder that cannot be written,
    /// a file that holds rows without --overwrite, a new folder that is not empty. A required output is never null.
    /// </summary>
    public string? Check(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.GetValue(Output) is not { } path)
        {
            return null;
        }

        switch (Kind)
        {
            case OutputKind.File:
                OutputPaths.CheckFile(path, Output.Name);
                if (Overwrite is not null && !parse.GetValue(Overwrite) && ExistingRows(path) is > 0 and var rows)
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"{Output.Name} {path} already holds {rows} row{(rows == 1 ? string.Empty : "s")}; give {Overwrite.Name} to replace them, or another {Output.Name} ({parse.CommandResult.Command.Name} does not resume)."));
                }

                break;
            case OutputKind.Folder:
                OutputPaths.CheckFolder(path, Output.Name);
                break;
            case OutputKind.NewFolder:
                if (File.Exists(path))
                {
                    throw new ArgumentException($"{Output.Name} {path} is a file; give a new folder.");
                }

                if (!OutputPaths.ClearInterruptedWrites(path))
                {
                    throw new ArgumentException($"{Output.Name}: '{path}' is not empty; give a new folder.");
                }

                OutputPaths.CheckNewFolder(path, Output.Name);                              // can be created and written, leaving no trace
                break;
        }

        return path;
    }

    /// <summary>The non-blank lines of an existing file (0 when there is none).</summary>
    private static int ExistingRows(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var reader = new StreamReader(path);
        int rows = 0;
        while (reader.ReadLine() is { } line)
        {
            rows += string.IsNullOrWhiteSpace(line) ? 0 : 1;
        }

        return rows;
    }
}
