using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Packaging;

/// <summary>
/// Every relative link in the repository's documentation (README.md, docs/, ARCHITECTURE.md, REPRODUCTION.md,
/// benchmarks/ and samples/ READMEs) points at a file or folder that exists, and a <c>#fragment</c> into a Markdown file
/// names one of its headings (GitHub's anchor rules).
/// </summary>
public class DocumentationLinkTests
{
    private static readonly Regex Link = new(@"!?\[[^\]]*\]\(([^)\s]+)\)", RegexOptions.Compiled);

    [Fact]
    public void RelativeLinksResolve()
    {
        string root = ShippedModels.RepositoryRoot;
        var documents = DocumentationFiles(root).ToList();
        Assert.Contains(Path.Combine(root, "README.md"), documents);
        Assert.Contains(documents, d => Path.GetDirectoryName(d) == Path.Combine(root, "docs"));

        var broken = new List<string>();
        int checkedLinks = 0;
        foreach (var document in documents)
        {
            foreach (var (line, target) in Links(File.ReadAllText(document)))
            {
                if (Regex.IsMatch(target, "^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase))
                {
                    continue;   // http:, https:, mailto:
                }

                checkedLinks++;
                string where = $"{Path.GetRelativePath(root, document)}:{line}: {target}";
                int hash = target.IndexOf('#', StringComparison.Ordinal);
                string path = hash < 0 ? target : target[..hash];
                string fragment = hash < 0 ? string.Empty : target[(hash + 1)..];
                string resolved = path.Length == 0 ? document : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(document)!, Uri.UnescapeDataString(path)));
                string relative = Path.GetRelativePath(root, resolved).Replace('\\', '/');
                if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    broken.Add($"{where} (no such file)");

                    continue;
                }

                if (fragment.Length > 0 && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(File.ReadAllText(resolved)).Contains(fragment))
                {
                    broken.Add($"{where} (no heading with anchor #{fragment} in {relative})");
                }
            }
        }

        Assert.True(checkedLinks > 20, $"only {checkedLinks} relative links found: the link pattern no longer matches the documents");
        Assert.True(broken.Count == 0, "broken documentation links:\n" + string.Join('\n', broken));
    }

    [Theory]
    [InlineData("## Native libtorch", "native-libtorch")]
    [InlineData("### The lean forward's workspace", "the-lean-forwards-workspace")]
    [InlineData("## Published CLLMs (7B, Hugging Face org `cllm`)", "published-cllms-7b-hugging-face-org-cllm")]
    [InlineData("## Past one machine: collecting and training a 7B", "past-one-machine-collecting-and-training-a-7b")]
    public void AnchorsFollowGitHubsRules(string heading, string anchor)
        => Assert.Contains(anchor, Anchors(heading + "\n"));

    private static IEnumerable<string> DocumentationFiles(string root)
    {
        foreach (var name in new[] { "README.md", "ARCHITECTURE.md", "REPRODUCTION.md" })
        {
            yield return Path.Combine(root, name);
        }

        foreach (var folder in new[] { "docs", "benchmarks", "samples" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.md", SearchOption.AllDirectories))
            {
                var parts = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar);
                if (!parts.Contains("bin") && !parts.Contains("obj"))
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>Link targets with their line numbers, outside fenced code blocks and inline code.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string markdown)
    {
        bool fenced = false;
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (fenced)
            {
                continue;
            }

            string text = Regex.Replace(lines[i], "`[^`]*`", string.Empty);
            foreach (Match match in Link.Matches(text))
            {
                yield return (i + 1, match.Groups[1].Value);
            }
        }
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation other than '-' and '_' dropped, spaces to '-', repeats numbered.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool fenced = false;
        foreach (var line in markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
            }

            var heading = fenced ? Match.Empty : Regex.Match(line, @"^#{1,6}\s+(.*?)\s*#*\s*$");
            if (!heading.Success)
            {
                continue;
            }

            string slug = new string(heading.Groups[1].Value.ToLowerInvariant()
                .Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-');
            int count = seen.GetValueOrDefault(slug);
            seen[slug] = count + 1;
            anchors.Add(count == 0 ? slug : $"{slug}-{count}");
        }

        return anchors;
    }
}
