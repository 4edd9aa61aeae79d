using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Cllm.CommandLine;
using Cllm.Tests.TestKit;

namespace Cllm.Tests.Cli;

/// <summary>
/// The options many commands share (--model, --threads, --output) are declared once and refuse bad values with the same
/// line on every command that takes them.
/// </summary>
[Collection("Console")]
public class CommonOptionsTests
{
    /// <summary>Each command with --threads, and the other flags it needs to get as far as running.</summary>
    public static readonly TheoryData<string, string> ThreadCommands = new()
    {
        { "generate", "--prompt Once" },
        { "bench", "--decoders ar" },
        { "collect", "--prompts @p.jsonl --output @traj.jsonl" },
        { "train", "--data @d.jsonl --output @run" },
        { "dev stress", string.Empty },
    };

    /// <summary>Each command with --model, and valid other flags (@name: a file in the test's folder) so that the model folder is what fails.</summary>
    public static readonly TheoryData<string, string> ModelCommands = new()
    {
        { "generate", "--prompt Once" },
        { "bench", "--prompts @prompts.jsonl --decoders ar --curve 1" },
        { "collect", "--prompts @prompts.jsonl --output @out/traj.jsonl" },
        { "train", "--data @data.jsonl --output @out" },
        { "export", "--output @out/model.gguf" },
        { "grow", "--shape 128x6 --output @out" },
        { "dev stress", string.Empty },
    };

    [Fact]
    public void TheTablesCoverEveryCommandThatTakesTheOption()
    {
        var commands = Commands(CommandLineApp.CreateRoot(), string.Empty).ToList();
        Assert.Equal(ThreadCommands.Select(row => (string)row[0]).Order(), commands.Where(c => Takes(c.Command, "--threads")).Select(c => c.Path).Order());
        Assert.Equal(ModelCommands.Select(row => (string)row[0]).Order(), commands.Where(c => Takes(c.Command, "--model")).Select(c => c.Path).Order());
    }

