using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Cllm.Checkpoints;
using Cllm.Modeling;
using Cllm.Training.Losses;
using Cllm.Training.Trajectories;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// Turns a target model into a CLLM: AdamW on <c>L_consistency + ω · L_AR</c> over Jacobi trajectory records, with a
/// cosine schedule, gradient clipping and accumulation, seeded data order, and resumable checkpoints. Training
/// updates the given model in place, on the calling thread; every optimizer step runs in one dispose scope, so
/// memory stays flat across steps.
/// </summary>
public sealed class ConsistencyTrainer
{
    private readonly LlamaForCausalLM _model;
    private readonly ILogger _logger;

    /// <param name="model">The model to train (its weights are the starting point unless a checkpoint is resumed).</param>
    /// <param name="options">Run settings; validated here.</param>
    /// <param name="logger">Progress log; none by default.</param>
    public ConsistencyTrainer(LlamaForCausalLM model, TrainingOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The run settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Reads every record of <paramref name="source"/> and trains on them.</summary>
    public TrainingResult Train(ITrajectorySource source, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Train(source.Read(cancellationToken).ToList(), progress, cancellationToken);
    }

    /// <summary>
    /// Trains on <paramref name="records"/>. With <see cref="TrainingOptions.Resume"/>, continues from the newest
    /// checkpoint of the output folder with its weights, optimizer moments and step, and ends with the same weights as
    /// an uninterrupted run. On cancellation the completed steps are saved as a checkpoint (when there is an output
    /// folder) before <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    /// <exception cref="ArgumentException">A record is inconsistent, holds ids outside the vocabulary or is longer than the model's context.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint to resume belongs to a different run, or the loss stops being finite.</exception>
    public TrainingResult Train(IReadOnlyList<TrajectoryRecord> records, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            throw new ArgumentException("no trajectory records to train on.", nameof(records));
        }

        CheckRecords(records);
        var options = Options;
        var objective = options.CreateObjective();
        int totalSteps = options.TotalSteps(records.Count);
        var schedule = LearningRateSchedule.From(options, totalSteps);
        var order = new DataOrder(options.Seed, records.Count);
        var parameters = _model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        var runState = new TrainerState
        {
            TotalSteps = totalSteps,
            Seed = options.Seed,
            BatchSize = options.BatchSize,
            GradientAccumulation = options.GradientAccumulation,
            StatesPerRecord = options.StatesPerRecord,
            Records = records.Count,
            DataFingerprint = TrainerState.Fingerprint(records),
            Consistency = objective.Consistency.Name,
            LearningRate = options.LearningRate,
            Settings = TrainingSettings.From(options),
        };

        torch.manual_seed(options.Seed);
        using var optimizer = CreateOptimizer(parameters.Select(p => p.parameter));
        int startStep = Resume(parameters, optimizer, runState);
        Log.TrainingStarted(_logger, objective.Consistency.Name, objective.Consistency.Distance.ToString(), objective.AutoregressiveWeight, records.Count, totalSteps, options.BatchSize, options.GradientAccumulation, options.LearningRate, options.Seed);

        bool wasTraining = _model.training;
        _model.train();
        var losses = new List<LossComponents>();
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        string? lastCheckpoint = options.OutputDirectory is null ? null : TrainingCheckpoint.FindLatest(options.OutputDirectory);
        int lastSaved = lastCheckpoint is null ? -1 : startStep;
        int step = startStep;
        try
        {
            for (; step < totalSteps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                double lr = schedule.At(step);
                var (loss, gradNorm, stepTokens) = RunStep(step, lr, records, order, objective, optimizer, parameters);
                tokens += stepTokens;
                losses.Add(loss);

                string? saved = null;
                int done = step + 1;
                if (options.OutputDirectory is not null && ((options.SaveEvery > 0 && done % options.SaveEvery == 0) || done == totalSteps))
                {
                    saved = SaveCheckpoint(parameters, optimizer, runState, done, loss);
                    lastCheckpoint = saved;
                    lastSaved = done;
                }

                var elapsed = clock.Elapsed;
                int ran = done - startStep;
                if (done % options.LogEvery == 0 || done == totalSteps || ran == 1)
                {
                    Log.StepDone(_logger, done, totalSteps, loss.Total, loss.Consistency, loss.Autoregressive, lr, gradNorm, tokens / Math.Max(1e-9, elapsed.TotalSeconds));
                }

                progress?.Report(new TrainingProgress
                {
                    Step = done,
                    TotalSteps = totalSteps,
                    Epoch = (double)done * options.GradientAccumulation * options.BatchSize / records.Count,
                    Loss = loss,
                    LearningRate = lr,
                    GradientNorm = gradNorm,
                    TokensPerSecond = tokens / Math.Max(1e-9, elapsed.TotalSeconds),
                    Elapsed = elapsed,
                    Eta = TimeSpan.FromSeconds(elapsed.TotalSeconds / ran * (totalSteps - done)),
                    Checkpoint = saved,
                });
            }
        }
        catch (OperationCanceledException)
        {
            Log.TrainingCancelled(_logger, step);
            if (options.OutputDirectory is not null && step > lastSaved && step > startStep)
            {
                SaveCheckpoint(parameters, optimizer, runState, step, losses.Count > 0 ? losses[^1] : default);
            }

            throw;
        }
        finally
        {
            if (!wasTraining)
            {
                _model.eval();
            }
        }

        // The final model goes into the output folder itself (as Hugging Face's save_model), beside the
        // checkpoint-<step> folders kept for resuming.
        string? finalModel = null;
        if (options.OutputDirectory is not null)
        {
            CheckpointWriter.Save(_model, _model.Config, options.OutputDirectory, options.TokenizerSource, storeAs: null);
            finalModel = options.OutputDirectory;
        }

        Log.TrainingFinished(_logger, totalSteps, clock.Elapsed.TotalSeconds);
        return new TrainingResult(startStep, totalSteps, lastCheckpoint, losses, clock.Elapsed) { Model = finalModel };
    }

