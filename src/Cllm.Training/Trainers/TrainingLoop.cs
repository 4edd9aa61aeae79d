using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// Accumulates <c>scale · loss</c> of the micro-batch whose first example slot is <c>firstSlot</c> into the parameters'
/// gradients; returns the unscaled loss values and the tokens it ran through the model.
/// </summary>
internal delegate (LossComponents Loss, long Tokens) MicroBatchStep(long firstSlot, double scale);

/// <summary>
/// The one step loop of every trainer: for each optimizer step, K micro-batches of B example slots → loss → backward
/// (by the trainer's <see cref="MicroBatchStep"/>) → clip → AdamW at the cosine-with-warm-up learning rate, all in one
/// dispose scope; around it checkpoints, resume (weights, optimizer moments, step; the data position is the step),
/// progress, logging, cancellation, and the final model saved into the output folder itself.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly LlamaForCausalLM _model;
    private readonly TrainingOptions _options;
    private readonly ILogger _logger;
    private readonly List<(string Name, Parameter Parameter)> _parameters;

    /// <summary>The loop of a trainer's <paramref name="model"/> (trained in place) under <paramref name="options"/>, validated here.</summary>
    public TrainingLoop(LlamaForCausalLM model, TrainingOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _parameters = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
    }

    /// <summary>The model trained in place.</summary>
    public LlamaForCausalLM Model => _model;

    /// <summary>The run settings.</summary>
    public TrainingOptions Options => _options;

    /// <summary>The progress log (a null logger when none was given).</summary>
    public ILogger Logger => _logger;

    /// <summary>Runs <paramref name="runState"/>.TotalSteps steps over <paramref name="examples"/> examples.</summary>
    public TrainingResult Run(int examples, TrainerState runState, MicroBatchStep microBatch, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var options = _options;
        int totalSteps = runState.TotalSteps;
        var schedule = LearningRateSchedule.From(options, totalSteps);
        using var optimizer = new AdamWOptimizer(_parameters.Select(p => p.Parameter), options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        int startStep = Resume(optimizer, runState);

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
                var (loss, gradNorm, stepTokens) = RunStep(step, lr, optimizer, microBatch);
                tokens += stepTokens;
                losses.Add(loss);

                string? saved = null;
                int done = step + 1;
                if (options.OutputDirectory is not null && ((options.SaveEvery > 0 && done % options.SaveEvery == 0) || done == totalSteps))
                {
                    saved = SaveCheckpoint(optimizer, runState, done, loss);
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
                    Epoch = (double)done * options.GradientAccumulation * options.BatchSize / examples,
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
                SaveCheckpoint(optimizer, runState, step, losses.Count > 0 ? losses[^1] : default);
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

    /// <summary>One optimizer step; every tensor it makes dies with its dispose scope.</summary>
    private (LossComponents Loss, double GradNorm, long Tokens) RunStep(int step, double lr, AdamWOptimizer optimizer, MicroBatchStep microBatch)
    {
        int k = _options.GradientAccumulation, b = _options.BatchSize;
        using var scope = NewDisposeScope();

        // 1. Learning rate of this step (a pure function of the step: resuming needs no scheduler state).
        optimizer.LearningRate = lr;
        optimizer.ZeroGrad();

        // 2. K micro-batches of B example slots; each accumulates (1/K) · loss into the gradients.
        var parts = new LossComponents[k];
        long tokens = 0;
        for (int micro = 0; micro < k; micro++)
        {
            long firstSlot = ((long)step * k + micro) * b;
            (parts[micro], long microTokens) = microBatch(firstSlot, 1.0 / k);
            tokens += microTokens;
        }

        // 3. Clip the global gradient norm; refuse a non-finite step.
        var loss = LossComponents.Mean(parts);
        double maxNorm = _options.MaxGradNorm > 0 ? _options.MaxGradNorm : double.PositiveInfinity;
        double gradNorm = nn.utils.clip_grad_norm_(_parameters.Select(p => p.Parameter), maxNorm);
        if (!double.IsFinite(loss.Total) || !double.IsFinite(gradNorm))
        {
            throw new InvalidOperationException($"step {step + 1}: the loss ({loss.Total}) or gradient norm ({gradNorm}) is not finite; lower the learning rate.");
        }

        // 4. AdamW.
        optimizer.Step();
        return (loss, gradNorm, tokens);
    }

    /// <summary>Loads the newest checkpoint when resuming; returns the step to continue from.</summary>
    private int Resume(AdamWOptimizer optimizer, TrainerState runState)
    {
        if (_options.OutputDirectory is null || TrainingCheckpoint.FindLatest(_options.OutputDirectory) is not { } latest)
        {
            return 0;
        }

        if (!_options.Resume)
        {
            // A fresh run would overwrite or prune that run's checkpoints: never lose them silently.
            throw new InvalidOperationException($"{_options.OutputDirectory} already holds training checkpoints ({System.IO.Path.GetFileName(latest)}); resume that run (--resume) or choose another output folder.");
        }

        var saved = TrainerState.Read(System.IO.Path.Combine(latest, TrainerState.FileName));
        if (saved.Incompatibility(runState) is { } reason)
        {
            throw new InvalidOperationException($"cannot resume from {latest}: {reason}. Use the same data and settings, or another output folder.");
        }

        TrainingCheckpoint.Load(latest, _model, _parameters, optimizer);
        Log.Resumed(_logger, latest, saved.Step);
        return saved.Step;
    }

    private string SaveCheckpoint(AdamWOptimizer optimizer, TrainerState runState, int step, LossComponents loss)
    {
        var folder = TrainingCheckpoint.Save(
            _options.OutputDirectory!,
            _model,
            _parameters,
            optimizer,
            runState with { Step = step, LastLoss = loss.Total },
            _options.TokenizerSource,
            _options.KeepCheckpoints);
        Log.CheckpointSaved(_logger, folder);
        return folder;
    }
}

/// <summary>
/// Linear warm-up then cosine decay, a pure function of the step (so resuming needs no scheduler state). As in
/// Hugging Face's cosine schedule the decay reaches its floor one step after the last; unlike it, whose first step
/// has learning rate 0, step s of the warm-up uses (s + 1)/warmup of the peak.
/// </summary>
internal sealed class LearningRateSchedule
{
    /// <param name="peak">Learning rate after warm-up.</param>
    /// <param name="totalSteps">Optimizer steps in the run.</param>
    /// <param name="warmupSteps">Steps of linear warm-up.</param>
    /// <param name="minRatio">The decay ends at this fraction of <paramref name="peak"/>.</param>
    public LearningRateSchedule(double peak, int totalSteps, int warmupSteps, double minRatio = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(peak);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(minRatio);
        Peak = peak;
        TotalSteps = totalSteps;
        WarmupSteps = Math.Min(warmupSteps, totalSteps);
        MinRatio = minRatio;
    }

    /// <summary>
    /// The schedule of <paramref name="options"/> over <paramref name="totalSteps"/> steps: warm-up of
    /// <see cref="TrainingOptions.WarmupSteps"/>, or of the warm-up ratio of the steps rounded up.
    /// </summary>
    public static LearningRateSchedule From(TrainingOptions options, int totalSteps)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new LearningRateSchedule(options.LearningRate, totalSteps, options.WarmupSteps ?? (int)Math.Ceiling(options.WarmupRatio * totalSteps), options.MinLearningRateRatio);
    }

    /// <summary>Peak learning rate.</summary>
    public double Peak { get; }

    /// <summary>Steps in the run.</summary>
    public int TotalSteps { get; }

    /// <summary>Warm-up steps.</summary>
    public int WarmupSteps { get; }

    /// <summary>Final fraction of the peak.</summary>
    public double MinRatio { get; }

    /// <summary>Learning rate of optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
        {
            return Peak * (step + 1) / WarmupSteps;
        }

        int decaySteps = TotalSteps - WarmupSteps;
        double progress = decaySteps <= 0 ? 1 : Math.Min(1.0, (double)(step - WarmupSteps) / decaySteps);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return Peak * (MinRatio + (1 - MinRatio) * cosine);
    }
}

