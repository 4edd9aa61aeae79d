using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Cllm.Benchmarking;
using Cllm.Core;
using Cllm.Reproduction.Commands;
using Cllm.Reproduction.Data;
using Cllm.Reproduction.Evaluation;
using Cllm.Reproduction.Sql;
using Cllm.Reproduction.Training;
using Cllm.Training;
using TorchSharp;

namespace Cllm.Reproduction.Pipeline;

/// <summary>
/// The reproduction end to end in one output folder: <c>data/</c> (splits, tokenizer, SQLite files), <c>base/</c>
/// (the pretrained model), <c>trajectories/</c> (Jacobi trajectories of the base model), <c>cllm/</c> (the
/// consistency-trained model) and <c>eval/</c> (the table), then <c>report.md</c>. Each stage writes a JSON summary
/// last; a stage whose summary exists is skipped, so a rerun resumes after the last finished stage (trajectory
/// collection and consistency training also resume mid-stage). The first run records its settings in
/// <c>settings.json</c>; a rerun with other settings is refused rather than mixed with the earlier stages.
/// </summary>
public sealed class ReproductionPipeline
{
    private readonly string _root;
    private readonly TextWriter _log;
    private readonly List<StageTiming> _timings = [];

    /// <summary>A pipeline writing into <paramref name="outputDir"/> and logging progress to <paramref name="log"/>.</summary>
    public ReproductionPipeline(string outputDir, ReproductionSettings settings, TextWriter log)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDir);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        _root = Path.GetFullPath(outputDir);
        Settings = settings.Resolved();
        if (Settings.CllmLabelSmoothing is not (>= 0 and < 1))
        {
            throw new ArgumentException(Invariant($"label smoothing must be in [0, 1), got {Settings.CllmLabelSmoothing}."), nameof(settings));
        }

        _log = log;
    }

    /// <summary>The settings, with the trainer's defaults filled in (<see cref="ReproductionSettings.Resolved"/>).</summary>
    public ReproductionSettings Settings { get; }

    /// <summary>data/: sql-{train,dev,test}.jsonl, tokenizer/, databases/.</summary>
    public string DataDir => Path.Combine(_root, "data");

    /// <summary>base/: the base model (Hugging Face folder, float32) and pretrain.json.</summary>
    public string BaseDir => Path.Combine(_root, "base");

    /// <summary>trajectories/: trajectories.jsonl and summary.json.</summary>
    public string TrajectoryDir => Path.Combine(_root, "trajectories");

    /// <summary>cllm/: the CLLM (Hugging Face folder, float32) and training.json.</summary>
    public string CllmDir => Path.Combine(_root, "cllm");

    /// <summary>eval/: results.json.</summary>
    public string EvalDir => Path.Combine(_root, "eval");

    /// <summary>The settings the folder's stages were made with (<see cref="SettingsFile"/>).</summary>
    public string SettingsPath => Path.Combine(_root, SettingsFile.FileName);

    /// <summary>The report written at the end.</summary>
    public string ReportPath => Path.Combine(_root, "report.md");

    /// <summary>Wall times of the stages (of the runs that produced them).</summary>
    public IReadOnlyList<StageTiming> Timings => _timings;

    private string TokenizerDir => Path.Combine(DataDir, "tokenizer");

    /// <summary>
    /// Records the settings in <see cref="SettingsPath"/> when the folder has none; otherwise checks that they match
    /// the recorded ones (<see cref="SettingsFile.OperationalFields"/> aside). <see cref="Run"/> starts with this.
    /// </summary>
    /// <exception cref="InvalidOperationException">The folder was made with other settings.</exception>
    public void RecordSettings()
    {
        if (File.Exists(SettingsPath))
        {
            var differences = SettingsFile.Differences(SettingsPath, Settings);
            if (differences.Count > 0)
            {
                throw new InvalidOperationException($"{_root} was made with other settings: {string.Join(", ", differences)}; use a new --output folder (or the recorded settings to resume).");
            }

            return;
        }

        if (Directory.Exists(_root) && Directory.EnumerateFiles(_root, "*.json", SearchOption.AllDirectories).Any())
        {
            Log($"{SettingsFile.FileName} missing: the settings of the stages done earlier are unknown; recording the current ones");
        }

        SettingsFile.Write(SettingsPath, Settings);
    }

    /// <summary>Runs every stage that has not finished yet, then writes the report; returns the evaluation.</summary>
    /// <exception cref="InvalidOperationException">The folder was made with other settings (<see cref="RecordSettings"/>).</exception>
    public EvaluationReport Run(CancellationToken cancellationToken = default)
    {
        RecordSettings();
        torch.set_num_threads(Settings.Threads);
        var total = Stopwatch.StartNew();
        RunStage("data", Path.Combine(DataDir, "data.json"), RunData, seconds => seconds);
        var pretrain = RunStage("base", Path.Combine(BaseDir, "pretrain.json"), () => RunBase(cancellationToken), s => s.Seconds);
        var collection = RunStage("trajectories", Path.Combine(TrajectoryDir, "summary.json"), () => RunCollection(cancellationToken), s => s.Seconds);
        var training = RunStage("cllm", Path.Combine(CllmDir, "training.json"), () => RunCllm(cancellationToken), s => s.Seconds);
        var evaluation = RunStage("evaluation", Path.Combine(EvalDir, "results.json"), () => RunEvaluation(cancellationToken), s => s.Seconds);
        File.WriteAllText(ReportPath, ReportWriter.Markdown(Settings, _timings, pretrain, collection, training, evaluation));
        Log($"report: {ReportPath} (this invocation: {total.Elapsed.TotalMinutes:F1} min)");
        return evaluation;
    }

    /// <summary>Runs a stage unless its summary file exists; records its wall time either way.</summary>
    private T RunStage<T>(string name, string summaryPath, Func<T> run, Func<T, double> seconds)
    {
        if (File.Exists(summaryPath))
        {
            var existing = ReportJson.Read<T>(summaryPath);
            _timings.Add(new StageTiming(name, seconds(existing), SkippedNow: true));
            Log($"[{name}] done earlier ({summaryPath}); skipped");
            return existing;
        }

        Log($"[{name}] running");
        var clock = Stopwatch.StartNew();
        var result = run();
        double elapsed = clock.Elapsed.TotalSeconds;
        ReportJson.Write(summaryPath, result);
        _timings.Add(new StageTiming(name, seconds(result), SkippedNow: false));
        Log($"[{name}] finished in {elapsed:F0} s");
        return result;
    }

    /// <summary>Writes the data folder; returns its wall time in seconds (data.json holds that number).</summary>
    private double RunData()
    {
        var clock = Stopwatch.StartNew();
        var s = Settings;
        DataCommand.Run(DataDir, s.DataSeed, s.TrainTasks, s.DevTasks, s.TestTasks, s.VocabSize, sweep: null);
        return clock.Elapsed.TotalSeconds;
    }

    private PretrainSummary RunBase(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var s = Settings;
        var tokenizer = CllmTokenizer.FromDirectory(TokenizerDir);
        var encoder = new SqlSequenceEncoder(tokenizer);
        var train = encoder.EncodeAll(SqlTaskJsonl.Read(Path.Combine(DataDir, "sql-train.jsonl")));
        var config = s.Shape.ToConfig(tokenizer.VocabSize, encoder.Bos, encoder.Eos);
        using var model = ModelShape.CreateModel(config, s.ModelSeed);
        long parameters = model.ParameterCount;
        Log($"[base] {s.Shape}: {parameters:N0} parameters, {train.Count:N0} sequences, {s.Pretrain.Steps} steps of {s.Pretrain.BatchSize}, lr {s.Pretrain.LearningRate}");
        var sequences = train.Select(q => new CausalLmSequence(q.Ids, q.AnswerStart)).ToList();
        var history = new CausalLmTrainer(model, s.Pretrain.ToTrainingOptions()).Train(sequences, new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Step % 50 == 0 || p.Step == p.TotalSteps)
            {
                Log(Invariant($"[base] step {p.Step}/{p.TotalSteps} loss {p.Loss.Autoregressive:F4} lr {p.LearningRate:G3} {p.Elapsed.TotalSeconds:F0} s, eta {p.Eta.TotalSeconds:F0} s"));
            }
        }), cancellationToken).Losses;
        model.eval();

        using var scorer = new ExecutionScorer();
        var dev = SqlTaskJsonl.Read(Path.Combine(DataDir, "sql-dev.jsonl")).Take(s.PretrainDevTasks).ToList();
        var run = new SqlEvaluator(encoder, scorer).Run(model, DecoderOptions.Autoregressive, dev, cancellationToken: cancellationToken);
        Log(Invariant($"[base] dev execution accuracy {100 * run.Score.ExecutionAccuracy:F1}%, exact match {100 * run.Score.ExactMatchAccuracy:F1}% ({dev.Count} tasks)"));
        model.Save(BaseDir, TokenizerDir);
        return new PretrainSummary
        {
            Shape = s.Shape.ToString(),
            Parameters = parameters,
            Steps = s.Pretrain.Steps,
            BatchSize = s.Pretrain.BatchSize,
            LearningRate = s.Pretrain.LearningRate,
            AnswerOnly = s.Pretrain.AnswerOnly,
            FinalLoss = history.TakeLast(20).Average(h => h.Autoregressive),
            LossCurve = history.Where((_, i) => (i + 1) % 50 == 0).Select(h => Math.Round(h.Autoregressive, 5)).ToList(),
            DevTasks = dev.Count,
            DevExecution = run.Score.ExecutionAccuracy,
            DevExact = run.Score.ExactMatchAccuracy,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    private CollectionReport RunCollection(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var s = Settings;
        var encoder = new SqlSequenceEncoder(CllmTokenizer.FromDirectory(TokenizerDir));
        var prompts = SqlTaskJsonl.Read(Path.Combine(DataDir, "sql-train.jsonl")).Take(s.CollectPrompts)
            .Select(t => (IReadOnlyList<int>)encoder.EncodePrompt(t.Prompt)).ToList();
        using var model = ModelFolder.Load(BaseDir);
        var options = new TrajectoryCollectionOptions
        {
            BlockSize = s.BlockSize,
            MaxNewTokens = s.CollectMaxNewTokens,
            EosTokenIds = new[] { encoder.Eos },
            Seed = s.CollectSeed,
            Augment = s.Augment,
            Clean = true,
        };
        var collector = new JacobiTrajectoryCollector(model, prompts, options);
        string path = Path.Combine(TrajectoryDir, "trajectories.jsonl");
        Directory.CreateDirectory(TrajectoryDir);
        int every = Math.Max(1, prompts.Count / 20);
        var summary = collector.CollectToFile(path, new SyncProgress<CollectionSummary>(p =>
        {
            if (p.PromptsDone % every == 0 || p.PromptsDone == p.Prompts)
            {
                Log(Invariant($"[trajectories] {p.PromptsDone}/{p.Prompts} prompts, {p.BlocksWritten} records, {p.TokensPerForward:F2} tokens/forward, {p.Elapsed.TotalSeconds:F0} s"));
            }
        }), cancellationToken);
        var records = new JsonlTrajectorySource(path).Read(cancellationToken).ToList();
        return new CollectionReport
        {
            Prompts = prompts.Count,
            BlockSize = s.BlockSize,
            Records = records.Count,
            Dropped = summary.BlocksDropped,
            States = records.Sum(r => (long)r.Trajectory.Count - 1),
            TokensPerForward = summary.TokensPerForward,
            Augment = s.Augment,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    private CllmTrainingReport RunCllm(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var s = Settings;
        var records = new JsonlTrajectorySource(Path.Combine(TrajectoryDir, "trajectories.jsonl")).Read(cancellationToken).ToList();
        if (s.CllmGoldLabels)
        {
            records = WithGoldLabels(records);
        }

        using var model = ModelFolder.Load(BaseDir);
        string checkpoints = Path.Combine(_root, "cllm-checkpoints");
        var options = new TrainingOptions
        {
            LearningRate = s.CllmLearningRate,
            BatchSize = s.CllmBatchSize,
            Epochs = s.CllmEpochs,
            AutoregressiveWeight = s.CllmArWeight,
            AnswerOnlyAutoregressive = s.CllmAnswerOnlyAr,
            LabelSmoothing = s.CllmLabelSmoothing!.Value,
            UseLabelIds = s.CllmGoldLabels,
            Seed = s.CllmSeed,
            OutputDirectory = checkpoints,
            TokenizerSource = BaseDir,
            Resume = true,
            SaveEvery = 100,
            KeepCheckpoints = 1,
        };
        int steps = options.TotalSteps(records.Count);
        int batchSize = options.BatchSize;
        Log($"[cllm] {records.Count:N0} records, {steps} steps of {options.BatchSize}, lr {options.LearningRate}, global consistency + {options.AutoregressiveWeight} x AR ({(options.AnswerOnlyAutoregressive ? "answer only" : "whole sequence")}, label smoothing {options.LabelSmoothing})");
        var result = new ConsistencyTrainer(model, options).Train(records, new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Step % 25 == 0 || p.Step == p.TotalSteps)
            {
                Log(Invariant($"[cllm] step {p.Step}/{p.TotalSteps} consistency {p.Loss.Consistency:F4} AR {p.Loss.Autoregressive:F4} lr {p.LearningRate:G3} {p.Elapsed.TotalSeconds:F0} s, eta {p.Eta.TotalSeconds:F0} s"));
            }
        }), cancellationToken);
        var losses = result.Losses.ToList();
        Directory.Delete(checkpoints, recursive: true);

        model.Save(CllmDir, BaseDir);
        var first = LossComponents.Mean(losses.Take(Math.Min(20, losses.Count)).ToList());
        var last = LossComponents.Mean(losses.TakeLast(Math.Min(20, losses.Count)).ToList());
        return new CllmTrainingReport
        {
            Records = records.Count,
            Steps = steps,
            BatchSize = batchSize,
            LearningRate = s.CllmLearningRate,
            ArWeight = s.CllmArWeight,
            AnswerOnlyAr = s.CllmAnswerOnlyAr,
            FirstConsistency = first.Consistency,
            LastConsistency = last.Consistency,
            FirstAutoregressive = first.Autoregressive,
            LastAutoregressive = last.Autoregressive,
            LossCurve = losses.Select((l, i) => (l, i)).Where(x => (x.i + 1) % 25 == 0).Select(x => new[] { Math.Round(x.l.Consistency, 5), Math.Round(x.l.Autoregressive, 5) }).ToList(),
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Attaches <c>labels_ids</c> = BOS + prompt + gold SQL + EOS to every record ("data_i" is training task i).</summary>
    private List<TrajectoryRecord> WithGoldLabels(List<TrajectoryRecord> records)
    {
        var encoder = new SqlSequenceEncoder(CllmTokenizer.FromDirectory(TokenizerDir));
        var train = SqlTaskJsonl.Read(Path.Combine(DataDir, "sql-train.jsonl"));
        return records.Select(r =>
        {
            int index = int.Parse(r.DataId.AsSpan(r.DataId.LastIndexOf('_') + 1), NumberStyles.None, CultureInfo.InvariantCulture);
            return r with { LabelIds = encoder.Encode(train[index]).Ids };
        }).ToList();
    }

    private EvaluationReport RunEvaluation(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var s = Settings;
        var encoder = new SqlSequenceEncoder(CllmTokenizer.FromDirectory(TokenizerDir));
        using var scorer = new ExecutionScorer();
        var evaluator = new SqlEvaluator(encoder, scorer);
        using var baseModel = ModelFolder.Load(BaseDir);
        using var cllm = ModelFolder.Load(CllmDir);

        // 1. The forward-cost curve of this model on this machine, after a typical prompt.
        var dev = SqlTaskJsonl.Read(Path.Combine(DataDir, "sql-dev.jsonl")).Take(s.BlockSearchTasks).ToList();
        int past = (int)Math.Round(dev.Average(t => encoder.EncodePrompt(t.Prompt).Length));
        var sizes = new[] { 1, 2 }.Concat(s.BlockSizes).Append(s.BlockSize).Distinct().OrderBy(n => n).ToList();
        var curve = ForwardBreakdown.CostCurve(cllm, sizes, past: past);
        Log("[evaluation] forward cost vs 1 token: " + string.Join(", ", curve.Select(p => Invariant($"{p.Tokens}: {p.CostVsOne:F2}"))));

        // 2. The CLLM's tokens per forward per block size on dev; the curve turns them into an expected speed.
        var search = new List<BlockSizeChoice>();
        foreach (int n in s.BlockSizes.Append(s.BlockSize).Distinct().OrderBy(n => n))
        {
            var run = evaluator.Run(cllm, DecoderOptions.Parse($"jacobi:{n}"), dev, cancellationToken: cancellationToken);
            long tokens = run.Results.Sum(r => (long)r.Stats.GeneratedTokens);
            double tpf = (double)tokens / run.Results.Sum(r => (long)r.Stats.ForwardPasses);
            double cost = curve.First(p => p.Tokens == n).CostVsOne;
            double tps = tokens / run.Results.Sum(r => r.Stats.Elapsed.TotalSeconds);
            search.Add(new BlockSizeChoice(n, tpf, cost, tpf / cost, tps));
            Log(Invariant($"[evaluation] dev jacobi:{n}: {tpf:F2} tokens/forward, cost {cost:F2} → estimate {tpf / cost:F2}; measured {tps:F0} tokens/s"));
        }

        int best = search.MaxBy(c => c.EstimatedSpeedup)!.BlockSize;
        Log($"[evaluation] block size chosen from the cost curve: {best}");

        // 3. Every model × decoder on the test split, interleaved in one process.
        var test = SqlTaskJsonl.Read(Path.Combine(DataDir, "sql-test.jsonl")).Take(s.EvalTasks).ToList();
        var decoders = new List<DecoderOptions> { DecoderOptions.Autoregressive, DecoderOptions.Parse($"jacobi:{s.BlockSize}") };
        if (best != s.BlockSize)
        {
            decoders.Add(DecoderOptions.Parse($"jacobi:{best}"));
        }

        decoders.Add(DecoderOptions.Parse(s.Lookahead));
        var setups = new[] { ("base", baseModel), ("cllm", cllm) }
            .SelectMany(m => decoders.Select(d => new DecodeSetup(m.Item1, m.Item2, d))).ToList();
        var requests = test.Select(t => evaluator.Request(t)).ToList();
        int every = Math.Max(1, requests.Count / 10) * setups.Count;
        int finished = 0;
        var (_, outcomes) = DecoderBenchmark.Run(
            new[] { new BenchmarkModel("base", baseModel), new BenchmarkModel("cllm", cllm) },
            requests,
            decoders,
            new SyncProgress<BenchmarkOutcome>(_ =>
            {
                if (++finished % every == 0 || finished == requests.Count * setups.Count)
                {
                    Log($"[evaluation] test {finished / setups.Count}/{requests.Count}");
                }
            }),
            cancellationToken);
        var byRow = outcomes.ToLookup(o => (o.Model, o.Decoder));
        IReadOnlyList<IReadOnlyList<DecodeResult>> results = setups
            .Select(x => (IReadOnlyList<DecodeResult>)byRow[(x.ModelName, x.Decoder.Label)].OrderBy(o => o.Request).Select(o => o.Result).ToList())
            .ToList();
        var rows = EvaluationTable.Build(setups, test, results, evaluator);
        var mismatches = new List<string>();
        for (int i = 0; i < setups.Count; i++)
        {
            int ownAr = setups.FindIndex(x => x.ModelName == setups[i].ModelName && x.Decoder is AutoregressiveOptions);
            var differing = Enumerable.Range(0, test.Count).Where(r => !results[i][r].OutputIds.SequenceEqual(results[ownAr][r].OutputIds)).ToList();
            if (differing.Count > 0)
            {
                mismatches.Add($"{setups[i].Label}: {string.Join(' ', differing)}");
            }
        }

        return new EvaluationReport
        {
            CostCurve = curve.Select(p => new[] { p.Tokens, Math.Round(p.CostVsOne, 4), Math.Round(p.MedianMilliseconds, 4) }).ToList(),
            BlockSearch = search,
            ChosenBlockSize = best,
            Rows = rows,
            Mismatches = mismatches,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    private void Log(string message)
    {
        _log.WriteLine(Invariant($"{DateTime.Now:HH:mm:ss} {message}"));
        _log.Flush();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
