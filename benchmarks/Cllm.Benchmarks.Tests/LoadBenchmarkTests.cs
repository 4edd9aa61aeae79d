using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Cllm.Tools;

namespace Cllm.Benchmarks.Tests;

/// <summary>The load benchmark's llama.cpp side batches correctly, and the command runs end to end with every output exact.</summary>
[Collection(ConsoleCapture.Name)]
public sealed class LoadBenchmarkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cllm-load-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void BatchedExecutorClientsGetCllmGreedyIdsOnSqlCllm()
    {
        var folder = Path.Combine(LlamaCppExactnessTests.RepositoryRoot().FullName, "samples", "models", "sql-cllm");
        var gguf = Path.Combine(_dir, "model.gguf");
        GgufExporter.Export(folder, gguf, GgufFileType.F32);
        TorchSharp.torch.set_num_threads(1);
        using var engine = CllmBuilder.FromCheckpoint(folder).WithMaxBatchSize(1).Build();
        var requests = Prompts(6).Select(p => engine.CreateRequest(p, new GenerationOptions { MaxNewTokens = 48 })).ToArray();
        var expected = requests.Select(r => DecoderOptions.Autoregressive.CreateDecoder(engine.Model).DecodeToEnd(r).OutputIds.ToArray()).ToArray();

        using var llama = new LlamaSharpBatched(gguf, threads: 1, sequences: 3, engine.Model.Config.MaxPositionEmbeddings);
        var plan = new[] { new[] { 0, 3 }, new[] { 1, 4 }, new[] { 2, 5 } };
        var (done, _) = llama.Run(requests.Select(r => r.PromptIds).ToArray(), plan, 48, requests[0].Options.StopTokenIds!);
        Assert.Equal(6, done.Count);
        foreach (var finished in done)
        {
            Assert.Equal(expected[finished.Request], finished.Ids);
            Assert.True(finished.FirstToken <= finished.Latency);
        }
    }

    [Fact]
    public void LoadCommandRunsEndToEndAndChecksExactness()
    {
        var root = LlamaCppExactnessTests.RepositoryRoot().FullName;
        var (exit, text, _) = ConsoleCapture.Run(
            "load", "--model", Path.Combine(root, "samples", "models", "sql-cllm"), "--prompts", Path.Combine(root, "samples", "data", "sql-test.jsonl"),
            "--clients", "1,3", "--requests-per-client", "1", "--max-new-tokens", "16", "--threads", "1", "--peer", "--prefix-sharing", "both");
        Assert.True(exit == 0, text);
        Assert.Contains("exact: every batched Cllm output equals the same prompt served alone.", text, StringComparison.Ordinal);
        var servers = new[]
        {
            "cllm serial jacobi:16", "cllm batched ar, no sharing", "cllm batched jacobi:16, no sharing", "cllm batched ar, shared prefixes",
            "cllm batched jacobi:16, shared prefixes", "llama.cpp BatchedExecutor ar",
        };
        foreach (var server in servers)
        {
            Assert.Equal(2, text.Split('\n').Count(line => line.Contains(server, StringComparison.Ordinal)));
        }

        // Without sharing nothing is reused; the serial engine never shares.
        var rows = text.Split('\n').Where(line => line.TrimStart() is [>= '0' and <= '9', ..]).ToArray();
        Assert.Equal(12, rows.Length);
        Assert.All(rows.Where(line => line.Contains("no sharing", StringComparison.Ordinal) || line.Contains("serial", StringComparison.Ordinal)),
            line => Assert.Contains(" 0% ", line, StringComparison.Ordinal));

        // Cllm's rows count their forwards and the positions computed per generated token (at least one each); llama.cpp's do not.
        foreach (var row in rows)
        {
            var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (row.Contains("llama.cpp", StringComparison.Ordinal))
            {
                Assert.Equal(new[] { "-", "-" }, cells[^3..^1]);
            }
            else
            {
                Assert.True(long.Parse(cells[^3], CultureInfo.InvariantCulture) > 0, row);
                Assert.InRange(double.Parse(cells[^2], CultureInfo.InvariantCulture), 1.0, 1000.0);
            }
        }
    }

    [Fact]
    public void RoundsInterleaveTheServersAndPoolTheirRequests()
    {
        var root = LlamaCppExactnessTests.RepositoryRoot().FullName;
        var (exit, text, _) = ConsoleCapture.Run(
            "load", "--model", Path.Combine(root, "samples", "models", "sql-cllm"), "--prompts", Path.Combine(root, "samples", "data", "sql-test.jsonl"),
            "--clients", "2", "--requests-per-client", "1", "--max-new-tokens", "8", "--threads", "1", "--rounds", "3");
        Assert.True(exit == 0, text);
        var rows = text.Split('\n').Where(line => line.TrimStart() is [>= '0' and <= '9', ..]).ToArray();
        Assert.Equal(3, rows.Length);                                                    // one row per server, not per round
        Assert.All(rows.Where(row => row.Contains("batched", StringComparison.Ordinal)), row => Assert.EndsWith(" 6/6", row.TrimEnd(), StringComparison.Ordinal));

        // The drafting decoder against batched AR, round by round, then their median.
        var pair = Assert.Single(text.Split('\n'), line => line.Contains("per round:", StringComparison.Ordinal));
        Assert.Contains("cllm batched jacobi:16 / cllm batched ar, per round: ", pair, StringComparison.Ordinal);
        var ratios = pair[(pair.IndexOf("per round: ", StringComparison.Ordinal) + 11)..pair.IndexOf(" (median", StringComparison.Ordinal)].Split(' ');
        Assert.Equal(3, ratios.Length);
        Assert.All(ratios, r => Assert.True(double.Parse(r, CultureInfo.InvariantCulture) > 0, r));

        (exit, text, var error) = ConsoleCapture.Run(
            "load", "--model", Path.Combine(root, "samples", "models", "sql-cllm"), "--prompts", Path.Combine(root, "samples", "data", "sql-test.jsonl"), "--rounds", "0");
        Assert.NotEqual(0, exit);
        Assert.Contains("--rounds", text + error, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCommandRefusesAnUnknownPrefixSharingMode()
    {
        var root = LlamaCppExactnessTests.RepositoryRoot().FullName;
        var (exit, text, error) = ConsoleCapture.Run(
            "load", "--model", Path.Combine(root, "samples", "models", "sql-cllm"), "--prompts", Path.Combine(root, "samples", "data", "sql-test.jsonl"),
            "--prefix-sharing", "sometimes");
        Assert.NotEqual(0, exit);
        Assert.Contains("--prefix-sharing: 'sometimes' is not one of on, off, both.", text + error, StringComparison.Ordinal);
    }

    private static string[] Prompts(int count)
        => File.ReadLines(Path.Combine(LlamaCppExactnessTests.RepositoryRoot().FullName, "samples", "data", "sql-test.jsonl")).Take(count)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!).ToArray();
}
