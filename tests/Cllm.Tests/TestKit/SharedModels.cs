using System;
using System.IO;

namespace Cllm.Tests.TestKit;

/// <summary>Finds the project's shared model folder (<c>../shared/models</c> next to the repository or a parent of it).</summary>
internal static class SharedModels
{
    /// <summary>
    /// The <c>stories260K</c> folder, or null. Walks up from the test binaries to the folder holding Cllm.sln, then
    /// looks for <c>shared/models/stories260K</c> beside it and beside each of its parents (a git worktree may sit one
    /// level deeper than the main checkout).
    /// </summary>
    public static string? Stories260K { get; } = Find("stories260K");

    public static string SkipMessage =>
        $"shared model folder shared/models/stories260K not found next to the repository root or its parents (searched from {AppContext.BaseDirectory})";

    private static string? Find(string model)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Cllm.sln")))
        {
            root = root.Parent;
        }

        for (var dir = root?.Parent; dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "models", model);
            if (File.Exists(Path.Combine(candidate, "config.json")))
            {
                return candidate;
            }
        }

        return null;
    }
}
