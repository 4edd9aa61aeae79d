using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tools;
using static Cllm.Tests.Hub.HubTestKit;

namespace Cllm.Tests.Hub;

public class HubDownloaderTests
{
    [Fact]
    public async Task DownloadsEveryFileAtTheResolvedCommitWithProgress()
    {
        await using var hub = new FakeHub();
        hub.Add("config.json", Encoding.UTF8.GetBytes("{\"model_type\": \"llama\"}"));
        hub.Add("tokenizer.json", Bytes(1, 70_000));
        hub.Add("model.safetensors", Bytes(2, 1_500_000), lfs: true);
        hub.Add("nested/dir/extra file.bin", Bytes(3, 1000), lfs: true);
        using var temp = new TempFolder();
        var output = temp.File("out");
        var progress = new ProgressLog();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));

        var result = await downloader.DownloadAsync(hub.RepoId, output, "main", progress, cts.Token);

        foreach (var file in hub.Files)
        {
            Assert.Equal(file.Content, File.ReadAllBytes(Path.Combine(output, file.Path)));
        }

        Assert.Empty(Directory.GetFiles(output, "*" + HubDownloader.PartialSuffix, SearchOption.AllDirectories));
        Assert.Equal(FakeHub.DefaultCommit, result.Commit);
        Assert.Equal("main", result.Revision);
        Assert.Equal(Path.GetFullPath(output), result.OutputDir);
        Assert.Equal(hub.Files.Select(f => f.Path), result.Files.Select(f => f.RepoPath));
        Assert.Equal(4, result.DownloadedCount);
        Assert.Equal(0, result.SkippedCount);
        long total = hub.Files.Sum(f => (long)f.Content.Length);
        Assert.Equal(total, result.BytesTransferred);
        Assert.Equal(total, result.TotalSize);
        Assert.Equal(FakeHub.Sha256(hub.Files[2].Content), result.Files[2].Sha256);
        Assert.Null(result.Files[0].Sha256);

        var api = Assert.Single(hub.RequestsTo("/api/"));
        Assert.Equal($"/api/models/{hub.RepoId}/revision/main?blobs=true", api.Target);
        var resolves = hub.RequestsTo($"/{hub.RepoId}/resolve/");
        Assert.Equal(4, resolves.Count);
        Assert.All(resolves, r => Assert.StartsWith($"/{hub.RepoId}/resolve/{FakeHub.DefaultCommit}/", r.Path, System.StringComparison.Ordinal));
        Assert.Contains(resolves, r => r.Path.EndsWith("/nested/dir/extra%20file.bin", System.StringComparison.Ordinal));
        Assert.All(hub.Requests, r => Assert.Null(r.Header("Authorization")));
        Assert.All(hub.Requests, r => Assert.Null(r.Header("Range")));

        var reports = progress.Reports;
        Assert.All(reports, r => Assert.Equal(4, r.FileCount));
        Assert.All(reports, r => Assert.Equal(total, r.BytesTotal));
        var model = reports.Where(r => r.File == "model.safetensors" && r.Event == DownloadEvent.FileBytes).Select(r => r.FileBytesDone).ToList();
        Assert.True(model.Count >= 2, $"only {model.Count} byte reports for a 1.5 MB file");    // the start, then per 256 KiB read
        Assert.Equal(model.OrderBy(b => b), model);
        foreach (var file in hub.Files)
        {
            var done = Assert.Single(reports, r => r.File == file.Path && r.Event == DownloadEvent.FileCompleted);
            Assert.Equal(file.Content.Length, done.FileBytesDone);
            Assert.Equal(file.Content.Length, done.FileBytesTotal);
        }

        Assert.Equal(DownloadEvent.FileCompleted, reports[^1].Event);
        Assert.Equal(total, reports[^1].BytesDone);
        Assert.Equal(reports.Select(r => r.BytesDone).OrderBy(b => b), reports.Select(r => r.BytesDone));
    }

    [Fact]
    public async Task IncludeAndExcludePatternsSelectTheFiles()
    {
        await using var hub = new FakeHub();
        foreach (var name in new[] { "config.json", "generation_config.json", "tokenizer.model", "model.safetensors", "pytorch_model.bin", "docs/README.md", "docs/tokenizer.model" })
        {
            hub.Add(name, Encoding.UTF8.GetBytes(name));
        }

        using var temp = new TempFolder();
        using var cts = Timeout();
        using (var downloader = new HubDownloader(Options(hub, include: new[] { "*.json", "tokenizer.model", "*.safetensors" }, exclude: new[] { "generation_*" })))
        {
            var result = await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);
            Assert.Equal(new[] { "config.json", "tokenizer.model", "model.safetensors" }, result.Files.Select(f => f.RepoPath));
        }

        Assert.Equal(
            new[] { "config.json", "model.safetensors", "tokenizer.model" },
            Directory.GetFiles(temp.Path, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order());

        using (var downloader = new HubDownloader(Options(hub, include: new[] { "docs/" })))
        {
            var result = await downloader.DownloadAsync(hub.RepoId, temp.File("docs-only"), cancellationToken: cts.Token);
            Assert.Equal(new[] { "docs/README.md", "docs/tokenizer.model" }, result.Files.Select(f => f.RepoPath));
        }

        using (var downloader = new HubDownloader(Options(hub, include: new[] { "*.gguf" })))
        {
            var ex = await Assert.ThrowsAsync<HubException>(() => downloader.DownloadAsync(hub.RepoId, temp.File("none"), cancellationToken: cts.Token));
            Assert.Contains("no file matches include [*.gguf]", ex.Message, System.StringComparison.Ordinal);
            Assert.Contains("pytorch_model.bin", ex.Message, System.StringComparison.Ordinal);
            Assert.False(Directory.Exists(temp.File("none")));
        }
    }

    [Fact]
    public async Task CompleteFilesAreSkippedAndDamagedOnesFetchedAgain()
    {
        await using var hub = new FakeHub();
        hub.Add("config.json", Encoding.UTF8.GetBytes("{\"a\": 1}"));
        hub.Add("tokenizer.json", Bytes(4, 5000));
        hub.Add("model.safetensors", Bytes(5, 300_000), lfs: true);
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));
        await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);
        hub.Requests.Clear();

        var progress = new ProgressLog();
        var again = await downloader.DownloadAsync(hub.RepoId, temp.Path, progress: progress, cancellationToken: cts.Token);
        Assert.All(again.Files, f => Assert.True(f.Skipped));
        Assert.Equal(0, again.BytesTransferred);
        Assert.Empty(hub.RequestsTo($"/{hub.RepoId}/resolve/"));
        Assert.Equal(3, progress.Reports.Count(r => r.Event == DownloadEvent.FileSkipped));
        Assert.Equal(again.TotalSize, progress.Reports[^1].BytesDone);

        // Same size but different bytes (LFS: caught by the hash) and a truncated plain file: both fetched again.
        var model = File.ReadAllBytes(temp.File("model.safetensors"));
        model[1234] ^= 0xFF;
        File.WriteAllBytes(temp.File("model.safetensors"), model);
        File.WriteAllText(temp.File("tokenizer.json"), "short");
        hub.Requests.Clear();
        var repaired = await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);
        Assert.Equal(new[] { true, false, false }, repaired.Files.Select(f => f.Skipped));
        Assert.Equal(2, hub.RequestsTo($"/{hub.RepoId}/resolve/").Count);
        foreach (var file in hub.Files)
        {
            Assert.Equal(file.Content, File.ReadAllBytes(temp.File(file.Path)));
        }
    }

    [Fact]
    public async Task FilesWithoutAListedSizeAreDownloadedEveryTime()
    {
        await using var hub = new FakeHub();
        hub.Add("config.json", Encoding.UTF8.GetBytes("{}"), listSize: false);
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));
        var progress = new ProgressLog();
        var first = await downloader.DownloadAsync(hub.RepoId, temp.Path, progress: progress, cancellationToken: cts.Token);
        Assert.Null(progress.Reports[0].BytesTotal);
        Assert.Equal(2, first.Files[0].Size);
        var second = await downloader.DownloadAsync(hub.RepoId, temp.Path, cancellationToken: cts.Token);
        Assert.False(second.Files[0].Skipped);                                                 // nothing proves the local copy complete
        Assert.Equal("{}", File.ReadAllText(temp.File("config.json")));
    }

    [Fact]
    public async Task EmptyFilesAndCommitRevisionsWork()
    {
        await using var hub = new FakeHub();
        hub.Add("empty.txt", System.Array.Empty<byte>());
        using var temp = new TempFolder();
        using var cts = Timeout();
        using var downloader = new HubDownloader(Options(hub));
        var result = await downloader.DownloadAsync(hub.RepoId, temp.Path, FakeHub.DefaultCommit, cancellationToken: cts.Token);
        Assert.Equal(FakeHub.DefaultCommit, result.Revision);
        Assert.Empty(File.ReadAllBytes(temp.File("empty.txt")));
        Assert.True((await downloader.DownloadAsync(hub.RepoId, temp.Path, null, cancellationToken: cts.Token)).Files[0].Skipped);
    }
}
