using System;
using System.CommandLine;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Cllm.CommandLine.Commands;

namespace Cllm.CommandLine;

/// <summary>
/// The <c>cllm</c> command line: generate, bench, collect, train, download, export, grow, and dev (stress, init). The
/// <c>cllm</c> executable only calls <see cref="RunAsync"/>; tests and the benchmarks run the same commands in-process.
/// </summary>
internal static class CommandLineApp
{
    /// <summary>The command tree: every command and its options, without running anything.</summary>
    internal static RootCommand CreateRoot()
    {
        var root = new RootCommand("Cllm: consistency large language models on TorchSharp — Jacobi and lookahead decoding, trajectory collection and consistency training.");
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(CollectCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(DownloadCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(GrowCommand.Create());

        // Tools for checking the library and the machine rather than for using a model.
        var dev = new Command("dev", "Developer checks: concurrent-decoding stress (stress) and random-weight checkpoints of a named shape (init).");
        dev.Subcommands.Add(StressCommand.Create());
        dev.Subcommands.Add(InitCommand.Create());
        root.Subcommands.Add(dev);
        return root;
    }

    /// <summary>Parses and runs one command line; returns the process exit code (docs/cli.md lists them).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var root = CreateRoot();

        // Ctrl+C / SIGTERM cancel the command's token and let it finish cleanly (training saves a checkpoint, collection
        // keeps every finished prompt); a second signal terminates at once. The commands run synchronously inside their
        // actions, so the signal is handled here rather than by System.CommandLine, whose handler is only armed once an
        // action has returned its task.
        using var cancellation = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (!cancellation.IsCancellationRequested)
            {
                context.Cancel = true;
                Console.Error.WriteLine("stopping after the current step (signal again to kill)...");
                cancellation.Cancel();
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.CommandResult.Command is not RootCommand)
        {
            return CliErrors.ReportParseErrors(parse);                                  // one line naming the flag, not the help text
        }

        try
        {
            return await parse.InvokeAsync(configuration, cancellation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled.");
            return 130;
        }
        catch (Exception ex)
        {
            // Last resort: anything the commands did not anticipate is still one line, never a stack trace.
            Console.Error.WriteLine($"error: {ex.GetType().Name}: {CliErrors.OneLine(ex, parse.CommandResult.Command)}");
            return 1;
        }
    }
}
