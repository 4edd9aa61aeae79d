using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tools;
using static Cllm.Tests.Hub.HubTestKit;

namespace Cllm.Tests.Hub;

public class HubErrorTests
{
    [Fact]
    public async Task WrongChecksumIsAnErrorAndLeavesNoFile()
    {
        await using var hub = new FakeHub();
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        var model = hub.Add("model.safetensors", Bytes(20, 200_000), lfs: true, listedSha256: FakeHub.Sha256(Bytes(21, 200_000)));
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));

        Assert.Equal(temp.File("model.safetensors"), ex.Location);
        Assert.Contains("SHA-256 mismatch for 'model.safetensors'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"expected {model.ListedSha256}", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"got {FakeHub.Sha256(model.Content)}", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("model.safetensors")));
        Assert.False(File.Exists(temp.File("model.safetensors.incomplete")));
        Assert.True(File.Exists(temp.File("config.json")));                                    // files before it are fine
    }

    [Fact]
    public async Task MissingTokenIsAnErrorThatMentionsHfToken()
    {
        await using var hub = new FakeHub { RequiredToken = "hf_right" };
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        using var temp = new TempFolder();
        using var cts = Timeout();

        using (var anonymous = new HubDownloader(Options(hub)))
        {
            var ex = await Assert.ThrowsAsync<HubException>(() => anonymous.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
            Assert.Equal(401, ex.StatusCode);
            Assert.Contains("HF_TOKEN", ex.Message, StringComparison.Ordinal);
            Assert.Contains("private or gated", ex.Message, StringComparison.Ordinal);
            Assert.StartsWith(hub.Url.AbsoluteUri + "api/models/org/tiny", ex.Message, StringComparison.Ordinal);
        }

        using (var wrong = new HubDownloader(Options(hub, token: "hf_wrong")))
        {
            var ex = await Assert.ThrowsAsync<HubException>(() => wrong.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
            Assert.Contains("the token in HF_TOKEN was refused", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("hf_wrong", ex.Message, StringComparison.Ordinal);
        }

        Assert.Empty(Directory.GetFiles(temp.Path));
        hub.Requests.Clear();
        using (var authorized = new HubDownloader(Options(hub, token: "hf_right")))
        {
            await authorized.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);
        }

        Assert.Equal(2, hub.Requests.Count);
        Assert.All(hub.Requests, r => Assert.Equal("Bearer hf_right", r.Header("Authorization")));
    }

    [Fact]
    public async Task TokenAndEndpointComeFromTheEnvironment()
    {
        await using var hub = new FakeHub { RequiredToken = "hf_from_env" };
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        using var temp = new TempFolder();
        using var cts = Timeout();
        string? Environment(string name) => name switch
        {
            "HF_ENDPOINT" => hub.Url.AbsoluteUri,
            "HF_TOKEN" => "hf_from_env",
            _ => null,
        };

        using (var downloader = new HubDownloader(EnvironmentOptions(Environment)))
        {
            Assert.Equal(hub.Url, downloader.Endpoint);
            Assert.True(downloader.HasToken);
            await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);
        }

        Assert.All(hub.Requests, r => Assert.Equal("Bearer hf_from_env", r.Header("Authorization")));
        using (var noToken = new HubDownloader(EnvironmentOptions(Environment, token: "")))
        {
            Assert.False(noToken.HasToken);                                                        // "" switches HF_TOKEN off
        }

        using var fallback = new HubDownloader(EnvironmentOptions(_ => null));
        Assert.Equal(new Uri(HubDownloadOptions.DefaultEndpoint), fallback.Endpoint);
        Assert.Throws<ArgumentException>(() => new HubDownloader(EnvironmentOptions(_ => "ftp://mirror")));
        Assert.Contains("HF_ENDPOINT", Assert.Throws<ArgumentException>(() => new HubDownloader(EnvironmentOptions(_ => "not a url"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GatedFilesGetAMessageAboutAcceptingTheTerms()
    {
        await using var hub = new FakeHub
        {
            Intercept = r => r.Path.Contains("/resolve/", StringComparison.Ordinal)
                ? FakeResponse.Text(403, "Access to model org/tiny is restricted", ("X-Error-Code", "GatedRepo"), ("X-Error-Message", "Access to model org/tiny is restricted."))
                : null,
        };
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));
        var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Equal(403, ex.StatusCode);
        Assert.Contains("gated model", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", ex.Message, StringComparison.Ordinal);
        Assert.Contains("hub says: Access to model org/tiny is restricted.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/resolve/", ex.Location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownRepositoryRevisionOrFileIsNotFound()
    {
        await using var hub = new FakeHub();
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        var repo = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync("org/other", temp.Path, cancellationToken: cts.Token));
        Assert.Equal(404, repo.StatusCode);
        Assert.Contains("repository not found", repo.Message, StringComparison.Ordinal);
        var revision = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, "v9", cancellationToken: cts.Token));
        Assert.Contains("revision not found", revision.Message, StringComparison.Ordinal);
        Assert.Contains("/revision/v9", revision.Location, StringComparison.Ordinal);

        hub.Intercept = r => r.Path.EndsWith("/config.json", StringComparison.Ordinal) ? FakeResponse.Text(404, "gone") : null;
        var file = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("file 'config.json' not found", file.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public async Task TransientFailuresAreRetriedThenReported()
    {
        await using var hub = new FakeHub();
        var config = hub.Add("config.json", Encoding.UTF8.GetBytes("{\"x\": 1}"));
        int apiCalls = 0, fileCalls = 0;
        hub.Intercept = r =>
        {
            if (r.Path.StartsWith("/api/", StringComparison.Ordinal) && ++apiCalls == 1)
            {
                return FakeResponse.Text(503, "busy");
            }

            return r.Path.Contains("/resolve/", StringComparison.Ordinal) && ++fileCalls <= 2 ? FakeResponse.Text(500, "oops") : null;
        };
        using var temp = new TempFolder();
        using var cts = Timeout();
        var progress = new ProgressLog();
        using var downloader = new HubDownloader(Options(hub));

        await downloader.DownloadAsync(hub.RepoId, temp.Path, progress: progress, cancellationToken: cts.Token);
        Assert.Equal(config.Content, File.ReadAllBytes(temp.File("config.json")));
        Assert.Equal(2, apiCalls);
        Assert.Equal(3, fileCalls);
        Assert.Equal(2, progress.Reports.Count(r => r.Event == DownloadEvent.Retrying));

        File.Delete(temp.File("config.json"));
        hub.Intercept = r => r.Path.Contains("/resolve/", StringComparison.Ordinal) ? FakeResponse.Text(500, "down") : null;
        var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("giving up after 4 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Contains("500", ex.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", ex.Location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableEndpointIsReportedAfterRetries()
    {
        // A port nothing listens on: bind, note the port, stop.
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var hub = new FakeHub();
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub, endpoint: new Uri($"http://127.0.0.1:{port}")));
        var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains($"127.0.0.1:{port}/api/models/org/tiny", ex.Message, StringComparison.Ordinal);
        Assert.Contains("giving up after 4 attempts", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("/etc/x")]
    [InlineData("a/../../evil")]
    [InlineData("C:/evil")]
    [InlineData("C:evil")]
    [InlineData("..\\evil")]
    [InlineData("a\\..\\..\\evil")]
    [InlineData("sub//evil")]
    [InlineData("./evil")]
    [InlineData("evil\n")]
    [InlineData("")]
    public async Task UnsafeFileNamesAreRefusedBeforeAnythingIsWritten(string name)
    {
        await using var hub = new FakeHub();
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        hub.Add(name, Encoding.UTF8.GetBytes("pwned"));
        using var temp = new TempFolder();
        var output = temp.File("out");
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, output, cancellationToken: cts.Token));

        Assert.Contains("refusing file name '", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.False(Directory.Exists(output));
        Assert.Empty(hub.RequestsTo($"/{hub.RepoId}/resolve/"));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Theory]
    [InlineData("noslash")]
    [InlineData("a/b/c")]
    [InlineData("../x")]
    [InlineData("a/..")]
    [InlineData("-a/b")]
    [InlineData("a/b.")]
    [InlineData("a b/c")]
    [InlineData("a/b?x")]
    [InlineData("a--b/c")]
    [InlineData("/b")]
    [InlineData("")]
    public async Task MalformedRepositoryIdsAreRejectedWithoutARequest(string repoId)
    {
        await using var hub = new FakeHub();
        using var temp = new TempFolder();
        using var downloader = new HubDownloader(Options(hub));
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => downloader.DownloadAsync(repoId, temp.Path));
        Assert.Contains("owner/name", ex.Message, StringComparison.Ordinal);
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public async Task MalformedRevisionsAndListingsAreClearErrors()
    {
        await using var hub = new FakeHub();
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));
        await Assert.ThrowsAsync<ArgumentException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, ".."));
        await Assert.ThrowsAsync<ArgumentException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, ""));

        hub.Intercept = r => FakeResponse.Json(Encoding.UTF8.GetBytes("{\"sha\": \"x\", \"files\": []}"));
        var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("'siblings'", ex.Message, StringComparison.Ordinal);
        hub.Intercept = r => FakeResponse.Json(Encoding.UTF8.GetBytes("{\"siblings\": [{\"rfilename\": \"m\", \"lfs\": {\"sha256\": \"zz\"}}]}"));
        ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("file 'm': 'lfs.sha256'", ex.Message, StringComparison.Ordinal);
        hub.Intercept = r => FakeResponse.Json(Encoding.UTF8.GetBytes("<html>"));
        ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }
}
