using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Cllm.Tests.Reliability;

/// <summary>
/// Roslyn compilations of the repository's <c>src/*/</c> and <c>samples/*/</c> projects and of the measuring code that
/// the command line and the samples run (<c>benchmarks/Cllm.Benchmarking</c>, <c>benchmarks/Cllm.Profile</c>), made from their .cs files (obj/ and
/// bin/ excluded) as the SDK would: project references, transitively, become compilation references; packages come from
/// this test's output folder and the framework from the trusted platform assemblies. Source generators do not run, so the
/// only errors to expect are partial methods that [GeneratedRegex] or [LoggerMessage] would implement (<see cref="IsGeneratorGap"/>).
/// </summary>
internal static class RepositoryCompilations
{
    private static readonly string[] ProjectFolders = { "src", "samples" };
    private static readonly string[] SingleProjects = { "benchmarks/Cllm.Benchmarking", "benchmarks/Cllm.Profile" };
    private static readonly string[] GeneratorAttributes = { "GeneratedRegex", "LoggerMessage" };

    private static readonly CSharpParseOptions ParseOptions = new(
        LanguageVersion.Latest,
        preprocessorSymbols: new[] { "NET", "NETCOREAPP", "NET10_0", "NET10_0_OR_GREATER", "RELEASE", "TRACE" });

