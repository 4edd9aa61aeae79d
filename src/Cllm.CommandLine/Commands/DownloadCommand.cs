using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tools;
using Spectre.Console;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// <c>cllm download ORG/NAME --output DIR</c>: fetches a model repository from the Hugging Face hub (<c>HF_ENDPOINT</c>,
/// token from <c>HF_TOKEN</c>) with resumable, verified transfers; a progress bar on a terminal, plain lines otherwise.
/// </summary>
internal static class DownloadCommand
{
    public static Command Create() => Create(Environment.GetEnvironmentVariable, interactive: () => !Console.IsErrorRedirected);

    /// <summary>The command with its environment and terminal detection supplied (tests pass their own).</summary>
    internal static Command Create(Func<string, string?> environment, Func<bool> interactive)
    {
        var repo = new Argument<string>("repo") { Description = "Model repository on the hub, ORG/NAME (e.g. TinyLlama/TinyLlama-1.1B-Chat-v1.0)" };
        var revision = new Option<string>("--revision") { Description = "Branch, tag or commit", DefaultValueFactory = _ => "main" };
        var output = new OutputArguments(OutputKind.Folder, "Folder to download into (created if missing); files already complete there are skipped", alias: "-o");
        var include = new Option<string[]>("--include")
        {
            Description = "Only files matching these globs, e.g. --include '*.json' '*.safetensors' tokenizer.model (default: every file)",
            AllowMultipleArgumentsPerToken = true,
        };
        var exclude = new Option<string[]>("--exclude") { Description = "Leave out files matching these globs", AllowMultipleArgumentsPerToken = true };
        var command = new Command("download", $"Download a model from the Hugging Face hub into a folder (endpoint: {HubDownloadOptions.EndpointVariable}, default {HubDownloadOptions.DefaultEndpoint}; private or gated models: {HubDownloadOptions.TokenVariable}). Interrupted downloads resume.")
        {
            repo, revision, include, exclude,
        };
        output.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            string? createdFolder = null;                                                   // --output when this run made it
            return RunAsync(parse, async () =>
            {
                HubPaths.CheckRepoId(parse.GetValue(repo));                                     // a malformed id or revision fails before --output is made
                HubPaths.CheckRevision(parse.GetValue(revision)!);
                string given = parse.GetValue(output.Output)!;
                bool existed = Directory.Exists(given);
                string folder = output.Check(parse)!;                                           // before the hub is asked
                createdFolder = existed ? null : folder;
                var options = new HubDownloadOptions
                {
                    Endpoint = environment(HubDownloadOptions.EndpointVariable) is { Length: > 0 } endpoint ? endpoint : HubDownloadOptions.DefaultEndpoint,
                    Token = environment(HubDownloadOptions.TokenVariable) ?? string.Empty,
                    Include = parse.GetValue(include) ?? Array.Empty<string>(),
                    Exclude = parse.GetValue(exclude) ?? Array.Empty<string>(),
                };
                using var downloader = new HubDownloader(options);
                string repoId = parse.GetValue(repo)!;
                string rev = parse.GetValue(revision)!;
                var error = parse.InvocationConfiguration.Error;
                DownloadResult result;
                if (interactive() && ReferenceEquals(error, Console.Error))
                {
                    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                    result = await console.Progress()
                        .AutoClear(false)
                        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn { Base = FileSizeBase.Decimal }, new TransferSpeedColumn { Base = FileSizeBase.Decimal }, new RemainingTimeColumn())
                        .StartAsync(context => downloader.DownloadAsync(repoId, folder, rev, new BarProgress(context), cancellationToken))
                        .ConfigureAwait(false);
                }
                else
                {
                    result = await downloader.DownloadAsync(repoId, folder, rev, new LineProgress(error), cancellationToken).ConfigureAwait(false);
                }

                parse.InvocationConfiguration.Output.WriteLine(Summary(result));
                return 0;
            }, () => createdFolder);
        });
        return command;
    }

    /// <summary>
    /// Like <see cref="CliErrors.Run"/> for async actions: expected failures become one line on stderr (in
    /// <see cref="CliErrors.OneLine(Exception, Command)"/>'s words) and exit code 1. A failed run removes the output
    /// folder when it created it and nothing was written into it.
    /// </summary>
    private static async Task<int> RunAsync(ParseResult parse, Func<Task<int>> action, Func<string?> createdFolder)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HubException or CheckpointException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            OutputPaths.RemoveIfEmpty(createdFolder());
            await parse.InvocationConfiguration.Error.WriteLineAsync($"error: {CliErrors.OneLine(ex, parse.CommandResult.Command)}").ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException)
        {
            OutputPaths.RemoveIfEmpty(createdFolder());
            throw;
        }
    }

    private static string Summary(DownloadResult result)
    {
        string at = result.Commit is { Length: >= 12 } commit && commit != result.Revision ? $"{result.Revision} ({commit[..12]})" : result.Revision;
        string skipped = result.SkippedCount > 0 ? $", {result.SkippedCount} already complete" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture,
            $"{result.RepoId}@{at}: {Counted.Of(result.Files.Count, "file")}, {ByteSize.Format(result.TotalSize)} in {result.OutputDir} ({result.DownloadedCount} downloaded, {ByteSize.Format(result.BytesTransferred)} transferred in {result.Elapsed.TotalSeconds:F1} s{skipped})");
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>Spectre progress bars: one per file and one for the whole download.</summary>
    private sealed class BarProgress(ProgressContext context) : IProgress<DownloadProgress>
    {
        private readonly Dictionary<int, ProgressTask> _files = new();
        private ProgressTask? _total;

        public void Report(DownloadProgress value)
        {
            _total ??= context.AddTask("[bold]total[/]", maxValue: Math.Max(1, value.BytesTotal ?? 0));
            _total.IsIndeterminate = value.BytesTotal is null;
            _total.Value = value.BytesDone;
            if (!_files.TryGetValue(value.FileIndex, out var task))
            {
                task = context.AddTaskBefore(Markup.Escape(value.File), _total, maxValue: Math.Max(1, value.FileBytesTotal ?? 0));
                task.IsIndeterminate = value.FileBytesTotal is null;
                _files[value.FileIndex] = task;
            }

            task.Value = value.FileBytesDone;
            switch (value.Event)
            {
                case DownloadEvent.FileSkipped:
                    task.Description = Markup.Escape(value.File) + " [grey](already complete)[/]";
                    task.Value = task.MaxValue;
                    task.StopTask();
                    break;
                case DownloadEvent.FileCompleted:
                    task.Description = Markup.Escape(value.File);
                    task.Value = task.MaxValue;
                    task.StopTask();
                    break;
                case DownloadEvent.Verifying:
                    task.Description = Markup.Escape(value.File) + " [grey](verifying)[/]";
                    break;
                case DownloadEvent.Retrying:
                    task.Description = Markup.Escape(value.File) + " [yellow](retrying)[/]";
                    break;
                default:
                    task.Description = Markup.Escape(value.File);
                    break;
            }

            if (value.Event is DownloadEvent.FileCompleted or DownloadEvent.FileSkipped && value.FileIndex == value.FileCount)
            {
                _total.Value = _total.MaxValue;
                _total.StopTask();
            }
        }
    }

    /// <summary>Plain lines for logs: one per finished, skipped or retried file, and every 10% of a large file.</summary>
    private sealed class LineProgress(TextWriter error) : IProgress<DownloadProgress>
    {
        private const long LargeFile = 16_000_000;
        private int _lastTenth;

        public void Report(DownloadProgress value)
        {
            string prefix = string.Create(CultureInfo.InvariantCulture, $"[{value.FileIndex}/{value.FileCount}] {value.File}");
            switch (value.Event)
            {
                case DownloadEvent.FileStarted:
                    _lastTenth = value.FileBytesTotal is long size && size > 0 ? (int)(value.FileBytesDone * 10 / size) : 0;
                    if (value.FileBytesDone > 0)
                    {
                        error.WriteLine($"{prefix}: resuming at {ByteSize.Format(value.FileBytesDone)}");
                    }

                    break;
                case DownloadEvent.FileBytes when value.FileBytesTotal is long total && total >= LargeFile:
                    int tenth = (int)(value.FileBytesDone * 10 / total);
                    if (tenth > _lastTenth && tenth < 10)
                    {
                        _lastTenth = tenth;
                        error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}: {tenth * 10}% of {ByteSize.Format(total)}"));
                    }

                    break;
                case DownloadEvent.FileCompleted:
                    error.WriteLine($"{prefix}: {ByteSize.Format(value.FileBytesDone)} done");
                    break;
                case DownloadEvent.FileSkipped:
                    error.WriteLine($"{prefix}: already complete, skipped");
                    break;
                case DownloadEvent.Retrying:
                    error.WriteLine($"{prefix}: {OneLine(value.Message ?? "failed")}; retrying");
                    break;
            }
        }
    }
}
