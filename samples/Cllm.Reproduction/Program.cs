using System.CommandLine;
using Cllm.Reproduction.Commands;

namespace Cllm.Reproduction;

/// <summary>Entry point of the text-to-SQL reproduction: <c>data</c> (pipeline stages are added as commands).</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("CLLM text-to-SQL reproduction in miniature.");
        root.Subcommands.Add(DataCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(ReproduceCommand.Create());
        root.Subcommands.Add(ShipCommand.Create());
        root.Subcommands.Add(ScoreCommand.Create());
        return root.Parse(args).Invoke();
    }
}
