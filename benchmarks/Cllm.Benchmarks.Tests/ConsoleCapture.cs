namespace Cllm.Benchmarks.Tests;

/// <summary>
/// Tests that run a benchmark command and read what it prints: they swap the process-wide <see cref="System.Console.Out"/>,
/// so they run one at a time in this collection.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCapture
{
    public const string Name = "console capture";
}
