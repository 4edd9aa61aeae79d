using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// Plain causal-LM training (pretraining, or fine-tuning a base model): next-token cross-entropy over a micro-batch's
/// target tokens (one token mean, as Hugging Face's causal-LM loss), on the same step loop as
/// <see cref="ConsistencyTrainer"/> (AdamW, cosine schedule with warm-up, clipping, accumulation, seeded data order,
/// resumable checkpoints, the final model in the output folder). Of <see cref="TrainingOptions"/> the consistency
/// settings are unused; <see cref="TrainingOptions.AnswerOnlyAutoregressive"/>, <see cref="TrainingOptions.LabelSmoothing"/>
/// and <see cref="TrainingOptions.EndPadding"/> shape the loss. The losses report the cross-entropy as their AR part.
/// </summary>
public sealed class CausalLmTrainer
{
    private const long Ignore = -100;
    private readonly LlamaForCausalLM _model;
    private readonly ILogger _logger;

    /// <param name="model">The model to train, in place.</param>
    /// <param name="options">Run settings; validated here.</param>
    /// <param name="logger">Progress log; none by default.</param>
    public CausalLmTrainer(LlamaForCausalLM model, TrainingOptions options, ILogger? logger = null)
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

    /// <summary>Trains on <paramref name="sequences"/>; resumes, saves and cancels as <see cref="ConsistencyTrainer"/> does.</summary>
    /// <exception cref="ArgumentException">A sequence is too short, holds ids outside the vocabulary or exceeds the model's context.</exception>
    public TrainingResult Train(IReadOnlyList<CausalLmSequence> sequences, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0)
        {
            throw new ArgumentException("no sequences to train on.", nameof(sequences));
        }

        CheckSequences(sequences);
        var options = Options;
        int totalSteps = options.TotalSteps(sequences.Count);
        var order = new DataOrder(options.Seed, sequences.Count);
        var runState = new TrainerState
        {
            TotalSteps = totalSteps,
            Seed = options.Seed,
            BatchSize = options.BatchSize,
            GradientAccumulation = options.GradientAccumulation,
            Records = sequences.Count,
            DataFingerprint = TrainerState.Fingerprint(sequences.Select(s => s.Ids)),
            Consistency = "causal-lm",
            LearningRate = options.LearningRate,
            Settings = TrainingSettings.From(options),
        };
        Log.CausalLmTrainingStarted(_logger, sequences.Count, totalSteps, options.BatchSize, options.GradientAccumulation, options.LearningRate, options.Seed);

        (LossComponents, long) MicroBatch(long firstSlot, double scale)
        {
            var batch = Enumerable.Range(0, options.BatchSize).Select(j => sequences[order.RecordAt(firstSlot + j)]).ToList();
            using var scope = NewDisposeScope();

            // 1. Inputs and targets (B, T): T = longest + EndPadding; target of position p is token p + 1, −100 where none.
            var (ids, targets, t) = BuildBatch(batch, options.AnswerOnlyAutoregressive, options.EndPadding);
            var input = tensor(ids, dtype: ScalarType.Int64, device: _model.Device).view(batch.Count, t);          // (B, T)
            var target = tensor(targets, dtype: ScalarType.Int64, device: _model.Device).view(-1);               // (B·T)

            // 2. Forward and token-mean cross-entropy over the targets.
            var logits = _model.Forward(input);                                                                  // (B, T, V)
            var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), target, ignore_index: Ignore, label_smoothing: options.LabelSmoothing);

            // 3. Accumulate scale · loss into the gradients.
            using var s = scale.ToScalar();
            (loss * s).backward();
            return (new LossComponents(0, loss.item<float>(), 1), ids.LongLength);
        }

        return new TrainingLoop(_model, options, _logger).Run(sequences.Count, runState, MicroBatch, progress, cancellationToken);
    }

    /// <summary>
    /// Row-major inputs and targets (B·T each), T = longest + <paramref name="endPadding"/>. Without end padding, shorter
    /// rows are padded with their last token and padding is never a target; with it, every row is continued with its
    /// last token (EOS) to T and those positions are trained too (the model learns to follow EOS with EOS). Targets
    /// start at position 0, or at <c>AnswerStart − 1</c> with <paramref name="answerOnly"/>.
    /// </summary>
    internal static (long[] Ids, long[] Targets, int T) BuildBatch(IReadOnlyList<CausalLmSequence> batch, bool answerOnly, int endPadding)
    {
        int b = batch.Count;
        int t = batch.Max(s => s.Ids.Count) + endPadding;
        var ids = new long[b * t];
        var targets = new long[b * t];
        Array.Fill(targets, Ignore);
        for (int row = 0; row < b; row++)
        {
            var s = batch[row].Ids;
            long last = s[^1];
            for (int p = 0; p < t; p++)
            {
                ids[row * t + p] = p < s.Count ? s[p] : last;
            }

            int first = answerOnly ? Math.Max(0, batch[row].AnswerStart - 1) : 0;
            int end = endPadding > 0 ? t : s.Count;
            for (int p = first; p + 1 < end; p++)
            {
                targets[row * t + p] = ids[row * t + p + 1];
            }
        }

        return (ids, targets, t);
    }

    private void CheckSequences(IReadOnlyList<CausalLmSequence> sequences)
    {
        int context = _model.Config.MaxPositionEmbeddings;
        for (int i = 0; i < sequences.Count; i++)
        {
            try
            {
                sequences[i].Validate(_model.Config.VocabSize);
                if (sequences[i].Ids.Count + Options.EndPadding > context)
                {
                    throw new ArgumentException($"{sequences[i].Ids.Count} tokens (+ {Options.EndPadding} end padding) exceed the model's {context} positions.");
                }
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"sequence {i}: {ex.Message}", nameof(sequences), ex);
            }
        }
    }
}
