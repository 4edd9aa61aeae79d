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

public class HubRedirectTests
{
    [Fact]
    public async Task LfsRedirectToTheStorageHostDropsTheTokenAndResumesThere()
    {
        await using var cdn = new FakeHub();
        await using var hub = new FakeHub { RequiredToken = "hf_secret", Cdn = cdn };
        var config = hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        var model = hub.Add("model.safetensors", Bytes(30, 800_000), lfs: true);
        cdn.InterruptAfter[FakeHub.Sha256(model.Content)] = 250_000;
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub, token: "hf_secret"));

        await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);

        Assert.Equal(config.Content, File.ReadAllBytes(temp.File("config.json")));
        Assert.Equal(model.Content, File.ReadAllBytes(temp.File("model.safetensors")));
        Assert.All(hub.Requests, r => Assert.Equal("Bearer hf_secret", r.Header("Authorization")));
        var blobs = cdn.Requests.ToList();
        Assert.Equal(2, blobs.Count);
        Assert.All(blobs, r => Assert.Null(r.Header("Authorization")));
        Assert.All(blobs, r => Assert.Contains("X-Signature=", r.Target, StringComparison.Ordinal));
        Assert.Equal(new string?[] { null, "bytes=250000-" }, blobs.Select(r => r.Header("Range")));
        Assert.Equal(new string?[] { null, "bytes=250000-" }, hub.ResolveRequests("model.safetensors").Select(r => r.Header("Range")));
    }

    [Fact]
    public async Task StorageHostErrorsNameTheHubUrlNotTheSignedOne()
    {
        await using var cdn = new FakeHub { Intercept = _ => FakeResponse.Text(503, "slow down") };
        await using var hub = new FakeHub { Cdn = cdn };
        hub.Add("model.safetensors", Bytes(31, 1000), lfs: true);
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));

        Assert.Equal($"{hub.Url.AbsoluteUri}org/tiny/resolve/{FakeHub.DefaultCommit}/model.safetensors", ex.Location);
        Assert.Contains("503", ex.Message, StringComparison.Ordinal);
        Assert.Contains("redirected to 127.0.0.1", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, cdn.Requests.Count);
    }

    [Fact]
    public async Task RedirectOnTheHubItselfKeepsTheToken()
    {
        await using var hub = new FakeHub { RequiredToken = "hf_secret" };
        var config = hub.Add("config.json", Encoding.UTF8.GetBytes("{\"moved\": true}"));
        hub.Intercept = r =>
        {
            if (r.Path.StartsWith("/org/tiny/resolve/", StringComparison.Ordinal))
            {
                return FakeResponse.Text(307, "moved", ("Location", "/renamed/tiny/raw/config.json"));
            }

            return r.Path == "/renamed/tiny/raw/config.json"
                ? r.Header("Authorization") == "Bearer hf_secret" ? new FakeResponse(200, config.Content) : FakeResponse.Text(401, "no")
                : null;
        };
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub, token: "hf_secret"));

        await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);

        Assert.Equal(config.Content, File.ReadAllBytes(temp.File("config.json")));
        Assert.Single(hub.RequestsTo("/renamed/"));
    }

    [Fact]
    public async Task RedirectLoopsAndMissingLocationsAreErrors()
    {
        await using var hub = new FakeHub();
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"));
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        hub.Intercept = r => r.Path.Contains("/resolve/", StringComparison.Ordinal) ? FakeResponse.Text(302, "again", ("Location", r.Target)) : null;
        var loop = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("more than 10 redirects", loop.Message, StringComparison.Ordinal);

        hub.Intercept = r => r.Path.Contains("/resolve/", StringComparison.Ordinal) ? FakeResponse.Text(302, "where?") : null;
        var missing = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("without a Location", missing.Message, StringComparison.Ordinal);

        hub.Intercept = r => r.Path.Contains("/resolve/", StringComparison.Ordinal) ? FakeResponse.Text(302, "file", ("Location", "file:///etc/passwd")) : null;
        var scheme = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token));
        Assert.Contains("refusing a redirect to a file: URL", scheme.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }
}
