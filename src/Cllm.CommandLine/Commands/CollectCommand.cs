using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Training;
using Spectre.Console;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// <c>cllm collect</c>: Jacobi trajectory collection (the paper's Algorithm 1) into a JSONL data set for
/// consistency training. Resumable (rerun with the same output) and shardable (<c>--shard I/K</c>).
/// </summary>
internal static class CollectCommand
{
    public static Command Create()
    {
        var model = new ModelArguments("The target model");
        var prompts = new Option<string>("--prompts") { Description = "JSONL file, one {\"prompt\": ...} per line; line i becomes data_i", Required = true };
        var output = new OutputArguments(OutputKind.File, "JSONL data set to write; an existing file is resumed");
        var blockSize = new Option<int>("--block-size") { Description = "Jacobi block size n (training must use the same n)", DefaultValueFactory = _ => 16 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens generated per prompt at most, rounded down to whole blocks (at least --block-size)", DefaultValueFactory = _ => 256 };
        var augment = new Option<bool>("--augment") { Description = "Randomly correct wrong tokens of early states (reference data augmentation)" };
        var clean = new Option<bool>("--clean") { Description = "Drop records whose teacher output repeats one token 10 times in a row" };
        var seed = new Option<int>("--seed") { Description = "Seed of the initial guesses and of augmentation", DefaultValueFactory = _ => 0 };
        var threads = new ThreadArguments();
        var shard = new Option<string>("--shard") { Description = "Collect only prompts i with i % K == I, e.g. 0/4; shard outputs concatenate", DefaultValueFactory = _ => "0/1" };
        var placement = new PlacementArguments();
        var command = new Command("collect", "Collect Jacobi trajectories of a model on prompts: one JSONL record per block (context, states y(0)..y*, teacher output), for consistency training.")
        {
            prompts, blockSize, maxNew, augment, clean, seed, shard,
        };
        model.AddTo(command);
        output.AddTo(command);
        threads.AddTo(command);
        placement.AddTo(command);
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(parse, () =>
        {
            int? threadCount = threads.Apply(parse);
            AtLeastOne(parse.GetValue(blockSize), "--block-size");
            AtLeastOne(parse.GetValue(maxNew), "--max-new-tokens");
            CheckBlockFitsContext(model.Spec(parse), parse.GetValue(blockSize));          // the context first: it is what a too large block runs into
            if (parse.GetValue(maxNew) < parse.GetValue(blockSize))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"--max-new-tokens {parse.GetValue(maxNew)} is less than --block-size {parse.GetValue(blockSize)}: every record holds one whole block, so a prompt gets ⌊max-new-tokens / block-size⌋ blocks; raise --max-new-tokens to at least {parse.GetValue(blockSize)} or lower --block-size."));
            }

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
            string path = output.Check(parse)!;                                             // before the model loads
            string folder = model.Folder(parse);
            using var pretrained = PretrainedModel.Load(folder, placement.LoaderOptions(parse, folder, threadCount));
            var ids = texts.Select(t => (IReadOnlyList<int>)pretrained.Tokenizer.Encode(t)).ToList();
            options = options with { EosTokenIds = pretrained.EosTokenIds };
            var fingerprint = ModelFingerprint.Of(pretrained.Directory, pretrained.Config);
            var collector = new JacobiTrajectoryCollector(pretrained.Model, ids, options) { Fingerprint = fingerprint };
            var shardPrompts = collector.ShardPrompts.ToList();
            CheckBlocksFit(collector, shardPrompts, ids);                                  // before anything is decoded or written
            int total = shardPrompts.Count;
            int blocks = options.BlocksPerPrompt;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"collecting {total} of {Counted.Of(texts.Count, "prompt")} (shard {options.Shard}) into {path} with {fingerprint}: n = {options.BlockSize}, up to {Counted.Of(blocks, "block")} = {Counted.Of(blocks * options.BlockSize, "new token")} per prompt (--max-new-tokens {options.MaxNewTokens}{(options.MaxNewTokens % options.BlockSize == 0 ? string.Empty : " rounded down to whole blocks")}), EOS {Ids(pretrained.EosTokenIds)}, seed {options.Seed}, augment {OnOff(options.Augment)}, clean {OnOff(options.Clean)}"));
            if (pretrained.EosTokenIds.Count == 0)
            {
                Console.Error.WriteLine("warning: the model declares no EOS id; every prompt runs to --max-new-tokens.");
            }

            var summary = Console.IsErrorRedirected
                ? collector.CollectToFile(path, new SyncProgress<CollectionSummary>(p => Console.Error.WriteLine(Line(p))), cancellationToken)
                : WithProgressBar(collector, path, total, cancellationToken);
            Report(summary, path);
            return 0;
        })));
        return command;
    }

    /// <summary>
    /// Refuses, before the weights load, a block that even a one-token prompt has no room for (1 + n + 1 positions); a
    /// config.json that is missing or cannot be read is left for the loader to report.
    /// </summary>
    private static void CheckBlockFitsContext(string modelDir, int n)
    {
        string config = System.IO.Path.Combine(modelDir, HfModelDirectory.ConfigFileName);
        if (!System.IO.File.Exists(config))
        {
            return;
        }

        int context;
        try
        {
            context = HfConfigReader.Read(config).MaxPositionEmbeddings;
        }
        catch (CheckpointException)
        {
            return;
        }

        if (n + 2 > context)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--block-size {n} does not fit the model's context of {context} tokens: a block needs the prompt + {n} + 1 positions; use --block-size {Math.Max(1, context - 2)} or less (less still for longer prompts)."));
        }
    }

    /// <summary>
    /// Refuses a block size no prompt of the shard has room for (prompt + n + 1 positions must fit the context), naming
    /// --block-size and the context length; warns once, up front, about the prompts that will be skipped.
    /// </summary>
    private static void CheckBlocksFit(JacobiTrajectoryCollector collector, List<int> shardPrompts, List<IReadOnlyList<int>> ids)
    {
        int n = collector.Options.BlockSize, context = collector.ContextLength;
        var skipped = shardPrompts.Where(i => collector.BlocksFor(i) == 0).ToList();
        if (skipped.Count == 0)
        {
            return;
        }

        int shortest = shardPrompts.Min(i => ids[i].Count);
        int largest = context - shortest - 1;                                            // the largest n the shortest prompt has room for
        if (skipped.Count == shardPrompts.Count)
        {
            string fix = largest >= 1
                ? string.Create(CultureInfo.InvariantCulture, $"use --block-size {largest} or less")
                : "shorten the prompts";
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--block-size {n} does not fit the model's context of {context} tokens: a block needs the prompt + {n} + 1 positions and the shortest prompt has {shortest} tokens; {fix}."));
        }

        string which = string.Join(", ", skipped.Take(5).Select(TrajectoryJson.FormatDataId)) + (skipped.Count > 5 ? ", …" : string.Empty);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"warning: {skipped.Count} of {shardPrompts.Count} prompts ({which}) are too long for a block of {n} tokens in the model's context of {context} tokens and will be skipped."));
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
                summary = collector.CollectToFile(path, new SyncProgress<CollectionSummary>(p =>
                {
                    task.Value = p.PromptsDone;
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"{p.PromptsDone}/{p.Prompts} prompts, {Counted.Of(p.BlocksWritten, "block")}");
                }), cancellationToken);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    /// <summary>One line per decoded prompt when stderr is not a terminal.</summary>
    private static string Line(CollectionSummary p)
    {
        var last = p.LastPrompt!;
        string what = last.TooLong
            ? "too long for the model's context, skipped"
            : string.Create(CultureInfo.InvariantCulture, $"{Counted.Of(last.Records.Count, "block")} written, {last.BlocksDropped} dropped, {Counted.Of(last.TokensGenerated, "token")} in {Counted.Of(last.ForwardPasses, "forward")}{(last.ReachedEos ? ", EOS" : string.Empty)}");
        return string.Create(CultureInfo.InvariantCulture, $"[{p.PromptsDone}/{p.Prompts}] data_{last.PromptIndex}: {what}, {last.Elapsed.TotalMilliseconds:F0} ms");
    }

    private static void Report(CollectionSummary s, string path)
    {
        if (s.TruncatedBytes > 0)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resumed an interrupted run: cut {Counted.Of(s.TruncatedBytes, "byte")} of an unfinished prompt off the end of {path} and decoded it again."));
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {Counted.Of(s.PromptsCollected, "prompt")} collected, {s.PromptsResumed} already in the output, {s.PromptsTooLong} too long; {Counted.Of(s.BlocksWritten, "block")} written, {s.BlocksDropped} dropped by cleaning, {Counted.Of(s.StatesAugmented, "state")} augmented."));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Counted.Of(s.TokensGenerated, "token")} in {Counted.Of(s.ForwardPasses, "forward")} ({s.TokensPerForward:F2} tokens/forward); wall time {s.Elapsed.TotalSeconds:F1} s, {s.BlocksPerSecond:F1} blocks/s, {s.TokensPerSecond:F0} tokens/s."));
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
}