/// <summary>
/// The run's data order as a pure function of (seed, position), so a resumed run sees exactly the examples and state
/// draws an uninterrupted run would. Example slot g (micro-batch m = step·K + k holds slots m·B … m·B + B − 1) is
/// record <c>perm(g / N)[g mod N]</c>, where <c>perm(e)</c> is a seeded shuffle of the N records for epoch e; its
/// trajectory state is drawn with a generator seeded from (seed, g).
/// </summary>
internal sealed class DataOrder
{
    private readonly int _seed;
    private readonly int _records;
    private int _epoch = -1;
    private int[] _permutation = Array.Empty<int>();

    public DataOrder(int seed, int records)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(records, 1);
        _seed = seed;
        _records = records;
    }

    /// <summary>The record at example slot <paramref name="slot"/>.</summary>
    public int RecordAt(long slot)
    {
        int epoch = checked((int)(slot / _records));
        if (epoch != _epoch)
        {
            _permutation = Shuffle(epoch);
            _epoch = epoch;
        }

        return _permutation[slot % _records];
    }

    /// <summary>The generator that draws trajectory states for example slot <paramref name="slot"/>.</summary>
    public Random StateRandom(long slot) => new(Mix(_seed, 0x5EED_57A7E, slot));

    private int[] Shuffle(int epoch)
    {
        var order = new int[_records];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var random = new Random(Mix(_seed, 0x0DE_50DE, epoch));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>A SplitMix64-style mix of three values into a non-negative 31-bit seed.</summary>
    private static int Mix(long a, long b, long c)
    {
        ulong x = unchecked((ulong)a * 0x9E3779B97F4A7C15UL ^ (ulong)b * 0xBF58476D1CE4E5B9UL ^ (ulong)c * 0x94D049BB133111EBUL);
        x ^= x >> 30;
        x = unchecked(x * 0xBF58476D1CE4E5B9UL);
        x ^= x >> 27;
        x = unchecked(x * 0x94D049BB133111EBUL);
        x ^= x >> 31;
        return (int)(x & 0x7FFFFFFF);
    }
}
