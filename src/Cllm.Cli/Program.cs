using System;
using System.CommandLine;
using System.Threading.Tasks;
using Cllm.Cli.Commands;

namespace Cllm.Cli;

/// <summary>The <c>cllm</c> command line: generate, bench (and collect, train as they arrive).</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Cllm: consistency large language models on TorchSharp — Jacobi and lookahead decoding, trajectory collection and consistency training.");
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(CollectCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(DownloadCommand.Create());
        try
        {
            return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled.");
            return 130;
        }
    }
}
