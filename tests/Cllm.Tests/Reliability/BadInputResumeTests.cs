using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Cllm.Tests.TestKit;
using Cllm.Training;

namespace Cllm.Tests.Reliability;

/// <summary>Resuming with other settings is refused with the flag and both values, and the existing output is untouched.</summary>
[Collection("Console")]
public class BadInputResumeTests
{
    private static string Prompts(TempFolder temp) => temp.Write("prompts.jsonl",
        string.Join("\n", Enumerable.Range(0, 3).Select(i => JsonSerializer.Serialize(new { prompt = $"Once upon a time, there was a dog number {i}." }))) + "\n");

    [SkippableTheory]
    [InlineData("--max-new-tokens", "48", "32")]
    [InlineData("--seed", "7", "0")]
    [InlineData("--augment", null, "off")]
    [InlineData("--clean", null, "off")]
    public async Task CollectRerunWithOtherSettingsIsRefusedAndTheOutputIsKept(string flag, string? value, string original)
    {
        using var temp = new TempFolder();
        var prompts = Prompts(temp);
        var data = temp.File("traj.jsonl");
        string[] common = { "collect", "--model", ShippedModels.Stories260K, "--prompts", prompts, "--output", data, "--max-new-tokens", "32", "--threads", "1" };
        var (code, log) = await CliRunner.Run(common);
        Assert.True(code == 0, log);
        var before = File.ReadAllBytes(data);

        var rerun = common.Where((_, i) => i < 7).Concat(value is null ? new[] { flag } : new[] { flag, value });
        if (flag != "--max-new-tokens")
        {
            rerun = rerun.Concat(new[] { "--max-new-tokens", "32" });
        }

        var (again, error) = await CliRunner.Run(rerun.Concat(new[] { "--threads", "1" }).ToArray());

        Assert.Equal(1, again);
        var line = ModelCopies.ErrorLine(error);
        Assert.Contains(data + ":1:", line);
        Assert.Contains($"{flag} {value ?? "on"} differs from the {original}", line);
        Assert.Equal(before, File.ReadAllBytes(data));

        // The same settings resume (nothing left to do) and keep the file as it is.
        (code, log) = await CliRunner.Run(common);
        Assert.True(code == 0, log);
        Assert.Equal(before, File.ReadAllBytes(data));
    }

    [SkippableTheory]
    [InlineData("--lr", "0.5", "0.006")]
    [InlineData("--ar-weight", "3", "1")]
    [InlineData("--distance", "jsd", "forward-kl")]
    [InlineData("--consistency", "local", "global")]
    [InlineData("--objective", "jacobi-forcing", "cllm")]
    public async Task TrainResumeWithOtherSettingsIsRefusedNamingTheFlagAndBothValues(string flag, string value, string original)
    {
        using var temp = new TempFolder();
        var data = temp.File("traj.jsonl");
        var (code, log) = await CliRunner.Run("collect", "--model", ShippedModels.Stories260K, "--prompts", Prompts(temp), "--output", data, "--max-new-tokens", "32", "--threads", "1");
        Assert.True(code == 0, log);

        var run = temp.File("run");
        string[] common = { "train", "--model", ShippedModels.Stories260K, "--data", data, "--output", run, "--preset", "small", "--max-steps", "2", "--batch-size", "2", "--save-every", "1", "--threads", "1" };
        (code, log) = await CliRunner.Run(common);
        Assert.True(code == 0, log);
        var checkpoints = Directory.GetDirectories(run, "checkpoint-*").Order().ToArray();

        var (again, error) = await CliRunner.Run(common.Concat(new[] { "--resume", flag, value }).ToArray());

        Assert.Equal(1, again);
        var line = ModelCopies.ErrorLine(error);
        Assert.Contains($"{flag} is {value}, the checkpoint's run used {original}", line);
        Assert.Equal(checkpoints, Directory.GetDirectories(run, "checkpoint-*").Order().ToArray());

        (code, log) = await CliRunner.Run(common.Append("--resume").ToArray());
        Assert.True(code == 0, log);
    }

    [Fact]
    public void EverySettingThatChangesAStepIsCompared()
    {
        var reference = TrainingSettings.From(new TrainingOptions());
        Assert.Null(reference.Difference(TrainingSettings.From(new TrainingOptions())));
        var changed = new (TrainingOptions Options, string Named)[]
        {
            (new TrainingOptions { Beta1 = 0.8 }, "Beta1"),
            (new TrainingOptions { Beta2 = 0.99 }, "Beta2"),
            (new TrainingOptions { WeightDecay = 0.1 }, "WeightDecay"),
            (new TrainingOptions { WarmupRatio = 0.1 }, "WarmupRatio"),
            (new TrainingOptions { MaxGradNorm = 5 }, "MaxGradNorm"),
            (new TrainingOptions { LabelSmoothing = 0 }, "LabelSmoothing"),
            (new TrainingOptions { UseLabelIds = true }, "--gold-labels"),
            (new TrainingOptions { AnswerOnlyAutoregressive = true }, "--ar-answer-only"),
            (new TrainingOptions { MinLearningRateRatio = 0.1 }, "MinLearningRateRatio"),
            (new TrainingOptions { Epsilon = 1e-6 }, "Epsilon"),
            (new TrainingOptions { Objective = TrainingObjective.JacobiForcing }, "--objective"),
        };
        foreach (var (options, named) in changed)
        {
            var difference = reference.Difference(TrainingSettings.From(options));
            Assert.NotNull(difference);
            Assert.Contains(named, difference);
        }

        // Jacobi Forcing's own settings, compared when both runs use it.
        var jf = new TrainingOptions { Objective = TrainingObjective.JacobiForcing };
        var jfReference = TrainingSettings.From(jf);
        Assert.Null(jfReference.Difference(TrainingSettings.From(jf)));
        foreach (var (options, named) in new (TrainingOptions, string)[]
        {
            (jf with { NoiseWindow = 4 }, "--noise-window"),
            (jf with { MinNoise = 0.2 }, "--min-noise"),
            (jf with { MaxNoise = 0.8 }, "--max-noise"),
            (jf with { CleanPrefix = true }, "--clean-prefix"),
            (jf with { RandomNoise = true }, "--noise-schedule"),
        })
        {
            var difference = jfReference.Difference(TrainingSettings.From(options));
            Assert.NotNull(difference);
            Assert.Contains(named, difference);
        }
    }
}
