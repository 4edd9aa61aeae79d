using System;
using System.IO;

namespace Cllm.Benchmarks.Tests;

/// <summary>
/// Tests that run a benchmark command and read what it prints: they swap the process-wide <see cref="Console.Out"/> and
/// <see cref="Console.Error"/>, so they run one at a time in this collection, through <see cref="Run"/>.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCapture
{
    public const string Name = "console capture";

    /// <summary>Runs the benchmark's entry point with stdout and stderr captured.</summary>
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int code = Program.Main(args);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }
}
