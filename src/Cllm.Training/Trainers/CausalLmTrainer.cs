using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// Plain causal-LM training (pretraining, or fine-tuning a base model): next-token cross-entropy over a micro-batch's
/// target tokens (<see cref="AutoregressiveLoss"/>, one mean over the batch's target tokens as Hugging Face's causal-LM loss), on the same step loop as
/// <see cref="ConsistencyTrainer"/> (AdamW, cosine schedule with warm-up, clipping, accumulation, seeded data order,
/// resumable checkpoints, the final model in the output folder). Of <see cref="TrainingOptions"/> the consistency
/// settings are unused; <see cref="TrainingOptions.AnswerOnlyAutoregressive"/>, <see cref="TrainingOptions.LabelSmoothing"/>
/// and <see cref="TrainingOptions.EndPadding"/> shape the loss. The losses report the cross-entropy as their AR part.
/// </summary>
public sealed class CausalLmTrainer
{
    private readonly TrainingLoop _loop;

    /// <param name="model">The model to train, in place.</param>
    /// <param name="options">Run settings; validated here.</param>
    /// <param name="logger">Progress log; none by default.</param>
    public CausalLmTrainer(LlamaForCausalLM model, TrainingOptions options, ILogger? logger = null)
        => _loop = new TrainingLoop(model, options, logger);

    /// <summary>The run settings.</summary>
    public TrainingOptions Options => _loop.Options;

    private LlamaForCausalLM Model => _loop.Model;

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
        var runState = TrainerState.Start(options, totalSteps, sequences.Count, TrainerState.Fingerprint(sequences.Select(s => s.Ids)), "causal-lm");
        Log.CausalLmTrainingStarted(_loop.Logger, sequences.Count, totalSteps, options.BatchSize, options.GradientAccumulation, options.LearningRate, options.Seed);

        var autoregressive = new AutoregressiveLoss(options.LabelSmoothing);
        (LossComponents, long) MicroBatch(long firstSlot, double scale)
        {
            var batch = Enumerable.Range(0, options.BatchSize).Select(j => sequences[order.RecordAt(firstSlot + j)]).ToList();
            using var scope = NewDisposeScope();

            // 1. Inputs (B, T): T = longest + EndPadding; each row continued with its last token.
            var (ids, targets, t) = BuildBatch(batch, options.EndPadding);
            var input = tensor(ids, dtype: ScalarType.Int64, device: Model.Device).view(batch.Count, t);          // (B, T)

            // 2. Forward and the AR loss, one mean over every target token of the batch.
            var logits = Model.Forward(input);                                                                  // (B, T, V)
            var starts = options.AnswerOnlyAutoregressive ? batch.Select(s => s.AnswerStart).ToList() : null;
            var loss = autoregressive.TokenMean(logits.reshape(-1, logits.shape[2]), targets, (e, p) => e * t + p, starts);

            // 3. Accumulate scale · loss into the gradients.
            using var s = scale.ToScalar();
            (loss * s).backward();
            return (new LossComponents(0, loss.item<float>(), 1), ids.LongLength);
        }

        return _loop.Run(sequences.Count, runState, MicroBatch, progress, cancellationToken);
    }

    /// <summary>
    /// Row-major inputs (B·T), T = longest + <paramref name="endPadding"/>, every row continued with its last token, and
    /// each row's trained tokens: without end padding the sequence itself (padding is never a target); with it the row
    /// to T (the model learns to follow EOS with EOS).
    /// </summary>
    internal static (long[] Ids, IReadOnlyList<IReadOnlyList<int>> Targets, int T) BuildBatch(IReadOnlyList<CausalLmSequence> batch, int endPadding)
    {
        int b = batch.Count;
        int t = batch.Max(s => s.Ids.Count) + endPadding;
        var ids = new long[b * t];
        var targets = new IReadOnlyList<int>[b];
        for (int row = 0; row < b; row++)
        {
            var s = batch[row].Ids;
            var trained = new int[endPadding > 0 ? t : s.Count];
            for (int p = 0; p < t; p++)
            {
                int id = p < s.Count ? s[p] : s[^1];
                ids[row * t + p] = id;
                if (p < trained.Length)
                {
                    trained[p] = id;
                }
            }

            targets[row] = trained;
        }

        return (ids, targets, t);
    }

    private void CheckSequences(IReadOnlyList<CausalLmSequence> sequences)
    {
        int context = Model.Config.MaxPositionEmbeddings;
        for (int i = 0; i < sequences.Count; i++)
        {
            try
            {
                sequences[i].Validate(Model.Config.VocabSize);
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