    [Fact]
    public void EachCommonOptionHasOneDescriptionWhereverItIsTaken()
    {
        var commands = Commands(CommandLineApp.CreateRoot(), string.Empty).Select(c => c.Command).ToList();
        var threads = commands.SelectMany(c => c.Options).Where(o => o.Name == "--threads").Select(o => o.Description).Distinct().ToList();

        // One wording for the decoding commands, and train's own default with its reason.
        Assert.Equal(2, threads.Count);
        Assert.All(threads, d => Assert.StartsWith("libtorch intra-op threads, at least 1 (default: ", d));
        Assert.Single(threads, d => d!.Contains("training step", StringComparison.Ordinal));
        Assert.All(commands.SelectMany(c => c.Options).Where(o => o.Name == "--model"),
            o => Assert.Contains("Hugging Face model folder (config.json, safetensors weights, tokenizer files)", o.Description, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ThreadCommands))]
    public async Task EveryCommandRefusesFewerThanOneThreadWithTheSameLine(string command, string others)
    {
        using var temp = new TempFolder();
        foreach (var threads in new[] { "0", "-1" })
        {
            var args = command.Split(' ').Concat(new[] { "--model", temp.File("no-model"), "--threads", threads }).Concat(Args(temp, others)).ToArray();
            var (code, error) = await CliRunner.Run(args);

            Assert.Equal(1, code);
            var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.Equal($"error: --threads: '{threads}' is less than 1 (cllm {command} --help lists the options).", line);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));                          // refused while parsing: nothing written
    }

    [Theory]
    [MemberData(nameof(ModelCommands))]
    public async Task EveryCommandRefusesAMissingModelFolderWithTheSameLine(string command, string others)
    {
        using var temp = new TempFolder();
        temp.Write("prompts.jsonl", "{\"prompt\": \"Once upon a time\"}\n");
        temp.Write("data.jsonl", string.Empty);
        string missing = temp.File("no-model");
        var args = command.Split(' ').Concat(new[] { "--model", missing }).Concat(Args(temp, others)).ToArray();
        var (code, error) = await CliRunner.Run(args);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal($"error: --model {missing}: model folder not found", line);
        Assert.False(Directory.Exists(temp.File("out")) && Directory.EnumerateFileSystemEntries(temp.File("out")).Any());   // nothing written for it
    }

    [Fact]
    public async Task AModelFolderWithoutConfigAndAFileAreNamedAsTheModelFlag()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.File("empty"));
        var (code, error) = await CliRunner.Run("generate", "--model", temp.File("empty"), "--prompt", "Once");
        Assert.Equal(1, code);
        Assert.Equal($"error: --model {temp.File("empty")}: model folder has no config.json", error.Trim());

        string file = temp.Write("model.txt", "x");
        (code, error) = await CliRunner.Run("dev", "stress", "--model", file);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: --model {file}: is a file; expected a model folder", error.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABaselineThatIsNotAModelFolderIsNamedAsTheBaselineFlag()
    {
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", "{\"prompt\": \"Once upon a time\"}\n");
        string missing = temp.File("no-base");
        var (code, error) = await CliRunner.Run("bench", "--model", ShippedModels.Stories260K, "--baseline", missing, "--prompts", prompts, "--curve", "1");
        Assert.Equal(1, code);
        Assert.Equal($"error: --baseline {missing}: model folder not found", error.Trim());
    }

    /// <summary>
    /// Each command with --output, valid other flags (@name: a file in the test's folder, @model: a shipped model) and
    /// what --output names: a file, a folder, or a new folder.
    /// </summary>
    public static readonly TheoryData<string, string, string> OutputCommands = new()
    {
        { "generate", "--model @model --prompt Once", "file" },
        { "bench", "--model random:260k --decoders ar --curve 1", "file" },
        { "collect", "--model @model --prompts @prompts.jsonl", "file" },
        { "export", "--model @model", "file" },
        { "train", "--model @model --data @data.jsonl", "folder" },
        { "download", "org/model", "folder" },
        { "grow", "--model @model --shape 128x6", "new folder" },
        { "dev init", "--shape 260k", "new folder" },
    };

    [Fact]
    public void TheOutputTableCoversEveryCommandThatTakesOutput()
    {
        var commands = Commands(CommandLineApp.CreateRoot(), string.Empty).Where(c => Takes(c.Command, "--output")).Select(c => c.Path);
        Assert.Equal(OutputCommands.Select(row => (string)row[0]).Order(), commands.Order());
    }

    [Theory]
    [MemberData(nameof(OutputCommands))]
    public async Task EveryCommandRefusesAFileForAFolderOrAFolderForAFileNamingOutput(string command, string others, string kind)
    {
        using var temp = new TempFolder();
        temp.Write("prompts.jsonl", "{\"prompt\": \"Once upon a time\"}\n");
        temp.Write("data.jsonl", string.Empty);
        string given = kind == "file" ? temp.Path : temp.Write("taken", "x");
        var args = command.Split(' ').Concat(Args(temp, others)).Concat(new[] { "--output", given }).ToArray();
        var (code, error) = await CliRunner.Run(args);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(kind switch
        {
            "file" => $"error: --output {given} is a folder; give a file name.",
            "folder" => $"error: --output {given} is a file; give a folder.",
            _ => $"error: --output {given} is a file; give a new folder.",
        }, line);
        Assert.Equal(kind == "file" ? 2 : 3, Directory.EnumerateFileSystemEntries(temp.Path).Count());      // nothing written beside the inputs
    }

    [Theory]
    [MemberData(nameof(OutputCommands))]
    public async Task EveryCommandRefusesAnOutputThatCannotBeCreatedNamingOutput(string command, string others, string kind)
    {
        using var temp = new TempFolder();
        temp.Write("prompts.jsonl", "{\"prompt\": \"Once upon a time\"}\n");
        temp.Write("data.jsonl", string.Empty);
        string taken = temp.Write("taken", "x");
        string given = Path.Combine(taken, "sub");                                             // below a file: no folder can be made there
        var args = command.Split(' ').Concat(Args(temp, others)).Concat(new[] { "--output", given }).ToArray();
        var (code, error) = await CliRunner.Run(args);

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        string folder = kind == "file" ? taken : given;                                        // a file's folder, or the folder itself
        Assert.Equal($"error: --output {given}: cannot create the folder {folder} ({taken} is a file).", line);
        Assert.Equal(3, Directory.EnumerateFileSystemEntries(temp.Path).Count());              // nothing written beside the inputs
    }

    [Fact]
    public async Task ANewFolderOutputIsCheckedWithoutLeavingItBehind()
    {
        using var temp = new TempFolder();
        string output = Path.Combine(temp.Path, "a", "b");
        var (code, error) = await CliRunner.Run("grow", "--model", ShippedModels.Stories260K, "--shape", "no-such-shape", "--output", output);

        Assert.Equal(1, code);
        Assert.DoesNotContain("--output", error, StringComparison.Ordinal);                    // the output was fine; the shape is not
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));                          // the folders made to check it are gone
    }

    [Theory]
    [InlineData("random:260k")]
    [InlineData("@model")]
    public async Task WithoutThreadsASmallModelGetsOneThreadWhetherLoadedOrRandom(string model)
    {
        using var temp = new TempFolder();
        var prompts = temp.Write("prompts.jsonl", "{\"prompt\": \"Once upon a time\"}\n");
        var output = temp.File("bench.json");
        int before = TorchSharp.torch.get_num_threads();
        try
        {
            TorchSharp.torch.set_num_threads(2);
            var (code, error) = await CliRunner.Run(new[] { "bench", "--model", model == "@model" ? ShippedModels.Stories260K : model }
                .Concat(model == "@model" ? new[] { "--prompts", prompts } : Array.Empty<string>())          // a random model decodes synthetic prompts
                .Concat(new[] { "--decoders", "ar", "--requests", "1", "--max-new-tokens", "2", "--curve", "", "--output", output }).ToArray());
            Assert.True(code == 0, error);
            using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(output));
            Assert.Equal(1, report.RootElement.GetProperty("torch_threads").GetInt32());        // under 5M parameters on the CPU
        }
        finally
        {
            TorchSharp.torch.set_num_threads(before);
        }
    }

    /// <summary>The flags of a table row, @name made a path inside <paramref name="temp"/>.</summary>
    private static IEnumerable<string> Args(TempFolder temp, string others) => others
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(arg => arg == "@model" ? ShippedModels.Stories260K : arg.StartsWith('@') ? temp.File(arg[1..]) : arg);

    private static bool Takes(Command command, string option) => command.Options.Any(o => o.Name == option);

    /// <summary>Every command below <paramref name="parent"/> with its path ("dev stress").</summary>
    private static IEnumerable<(string Path, Command Command)> Commands(Command parent, string prefix)
    {
        foreach (var command in parent.Subcommands)
        {
            string path = prefix.Length == 0 ? command.Name : $"{prefix} {command.Name}";
            yield return (path, command);
            foreach (var child in Commands(command, path))
            {
                yield return child;
            }
        }
    }
}
