using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.CommandLine;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

[Collection("Console")]
public class CliTests
{
    [SkippableFact]
    public async Task GenerateReproducesTheReferenceGreedyIdsThroughTheCli()
    {
        var references = ReferenceGreedy.Load(ShippedModels.Stories260K);
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", string.Join("\n", references.Select(r => JsonSerializer.Serialize(new { prompt = r.Prompt, other = 1 }))) + "\n");
        foreach (var decoder in new[] { "ar", "jacobi", "lookahead" })
        {
            var output = temp.File($"out-{decoder}.jsonl");
            int code = await CommandLineApp.RunAsync(new[] { "generate", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--decoder", decoder, "--max-new-tokens", "128", "--output", output });
            Assert.Equal(0, code);
            var lines = File.ReadAllLines(output);
            Assert.Equal(references.Count, lines.Length);
            for (int i = 0; i < lines.Length; i++)
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                Assert.Equal(references[i].Prompt, root.GetProperty("prompt").GetString());
                Assert.Equal(references[i].PromptIds, root.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()));
                Assert.Equal(references[i].GreedyIds, root.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
                Assert.Equal("length", root.GetProperty("finish_reason").GetString());
                Assert.True(root.GetProperty("forward_passes").GetInt32() <= 128);
                if (decoder == "jacobi")
                {
                    Assert.True(root.TryGetProperty("fast_forwarded", out _));
                    Assert.True(root.TryGetProperty("stationary", out _));
                    Assert.True(root.GetProperty("iterations").GetArrayLength() > 0);
                }
                else if (decoder == "lookahead")
                {
                    Assert.True(root.TryGetProperty("accepted_per_step", out _));
                }
            }
        }
    }

    [SkippableFact]
    public async Task StopTokenEndsGenerationWithoutTheToken()
    {
        var reference = ReferenceGreedy.Load(ShippedModels.Stories260K)[0];
        using var temp = new TempFolder();
        var output = temp.File("out.jsonl");
        int stop = reference.GreedyIds[10];
        int code = await CommandLineApp.RunAsync(new[] { "generate", "--model", ShippedModels.Stories260K, "--prompt", reference.Prompt, "--decoder", "jacobi", "--stop-token-ids", $"{stop}", "--output", output });
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        Assert.Equal("eos", doc.RootElement.GetProperty("finish_reason").GetString());
        Assert.Equal(reference.GreedyIds.TakeWhile(t => t != stop), doc.RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    [SkippableFact]
    public async Task BenchWithABaselineRunsBothModelsInterleavedAndWritesTheirRows()
    {
        var reference = ReferenceGreedy.Load(ShippedModels.Stories260K)[0];
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", JsonSerializer.Serialize(new { prompt = reference.Prompt }) + "\n");
        var output = temp.File("bench.json");
        int code = await CommandLineApp.RunAsync(new[]
        {
            "bench", "--model", ShippedModels.Stories260K, "--baseline", ShippedModels.Stories260K, "--prompts", prompts,
            "--decoders", "ar,jacobi:4", "--max-new-tokens", "16", "--requests", "1", "--curve", "", "--threads", "1", "--output", output,
        });
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        var rows = doc.RootElement.GetProperty("decoders").EnumerateArray().ToList();
        Assert.Equal(new[] { "base/ar", "base/jacobi:4", "model/ar", "model/jacobi:4" }, rows.Select(r => $"{r.GetProperty("model").GetString()}/{r.GetProperty("decoder").GetString()}"));
        Assert.All(rows, r => Assert.Equal(1.0, r.GetProperty("exact_match_rate").GetDouble()));
        Assert.All(rows, r => Assert.True(r.GetProperty("speedup_vs_baseline_ar").GetDouble() > 0));
        Assert.Equal(ShippedModels.Stories260K, doc.RootElement.GetProperty("baseline").GetString());
    }

    [Theory]
    [InlineData(1, "block", null, null, "1 block")]
    [InlineData(0, "block", null, null, "0 blocks")]
    [InlineData(2, "torch thread", null, null, "2 torch threads")]
    [InlineData(1234, "record", null, "N0", "1,234 records")]
    [InlineData(1, "entry", "entries", null, "1 entry")]
    [InlineData(3, "entry", "entries", null, "3 entries")]
    public void CountsTakeTheSingularOnlyForOne(long count, string noun, string? plural, string? format, string expected)
        => Assert.Equal(expected, Counted.Of(count, noun, plural, format));

    [Fact]
    public async Task BadInputExitsNonZero()
    {
        using var temp = new TempFolder();
        Assert.Equal(1, await CommandLineApp.RunAsync(new[] { "generate", "--model", temp.File("missing"), "--prompt", "x" }));
        var bad = temp.Write("bad.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": 5}\n");
        Assert.Equal(1, await CommandLineApp.RunAsync(new[] { "generate", "--model", temp.Path, "--prompts", bad }));
        Assert.Contains("bad.jsonl:2:", Assert.Throws<System.FormatException>(() => PromptFile.Read(bad)).Message);
        var broken = temp.Write("broken.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": \"b\", oops}\n");
        Assert.Equal($"{broken}:2: not valid JSON at byte 16 ('o' is an invalid start of a property name. Expected a '\"').",   // not System.Text.Json's "LineNumber: 0 |"
            Assert.Throws<System.FormatException>(() => PromptFile.Read(broken)).Message);
        Assert.NotEqual(0, await CommandLineApp.RunAsync(new[] { "generate", "--prompt", "x" }));                          // --model is required
    }
}
