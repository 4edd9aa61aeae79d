using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Cllm.Tests.Reliability;
using Microsoft.CodeAnalysis;

namespace Cllm.Tests.Packaging;

/// <summary>
/// The README's "Use it from code" snippets compile as written: the engine snippet with only its own <c>using Cllm;</c>
/// (plus <c>System</c>, which an app's implicit usings bring), the hosting snippet against an <c>IServiceCollection services</c>.
/// </summary>
public class ReadmeSnippetTests
{
    [Fact]
    public void UseItFromCodeSnippetsCompile()
    {
        var root = RepositoryCompilations.FindRepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        int start = readme.IndexOf("## Use it from code", StringComparison.Ordinal);
        int end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var blocks = Regex.Matches(readme[start..end], "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(2, blocks.Length);

        var (usings, fromCode) = Split(blocks[0]);
        Assert.Equal(new[] { "using Cllm;" }, usings);
        var (hostingUsings, hosting) = Split(blocks[1]);
        var source = $$"""
            using System;
            {{string.Join('\n', usings.Concat(hostingUsings).Distinct())}}

            internal static class FromCode
            {
                public static void Run()
                {
            {{fromCode}}
                }
            }

            internal static class Hosting
            {
                public static void Run(IServiceCollection services)
                {
            {{hosting}}
                }
            }
            """;
        var errors = RepositoryCompilations.CreateSnippet(source, "README.md").GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => d.ToString())
            .ToArray();
        Assert.True(errors.Length == 0, string.Join('\n', errors) + "\n" + source);
    }

    /// <summary>The block's <c>using X;</c> directives and the rest.</summary>
    private static (string[] Usings, string Body) Split(string block)
    {
        var lines = block.Split('\n');
        var usings = lines.Where(l => Regex.IsMatch(l, @"^using [A-Za-z.]+;")).Select(l => l[..(l.IndexOf(';') + 1)]).ToArray();
        return (usings, string.Join('\n', lines.Where(l => !Regex.IsMatch(l, @"^using [A-Za-z.]+;"))));
    }
}
