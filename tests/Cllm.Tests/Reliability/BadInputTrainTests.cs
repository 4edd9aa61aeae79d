using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Cllm.CommandLine.Commands;
using Cllm.Core;
using Cllm.Tests.TestKit;
using Cllm.Training;

namespace Cllm.Tests.Reliability;

/// <summary>
/// train and the data it is given: trajectories of another model (tokenizer or shape) are refused naming both models,
/// records without a fingerprint are read with a warning; the preset is chosen by model size and printed; how many
/// checkpoints are kept is a validated flag and printed.
/// </summary>
[Collection("Console")]
public class BadInputTrainTests
{
    private static async Task<string> Collect(TempFolder temp, string model, string name = "traj.jsonl")
    {
        var prompts = temp.Write("prompts.jsonl", "{\"prompt\": \"Once upon a time\"}\n{\"prompt\": \"The little dog\"}\n");
        var data = temp.File(name);
        var (code, log) = await CliRunner.Run("collect", "--model", model, "--prompts", prompts, "--output", data, "--max-new-tokens", "32", "--threads", "1");
        Assert.True(code == 0, log);
        return data;
    }

    [SkippableFact]
    public void TheFingerprintIsTheTokenizerAndShapeNotTheWeights()
    {
        using var storiesModel = PretrainedModel.Load(ShippedModels.Stories260K, new PretrainedModelOptions { LoadTokenizer = false });
        using var baseModel = PretrainedModel.Load(ShippedModels.Folder("sql-base"), new PretrainedModelOptions { LoadTokenizer = false });
        using var cllmModel = PretrainedModel.Load(ShippedModels.Folder("sql-cllm"), new PretrainedModelOptions { LoadTokenizer = false });
        var stories = ModelFingerprint.Of(storiesModel.Directory, storiesModel.Config);
        var sqlBase = ModelFingerprint.Of(baseModel.Directory, baseModel.Config);
        var sqlCllm = ModelFingerprint.Of(cllmModel.Directory, cllmModel.Config);

        Assert.Equal("stories260K", stories.Name);
        Assert.Equal(sqlBase.Digest, sqlCllm.Digest);                                    // sql-cllm was trained from sql-base: its data fits
        Assert.NotEqual(stories.Digest, sqlCllm.Digest);
        Assert.Equal(stories, ModelFingerprint.Of(storiesModel.Directory + "/", storiesModel.Config));
    }

    [SkippableTheory]
    [InlineData("missing")]
    [InlineData("malformed")]
    public async Task TrainingThatFailsBeforeItWritesLeavesNoOutputFolder(string data)
    {
        using var temp = new TempFolder();
        string path = data == "missing" ? temp.File("nope.jsonl") : temp.Write("bad.jsonl", "{\"prompt_ids\": [1, 2\n");
        var output = temp.File("run");

        var (code, error) = await CliRunner.Run("train", "--model", ShippedModels.Stories260K, "--data", path, "--output", output, "--max-steps", "2", "--threads", "1");

        Assert.Equal(1, code);
        Assert.Contains(path, ModelCopies.ErrorLine(error));
        Assert.False(Directory.Exists(output), "a failed run left an empty --output folder");
    }

    [SkippableFact]
    public async Task TrajectoriesOfAnotherModelAreRefusedNamingBothAndNothingIsTrained()
    {
        using var temp = new TempFolder();
        var data = await Collect(temp, ShippedModels.Stories260K);
        var output = temp.File("run");

        var (code, error) = await CliRunner.Run("train", "--model", ShippedModels.Folder("sql-cllm"), "--data", data, "--output", output, "--max-steps", "2", "--save-every", "0", "--threads", "1");

        Assert.Equal(1, code);
        var line = ModelCopies.ErrorLine(error);
        Assert.Contains(data + ":1: these trajectories were collected with stories260K (fingerprint ", line);
        Assert.Contains("not with --model sql-cllm (fingerprint ", line);
        Assert.False(File.Exists(Path.Combine(output, "model.safetensors")));
        Assert.Empty(Directory.Exists(output) ? Directory.GetDirectories(output, "checkpoint-*") : Array.Empty<string>());
    }

    [SkippableFact]
    public async Task ResumingACollectionWithAnotherModelIsRefusedAndTheOutputKept()
    {
        using var temp = new TempFolder();
        var data = await Collect(temp, ShippedModels.Stories260K);
        var before = File.ReadAllBytes(data);
        var prompts = temp.File("prompts.jsonl");

        var (code, error) = await CliRunner.Run("collect", "--model", ShippedModels.Folder("sql-cllm"), "--prompts", prompts, "--output", data, "--max-new-tokens", "32", "--threads", "1");

        Assert.Equal(1, code);
        var line = ModelCopies.ErrorLine(error);
        Assert.Contains(data + ":1: --model sql-cllm (fingerprint ", line);
        Assert.Contains("is not the model stories260K (fingerprint ", line);
        Assert.Equal(before, File.ReadAllBytes(data));
    }

