using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Training;
using Spectre.Console;

namespace Cllm.Cli.Commands;

/// <summary>
/// <c>cllm collect</c>: Jacobi trajectory collection (the paper's Algorithm 1) into a JSONL data set for
/// consistency training. Resumable (rerun with the same output) and shardable (<c>--shard I/K</c>).
/// </summary>
internal static class CollectCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face checkpoint folder of the target model", Required = true };
        var prompts = new Option<string>("--prompts") { Description = "JSONL file, one {\"prompt\": ...} per line; line i becomes data_i", Required = true };
        var output = new Option<string>("--output") { Description = "JSONL data set to write; an existing file is resumed", Required = true };
        var blockSize = new Option<int>("--block-size") { Description = "Jacobi block size n (training must use the same n)", DefaultValueFactory = _ => 16 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens generated per prompt at most, rounded up to whole blocks", DefaultValueFactory = _ => 256 };
        var augment = new Option<bool>("--augment") { Description = "Randomly correct wrong tokens of early states (reference data augmentation)" };
        var clean = new Option<bool>("--clean") { Description = "Drop records whose teacher output repeats one token 10 times in a row" };
        var seed = new Option<int>("--seed") { Description = "Seed of the initial guesses and of augmentation", DefaultValueFactory = _ => 0 };
        var threads = new Option<int?>("--threads") { Description = "libtorch intra-op threads (default: libtorch's choice; 1 is best for tiny models or a busy machine)" };
        var shard = new Option<string>("--shard") { Description = "Collect only prompts i with i % K == I, e.g. 0/4; shard outputs concatenate", DefaultValueFactory = _ => "0/1" };
        var placement = new PlacementArguments();
        var command = new Command("collect", "Collect Jacobi trajectories of a model on prompts: one JSONL record per block (context, states y(0)..y*, teacher output), for consistency training.")
        {
            model, prompts, output, blockSize, maxNew, augment, clean, seed, shard, threads,
        };
        placement.AddTo(command);
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(() =>
        {
            AtLeastOne(parse.GetValue(blockSize), "--block-size");
            AtLeastOne(parse.GetValue(maxNew), "--max-new-tokens");
            AtLeastOne(parse.GetValue(threads) ?? 1, "--threads");
            var options = new TrajectoryCollectionOptions
            {
                BlockSize = parse.GetValue(blockSize),
                MaxNewTokens = parse.GetValue(maxNew),
                Augment = parse.GetValue(augment),
                Clean = parse.GetValue(clean),
                Seed = parse.GetValue(seed),
                Shard = TrajectoryShard.Parse(parse.GetValue(shard)!),
            };
            options.Validate();
            var texts = PromptFile.Read(parse.GetValue(prompts)!);
            string path = parse.GetValue(output)!;
            OutputPaths.CheckFile(path, "--output");                                      // before the model loads

            using var pretrained = PretrainedModel.Load(parse.GetValue(model)!, placement.LoaderOptions(parse, parse.GetValue(model)!, parse.GetValue(threads)));
            var ids = texts.Select(t => (IReadOnlyList<int>)pretrained.Tokenizer.Encode(t)).ToList();
            options = options with { EosTokenIds = pretrained.EosTokenIds };
            var collector = new JacobiTrajectoryCollector(pretrained.Model, ids, options);
            int total = collector.ShardPrompts.Count();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"collecting {total} of {texts.Count} prompts (shard {options.Shard}) into {path}: n = {options.BlockSize}, up to {options.MaxNewTokens} new tokens, EOS {Ids(pretrained.EosTokenIds)}, seed {options.Seed}, augment {OnOff(options.Augment)}, clean {OnOff(options.Clean)}"));
            if (pretrained.EosTokenIds.Count == 0)
            {
                Console.Error.WriteLine("warning: the model declares no EOS id; every prompt runs to --max-new-tokens.");
            }

            var summary = Console.IsErrorRedirected
                ? collector.CollectToFile(path, new Reporter(p => Console.Error.WriteLine(Line(p))), cancellationToken)
                : WithProgressBar(collector, path, total, cancellationToken);
            Report(summary, path);
            return 0;
        })));
        return command;
    }

    private static CollectionSummary WithProgressBar(JacobiTrajectoryCollector collector, string path, int total, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        CollectionSummary? summary = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("prompts", maxValue: Math.Max(1, total));
                summary = collector.CollectToFile(path, new Reporter(p =>
                {
                    task.Value = p.PromptsDone;
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"{p.PromptsDone}/{p.PromptsTotal} prompts, {p.Totals.BlocksWritten} blocks");
                }), cancellationToken);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    /// <summary>One line per decoded prompt when stderr is not a terminal.</summary>
    private static string Line(CollectionProgress p)
    {
        var last = p.LastPrompt;
        string what = last.TooLong
            ? "too long for the model's context, skipped"
            : string.Create(CultureInfo.InvariantCulture, $"{last.Records.Count} blocks written, {last.BlocksDropped} dropped, {last.TokensGenerated} tokens in {last.ForwardPasses} forwards{(last.ReachedEos ? ", EOS" : string.Empty)}");
        return string.Create(CultureInfo.InvariantCulture, $"[{p.PromptsDone}/{p.PromptsTotal}] data_{last.PromptIndex}: {what}, {last.Elapsed.TotalMilliseconds:F0} ms");
    }

    private static void Report(CollectionSummary s, string path)
    {
        if (s.TruncatedBytes > 0)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resumed an interrupted run: cut {s.TruncatedBytes} bytes of an unfinished prompt off the end of {path} and decoded it again."));
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {s.PromptsCollected} prompts collected, {s.PromptsResumed} already in the output, {s.PromptsTooLong} too long; {s.BlocksWritten} blocks written, {s.BlocksDropped} dropped by cleaning, {s.StatesAugmented} states augmented."));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.TokensGenerated} tokens in {s.ForwardPasses} forwards ({s.TokensPerForward:F2} tokens/forward); wall time {s.Elapsed.TotalSeconds:F1} s, {s.BlocksPerSecond:F1} blocks/s, {s.TokensPerSecond:F0} tokens/s."));
    }

    private static void AtLeastOne(int value, string option)
    {
        if (value < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{option} must be at least 1 (got {value})."));
        }
    }

    private static string Ids(IReadOnlyList<int> ids) => ids.Count == 0 ? "none" : string.Join(',', ids.Select(i => i.ToString(CultureInfo.InvariantCulture)));

    private static string OnOff(bool value) => value ? "on" : "off";

    /// <summary>Reports synchronously on the collecting thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Reporter(Action<CollectionProgress> report) : IProgress<CollectionProgress>
    {
        public void Report(CollectionProgress value) => report(value);
    }
}
