using System;
using System.IO;
using System.Linq;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

/// <summary>
/// The console is process-wide: a test that captures it while another test writes to it sees stray lines. Every test
/// file that runs the CLI in-process must therefore sit in a collection that owns the console.
/// </summary>
public class ConsoleCollectionTests
{
    [Fact]
    public void EveryTestThatRunsTheCliOwnsTheConsole()
    {
        string root = Path.Combine(ShippedModels.RepositoryRoot, "tests", "Cllm.Tests");
        string[] owners = ["[Collection(\"Console\")]", "[Collection(LongRunCollection.Name)]"];
        var runners = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj") && Path.GetFileName(f) != "CliRunner.cs")
            .Select(f => (File: f, Text: File.ReadAllText(f)))
            .Where(f => f.Text.Contains("CliRunner.Run(", StringComparison.Ordinal) || f.Text.Contains("CommandLineApp.RunAsync(", StringComparison.Ordinal))
            .ToList();
        var offenders = runners.Where(f => !owners.Any(f.Text.Contains)).Select(f => Path.GetRelativePath(root, f.File));

        Assert.NotEmpty(runners);
        Assert.Empty(offenders);
    }
}