    /// <summary>One optimizer step: K micro-batches of B examples, clipping, AdamW; all tensors die with the scope.</summary>
    private (LossComponents Loss, double GradNorm, long Tokens) RunStep(
        int step,
        double lr,
        IReadOnlyList<TrajectoryRecord> records,
        DataOrder order,
        CllmObjective objective,
        AdamWOptimizer optimizer,
        List<(string Name, Parameter Parameter)> parameters)
    {
        var options = Options;
        int k = options.GradientAccumulation, b = options.BatchSize;
        optimizer.LearningRate = lr;
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        var parts = new LossComponents[k];
        long tokens = 0;
        for (int micro = 0; micro < k; micro++)
        {
            long firstSlot = ((long)step * k + micro) * b;
            var examples = new List<ConsistencyExample>(b * options.StatesPerRecord);
            for (int j = 0; j < b; j++)
            {
                long slot = firstSlot + j;
                var record = records[order.RecordAt(slot)];
                foreach (var pair in SelectPairs(objective.Consistency, record, order.StateRandom(slot), options.StatesPerRecord))
                {
                    var example = ConsistencyExample.FromRecord(record, pair, options.UseLabelIds, options.AnswerOnlyAutoregressive);
                    examples.Add(example);
                    tokens += example.Context.Count + example.BlockLength + (objective.AutoregressiveWeight > 0 ? example.Labels.Count : 0);
                }
            }

            parts[micro] = objective.Backward(_model, new ConsistencyBatch(examples), 1.0 / k);
        }

        var loss = LossComponents.Mean(parts);
        double maxNorm = options.MaxGradNorm > 0 ? options.MaxGradNorm : double.PositiveInfinity;
        double gradNorm = nn.utils.clip_grad_norm_(parameters.Select(p => p.Parameter), maxNorm);
        if (!double.IsFinite(loss.Total) || !double.IsFinite(gradNorm))
        {
            throw new InvalidOperationException($"step {step + 1}: the loss ({loss.Total}) or gradient norm ({gradNorm}) is not finite; lower the learning rate.");
        }

        optimizer.Step();
        return (loss, gradNorm, tokens);
    }