    /// <summary>The folder holding Cllm.sln, found by walking up from the test's output folder.</summary>
    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cllm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Cllm.sln not found in any folder above {AppContext.BaseDirectory}");
    }

    /// <summary>One compilation per project with at least one .cs file, referenced projects first.</summary>
    public static IReadOnlyList<CSharpCompilation> Create(string root)
    {
        var projects = ProjectFolders
            .Select(folder => Path.Combine(root, folder))
            .Where(Directory.Exists)
            .SelectMany(Directory.GetDirectories)
            .Concat(SingleProjects.Select(folder => Path.Combine(root, folder)))
            .SelectMany(dir => Directory.GetFiles(dir, "*.csproj"))
            .Select(Path.GetFullPath)
            .OrderBy(p => p, StringComparer.Ordinal)
            .ToList();
        var assemblyNames = projects.Select(p => ReadProject(p).AssemblyName).Append("Cllm.Tests");
        var references = References(assemblyNames);
        var built = new Dictionary<string, (CSharpCompilation? Compilation, HashSet<string> Closure)>(StringComparer.Ordinal);
        var order = new List<CSharpCompilation>();
        foreach (var project in projects)
        {
            Build(project, references, built, order, new HashSet<string>(StringComparer.Ordinal));
        }

        return order;
    }

    /// <summary>A compilation of one in-memory file against the same framework and package assemblies.</summary>
    public static CSharpCompilation CreateSnippet(string source, string path)
    {
        var tree = CSharpSyntaxTree.ParseText(source, ParseOptions, path);
        return CSharpCompilation.Create(
            "ScalarSafetySnippet",
            new[] { tree },
            References(new[] { "Cllm.Tests" }),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Disable));
    }

    /// <summary>
    /// True for the errors that only exist because source generators do not run here: CS8795/CS9248 (a partial method or
    /// property without an implementation) on a member marked [GeneratedRegex] or [LoggerMessage].
    /// </summary>
    public static bool IsGeneratorGap(Diagnostic diagnostic)
    {
        if (diagnostic.Id is not ("CS8795" or "CS9248") || diagnostic.Location.SourceTree is not { } tree)
        {
            return false;
        }

        var member = tree.GetRoot().FindNode(diagnostic.Location.SourceSpan).AncestorsAndSelf().OfType<MemberDeclarationSyntax>().FirstOrDefault();
        return member is not null && member.AttributeLists
            .SelectMany(list => list.Attributes)
            .Select(attribute => attribute.Name.ToString())
            .Any(name => GeneratorAttributes.Any(g => name == g || name == g + "Attribute" || name.EndsWith("." + g, StringComparison.Ordinal) || name.EndsWith("." + g + "Attribute", StringComparison.Ordinal)));
    }

    private static HashSet<string> Build(
        string project,
        IReadOnlyList<MetadataReference> references,
        Dictionary<string, (CSharpCompilation? Compilation, HashSet<string> Closure)> built,
        List<CSharpCompilation> order,
        HashSet<string> visiting)
    {
        if (built.TryGetValue(project, out var done))
        {
            return done.Closure;
        }

        if (!visiting.Add(project))
        {
            throw new InvalidOperationException($"Project reference cycle through {project}");
        }

        var info = ReadProject(project);
        var closure = new HashSet<string>(StringComparer.Ordinal);
        foreach (var reference in info.ProjectReferences)
        {
            closure.Add(reference);
            closure.UnionWith(Build(reference, references, built, order, visiting));
        }

        var dir = Path.GetDirectoryName(project)!;
        var files = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(file => !Path.GetRelativePath(dir, file).Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).SkipLast(1).Any(part => part is "obj" or "bin"))
            .OrderBy(file => file, StringComparer.Ordinal)
            .ToList();
        CSharpCompilation? compilation = null;
        if (files.Count > 0)
        {
            var trees = files.AsParallel().AsOrdered().Select(file => CSharpSyntaxTree.ParseText(File.ReadAllText(file), ParseOptions, file)).ToList();
            trees.Add(CSharpSyntaxTree.ParseText(ProjectGlobals(info), ParseOptions, path: string.Empty));
            var projectReferences = closure
                .Select(p => built[p].Compilation)
                .OfType<CSharpCompilation>()
                .Select(c => (MetadataReference)c.ToMetadataReference());
            // Nullable analysis is off: it changes no binding the scan looks at and takes a third of the time.
            compilation = CSharpCompilation.Create(
                info.AssemblyName,
                trees,
                references.Concat(projectReferences),
                new CSharpCompilationOptions(info.Kind, nullableContextOptions: NullableContextOptions.Disable, allowUnsafe: true));
            order.Add(compilation);
        }

        visiting.Remove(project);
        built[project] = (compilation, closure);
        return closure;
    }

    // What the SDK generates into obj/: global usings from <Using> items and [InternalsVisibleTo] from <InternalsVisibleTo> items.
    private static string ProjectGlobals(ProjectInfo info) =>
        string.Concat(info.Usings.Select(u => $"global using {u};\n"))
        + string.Concat(info.InternalsVisibleTo.Select(a => $"[assembly: System.Runtime.CompilerServices.InternalsVisibleTo(\"{a}\")]\n"));

    /// <summary>
    /// What a project file says: its assembly name and kind, whether it is a test project, the projects it compiles
    /// against (full paths; a build-order-only reference, <c>ReferenceOutputAssembly="false"</c>, is not one), its global
    /// usings and InternalsVisibleTo items.
    /// </summary>
    internal static ProjectInfo ReadProject(string project)
    {
        var xml = XDocument.Load(project);
        var dir = Path.GetDirectoryName(project)!;
        IEnumerable<string> Items(string name) => xml.Descendants(name).Select(e => (string?)e.Attribute("Include")).OfType<string>();
        string? Property(string name) => xml.Descendants(name).Select(e => e.Value.Trim()).LastOrDefault();

        var assemblyName = Property("AssemblyName") ?? Path.GetFileNameWithoutExtension(project);
        var kind = string.Equals(Property("OutputType"), "Exe", StringComparison.OrdinalIgnoreCase) ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary;
        bool isTest = string.Equals(Property("IsTestProject"), "true", StringComparison.OrdinalIgnoreCase);
        var projectReferences = xml.Descendants("ProjectReference")
            .Where(r => !string.Equals((string?)r.Attribute("ReferenceOutputAssembly"), "false", StringComparison.OrdinalIgnoreCase))
            .Select(r => (string?)r.Attribute("Include")).OfType<string>()
            .Select(r => Path.GetFullPath(Path.Combine(dir, r.Replace('\\', '/')))).ToList();
        return new ProjectInfo(assemblyName, kind, isTest, projectReferences, Items("Using").ToList(), Items("InternalsVisibleTo").ToList());
    }

    // The framework (trusted platform assemblies in the shared framework folder) and the packages in this test's output
    // folder, without the assemblies that are compiled from source here.
    private static IReadOnlyList<MetadataReference> References(IEnumerable<string> excludedAssemblyNames)
    {
        var excluded = new HashSet<string>(excludedAssemblyNames, StringComparer.OrdinalIgnoreCase);
        var frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var trusted = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var framework = trusted
            .Where(path => string.Equals(Path.GetDirectoryName(path), frameworkDir, StringComparison.Ordinal) && path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var frameworkNames = new HashSet<string>(framework.Select(Path.GetFileNameWithoutExtension)!, StringComparer.OrdinalIgnoreCase);
        var packages = Directory.GetFiles(AppContext.BaseDirectory, "*.dll")
            .Where(path => !excluded.Contains(Path.GetFileNameWithoutExtension(path)) && !frameworkNames.Contains(Path.GetFileNameWithoutExtension(path)))
            .Where(IsManagedAssembly);
        return framework.Concat(packages)
            .OrderBy(path => path, StringComparer.Ordinal)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToList();
    }

    private static bool IsManagedAssembly(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new PEReader(stream);
        return reader.HasMetadata && reader.GetMetadataReader().IsAssembly;
    }

    internal sealed record ProjectInfo(string AssemblyName, OutputKind Kind, bool IsTest, List<string> ProjectReferences, List<string> Usings, List<string> InternalsVisibleTo);
}
