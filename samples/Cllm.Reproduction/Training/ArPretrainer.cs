using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Cllm.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cllm.Reproduction.Training;

/// <summary>
/// Autoregressive pretraining of a model from scratch on SQL sequences: next-token cross-entropy, by default on the
/// answer tokens only (the prompt's question and schema are inputs, not something to model), AdamW with warm-up
/// and cosine decay, gradient clipping. Every step runs in one dispose scope.
/// </summary>
public sealed class ArPretrainer
{
    private const long Ignore = -100;
    private readonly LlamaForCausalLM _model;

    /// <summary>A trainer of <paramref name="model"/> (updated in place).</summary>
    public ArPretrainer(LlamaForCausalLM model, PretrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        Options = options;
    }

    /// <summary>The settings.</summary>
    public PretrainOptions Options { get; }

    /// <summary>
    /// Trains on <paramref name="sequences"/> for <see cref="PretrainOptions.Steps"/> steps, shuffling every epoch.
    /// <paramref name="onStep"/> sees every step (call evaluation from it; the model is back in training mode after).
    /// </summary>
    public IReadOnlyList<PretrainStep> Train(IReadOnlyList<SqlSequence> sequences, Action<PretrainStep>? onStep = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0)
        {
            throw new ArgumentException("no sequences to train on.", nameof(sequences));
        }

        var parameters = _model.parameters().ToList();
        using var optimizer = new Cllm.Training.AdamWOptimizer(parameters, Options.LearningRate, weightDecay: Options.WeightDecay);
        var random = new Random(Options.Seed);
        int[] order = Enumerable.Range(0, sequences.Count).ToArray();
        int cursor = order.Length;
        var history = new List<PretrainStep>(Options.Steps);
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < Options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = new SqlSequence[Options.BatchSize];
            for (int i = 0; i < batch.Length; i++)
            {
                if (cursor == order.Length)
                {
                    random.Shuffle(order);
                    cursor = 0;
                }

                batch[i] = sequences[order[cursor++]];
            }

            double lr = new Cllm.Training.LearningRateSchedule(Options.LearningRate, Options.Steps, Options.WarmupSteps, Options.MinLearningRateRatio).At(step);
            _model.train();
            var (loss, accuracy) = RunStep(batch, optimizer, parameters, lr);
            var report = new PretrainStep(step + 1, loss, accuracy, lr, clock.Elapsed.TotalSeconds);
            history.Add(report);
            onStep?.Invoke(report);
        }

        _model.eval();
        return history;
    }

    /// <summary>One step: forward (B, T), masked cross-entropy, backward, clip, AdamW; all tensors die with the scope.</summary>
    private (double Loss, double Accuracy) RunStep(SqlSequence[] batch, Cllm.Training.AdamWOptimizer optimizer, List<Parameter> parameters, double lr)
    {
        using var scope = NewDisposeScope();
        optimizer.LearningRate = lr;

        optimizer.ZeroGrad();
        var (input, targets) = BuildBatch(batch, Options.AnswerOnly, Options.EosTail, _model.Device);   // (B, T), (B, T)
        var logits = _model.Forward(input);                                               // (B, T, V)
        long v = logits.shape[2];
        var flatLogits = logits.reshape(-1, v);                                           // (B·T, V)
        var flatTargets = targets.reshape(-1);                                            // (B·T)
        var loss = nn.functional.cross_entropy(flatLogits, flatTargets, ignore_index: Ignore);
        loss.backward();
        if (Options.MaxGradNorm > 0)
        {
            nn.utils.clip_grad_norm_(parameters, Options.MaxGradNorm);
        }

        optimizer.Step();
        double value = loss.item<float>();
        if (!double.IsFinite(value))
        {
            throw new InvalidOperationException($"the pretraining loss is {value}; lower the learning rate.");
        }

        double accuracy;
        using (no_grad())
        {
            using var ignore = ((long)Ignore).ToScalar();                                 // owned: see build/BannedSymbols.txt
            var valid = flatTargets.ne(ignore);                                           // (B·T)
            var hits = flatLogits.argmax(-1).eq(flatTargets).logical_and(valid);          // (B·T)
            accuracy = hits.sum().item<long>() / (double)Math.Max(1, valid.sum().item<long>());
        }

        return (value, accuracy);
    }

    /// <summary>
    /// Inputs (B, T) and targets (B, T), T = longest sequence + <paramref name="eosTail"/>: position p's target is token
    /// p + 1, or -100 where there is none (the prompt when <paramref name="answerOnly"/>). Each sequence is continued
    /// with its last token (EOS) to T, and those positions are trained to predict EOS again.
    /// </summary>
    internal static (Tensor Input, Tensor Targets) BuildBatch(IReadOnlyList<SqlSequence> batch, bool answerOnly, int eosTail, Device device)
    {
        int b = batch.Count;
        int t = batch.Max(s => s.Ids.Length) + eosTail;
        var ids = new long[b * t];
        var targets = new long[b * t];
        Array.Fill(targets, Ignore);
        for (int row = 0; row < b; row++)
        {
            var s = batch[row];
            long eos = s.Ids[^1];
            for (int p = 0; p < t; p++)
            {
                ids[row * t + p] = p < s.Ids.Length ? s.Ids[p] : eos;
            }

            int first = answerOnly ? s.AnswerStart - 1 : 0;
            for (int p = first; p + 1 < t; p++)
            {
                targets[row * t + p] = ids[row * t + p + 1];
            }
        }

        return (tensor(ids, dtype: ScalarType.Int64, device: device).view(b, t), tensor(targets, dtype: ScalarType.Int64, device: device).view(b, t));
    }
}
