using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Cllm.Tests.Reliability;

/// <summary>
/// TorchSharp creates libtorch Scalars implicitly and nothing keeps them alive during the native call. The build bans those
/// APIs (build/BannedSymbols.txt, BannedApiAnalyzers RS0030), but the analyzer misses compound assignments (<c>t += b</c>)
/// and calls through a base type (<c>Optimizer o = adamW; o.step()</c>). These tests compile src/ and samples/ with Roslyn
/// and walk every operation for those gaps (<see cref="ScalarSafetyScanner"/>).
/// </summary>
public class ScalarSafetyTests
{
    private static readonly string Root = RepositoryCompilations.FindRepositoryRoot();

    private static ScalarSafetyScanner NewScanner() =>
        new(ScalarSafetyScanner.ReadBannedIds(Path.Combine(Root, "build", "BannedSymbols.txt")));

    [Fact]
    public void SourcesAndSamplesCreateNoScalarsTheAnalyzerCannotSee()
    {
        var compilations = RepositoryCompilations.Create(Root);
        Assert.Contains(compilations, c => c.AssemblyName == "Cllm.Core");

        // Unresolved references would turn TorchSharp calls into error symbols that no rule matches: the scan must bind everything.
        // The projects are compiled and scanned in parallel (the scan binds every body again through semantic models).
        var scanner = NewScanner();
        var results = compilations
            .AsParallel()
            .Select(c => (
                Errors: c.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && !RepositoryCompilations.IsGeneratorGap(d)).ToList(),
                Findings: scanner.Scan(c, Root)))
            .ToList();
        var errors = results.SelectMany(r => r.Errors).ToList();
        Assert.True(errors.Count == 0, $"The scan's compilations have {errors.Count} errors:\n" + string.Join("\n", errors.Take(20)));

        // Every banned ID must name a real TorchSharp member, or the analyzer and this scan silently skip it.
        var unresolved = scanner.Unresolved(compilations.First(c => c.AssemblyName == "Cllm.Core"));
        Assert.True(unresolved.Count == 0, "build/BannedSymbols.txt entries that name no TorchSharp member:\n" + string.Join("\n", unresolved));

        var findings = results.SelectMany(r => r.Findings).ToList();
        Assert.True(findings.Count == 0, $"{findings.Count} places may create a TorchSharp Scalar that nothing keeps alive:\n" + string.Join("\n", findings));
        Assert.True(scanner.TorchSharpUses > 0, "The scan saw no TorchSharp call at all");
    }

    [Fact]
    public void ScannerReportsCompoundAssignmentsBaseTypeCallsAndImplicitScalars()
    {
        const string source = """
            using TorchSharp;
            using static TorchSharp.torch;

            internal static class Snippet
            {
                public static void Run(Tensor t, Tensor b, nn.Module<Tensor, Tensor> m)
                {
                    t += b; // expected
                    t *= 2.0; // expected
                    optim.Optimizer o = optim.AdamW(m.parameters());
                    o.step(); // expected
                    Scalar s = 1.0; // expected

                    // The safe forms are not reported.
                    using var one = 1.0.ToScalar();
                    using var sum = t.add(b, one);
                    using var product = t * b;
                    int k = 0;
                    k += 2;
                    s.Dispose();
                    o.Dispose();
                }
            }
            """;

        var findings = ScanSnippet(source);

        Assert.True(findings.Count == 4, string.Join("\n", findings));
        AssertReportedLines(source, findings);
    }

    [Fact]
    public void ScannerReportsScriptInvokesThatMayBoxNumbersButNotTensorOnlyOnes()
    {
        const string source = """
            using TorchSharp;
            using static TorchSharp.torch;

            internal static class Snippet
            {
                public static void Run(jit.CompilationUnit unit, Tensor x, Tensor[] many)
                {
                    var a = unit.invoke("f", x, 2.0); // expected
                    var b = unit.invoke<Tensor>("f", new object[] { x }); // expected
                    var c = unit.invoke<Tensor>("f", x, x);
                    var d = unit.invoke<Tensor>("f", many);
                }
            }
            """;

        var findings = ScanSnippet(source);

        Assert.True(findings.Count == 2, string.Join("\n", findings));
        AssertReportedLines(source, findings);
    }

    [Fact]
    public void ScannerReportsModuleCallsThatReachABannedForward()
    {
        const string source = """
            using TorchSharp;
            using static TorchSharp.torch;

            internal static class Snippet
            {
                public static void Run(Tensor x)
                {
                    using var elu = nn.ELU();
                    using var linear = nn.Linear(4, 4);
                    using var a = elu.call(x); // expected
                    using var b = ((nn.Module<Tensor, Tensor>)linear).forward(x); // expected
                    nn.IModule<Tensor, Tensor> viaInterface = linear;
                    using var c = viaInterface.call(x); // expected
                    System.Func<Tensor, Tensor> group = elu.call; // expected
                    using var d = linear.call(x);
                    using var e = linear.forward(x);
                }
            }
            """;

        var findings = ScanSnippet(source);

        AssertReportedLines(source, findings);
    }

    private static List<ScalarSafetyFinding> ScanSnippet(string source)
    {
        var compilation = RepositoryCompilations.CreateSnippet(source, "Snippet.cs");
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return NewScanner().Scan(compilation, string.Empty).ToList();
    }

    // The findings are exactly on the lines marked "// expected".
    private static void AssertReportedLines(string source, IReadOnlyList<ScalarSafetyFinding> findings)
    {
        var expected = source.Split('\n').Select((line, index) => (line, index)).Where(x => x.line.Contains("// expected")).Select(x => x.index + 1).ToList();
        var actual = findings.Select(f => f.Line).OrderBy(l => l).ToList();
        Assert.True(expected.SequenceEqual(actual), $"expected findings on lines {string.Join(", ", expected)}, got:\n" + string.Join("\n", findings));
    }
}
