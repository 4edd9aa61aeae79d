using System;
using System.IO;
using Cllm.Core;
using Cllm.Tools;

namespace Cllm.Tests.Hub;

public class HubPathTests
{
    [Theory]
    [InlineData("*.json", "config.json", true)]
    [InlineData("*.json", "sub/dir/config.json", true)]                                      // '*' crosses '/', as fnmatch
    [InlineData("*.json", "config.jsonl", false)]
    [InlineData("tokenizer.model", "tokenizer.model", true)]
    [InlineData("tokenizer.model", "sub/tokenizer.model", false)]
    [InlineData("model-?????-of-*.safetensors", "model-00001-of-00002.safetensors", true)]
    [InlineData("model-?????-of-*.safetensors", "model-001-of-002.safetensors", false)]
    [InlineData("*", "anything/at/all", true)]
    [InlineData("docs/", "docs/a/b.md", true)]
    [InlineData("docs/", "docs", false)]
    [InlineData("*.JSON", "config.json", false)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("", "", true)]
    public void PatternsMatchLikeFnmatch(string pattern, string path, bool expected) =>
        Assert.Equal(expected, FilePattern.Matches(pattern, path));

    [Fact]
    public void IncludeThenExclude()
    {
        Assert.True(FilePattern.Selects(Array.Empty<string>(), Array.Empty<string>(), "x.bin"));
        Assert.False(FilePattern.Selects(Array.Empty<string>(), new[] { "*.bin" }, "x.bin"));
        Assert.True(FilePattern.Selects(new[] { "*.bin", "*.json" }, new[] { "big*" }, "x.json"));
        Assert.False(FilePattern.Selects(new[] { "*.bin" }, new[] { "big*" }, "big.bin"));
        Assert.Throws<ArgumentException>(() => new HubDownloader(new HubDownloadOptions { Endpoint = "http://127.0.0.1:1", Include = new[] { " " } }));
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("sub/dir/model.safetensors")]
    [InlineData("name with spaces.txt")]
    [InlineData(".gitattributes")]
    [InlineData("a..b")]
    [InlineData("ünïcødé/файл.json")]
    public void PlainRelativeNamesAreSafe(string name)
    {
        Assert.Null(HubPaths.UnsafeReason(name));
        var root = Path.GetFullPath(Path.Combine(Path.GetTempPath(), "root"));
        Assert.StartsWith(root + Path.DirectorySeparatorChar, HubPaths.LocalPath(root, name), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../x", "'..' path segment")]
    [InlineData("a/./x", "'.' path segment")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("C:\\x", "backslash")]
    [InlineData("C:/x", "':'")]
    [InlineData("a/", "empty path segment")]
    [InlineData("a\tb", "control characters")]
    [InlineData("", "empty")]
    public void EscapingNamesAreUnsafe(string name, string reason) =>
        Assert.Contains(reason, HubPaths.UnsafeReason(name), StringComparison.Ordinal);

    [Theory]
    [InlineData("meta-llama/Llama-3.2-1B", true)]
    [InlineData("TinyLlama/TinyLlama_v1.1", true)]
    [InlineData("a/b", true)]
    [InlineData("gpt2", false)]
    [InlineData("a/b/c", false)]
    [InlineData("a/.b", false)]
    [InlineData("a/b..c", false)]
    public void RepositoryIdsNeedTheOwnerNameShape(string repoId, bool valid)
    {
        var ex = Record.Exception(() => HubPaths.CheckRepoId(repoId));
        Assert.Equal(valid, ex is null);
    }

    [Fact]
    public void UrlsEscapeRevisionsAndPathSegments()
    {
        var endpoint = new Uri("https://hub.example/mirror/");
        Assert.Equal("https://hub.example/mirror/api/models/o/n/revision/refs%2Fpr%2F1?blobs=true", HubPaths.ModelInfoUrl(endpoint, "o/n", "refs/pr/1").AbsoluteUri);
        Assert.Equal("https://hub.example/mirror/o/n/resolve/main/sub/a%20b%23c%3F.json", HubPaths.ResolveUrl(endpoint, "o/n", "main", "sub/a b#c?.json").AbsoluteUri);
        Assert.True(HubPaths.IsCommitId(new string('a', 40)));
        Assert.False(HubPaths.IsCommitId("main"));
    }
}
