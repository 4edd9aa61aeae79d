using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Cllm.Training;
using Spectre.Console;

namespace Cllm.CommandLine.Commands;

/// <summary>
/// <c>cllm train</c>: consistency-trains a Hugging Face model folder on collected Jacobi trajectories and writes
/// the final model into the output folder itself, with resumable Hugging Face checkpoints (checkpoint-&lt;step&gt;) beside it.
/// </summary>
internal static class TrainCommand
{
    /// <summary>
    /// Without --preset, models with fewer parameters than this train with <see cref="TrainingOptions.SmallModel"/>
    /// (measured on a 260K model, where the reference recipe reached 1.18 tokens per forward and the small one 2.36),
    /// larger ones with the reference recipe (made for 7B models). The bound is the README's "small models on CPU
    /// (≤ ~100M parameters)".
    /// </summary>
    internal const long SmallPresetBelowParameters = 100_000_000;

    /// <summary>Train's default for --threads and its reason (the loader's small-model default is for decoding).</summary>
    private const string TrainingThreads = "libtorch's choice, even for small models: a training step runs whole packed batches forwards and backwards, not the token-by-token forwards that one thread suits";

    public static Command Create()
    {
        var reference = new TrainingOptions();
        var small = TrainingOptions.SmallModel;
        var model = new ModelArguments("The base model");
        var data = new Option<string>("--data") { Description = "Trajectory records, JSONL (reference field names)", Required = true };
        var output = new OutputArguments(OutputKind.Folder, "Folder for the final model (Hugging Face files) and, inside it, checkpoint-<step> folders for --resume");
        var preset = new Option<string?>("--preset") { Description = Invariant($"Starting settings: reference (AR weight {reference.AutoregressiveWeight}, lr {reference.LearningRate}, 1 state per record; the reference recipe for 7B models) or small (AR weight {small.AutoregressiveWeight}, lr {small.LearningRate}, {small.StatesPerRecord} states per record; measured on a 260K model); the flags below override it. Default: small for models under {SmallPresetBelowParameters / 1_000_000}M parameters, else reference (printed at the start)") };
        var consistency = new Option<string?>("--consistency") { Description = "global | local (default global)" };
        var distance = new Option<string?>("--distance") { Description = "forward-kl | reverse-kl | jsd (default forward-kl)" };
        var arWeight = new Option<double?>("--ar-weight") { Description = "Weight ω of the autoregressive loss" };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (AdamW, cosine schedule with warm-up)" };
        var epochs = new Option<double?>("--epochs") { Description = Invariant($"Passes over the records (default {reference.Epochs})") };
        var maxSteps = new Option<int?>("--max-steps") { Description = "Optimizer steps (overrides --epochs)" };
        var batch = new Option<int?>("--batch-size") { Description = Invariant($"Records per micro-batch (default {reference.BatchSize})") };
        var states = new Option<int?>("--states-per-record") { Description = "Student states drawn from each record of a batch" };
        var accumulation = new Option<int?>("--grad-accum") { Description = Invariant($"Micro-batches per optimizer step (default {reference.GradientAccumulation})") };
        var seed = new Option<int?>("--seed") { Description = Invariant($"Seed of data order and state sampling (default {reference.Seed})") };
        var answerOnly = new Option<bool>("--ar-answer-only") { Description = "Take the AR loss on the tokens after each record's prompt only (default: the whole sequence, as the reference)" };
        var goldLabels = new Option<bool>("--gold-labels") { Description = "Take the AR loss on each record's labels_ids (a gold answer in the data) instead of the teacher's output" };
        var labelSmoothing = new Option<double?>("--label-smoothing") { Description = Invariant($"Label smoothing ε of the AR loss (default {reference.LabelSmoothing})") };
        var objective = new Option<string?>("--objective") { Description = "cllm | jacobi-forcing (default cllm): the CLLM consistency objective, or Jacobi Forcing (progressive-noise blocks packed with their fixed points, docs/jacobi-forcing.md)" };
        var noiseWindow = new Option<int?>("--noise-window") { Description = Invariant($"Jacobi Forcing: blocks per progressive noise window and packed sequence (default {reference.NoiseWindow})") };
        var minNoise = new Option<double?>("--min-noise") { Description = Invariant($"Jacobi Forcing: the lowest noise level of a window, in [0, 1] (default {reference.MinNoise}; the reference's --min_noisy_ratio)") };
        var maxNoise = new Option<double?>("--max-noise") { Description = Invariant($"Jacobi Forcing: the highest noise level of a window, in [--min-noise, 1] (default {reference.MaxNoise}; the reference's --max_noisy_ratio)") };
        var noiseSchedule = new Option<string?>("--noise-schedule") { Description = "Jacobi Forcing: linear (default: the progressive levels of a block's place in its window) or random (a level drawn from [--min-noise, --max-noise] at every visit)" };
        var cleanPrefix = new Option<bool>("--clean-prefix") { Description = "Jacobi Forcing: noisy blocks see the earlier fixed points instead of the earlier noisy blocks (the single-block decoder's situation)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in --output" };
        var saveEvery = new Option<int?>("--save-every") { Description = Invariant($"Checkpoint every K steps, 0 = only at the end (default {reference.SaveEvery})") };
        var keepCheckpoints = new Option<int?>("--keep-checkpoints") { Description = Invariant($"Newest checkpoint-<step> folders kept in --output, older ones deleted; 0 keeps all (default {reference.KeepCheckpoints})") };
        var threads = new ThreadArguments(TrainingThreads);
        var placement = new PlacementArguments();
        var command = new Command("train", "Consistency-train a model into a CLLM on Jacobi trajectories (global or local consistency + ω × AR loss).")
        {
            data, preset, consistency, distance, arWeight, answerOnly, goldLabels, labelSmoothing, lr, epochs, maxSteps, batch, states, accumulation, seed, resume, saveEvery, keepCheckpoints, objective, noiseWindow, minNoise, maxNoise, noiseSchedule, cleanPrefix,
        };
        model.AddTo(command);
        output.AddTo(command);
        threads.AddTo(command);
        placement.AddTo(command);
        command.SetAction((parse, cancellationToken) => System.Threading.Tasks.Task.FromResult(CliErrors.Run(parse, () =>
        {
            int? threadCount = threads.Apply(parse);
            string modelDir = model.Spec(parse);
            if (parse.GetValue(keepCheckpoints) is < 0 and var keep)
            {
                throw new ArgumentException(Invariant($"--keep-checkpoints must be at least 0, 0 keeping all (got {keep})."));
            }

            string? presetName = parse.GetValue(preset)?.Trim().ToLowerInvariant();
            TrainingOptions? named = presetName switch
            {
                null => null,
                "reference" => new TrainingOptions(),
                "small" => TrainingOptions.SmallModel,
                var other => throw new FormatException($"--preset: '{other}' is not reference or small."),
            };

            // The flags over a preset; without --preset the preset is chosen once the model's size is known, and the
            // flags are checked now over the reference one.
            TrainingOptions WithFlags(TrainingOptions start) => start with
            {
                Objective = parse.GetValue(objective) is { } o ? ParseObjective(o) : start.Objective,
                NoiseWindow = parse.GetValue(noiseWindow) is { } w ? (w >= 1 ? w : throw new ArgumentException($"--noise-window: must be at least 1 (got {w}).")) : start.NoiseWindow,
                MinNoise = parse.GetValue(minNoise) ?? start.MinNoise,
                MaxNoise = parse.GetValue(maxNoise) ?? start.MaxNoise,
                RandomNoise = parse.GetValue(noiseSchedule)?.Trim().ToLowerInvariant() switch
                {
                    null => start.RandomNoise,
                    "linear" => false,
                    "random" => true,
                    var other => throw new FormatException($"--noise-schedule: '{other}' is not linear or random."),
                },
                CleanPrefix = parse.GetValue(cleanPrefix),
                Consistency = parse.GetValue(consistency) is { } c ? ParseConsistency(c) : start.Consistency,
                Distance = parse.GetValue(distance) is { } d ? ParseDistance(d) : start.Distance,
                AutoregressiveWeight = parse.GetValue(arWeight) ?? start.AutoregressiveWeight,
                AnswerOnlyAutoregressive = parse.GetValue(answerOnly) || start.AnswerOnlyAutoregressive,
                UseLabelIds = parse.GetValue(goldLabels) || start.UseLabelIds,
                LabelSmoothing = parse.GetValue(labelSmoothing) ?? start.LabelSmoothing,
                LearningRate = parse.GetValue(lr) ?? start.LearningRate,
                Epochs = parse.GetValue(epochs) ?? start.Epochs,
                MaxSteps = parse.GetValue(maxSteps) ?? start.MaxSteps,
                BatchSize = parse.GetValue(batch) ?? start.BatchSize,
                StatesPerRecord = parse.GetValue(states) ?? start.StatesPerRecord,
                GradientAccumulation = parse.GetValue(accumulation) ?? start.GradientAccumulation,
                Seed = parse.GetValue(seed) ?? start.Seed,
                Resume = parse.GetValue(resume),
                SaveEvery = parse.GetValue(saveEvery) ?? start.SaveEvery,
                KeepCheckpoints = parse.GetValue(keepCheckpoints) ?? start.KeepCheckpoints,
                OutputDirectory = parse.GetValue(output.Output)!,
                TokenizerSource = modelDir,
            };

            var options = WithFlags(named ?? new TrainingOptions());
            options.Validate();
            if (string.Equals(Path.GetFullPath(options.OutputDirectory!).TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            {
                throw new ArgumentException("--output is the --model folder: the trained model would overwrite the base model; choose another folder.");
            }

            model.Folder(parse);                                                           // after the flags, before --output is created
            output.Check(parse);                                                           // an unusable --output fails now, not at the first checkpoint
            if (!options.Resume && TrainingCheckpoint.FindLatest(options.OutputDirectory!) is { } latest)
            {
                // The trainer refuses this too, but only once the model and data are loaded; the folder alone tells.
                throw new ArgumentException($"{output.Output.Name} {options.OutputDirectory} already holds training checkpoints ({Path.GetFileName(latest)}); resume that run (--resume) or choose another output folder.");
            }

            return Run(modelDir, parse.GetValue(data)!, options, presetName is null ? WithFlags : null, placement, threadCount, parse, cancellationToken);
        })));
        return command;
    }

    /// <summary>The preset for a model of <paramref name="parameters"/> parameters when --preset is not given, and why.</summary>
    internal static (string Name, TrainingOptions Options, string Reason) PresetBySize(long parameters) => parameters < SmallPresetBelowParameters
        ? ("small", TrainingOptions.SmallModel, Invariant($"the model has {parameters:N0} parameters, under {SmallPresetBelowParameters / 1_000_000}M; the reference recipe, made for 7B models, barely speeds up a model this small"))
        : ("reference", new TrainingOptions(), Invariant($"the model has {parameters:N0} parameters, at least {SmallPresetBelowParameters / 1_000_000}M"));

    /// <summary>
    /// float32 trains anywhere. bfloat16 runs on CPU and CUDA but keeps the AdamW moments and the updates in bfloat16
    /// (8 mantissa bits: small updates round away), so it is for memory-bound experiments only. float16 without loss
    /// scaling underflows its gradients, so it is refused on CPU and on CUDA alike.
    /// </summary>
    private static TorchSharp.torch.ScalarType TrainingDType(TorchSharp.torch.ScalarType dtype, TorchSharp.torch.Device device) => dtype switch
    {
        TorchSharp.torch.ScalarType.Float16 => throw new ArgumentException($"--dtype float16: training in float16 is not supported on {device.type.ToString().ToLowerInvariant()} (no loss scaling: gradients underflow); use float32, or bfloat16 to halve the memory."),
        _ => dtype,
    };

    // bySize: without --preset, the flags over a preset, applied to the preset chosen by the model's size (else null).
    private static int Run(string modelDir, string dataPath, TrainingOptions options, Func<TrainingOptions, TrainingOptions>? bySize, PlacementArguments placement, int? threads, ParseResult parse, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (Console.IsErrorRedirected)
        {
            console.Profile.Width = 1000;                                                  // logs: a path is never wrapped mid-way
        }

        var device = placement.ResolveDevice(parse);
        using var pretrained = PretrainedModel.Load(modelDir, new PretrainedModelOptions
        {
            DType = placement.RequestedDType(parse), Device = parse.GetValue(placement.Device)!, Threads = threads, SingleThreadForSmallModels = false, LoadTokenizer = false,
            CheckDType = dtype => TrainingDType(dtype, device),
        });
        var llm = pretrained.Model;
        var provenance = new TrajectoryProvenance();
        var records = new JsonlTrajectorySource(dataPath) { Provenance = provenance }.Read(cancellationToken).ToList();
        if (records.Count == 0)
        {
            throw new ArgumentException($"{dataPath} holds no trajectory records.");
        }

        var fingerprint = ModelFingerprint.Of(pretrained.Directory, llm.Config);
        if (provenance.Mismatch(fingerprint, dataPath) is { } mismatch)
        {
            throw new ArgumentException(mismatch);
        }

        if (provenance.Unstamped > 0)
        {
            Console.Error.WriteLine(Invariant($"warning: {provenance.Unstamped:N0} of {provenance.Records:N0} records in {dataPath} carry no model fingerprint (collected by an older cllm or another tool), so they cannot be checked against --model {fingerprint}; make sure they were collected with it."));
        }

        long parameters = llm.ParameterCount;
        if (bySize is not null)
        {
            var (name, preset, reason) = PresetBySize(parameters);
            options = bySize(preset);
            options.Validate();
            Console.Error.WriteLine($"preset {name}: {reason} (--preset reference or --preset small to choose; flags override it).");
        }

        Console.Error.WriteLine(options.SaveEvery == 0
            ? Invariant($"checkpoints: at the end (and on Ctrl+C) into {options.OutputDirectory}/checkpoint-<step>, {Kept(options.KeepCheckpoints)}.")
            : Invariant($"checkpoints: every {(options.SaveEvery == 1 ? "step" : Counted.Of(options.SaveEvery, "step"))} into {options.OutputDirectory}/checkpoint-<step>, {Kept(options.KeepCheckpoints)}."));
        int steps = options.TotalSteps(records);
        console.MarkupLine(Invariant($"[bold]{Markup.Escape(pretrained.Directory)}[/]: {parameters:N0} parameters; {Counted.Of(records.Count, "record", format: "N0")} ({Counted.Of(records.Sum(r => r.Trajectory.Count - 1), "non-final state", format: "N0")}), {Counted.Of(steps, "step", format: "N0")} of {options.BatchSize} × {options.GradientAccumulation}, {(options.Objective == TrainingObjective.JacobiForcing ? Invariant($"Jacobi Forcing (noise window {options.NoiseWindow}, {(options.RandomNoise ? "random" : "linear")} noise levels {options.MinNoise}–{options.MaxNoise}, one packed sequence of up to {Counted.Of(options.NoiseWindow, "block")} per batch slot)") : Invariant($"{options.Consistency.ToString().ToLowerInvariant()} consistency ({options.Distance}) on {Counted.Of(options.StatesPerRecord, "state")} per record"))} + {options.AutoregressiveWeight} × AR, lr {options.LearningRate}"));

        var trainer = new ConsistencyTrainer(llm, options);
        TrainingResult? result = null;
        if (console.Profile.Capabilities.Interactive)
        {
            console.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: steps);
                    var progress = new SyncProgress<TrainingProgress>(p =>
                    {
                        task.Value = p.Step;
                        task.Description = Markup.Escape(Describe(p));
                    });
                    result = trainer.Train(records, progress, cancellationToken);
                });
        }
        else
        {
            // A line every 2% of the run, and at least every 30 seconds.
            int every = Math.Max(1, steps / 50);
            var sinceLine = System.Diagnostics.Stopwatch.StartNew();
            var progress = new SyncProgress<TrainingProgress>(p =>
            {
                if (p.Step % every == 0 || p.Step == p.TotalSteps || p.Checkpoint is not null || sinceLine.Elapsed.TotalSeconds >= 30)
                {
                    sinceLine.Restart();
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
            var table = new Table().AddColumns("loss", $"first {Counted.Of(window, "step")}", $"last {Counted.Of(window, "step")}");
            table.AddRow("consistency", F(first.Consistency), F(last.Consistency));
            table.AddRow("autoregressive", F(first.Autoregressive), F(last.Autoregressive));
            table.AddRow("total", F(first.Total), F(last.Total));
            console.Write(table);
        }

        console.MarkupLine(Invariant($"steps {result.StartStep} → {result.Steps} in {result.Elapsed.TotalSeconds:F1} s; model: [bold]{Markup.Escape(result.Model ?? "-")}[/] (last checkpoint {Markup.Escape(result.FinalCheckpoint ?? "-")})"));
        return 0;
    }

    private static string Kept(int keep) => keep == 0
        ? "all kept (--keep-checkpoints 0)"
        : Invariant($"the newest {keep} kept, older ones deleted (--keep-checkpoints {keep}; 0 keeps all)");

    private static string Describe(TrainingProgress p) => Invariant(
        $"step {p.Step}/{p.TotalSteps} loss {p.Loss.Total:F3} (consistency {p.Loss.Consistency:F3}, AR {p.Loss.Autoregressive:F3}) lr {p.LearningRate:G3} {p.TokensPerSecond:F0} tok/s");

    private static TrainingObjective ParseObjective(string text) => text.Trim().ToLowerInvariant() switch
    {
        "cllm" or "consistency" => TrainingObjective.Consistency,
        "jacobi-forcing" or "jf" => TrainingObjective.JacobiForcing,
        _ => throw new FormatException($"--objective: '{text}' is not cllm or jacobi-forcing."),
    };

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
}