    [SkippableFact]
    public async Task RecordsWithoutAFingerprintTrainWithAWarningAndTheSizeChosenPresetAndKeptCheckpointsArePrinted()
    {
        using var temp = new TempFolder();
        var data = await Collect(temp, ShippedModels.Stories260K);
        var old = temp.File("old.jsonl");                                                 // as written before fingerprints existed
        File.WriteAllLines(old, File.ReadAllLines(data).Select(l =>
        {
            var record = JsonNode.Parse(l)!.AsObject();
            Assert.True(record["collect_settings"]!.AsObject().Remove("model"));
            return record.ToJsonString();
        }));
        var output = temp.File("run");

        var (code, log) = await CliRunner.Run("train", "--model", ShippedModels.Stories260K, "--data", old, "--output", output, "--max-steps", "3", "--save-every", "1", "--keep-checkpoints", "1", "--threads", "1");

        Assert.True(code == 0, log);
        var lines = ModelCopies.Lines(log);
        int records = new JsonlTrajectorySource(old).Read().Count();
        Assert.Contains(lines, l => l.StartsWith($"warning: {records} of {records} records in {old} carry no model fingerprint", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("preset small: the model has ", StringComparison.Ordinal) && l.Contains("under 100M", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("lr 0.006", StringComparison.Ordinal));  // the small preset's learning rate, in the run's header
        Assert.Contains(lines, l => l.StartsWith("checkpoints: every step into", StringComparison.Ordinal) && l.Contains("the newest 1 kept", StringComparison.Ordinal));
        Assert.Equal(new[] { "checkpoint-3" }, Directory.GetDirectories(output, "checkpoint-*").Select(Path.GetFileName));
        Assert.Contains(lines, l => l.EndsWith($"(last checkpoint {Path.Combine(output, "checkpoint-3")})", StringComparison.Ordinal));   // one line, however long the path
    }

    [Fact]
    public void ThePresetFollowsTheModelSize()
    {
        Assert.Equal("small", TrainCommand.PresetBySize(260_000).Name);
        Assert.Equal(TrainingOptions.SmallModel, TrainCommand.PresetBySize(3_500_000).Options);
        Assert.Equal("small", TrainCommand.PresetBySize(99_999_999).Name);
        var (name, options, reason) = TrainCommand.PresetBySize(100_000_000);
        Assert.Equal("reference", name);
        Assert.Equal(new TrainingOptions(), options);
        Assert.Contains("100,000,000 parameters, at least 100M", reason);
    }

    [SkippableTheory]
    [InlineData("-1")]
    [InlineData("many")]
    public async Task ABadKeepCheckpointsIsRefusedNamingTheFlagBeforeTheModelLoads(string value)
    {
        using var temp = new TempFolder();
        var (code, error) = await CliRunner.Run("train", "--model", temp.File("no-model"), "--data", temp.File("none.jsonl"), "--output", temp.File("run"), "--keep-checkpoints", value);

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains("--keep-checkpoints", line);
    }

    [SkippableTheory]
    [InlineData("--min-noise", "1.5")]
    [InlineData("--max-noise", "-0.2")]
    [InlineData("--noise-schedule", "cosine")]
    public async Task ABadNoiseSettingIsRefusedNamingTheFlagBeforeTheModelLoads(string flag, string value)
    {
        using var temp = new TempFolder();
        var (code, error) = await CliRunner.Run("train", "--model", temp.File("no-model"), "--data", temp.File("none.jsonl"), "--output", temp.File("run"), "--objective", "jacobi-forcing", flag, value);

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));
        Assert.Contains(flag, line);
    }

    [SkippableFact]
    public async Task AnOutputThatHoldsCheckpointsIsRefusedBeforeTheModelLoads()
    {
        using var temp = new TempFolder();
        string output = temp.File("run");
        var checkpoint = Directory.CreateDirectory(Path.Combine(output, "checkpoint-3"));
        File.WriteAllText(Path.Combine(checkpoint.FullName, TrainerState.FileName), "{}");    // a complete checkpoint, as far as the folder tells
        var (code, error) = await CliRunner.Run("train", "--model", ShippedModels.Stories260K, "--data", temp.Write("none.jsonl", string.Empty), "--output", output, "--max-steps", "3");

        Assert.Equal(1, code);
        var line = Assert.Single(ModelCopies.Lines(error));                                    // no preset, checkpoints or model line in front
        Assert.Equal($"error: --output {output} already holds training checkpoints (checkpoint-3); resume that run (--resume) or choose another output folder.", line);
    }
}
