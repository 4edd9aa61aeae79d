using System;
using System.IO;
using System.Threading.Tasks;
using Cllm.CommandLine;

namespace Cllm.Tests.TestKit;

/// <summary>Runs the <c>cllm</c> command line in-process, capturing its stderr (which the test runner does not show).</summary>
internal static class CliRunner
{
    /// <summary>The exit code and everything written to stderr. Callers sit in a collection that owns the console.</summary>
    public static async Task<(int Code, string Error)> Run(params string[] args)
    {
        var original = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            return (await CommandLineApp.RunAsync(args), captured.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }

    /// <summary>
    /// The built <c>cllm</c> executable (src/Cllm.Cli, same configuration and framework as the tests), for the tests that
    /// need a separate process: signals, shell scripts. The test project builds it first without referencing it.
    /// </summary>
    public static string Executable
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string path = Path.Combine(ShippedModels.RepositoryRoot, "src", "Cllm.Cli", "bin", framework.Parent!.Name, framework.Name, "cllm.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the cllm executable is not built at {path}", path);
        }
    }
}
