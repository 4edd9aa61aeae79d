using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cllm.Tests.Reliability;
using Cllm.Tests.TestKit;
using Microsoft.CodeAnalysis;

namespace Cllm.Tests.Packaging;

/// <summary>
/// The project graph shows the architecture: the libraries depend one way (Core ← Decoding ← Training); an executable's
/// code is referenced only by that executable's own test project, so the library tests and the benchmarks run the
/// command line through its library (Cllm.CommandLine), never through the <c>cllm</c> executable; measuring code lives
/// under benchmarks/.
/// </summary>
public class ProjectLayoutTests
{
    private sealed record ProjectFile(string Path, string Name, bool IsExe, bool IsTest, IReadOnlyList<string> References);

    [Fact]
    public void OnlyAnExecutablesOwnTestProjectReferencesIt()
    {
        var projects = Projects();
        var byPath = projects.ToDictionary(p => p.Path, StringComparer.Ordinal);
        Assert.Contains(projects, p => p.IsExe);

        var offenders = new List<string>();
        foreach (var project in projects)
        {
            foreach (var exe in project.References.Select(r => byPath[r]).Where(r => r.IsExe))
            {
                if (!(project.IsTest && project.Name == exe.Name + ".Tests"))
                {
                    offenders.Add($"{project.Name} references the executable {exe.Name}");
                }
            }
        }

        Assert.Empty(offenders);
    }

    [Fact]
    public void LibrariesDependOneWay()
    {
        var byName = Projects().ToDictionary(p => p.Name, StringComparer.Ordinal);
        string[] Direct(string name) => byName[name].References.Select(r => Path.GetFileNameWithoutExtension(r)).Order(StringComparer.Ordinal).ToArray();

        Assert.Empty(Direct("Cllm.Core"));
        Assert.Equal(["Cllm.Core"], Direct("Cllm.Decoding"));
        Assert.Equal(["Cllm.Decoding"], Direct("Cllm.Training"));
        Assert.Equal(["Cllm.Core"], Direct("Cllm.Tools"));
    }

    [Fact]
    public void MeasuringCodeLivesUnderBenchmarks()
    {
        var outside = Projects()
            .Where(p => p.Name.Contains("Benchmark", StringComparison.Ordinal) || p.Name.Contains("Profile", StringComparison.Ordinal))
            .Where(p => !p.Path.StartsWith("benchmarks/", StringComparison.Ordinal))
            .Select(p => p.Path);

        Assert.Empty(outside);
        Assert.False(Directory.Exists(Path.Combine(ShippedModels.RepositoryRoot, "src", "Cllm.Decoding", "Benchmarking")));
    }

    /// <summary>Every project of the repository (src, samples, tests, benchmarks), with its references that compile in.</summary>
    private static List<ProjectFile> Projects()
    {
        string root = ShippedModels.RepositoryRoot;
        var files = new[] { "src", "samples", "tests", "benchmarks" }
            .SelectMany(folder => Directory.GetDirectories(Path.Combine(root, folder)))
            .SelectMany(dir => Directory.GetFiles(dir, "*.csproj"))
            .ToList();
        Assert.NotEmpty(files);
        return files.Select(file =>
        {
            var info = RepositoryCompilations.ReadProject(file);
            return new ProjectFile(
                Relative(root, file),
                Path.GetFileNameWithoutExtension(file),
                info.Kind == OutputKind.ConsoleApplication,
                info.IsTest,
                info.ProjectReferences.Select(r => Relative(root, r)).ToList());
        }).ToList();
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
