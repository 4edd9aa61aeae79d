using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Cllm.Core;
using Microsoft.Extensions.Logging;

namespace Cllm.Training;

/// <summary>
/// Turns a target model into a CLLM: AdamW on <c>L_consistency + ω · L_AR</c> over Jacobi trajectory records, with a
/// cosine schedule, gradient clipping and accumulation, seeded data order, and resumable checkpoints, on the step loop
/// it shares with <see cref="CausalLmTrainer"/>. Training updates the given model in place, on the calling thread;
/// every optimizer step runs in one dispose scope, so memory stays flat across steps. With an output folder the final
/// model is saved into that folder itself, beside its <c>checkpoint-&lt;step&gt;</c> folders.
/// </summary>
public sealed class ConsistencyTrainer
{
    private readonly TrainingLoop _loop;

    /// <param name="model">The model to train (its weights are the starting point unless a checkpoint is resumed).</param>
    /// <param name="options">Run settings; validated here.</param>
    /// <param name="logger">Progress log; none by default.</param>
    public ConsistencyTrainer(LlamaForCausalLM model, TrainingOptions options, ILogger? logger = null)
        => _loop = new TrainingLoop(model, options, logger);

    /// <summary>The run settings.</summary>
    public TrainingOptions Options => _loop.Options;

    private LlamaForCausalLM Model => _loop.Model;

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
        if (options.Objective == TrainingObjective.JacobiForcing)
        {
            return TrainJacobiForcing(records, progress, cancellationToken);
        }

        var objective = options.CreateObjective();
        int totalSteps = options.TotalSteps(records.Count);
        var order = new DataOrder(options.Seed, records.Count);
        var runState = TrainerState.Start(options, totalSteps, records.Count, TrainerState.Fingerprint(records), objective.Consistency.Name, options.StatesPerRecord);
        Log.TrainingStarted(_loop.Logger, objective.Consistency.Name, objective.Consistency.Distance.ToString(), objective.AutoregressiveWeight, records.Count, totalSteps, options.BatchSize, options.GradientAccumulation, options.LearningRate, options.Seed);

        // One micro-batch: B record slots, up to StatesPerRecord student states each, scale · (L_consistency + ω · L_AR).
        (LossComponents, long) MicroBatch(long firstSlot, double scale)
        {
            var examples = new List<ConsistencyExample>(options.BatchSize * options.StatesPerRecord);
            long tokens = 0;
            for (int j = 0; j < options.BatchSize; j++)
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

            return (objective.Backward(Model, new ConsistencyBatch(examples), scale), tokens);
        }

        return _loop.Run(records.Count, runState, MicroBatch, progress, cancellationToken);
    }

    /// <summary>
    /// Jacobi Forcing on the same loop: an example slot is a chain of consecutive blocks of one prompt (at most one noise
    /// window, <see cref="JacobiForcingSequence.Chains"/>), packed into one sequence; a micro-batch is B such sequences.
    /// The noisy states are a function of the records (and, with <see cref="TrainingOptions.RandomNoise"/>, of the
    /// slot's generator), so the data order alone fixes what a resumed run sees.
    /// </summary>
    private TrainingResult TrainJacobiForcing(IReadOnlyList<TrajectoryRecord> records, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var options = Options;
        var objective = new JacobiForcingObjective(new AutoregressiveLoss(options.LabelSmoothing), options.AutoregressiveWeight);
        var chains = JacobiForcingSequence.Chains(records, options.NoiseWindow).Select(c => c.Select(i => records[i]).ToArray()).ToList();
        int context = Model.Config.MaxPositionEmbeddings;
        foreach (var chain in chains)
        {
            int positions = chain[0].PromptIds.Count + (chain.Length * chain[0].BlockLength);
            if (positions > context)
            {
                throw new ArgumentException($"records {chain[0].DataId} blocks {chain[0].BlockIndex}–{chain[^1].BlockIndex}: {positions} positions exceed the model's {context}.", nameof(records));
            }
        }

        int totalSteps = options.TotalSteps(chains.Count);
        var order = new DataOrder(options.Seed, chains.Count);
        var runState = TrainerState.Start(options, totalSteps, records.Count, TrainerState.Fingerprint(records), "jacobi-forcing", options.StatesPerRecord);
        Log.TrainingStarted(_loop.Logger, "jacobi-forcing", "soft-ce", objective.AutoregressiveWeight, chains.Count, totalSteps, options.BatchSize, options.GradientAccumulation, options.LearningRate, options.Seed);

        (LossComponents, long) MicroBatch(long firstSlot, double scale)
        {
            var sequences = new List<JacobiForcingSequence>(options.BatchSize);
            long tokens = 0;
            for (int j = 0; j < options.BatchSize; j++)
            {
                var chain = chains[order.RecordAt(firstSlot + j)];
                var sequence = JacobiForcingSequence.FromChain(chain, options.NoiseWindow, options.MinNoise, options.MaxNoise, options.AnswerOnlyAutoregressive, options.CleanPrefix,
                    options.RandomNoise ? order.StateRandom(firstSlot + j) : null);
                sequences.Add(sequence);
                tokens += sequence.Length;
            }

            return (objective.Backward(Model, sequences, scale), tokens);
        }

        return _loop.Run(chains.Count, runState, MicroBatch, progress, cancellationToken);
    }

    /// <summary>Up to <paramref name="count"/> pairs with distinct student states (fewer when the trajectory is short).</summary>
    internal static List<ConsistencyPair> SelectPairs(ConsistencyLoss loss, TrajectoryRecord record, Random random, int count)
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

    private void CheckRecords(IReadOnlyList<TrajectoryRecord> records)
    {
        int vocab = Model.Config.VocabSize;
        int context = Model.Config.MaxPositionEmbeddings;
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
