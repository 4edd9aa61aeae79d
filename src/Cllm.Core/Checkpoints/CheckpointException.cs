using System;

namespace Cllm.Core;

/// <summary>
/// A checkpoint folder or file could not be used. The message names the file and what is wrong with it.
/// </summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file (or folder) at fault.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}
