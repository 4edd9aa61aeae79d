using System;
using System.IO;

namespace Cllm.Tests.TestKit;

/// <summary>Models committed under <c>samples/models</c>, found from the repository root (the folder holding Cllm.sln).</summary>
internal static class ShippedModels
{
    /// <summary>
    /// <c>samples/models/stories260K</c>: the 260K-parameter TinyStories LLaMA with its tokenizer and reference greedy
    /// outputs. It is part of the repository, so a missing folder fails the test rather than skipping it.
    /// </summary>
    public static string Stories260K => Folder("stories260K");

    /// <summary>The folder holding Cllm.sln, found above the test binaries.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Cllm.sln")))
            {
                root = root.Parent;
            }

            return root?.FullName ?? throw new DirectoryNotFoundException($"repository root (Cllm.sln) not found above {AppContext.BaseDirectory}");
        }
    }

    public static string Folder(string name)
    {
        string folder = Path.Combine(RepositoryRoot, "samples", "models", name);
        if (!File.Exists(Path.Combine(folder, "config.json")))
        {
            throw new FileNotFoundException($"{folder}/config.json is missing: the shipped model is part of the repository");
        }

        return folder;
    }
}
