using System;
using System.IO;
using Cllm.Checkpoints;

namespace Cllm.Cli;

/// <summary>Turns expected failures into one clear line on stderr and a non-zero exit code.</summary>
internal static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is CheckpointException or ArgumentException or FormatException or IOException or InvalidDataException or NotSupportedException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
