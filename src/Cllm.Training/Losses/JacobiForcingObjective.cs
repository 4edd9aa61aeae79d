using System;
using System.Collections.Generic;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// The Jacobi Forcing objective <c>L = L_consistency + ω · L_AR</c> on packed sequences (<see cref="JacobiForcingSequence"/>),
/// as the reference's multiblock trainer computes it, one forward per sequence:
/// L_consistency is the soft cross-entropy <c>−Σ_v p_teacher(v) log p_student(v)</c> of each kept noisy-block logit
/// against the detached logit of the clean block at the same offset, averaged over the sequence's kept positions and
/// divided by its number of blocks k (the reference's normalisation); L_AR is the next-token loss on
/// context ⊕ fixed points (<see cref="AutoregressiveLoss"/>, read from the clean blocks of the same forward). A
/// micro-batch's loss is the mean over its sequences.
/// </summary>
internal sealed class JacobiForcingObjective
{
    public JacobiForcingObjective(AutoregressiveLoss autoregressive, double autoregressiveWeight)
    {
        ArgumentNullException.ThrowIfNull(autoregressive);
        if (!(autoregressiveWeight >= 0) || double.IsInfinity(autoregressiveWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(autoregressiveWeight), autoregressiveWeight, "the autoregressive weight must be finite and ≥ 0.");
        }

        Autoregressive = autoregressive;
        AutoregressiveWeight = autoregressiveWeight;
    }

    public AutoregressiveLoss Autoregressive { get; }

    public double AutoregressiveWeight { get; }

    /// <summary>
    /// Accumulates <c>scale · (L_consistency + ω · L_AR)</c> of <paramref name="batch"/> into the gradients, one sequence
    /// (one graph) at a time; returns the unscaled means.
    /// </summary>
    public LossComponents Backward(LlamaForCausalLM model, IReadOnlyList<JacobiForcingSequence> batch, double scale = 1.0) => Run(model, batch, scale, backward: true);

    /// <summary>Both losses without gradients.</summary>
    public LossComponents Evaluate(LlamaForCausalLM model, IReadOnlyList<JacobiForcingSequence> batch) => Run(model, batch, 1.0, backward: false);

    /// <summary>
    /// The two losses of <paramref name="sequence"/> from its packed logits (L, V): the consistency loss (gradients reach
    /// the noisy rows only; the clean rows are detached) and the mean AR loss (from the clean rows and the context).
    /// Scalars in the caller's dispose scope.
    /// </summary>
    public (Tensor Consistency, Tensor Autoregressive) Losses(Tensor logits, JacobiForcingSequence sequence)
    {
        var device = logits.device;
        var rows = sequence.ConsistencyRows();
        Tensor consistency;
        if (rows.Count == 0)
        {
            consistency = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device);
        }
        else
        {
            var student = logits.index_select(0, tensor(rows.Select(r => r.Student).ToArray(), device: device)).to_type(ScalarType.Float32);           // (K, V)
            var teacher = logits.detach().index_select(0, tensor(rows.Select(r => r.Teacher).ToArray(), device: device)).to_type(ScalarType.Float32); // (K, V)
            var crossEntropy = -(teacher.softmax(-1) * student.log_softmax(-1)).sum(-1);                                                               // (K)
            using var perPosition = ((double)rows.Count * sequence.Blocks).ToScalar();
            consistency = crossEntropy.sum() / perPosition;
        }

        Tensor autoregressive = AutoregressiveWeight > 0
            ? Autoregressive.Accumulate(logits, new[] { sequence.Labels }, (_, p) => sequence.LabelRow(p), new[] { sequence.AnswerStart }).Sum
            : zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device);
        return (consistency, autoregressive);
    }

    private LossComponents Run(LlamaForCausalLM model, IReadOnlyList<JacobiForcingSequence> batch, double scale, bool backward)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("a batch needs at least one sequence.", nameof(batch));
        }

        double consistencySum = 0, arSum = 0;
        using var grad = backward ? enable_grad() : no_grad();
        foreach (var sequence in batch)
        {
            using var scope = NewDisposeScope();

            // 1. One forward over [context | noisy 0 | clean 0 | …] under the noise-conditioned mask.
            var (ids, positions, mask) = sequence.ToTensors(model.Device);
            var logits = model.Forward(ids, positions: positions, mask: mask)[0];                // (L, V)

            // 2. Soft CE of the noisy rows against the detached clean rows; AR on context ⊕ fixed points.
            var (consistency, autoregressive) = Losses(logits, sequence);
            consistencySum += consistency.to_type(ScalarType.Float64).item<double>();
            arSum += autoregressive.to_type(ScalarType.Float64).item<double>();

            // 3. Backward of scale · (this sequence's share of the batch mean).
            using var weight = AutoregressiveWeight.ToScalar();
            var loss = consistency.add(autoregressive, weight);
            if (backward && loss.requires_grad)
            {
                using var s = (scale / batch.Count).ToScalar();
                (loss * s).backward();
            }
        }

        return new LossComponents(consistencySum / batch.Count, arSum / batch.Count, AutoregressiveWeight);
    }
}
