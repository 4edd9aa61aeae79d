using System;
using System.IO;
using System.Threading.Tasks;
using Cllm.Cli;

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
            return (await Program.Main(args), captured.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }
}
