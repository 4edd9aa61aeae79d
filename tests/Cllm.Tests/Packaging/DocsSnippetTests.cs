using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Cllm.Tests.Reliability;
using Microsoft.CodeAnalysis;

namespace Cllm.Tests.Packaging;

/// <summary>
/// Every C# block in docs/ compiles as written against the public API only (the snippet's assembly sees no internals):
/// its <c>using X;</c> lines become usings, the rest the body of an async method with a <c>HostApplicationBuilder
/// builder</c> in scope (the hosting blocks' <c>builder.Services</c>); a page's blocks share their usings. The blocks are excerpts of an app, so the package's
/// namespaces (Cllm, Cllm.Core) and a hosted app's (System.*, dependency injection, hosting) are imported for them.
/// </summary>
public class DocsSnippetTests
{
    private static readonly string[] Imported = { "using Cllm;", "using Cllm.Core;", "using Microsoft.Extensions.DependencyInjection;", "using Microsoft.Extensions.Hosting;" };

    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryCompilations.FindRepositoryRoot(), "docs"), "*.md").OrderBy(f => f, StringComparer.Ordinal))
        {
            if (File.ReadAllText(file).Contains("```csharp", StringComparison.Ordinal))
            {
                data.Add(Path.GetFileName(file));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void CSharpBlocksCompileAgainstThePublicApi(string document)
    {
        string path = Path.Combine(RepositoryCompilations.FindRepositoryRoot(), "docs", document);
        var text = File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal);
        var blocks = Regex.Matches(text, "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(blocks);
        var usings = new System.Collections.Generic.List<string>();                       // a page's blocks are one app: a using shown once holds for the later blocks
        for (int i = 0; i < blocks.Length; i++)
        {
            var lines = blocks[i].Split('\n');
            static bool IsUsing(string l) => Regex.IsMatch(l, @"^using [A-Za-z.]+;");
            usings.AddRange(lines.Where(IsUsing).Select(l => l[..(l.IndexOf(';') + 1)]).Except(usings).Except(Imported).ToList());
            string source = $$"""
                using System;
                using System.Collections.Generic;
                using System.Linq;
                using System.Threading.Tasks;
                using Cllm;
                using Cllm.Core;
                using Microsoft.Extensions.DependencyInjection;
                using Microsoft.Extensions.Hosting;
                {{string.Join('\n', usings)}}

                internal static class Snippet
                {
                    public static async Task Run(HostApplicationBuilder builder)
                    {
                        await Task.Yield();
                {{string.Join('\n', lines.Where(l => !IsUsing(l)))}}
                    }
                }
                """;
            var errors = RepositoryCompilations.CreateSnippet(source, $"docs/{document}").GetDiagnostics()
                .Where(d => d.Severity == DiagnosticSeverity.Error)
                .Select(d => d.ToString())
                .ToArray();
            Assert.True(errors.Length == 0, $"docs/{document}, C# block {i + 1}:\n{string.Join('\n', errors)}\n{source}");
        }
    }
}
