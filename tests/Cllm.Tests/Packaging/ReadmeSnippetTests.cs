using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Cllm.Tests.Reliability;
using Cllm.Tests.TestKit;
using Microsoft.CodeAnalysis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Cllm.Tests.Packaging;

/// <summary>
/// The README's "Use it from code" snippets compile as written: the engine snippet with only its own <c>using Cllm;</c>
/// (plus <c>System</c>, which an app's implicit usings bring), the hosting snippet as a program of its own (it makes its
/// <c>services</c> and asks for a <c>response</c>); and the hosting snippet, pasted as is with the model path filled in,
/// serves a chat response (UseLogging included: without AddLogging it would throw).
/// </summary>
public class ReadmeSnippetTests
{
    private const string ModelPlaceholder = "\"path/to/hf-llama-folder\"";

    [Fact]
    public void UseItFromCodeSnippetsCompile()
    {
        var (usings, fromCode, hostingUsings, hosting) = Snippets();
        Assert.Equal(new[] { "using Cllm;" }, usings);
        var source = Program(usings.Concat(hostingUsings), fromCode, hosting);
        var errors = Errors(RepositoryCompilations.CreateSnippet(source, "README.md"));
        Assert.True(errors.Length == 0, string.Join('\n', errors) + "\n" + source);
    }

    [Fact]
    public async Task HostingSnippetServesAChatResponseAsPasted()
    {
        var (usings, fromCode, hostingUsings, hosting) = Snippets();
        Assert.Contains(ModelPlaceholder, hosting, StringComparison.Ordinal);
        string model = "@\"" + ShippedModels.Stories260K.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var source = Program(usings.Concat(hostingUsings), fromCode, hosting.Replace(ModelPlaceholder, model, StringComparison.Ordinal));
        var compilation = RepositoryCompilations.CreateSnippet(source, "README.md");

        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, string.Join('\n', Errors(compilation)) + "\n" + source);
        var run = Assembly.Load(image.ToArray()).GetType("Hosting", throwOnError: true)!.GetMethod("Run")!;

        // The snippet builds its own provider (UseLogging resolving the ILoggerFactory AddLogging registers) and asks once.
        var (response, logging) = await (Task<(ChatResponse, bool)>)run.Invoke(null, null)!;

        // The same words the packaged-app test and the stories260K reference give for this prompt under greedy decoding.
        Assert.StartsWith(", there was a little girl", response.Text, StringComparison.Ordinal);
        Assert.True(logging, "UseLogging put no LoggingChatClient in the pipeline");
    }

    [Fact]
    public void TheReadmesTestCommandIsTheOneCiRuns()
    {
        string root = RepositoryCompilations.FindRepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        int start = readme.IndexOf("## Two commands on a fresh machine", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no \"## Two commands on a fresh machine\" section");
        var commands = Regex.Match(readme[start..], "```bash\n(.*?)```", RegexOptions.Singleline).Groups[1].Value
            .Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        Assert.Equal(new[] { "dotnet run --project samples/Cllm.Quickstart -c Release", "dotnet test Cllm.sln -c Release" }, commands);
        Assert.True(File.Exists(Path.Combine(root, "samples", "Cllm.Quickstart", "Cllm.Quickstart.csproj")));

        // .ci/run's first test run is the README's command as typed (its output piped to a log).
        var ci = File.ReadAllLines(Path.Combine(root, ".ci", "run")).Select(l => l.Trim()).Where(l => l.StartsWith("dotnet test ", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(ci);
        Assert.StartsWith(commands[1] + " 2>&1", ci[0], StringComparison.Ordinal);
    }

    /// <summary>The two C# blocks of the README's "Use it from code" section, each split into usings and body.</summary>
    private static (string[] Usings, string FromCode, string[] HostingUsings, string Hosting) Snippets()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryCompilations.FindRepositoryRoot(), "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        int start = readme.IndexOf("## Use it from code", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no \"## Use it from code\" section");
        int end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var blocks = Regex.Matches(readme[start..(end < 0 ? readme.Length : end)], "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(2, blocks.Length);
        var (usings, fromCode) = Split(blocks[0]);
        var (hostingUsings, hosting) = Split(blocks[1]);
        return (usings, fromCode, hostingUsings, hosting);
    }

    private static string Program(System.Collections.Generic.IEnumerable<string> usings, string fromCode, string hosting) => $$"""
        using System;
        {{string.Join('\n', usings.Distinct())}}

        internal static class FromCode
        {
            public static void Run()
            {
        {{fromCode}}
            }
        }

        public static class Hosting
        {
            public static async System.Threading.Tasks.Task<(ChatResponse, bool)> Run()
            {
        {{hosting}}
                return (response, provider.GetRequiredService<IChatClient>().GetService(typeof(LoggingChatClient)) is not null);
            }
        }
        """;

    private static string[] Errors(Compilation compilation) => compilation.GetDiagnostics()
        .Where(d => d.Severity == DiagnosticSeverity.Error)
        .Select(d => d.ToString())
        .ToArray();

    /// <summary>The block's <c>using X;</c> directives and the rest.</summary>
    private static (string[] Usings, string Body) Split(string block)
    {
        var lines = block.Split('\n');
        var usings = lines.Where(l => Regex.IsMatch(l, @"^using [A-Za-z.]+;")).Select(l => l[..(l.IndexOf(';') + 1)]).ToArray();
        return (usings, string.Join('\n', lines.Where(l => !Regex.IsMatch(l, @"^using [A-Za-z.]+;"))));
    }
}