    /// <summary>Up to <paramref name="count"/> pairs with distinct student states (fewer when the trajectory is short).</summary>
    internal static List<ConsistencyPair> SelectPairs(IConsistencyLoss loss, TrajectoryRecord record, Random random, int count)
    {
        var pairs = new List<ConsistencyPair>(count);
        int distinct = Math.Max(1, record.Trajectory.Count - 1);
        for (int attempt = 0; pairs.Count < Math.Min(count, distinct) && attempt < 8 * count; attempt++)
        {
            var pair = loss.SelectPair(record, random);
            if (!pairs.Exists(p => p.StudentState == pair.StudentState))
            {
                pairs.Add(pair);
            }
        }

        return pairs;
    }

    private AdamWOptimizer CreateOptimizer(IEnumerable<Parameter> parameters)
    {
        var options = Options;
        return new AdamWOptimizer(parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
    }

    /// <summary>Loads the newest checkpoint when resuming; returns the step to continue from.</summary>
    private int Resume(List<(string Name, Parameter Parameter)> parameters, AdamWOptimizer optimizer, TrainerState runState)
    {
        if (Options.OutputDirectory is null || TrainingCheckpoint.FindLatest(Options.OutputDirectory) is not { } latest)
        {
            return 0;
        }

        if (!Options.Resume)
        {
            // A fresh run would overwrite or prune that run's checkpoints: never lose them silently.
            throw new InvalidOperationException($"{Options.OutputDirectory} already holds training checkpoints ({System.IO.Path.GetFileName(latest)}); resume that run (--resume) or choose another output folder.");
        }

        var saved = TrainerState.Read(System.IO.Path.Combine(latest, TrainerState.FileName));
        if (saved.Incompatibility(runState) is { } reason)
        {
            throw new InvalidOperationException($"cannot resume from {latest}: {reason}. Use the same data and settings, or another output folder.");
        }

        TrainingCheckpoint.Load(latest, _model, parameters, optimizer);
        Log.Resumed(_logger, latest, saved.Step);
        return saved.Step;
    }

    private string SaveCheckpoint(List<(string Name, Parameter Parameter)> parameters, AdamWOptimizer optimizer, TrainerState runState, int step, LossComponents loss)
    {
        var folder = TrainingCheckpoint.Save(
            Options.OutputDirectory!,
            _model,
            parameters,
            optimizer,
            runState with { Step = step, LastLoss = loss.Total },
            Options.TokenizerSource,
            Options.KeepCheckpoints);
        Log.CheckpointSaved(_logger, folder);
        return folder;
    }

    private void CheckRecords(IReadOnlyList<TrajectoryRecord> records)
    {
        int vocab = _model.Config.VocabSize;
        int context = _model.Config.MaxPositionEmbeddings;
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            try
            {
                r.Validate();
                var example = ConsistencyExample.FromRecord(r, new ConsistencyPair(0, r.Trajectory.Count - 1), Options.UseLabelIds, Options.AnswerOnlyAutoregressive);
                example.Validate(vocab);
                var labels = example.Labels;
                foreach (var state in r.Trajectory)
                {
                    if (state.Any(t => (uint)t >= (uint)vocab))
                    {
                        throw new ArgumentException($"a trajectory state holds a token outside the vocabulary [0, {vocab}).");
                    }
                }

                if (r.PromptIds.Count + r.BlockLength > context || labels.Count > context)
                {
                    throw new ArgumentException($"{Math.Max(r.PromptIds.Count + r.BlockLength, labels.Count)} tokens exceed the model's {context} positions.");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                throw new ArgumentException($"record {i} ({r.DataId}, block {r.BlockIndex}): {ex.Message}", nameof(records), ex);
            }
        }
    }
}
