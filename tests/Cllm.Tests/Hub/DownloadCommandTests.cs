using System;
using System.CommandLine;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using Cllm.CommandLine.Commands;
using Cllm.Tests.TestKit;
using Cllm.Tools;
using static Cllm.Tests.Hub.HubTestKit;

namespace Cllm.Tests.Hub;

public class DownloadCommandTests
{
    [Fact]
    public async Task DownloadsTheSelectedFilesAndPrintsASummary()
    {
        await using var hub = new FakeHub();
        var config = hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        var model = hub.Add("model.safetensors", Bytes(40, 50_000), lfs: true);
        hub.Add("pytorch_model.bin", Bytes(41, 10));
        hub.InterruptAfter["model.safetensors"] = 20_000;
        using var temp = new TempFolder();
        var output = temp.File("model");

        var (code, stdout, stderr) = await RunAsync(hub, "download", hub.RepoId, "--output", output, "--include", "*.json", "*.safetensors");

        Assert.True(code == 0, stderr);
        Assert.Equal(config.Content, File.ReadAllBytes(Path.Combine(output, "config.json")));
        Assert.Equal(model.Content, File.ReadAllBytes(Path.Combine(output, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(output, "pytorch_model.bin")));
        Assert.StartsWith($"org/tiny@main ({FakeHub.DefaultCommit[..12]}): 2 files, 50.0 kB in {output} (2 downloaded", stdout, StringComparison.Ordinal);
        Assert.Contains("[2/2] model.safetensors: ", stderr, StringComparison.Ordinal);
        Assert.Contains("retrying", stderr, StringComparison.Ordinal);
        Assert.Contains("[2/2] model.safetensors: 50.0 kB done", stderr, StringComparison.Ordinal);

        (code, stdout, stderr) = await RunAsync(hub, "download", hub.RepoId, "-o", output, "--include", "*.json", "--include", "*.safetensors", "--revision", FakeHub.DefaultCommit);
        Assert.Equal(0, code);
        Assert.Contains("2 already complete", stdout, StringComparison.Ordinal);
        Assert.Contains("[1/2] config.json: already complete, skipped", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ErrorsAreOneLineAndNonZero()
    {
        await using var hub = new FakeHub { RequiredToken = "hf_needed" };
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        using var temp = new TempFolder();

        var (code, stdout, stderr) = await RunAsync(hub, "download", hub.RepoId, "--output", temp.Path);
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));

        (code, _, stderr) = await RunAsync(hub, "download", "not-a-repo", "--output", temp.Path);
        Assert.Equal(1, code);
        Assert.Contains("owner/name", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", stderr, StringComparison.Ordinal);                  // .NET's argument decoration is not shown

        (code, _, stderr) = await RunAsync(hub, "download", hub.RepoId, "--output", temp.Path, "--revision", " main");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --revision ' main' is not", stderr, StringComparison.Ordinal);

        // A failed download leaves no output folder that it made itself (a malformed id fails before making it).
        foreach (var repo in new[] { "not-a-repo", hub.RepoId })
        {
            string fresh = temp.File("fresh");
            (code, _, stderr) = await RunAsync(hub, "download", repo, "--output", fresh);
            Assert.Equal(1, code);
            Assert.Single(stderr.TrimEnd().Split('\n'));
            Assert.False(Directory.Exists(fresh), stderr);
        }

        (code, _, _) = await RunAsync(hub, "download", hub.RepoId);                                 // --output is required
        Assert.NotEqual(0, code);

        (code, _, _) = await RunAsync(hub, "download", hub.RepoId, "--output", temp.Path, "--token-from-env", "x");
        Assert.NotEqual(0, code);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public async Task TheTokenComesFromHfToken()
    {
        await using var hub = new FakeHub { RequiredToken = "hf_needed" };
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        using var temp = new TempFolder();
        var (code, _, stderr) = await RunWithTokenAsync(hub, "hf_needed", "download", hub.RepoId, "--output", temp.Path);
        Assert.True(code == 0, stderr);
        Assert.All(hub.Requests, r => Assert.Equal("Bearer hf_needed", r.Header("Authorization")));
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(FakeHub hub, params string[] args) => RunWithTokenAsync(hub, null, args);

    /// <summary>Runs the command as <c>cllm</c> would, with HF_ENDPOINT pointing at <paramref name="hub"/>, capturing both streams.</summary>
    private static async Task<(int Code, string Stdout, string Stderr)> RunWithTokenAsync(FakeHub hub, string? token, params string[] args)
    {
        string? Environment(string name) => name switch
        {
            "HF_ENDPOINT" => hub.Url.AbsoluteUri,
            "HF_TOKEN" => token,
            _ => null,
        };
        var root = new RootCommand("test") { DownloadCommand.Create(Environment, interactive: () => false) };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var cts = Timeout();
        int code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr }, cts.Token);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
