using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Tests.Text;
using Cllm.Tools;
using static Cllm.Tests.Hub.HubTestKit;
using static TorchSharp.torch;

namespace Cllm.Tests.Hub;

public class HubCheckpointTests
{
    [Fact]
    public async Task ADownloadedCheckpointLoadsWithIdenticalLogits()
    {
        var config = TinyLlama.Config(vocab: 300);
        using var source = TinyLlama.Create(7, config);
        using var published = new TempFolder();
        File.WriteAllText(published.File("tokenizer.json"), new TokenizerJsonBuilder().ToJson());
        CheckpointWriter.Save(source, config, published.Path, copyTokenizerFrom: null, storeAs: null);

        await using var hub = new FakeHub("someone/tiny-llama");
        foreach (var path in Directory.GetFiles(published.Path).Order(System.StringComparer.Ordinal))
        {
            hub.Add(Path.GetFileName(path), File.ReadAllBytes(path), lfs: path.EndsWith(".safetensors", System.StringComparison.Ordinal));
        }

        hub.InterruptAfter[HfModelDirectory.SingleWeightsFileName] = 10_000;
        using var downloaded = new TempFolder();
        using var cts = Timeout();
        using (var downloader = new HubDownloader(Options(hub, include: new[] { "*.json", "*.safetensors", "tokenizer.model" })))
        {
            var result = await downloader.DownloadAsync(hub.RepoId, downloaded.Path, cancellationToken: cts.Token);
            Assert.Equal(hub.Files.Count, result.DownloadedCount);
        }

        using var engine = CllmBuilder.FromCheckpoint(downloaded.Path).Build();
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 40, 80, 120, 160 }).view(1, -1);
        Assert.Equal(0f, (source.Forward(ids) - engine.Model.Forward(ids)).abs().max().item<float>());
    }
}
