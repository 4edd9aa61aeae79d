using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Training;

/// <summary>
/// The documented consistency-training workflow on the real stories260K, shortened (1,200 prompts × 128 tokens,
/// 1,200 steps; ~5 minutes on 2 cores): collect, train with the small-model preset, then bench the result against the
/// base on held-out prompts. Opt-in: CLLM_LONG_TESTS=1.
/// </summary>
[Collection(LongRunCollection.Name)]
public class Stories260KConsistencyTrainingTests
{
    [SkippableFact]
    public async Task ConsistencyTrainingRaisesHeldOutJacobiTokensPerForwardAndKeepsItEqualToAr()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("CLLM_LONG_TESTS") == "1", "long run: set CLLM_LONG_TESTS=1 to collect, train and bench stories260K (~5 minutes)");
        string model = ShippedModels.Stories260K;
        string data = Path.Combine(ShippedModels.RepositoryRoot, "samples", "data");
        using var temp = new TempFolder();
        var prompts = temp.Write("train.jsonl", string.Join("\n", File.ReadLines(Path.Combine(data, "stories-train-prompts.jsonl")).Take(1200)) + "\n");
        string trajectories = temp.File("traj.jsonl");
        string output = temp.File("cllm");
        string bench = temp.File("bench.json");

        Assert.Equal(0, await Cli("collect", "--model", model, "--prompts", prompts, "--output", trajectories, "--block-size", "16", "--max-new-tokens", "128", "--threads", "1"));
        Assert.Equal(1200 * 8, File.ReadLines(trajectories).Count());
        Assert.Equal(0, await Cli("train", "--model", model, "--data", trajectories, "--output", output, "--preset", "small", "--max-steps", "1200", "--save-every", "0", "--threads", "1"));
        Assert.True(File.Exists(Path.Combine(output, "checkpoint-1200", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));          // the final model is the output folder itself
        Assert.Equal(0, await Cli(
            "bench", "--model", output, "--baseline", model, "--prompts", Path.Combine(data, "stories-heldout-prompts.jsonl"),
            "--requests", "20", "--max-new-tokens", "128", "--decoders", "ar,jacobi:16", "--curve", "", "--threads", "1", "--output", bench));

        using var doc = JsonDocument.Parse(File.ReadAllText(bench));
        var rows = doc.RootElement.GetProperty("decoders").EnumerateArray().ToDictionary(r => $"{r.GetProperty("model").GetString()}/{r.GetProperty("decoder").GetString()}");
        double before = rows["base/jacobi:16"].GetProperty("tokens_per_forward").GetDouble();
        double after = rows["model/jacobi:16"].GetProperty("tokens_per_forward").GetDouble();
        Assert.Equal(1.0, rows["model/jacobi:16"].GetProperty("exact_match_rate").GetDouble());
        Assert.True(after >= 1.5 * before, $"held-out Jacobi tokens per forward {before:F2} → {after:F2}");
        double baseNll = rows["base/ar"].GetProperty("baseline_nll").GetDouble();
        double cllmNll = rows["model/ar"].GetProperty("baseline_nll").GetDouble();
        Assert.True(cllmNll < baseNll + 0.25, $"base-model NLL per token of the greedy text: base {baseNll:F3}, CLLM {cllmNll:F3}");
    }

    /// <summary>Runs the CLI; on a non-zero exit, fails with the tail of what it wrote to stderr.</summary>
    private static async Task<int> Cli(params string[] args)
    {
        var (code, error) = await CliRunner.Run(args);
        string tail = string.Join("\n", error.Split('\n').TakeLast(15));
        Assert.True(code == 0, $"cllm {args[0]} exited with {code}:\n{tail}");
        return code;
    }
}
