using System;
using System.IO;

namespace Cllm.Tests;

/// <summary>Locates shared test assets relative to the repository.</summary>
internal static class TestPaths
{
    /// <summary>
    /// The stories260K model folder: <c>../shared/models/stories260K</c> next to the repository root (the
    /// folder holding <c>Cllm.sln</c>), or, for a git worktree kept deeper, the same path under a further
    /// ancestor. Null when absent.
    /// </summary>
    public static string? Stories260K => FindShared(Path.Combine("models", "stories260K"));

    /// <summary>The repository root: the nearest ancestor of the test binaries holding <c>Cllm.sln</c>.</summary>
    public static string? RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Cllm.sln")))
                {
                    return dir.FullName;
                }
            }

            return null;
        }
    }

    private static string? FindShared(string relative)
    {
        string? root = RepositoryRoot;
        if (root is null)
        {
            return null;
        }

        for (var dir = Directory.GetParent(root); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", relative);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
