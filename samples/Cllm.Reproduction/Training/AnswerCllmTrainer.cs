using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Modeling;
using Cllm.Training.Losses;
using Cllm.Training.Trajectories;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Reproduction.Training;

/// <summary>
/// Consistency training with the AR loss on the answer only: <c>L = L_GC + ω · L_AR(answer)</c>, where L_GC is the
/// library's <see cref="GlobalConsistencyLoss"/> (forward KL to the stop-gradient fixed point, reference loss
/// positions) and L_AR is next-token cross-entropy (optionally label-smoothed) on the tokens after the original prompt
/// of the teacher sequence (context ⊕ y*). The library's <c>ConsistencyTrainer</c> takes the AR loss on the whole sequence, prompt
/// included (as the reference does for LLMs that model their prompts); a base model trained on answers only would spend
/// that gradient learning to model questions. One forward serves as AR input and teacher; every step runs in one
/// dispose scope.
/// </summary>
public sealed class AnswerCllmTrainer
{
    private const long Ignore = -100;
    private readonly LlamaForCausalLM _model;
    private readonly GlobalConsistencyLoss _consistency = new(ConsistencyDistance.ForwardKl, ConsistencyPositions.FromFirstMismatch);

    /// <summary>A trainer of <paramref name="model"/> (updated in place).</summary>
    public AnswerCllmTrainer(LlamaForCausalLM model, AnswerCllmOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.LabelSmoothing is not (>= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.LabelSmoothing, "label smoothing must be in [0, 1).");
        }

        _model = model;
        Options = options;
    }

    /// <summary>The settings.</summary>
    public AnswerCllmOptions Options { get; }

    /// <summary>Trains on <paramref name="records"/>; <paramref name="onStep"/> gets (step, total, consistency, AR, lr) after every step.</summary>
    public List<LossComponents> Train(IReadOnlyList<TrajectoryRecord> records, Action<int, int, LossComponents, double>? onStep = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            throw new ArgumentException("no trajectory records to train on.", nameof(records));
        }

        int total = Options.TotalSteps(records.Count);
        var parameters = _model.parameters().ToList();
        torch.manual_seed(Options.Seed);
        using var optimizer = new Cllm.Training.AdamWOptimizer(parameters, Options.LearningRate, weightDecay: 0);
        var random = new Random(Options.Seed);
        int[] order = Enumerable.Range(0, records.Count).ToArray();
        int cursor = order.Length;
        var losses = new List<LossComponents>(total);
        _model.train();
        try
        {
            for (int step = 0; step < total; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var examples = new ConsistencyExample[Options.BatchSize];
                var promptLengths = new int[examples.Length];
                for (int i = 0; i < examples.Length; i++)
                {
                    if (cursor == order.Length)
                    {
                        random.Shuffle(order);
                        cursor = 0;
                    }

                    var record = records[order[cursor++]];
                    examples[i] = ConsistencyExample.FromRecord(record, _consistency.SelectPair(record, random), Options.UseLabelIds);
                    promptLengths[i] = record.PromptLength;
                }

                double lr = Options.LearningRateAt(step, total);
                var loss = RunStep(new ConsistencyBatch(examples), promptLengths, optimizer, parameters, lr);
                losses.Add(loss);
                onStep?.Invoke(step + 1, total, loss, lr);
            }
        }
        finally
        {
            _model.eval();
        }

        return losses;
    }

    private LossComponents RunStep(ConsistencyBatch batch, int[] promptLengths, Cllm.Training.AdamWOptimizer optimizer, List<TorchSharp.Modules.Parameter> parameters, double lr)
    {
        using var scope = NewDisposeScope();
        optimizer.LearningRate = lr;

        optimizer.ZeroGrad();

        // AR on the answer part of the labels (context ⊕ y*, or ground truth); when the labels are the teacher
        // sequences, the same logits, detached, are the consistency teacher (else the loss runs its own teacher forward).
        var input = batch.LabelInput(_model.Device);                                      // (B, T)
        var logits = _model.Forward(input);                                               // (B, T, V)
        var targets = AnswerTargets(batch, promptLengths, (int)input.shape[1]);          // (B, T)
        var ar = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1), ignore_index: Ignore, label_smoothing: Options.LabelSmoothing);
        using var arWeight = Options.ArWeight.ToScalar();                                 // owned: see build/BannedSymbols.txt
        (ar * arWeight).backward();

        var consistency = _consistency.Compute(_model, batch, batch.LabelsAreTeacherSequences ? logits.detach() : null);
        if (consistency.Value.requires_grad)
        {
            consistency.Value.backward();
        }

        nn.utils.clip_grad_norm_(parameters, Options.MaxGradNorm);
        optimizer.Step();
        double arValue = ar.item<float>();
        double gc = consistency.Item;
        if (!double.IsFinite(arValue) || !double.IsFinite(gc))
        {
            throw new InvalidOperationException($"the loss is not finite (AR {arValue}, consistency {gc}); lower the learning rate.");
        }

        return new LossComponents(gc, arValue, Options.ArWeight);
    }

    /// <summary>(B, T) targets: token p + 1 for positions p ≥ prompt length − 1 of each labels sequence, −100 elsewhere.</summary>
    private Tensor AnswerTargets(ConsistencyBatch batch, int[] promptLengths, int t)
    {
        var labels = batch.Examples.Select(e => e.Labels).ToList();
        return tensor(AnswerTargets(labels, promptLengths, t), dtype: ScalarType.Int64, device: _model.Device).view(batch.Count, t);
    }

    /// <summary>Row-major (B·T) targets of <see cref="AnswerTargets(ConsistencyBatch, int[], int)"/>.</summary>
    internal static long[] AnswerTargets(IReadOnlyList<IReadOnlyList<int>> labels, IReadOnlyList<int> promptLengths, int t)
    {
        var targets = new long[labels.Count * t];
        Array.Fill(targets, Ignore);
        for (int row = 0; row < labels.Count; row++)
        {
            for (int p = Math.Max(0, promptLengths[row] - 1); p + 1 < labels[row].Count; p++)
            {
                targets[row * t + p] = labels[row][p + 1];
            }
        }

        return targets;
    }
}
