using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Threading;
using Cllm.Checkpoints;
using Cllm.Modeling;
using Cllm.Training;
using Cllm.Training.Losses;
using Cllm.Training.Trajectories;
using Spectre.Console;

namespace Cllm.Cli.Commands;

/// <summary>
/// <c>cllm train</c>: consistency-trains a Hugging Face model folder on collected Jacobi trajectories and writes
/// resumable Hugging Face checkpoints (checkpoint-&lt;step&gt;) into the output folder.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var defaults = new TrainingOptions();
        var model = new Option<string>("--model") { Description = "Base model: Hugging Face folder (config.json, model.safetensors, tokenizer)", Required = true };
        var data = new Option<string>("--data") { Description = "Trajectory records, JSONL (reference field names)", Required = true };
        var output = new Option<string>("--output") { Description = "Folder for checkpoint-<step> folders", Required = true };
        var consistency = new Option<string>("--consistency") { Description = "global | local", DefaultValueFactory = _ => "global" };
        var distance = new Option<string>("--distance") { Description = "forward-kl | reverse-kl | jsd", DefaultValueFactory = _ => "forward-kl" };
        var arWeight = new Option<double>("--ar-weight") { Description = "Weight ω of the autoregressive loss", DefaultValueFactory = _ => defaults.AutoregressiveWeight };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (AdamW, cosine schedule with warm-up)", DefaultValueFactory = _ => defaults.LearningRate };
        var epochs = new Option<double>("--epochs") { Description = "Passes over the records", DefaultValueFactory = _ => defaults.Epochs };
        var maxSteps = new Option<int?>("--max-steps") { Description = "Optimizer steps (overrides --epochs)" };
        var batch = new Option<int>("--batch-size") { Description = "Records per micro-batch", DefaultValueFactory = _ => defaults.BatchSize };
        var accumulation = new Option<int>("--grad-accum") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => defaults.GradientAccumulation };
        var seed = new Option<int>("--seed") { Description = "Seed of data order and state sampling", DefaultValueFactory = _ => defaults.Seed };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in --output" };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every K steps (0 = only at the end)", DefaultValueFactory = _ => defaults.SaveEvery };
        var threads = new Option<int?>("--threads") { Description = "libtorch intra-op threads" };
        var command = new Command("train", "Consistency-train a model into a CLLM on Jacobi trajectories (global or local consistency + ω × AR loss).")
        {
            model, data, output, consistency, distance, arWeight, lr, epochs, maxSteps, batch, accumulation, seed, resume, saveEvery, threads,
        };
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(() =>
        {
            if (parse.GetValue(threads) is { } t)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(t, 1, "--threads");
                TorchSharp.torch.set_num_threads(t);
            }

            string modelDir = parse.GetValue(model)!;
            var options = new TrainingOptions
            {
                Consistency = ParseConsistency(parse.GetValue(consistency)!),
                Distance = ParseDistance(parse.GetValue(distance)!),
                AutoregressiveWeight = parse.GetValue(arWeight),
                LearningRate = parse.GetValue(lr),
                Epochs = parse.GetValue(epochs),
                MaxSteps = parse.GetValue(maxSteps),
                BatchSize = parse.GetValue(batch),
                GradientAccumulation = parse.GetValue(accumulation),
                Seed = parse.GetValue(seed),
                Resume = parse.GetValue(resume),
                SaveEvery = parse.GetValue(saveEvery),
                OutputDirectory = parse.GetValue(output)!,
                TokenizerSource = modelDir,
            };
            options.Validate();
            return Run(modelDir, parse.GetValue(data)!, options, cancellationToken);
        })));
        return command;
    }

    private static int Run(string modelDir, string dataPath, TrainingOptions options, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var directory = HfModelDirectory.Open(modelDir);
        var config = directory.ReadConfig();
        using var llm = new LlamaForCausalLM(config);
        CheckpointLoader.LoadWeights(llm, directory, config.TieWordEmbeddings);
        var records = new JsonlTrajectorySource(dataPath).Read(cancellationToken).ToList();
        if (records.Count == 0)
        {
            throw new ArgumentException($"{dataPath} holds no trajectory records.");
        }

        int steps = options.TotalSteps(records.Count);
        long parameters = llm.parameters().Sum(p => p.numel());
        console.MarkupLine(Invariant($"[bold]{Markup.Escape(directory.Path)}[/]: {parameters:N0} parameters; {records.Count:N0} records ({records.Sum(r => r.Trajectory.Count - 1):N0} non-final states), {steps:N0} steps of {options.BatchSize} × {options.GradientAccumulation}, {options.Consistency.ToString().ToLowerInvariant()} consistency ({options.Distance}) + {options.AutoregressiveWeight} × AR, lr {options.LearningRate}"));

        var trainer = new ConsistencyTrainer(llm, options);
        TrainingResult? result = null;
        if (console.Profile.Capabilities.Interactive)
        {
            console.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: steps);
                    var progress = new Reporter(p =>
                    {
                        task.Value = p.Step;
                        task.Description = Markup.Escape(Describe(p));
                    });
                    result = trainer.Train(records, progress, cancellationToken);
                });
        }
        else
        {
            int every = Math.Max(1, steps / 50);
            var progress = new Reporter(p =>
            {
                if (p.Step % every == 0 || p.Step == p.TotalSteps || p.Checkpoint is not null)
                {
                    Console.Error.WriteLine(Describe(p) + Invariant($", eta {p.Eta:hh\\:mm\\:ss}") + (p.Checkpoint is null ? string.Empty : $", saved {p.Checkpoint}"));
                }
            });
            result = trainer.Train(records, progress, cancellationToken);
        }

        var losses = result!.Losses;
        if (losses.Count > 0)
        {
            int window = Math.Max(1, Math.Min(20, losses.Count / 5));
            var first = LossComponents.Mean(losses.Take(window).ToList());
            var last = LossComponents.Mean(losses.TakeLast(window).ToList());
            var table = new Table().AddColumns("loss", Invariant($"first {window} steps"), Invariant($"last {window} steps"));
            table.AddRow("consistency", F(first.Consistency), F(last.Consistency));
            table.AddRow("autoregressive", F(first.Autoregressive), F(last.Autoregressive));
            table.AddRow("total", F(first.Total), F(last.Total));
            console.Write(table);
        }

        console.MarkupLine(Invariant($"steps {result.StartStep} → {result.Steps} in {result.Elapsed.TotalSeconds:F1} s; final checkpoint: [bold]{Markup.Escape(result.FinalCheckpoint ?? "-")}[/]"));
        return 0;
    }

    private static string Describe(TrainingProgress p) => Invariant(
        $"step {p.Step}/{p.TotalSteps} loss {p.Loss.Total:F3} (consistency {p.Loss.Consistency:F3}, AR {p.Loss.Autoregressive:F3}) lr {p.LearningRate:G3} {p.TokensPerSecond:F0} tok/s");

    private static ConsistencyKind ParseConsistency(string text) => text.Trim().ToLowerInvariant() switch
    {
        "global" or "gc" => ConsistencyKind.Global,
        "local" or "lc" => ConsistencyKind.Local,
        _ => throw new FormatException($"--consistency: '{text}' is not global or local."),
    };

    private static ConsistencyDistance ParseDistance(string text) => text.Trim().ToLowerInvariant() switch
    {
        "forward-kl" or "kl" => ConsistencyDistance.ForwardKl,
        "reverse-kl" => ConsistencyDistance.ReverseKl,
        "jsd" or "js" => ConsistencyDistance.JensenShannon,
        _ => throw new FormatException($"--distance: '{text}' is not forward-kl, reverse-kl or jsd."),
    };

    private static string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Runs the callback on the training thread (System.Progress would post to the thread pool).</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
