using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tools;
using static Cllm.Tests.Hub.HubTestKit;

namespace Cllm.Tests.Hub;

public class HubResumeTests
{
    [Fact]
    public async Task InterruptedTransfersResumeWithARangeRequest()
    {
        await using var hub = new FakeHub();
        var model = hub.Add("model.safetensors", Bytes(10, 2_000_000), lfs: true);
        var tokenizer = hub.Add("tokenizer.json", Bytes(11, 300_000));
        hub.InterruptAfter["model.safetensors"] = 700_000;
        hub.InterruptAfter["tokenizer.json"] = 123_457;
        using var temp = new TempFolder();
        using var cts = Timeout();
        var progress = new ProgressLog();
        using var downloader = new HubDownloader(Options(hub));

        var result = await downloader.DownloadAsync(hub.RepoId, temp.Path, progress: progress, cancellationToken: cts.Token);

        Assert.Equal(model.Content, File.ReadAllBytes(temp.File("model.safetensors")));
        Assert.Equal(tokenizer.Content, File.ReadAllBytes(temp.File("tokenizer.json")));
        Assert.Equal(new string?[] { null, "bytes=700000-" }, hub.ResolveRequests("model.safetensors").Select(r => r.Header("Range")));
        Assert.Equal(new string?[] { null, "bytes=123457-" }, hub.ResolveRequests("tokenizer.json").Select(r => r.Header("Range")));
        Assert.Equal(2_300_000, result.BytesTransferred);                                     // nothing fetched twice
        var retry = Assert.Single(progress.Reports, r => r.Event == DownloadEvent.Retrying && r.File == "model.safetensors");
        Assert.Equal(700_000, retry.FileBytesDone);
        Assert.Contains("model.safetensors", retry.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path, "*.incomplete"));
    }

    [Fact]
    public async Task PartialLfsFileFromAnEarlierRunIsResumed()
    {
        await using var hub = new FakeHub();
        var model = hub.Add("model.safetensors", Bytes(12, 1_000_000), lfs: true);
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.File("model.safetensors.incomplete"), model.Content.AsSpan(0, 400_000).ToArray());
        using var cts = Timeout();
        var progress = new ProgressLog();
        using var downloader = new HubDownloader(Options(hub));

        var result = await downloader.DownloadAsync(hub.RepoId, temp.Path, progress: progress, cancellationToken: cts.Token);

        Assert.Equal(model.Content, File.ReadAllBytes(temp.File("model.safetensors")));
        Assert.Equal("bytes=400000-", Assert.Single(hub.ResolveRequests("model.safetensors")).Header("Range"));
        Assert.Equal(600_000, result.BytesTransferred);
        Assert.Equal(400_000, progress.Reports.First(r => r.Event == DownloadEvent.FileStarted).FileBytesDone);
        Assert.False(File.Exists(temp.File("model.safetensors.incomplete")));
    }

    [Fact]
    public async Task StalePartialFilesAreReplaced()
    {
        await using var hub = new FakeHub();
        var model = hub.Add("model.safetensors", Bytes(13, 500_000), lfs: true);
        var config = hub.Add("config.json", Bytes(14, 2000));
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.File("model.safetensors.incomplete"), Bytes(99, 200_000));   // another commit's bytes
        File.WriteAllBytes(temp.File("config.json.incomplete"), Bytes(98, 1000));            // no hash could prove a resume
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);

        Assert.Equal(model.Content, File.ReadAllBytes(temp.File("model.safetensors")));
        Assert.Equal(config.Content, File.ReadAllBytes(temp.File("config.json")));
        Assert.Equal(new string?[] { "bytes=200000-", null }, hub.ResolveRequests("model.safetensors").Select(r => r.Header("Range")));
        Assert.Null(Assert.Single(hub.ResolveRequests("config.json")).Header("Range"));
    }

    [Fact]
    public async Task AServerThatIgnoresRangeIsReadFromTheStart()
    {
        await using var hub = new FakeHub { IgnoreRange = true };
        var model = hub.Add("model.safetensors", Bytes(15, 400_000), lfs: true);
        hub.InterruptAfter["model.safetensors"] = 100_000;
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        var result = await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);

        Assert.Equal(model.Content, File.ReadAllBytes(temp.File("model.safetensors")));
        Assert.Equal(new string?[] { null, "bytes=100000-" }, hub.ResolveRequests("model.safetensors").Select(r => r.Header("Range")));
        Assert.Equal(500_000, result.BytesTransferred);
    }

    [Fact]
    public async Task CancellingKeepsThePartialFileForTheNextRun()
    {
        await using var hub = new FakeHub();
        var model = hub.Add("model.safetensors", Bytes(16, 3_000_000), lfs: true);
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var progress = new ProgressLog
        {
            OnReport = r =>
            {
                if (r.Event == DownloadEvent.FileBytes && r.FileBytesDone > 0)
                {
                    cancel.Cancel();
                }
            },
        };
        using var downloader = new HubDownloader(Options(hub));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => downloader.DownloadAsync(hub.RepoId, temp.Path, progress: progress, cancellationToken: cancel.Token));
        long kept = new FileInfo(temp.File("model.safetensors.incomplete")).Length;
        Assert.InRange(kept, 1, model.Content.Length - 1);
        Assert.False(File.Exists(temp.File("model.safetensors")));

        var result = await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);
        Assert.Equal(model.Content, File.ReadAllBytes(temp.File("model.safetensors")));
        Assert.Equal($"bytes={kept}-", hub.ResolveRequests("model.safetensors")[^1].Header("Range"));
        Assert.Equal(model.Content.Length - kept, result.BytesTransferred);
    }
}
