using System;
using System.Linq;
using Cllm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// The CLLM training objective <c>L = L_consistency + ω · L_AR</c> (reference: global consistency, ω = 10, label
/// smoothing 0.1 on the teacher's full output), computed as the reference's <c>consistency_training_step</c> is: in
/// one method, step by step. Examples are laid out packed (<see cref="PackedSequence"/>): the examples of one record
/// share one sequence <c>[context | fixed point | other states]</c> in which each block sees only the context and
/// itself, so one forward gives the AR logits, the teacher logits and every student's logits. The losses equal those
/// of the reference's padded batches (one forward per input; the tests keep that layout as their oracle) up to
/// float rounding.
/// </summary>
internal sealed class CllmObjective
{
    /// <summary>The reference's weight of the autoregressive loss.</summary>
    public const double ReferenceAutoregressiveWeight = 10.0;

    /// <param name="consistency">The consistency loss; global forward KL by default.</param>
    /// <param name="autoregressive">The autoregressive loss; null means label smoothing 0.1.</param>
    /// <param name="autoregressiveWeight">ω ≥ 0; 0 trains consistency only.</param>
    public CllmObjective(ConsistencyLoss? consistency = null, AutoregressiveLoss? autoregressive = null, double autoregressiveWeight = ReferenceAutoregressiveWeight)
    {
        if (!(autoregressiveWeight >= 0) || double.IsInfinity(autoregressiveWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(autoregressiveWeight), autoregressiveWeight, "the autoregressive weight must be finite and ≥ 0.");
        }

        Consistency = consistency ?? new ConsistencyLoss();
        Autoregressive = autoregressive ?? new AutoregressiveLoss();
        AutoregressiveWeight = autoregressiveWeight;
    }

    /// <summary>The consistency loss.</summary>
    public ConsistencyLoss Consistency { get; }

    /// <summary>The autoregressive loss.</summary>
    public AutoregressiveLoss Autoregressive { get; }

    /// <summary>ω.</summary>
    public double AutoregressiveWeight { get; }

    /// <summary>
    /// Accumulates <c>scale · (L_consistency + ω · L_AR)</c> of <paramref name="batch"/> into the parameters' gradients
    /// (scale = 1/K under K-step gradient accumulation), one record group at a time so that one graph is alive at once.
    /// All tensors are released before returning. Returns the unscaled loss values.
    /// </summary>
    internal LossComponents Backward(LlamaForCausalLM model, ConsistencyBatch batch, double scale = 1.0) => Run(model, batch, scale, backward: true);

    /// <summary>Both losses without gradients (for evaluation).</summary>
    internal LossComponents Evaluate(LlamaForCausalLM model, ConsistencyBatch batch) => Run(model, batch, 1.0, backward: false);

    private LossComponents Run(LlamaForCausalLM model, ConsistencyBatch batch, double scale, bool backward)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        int total = batch.Count;
        double consistencySum = 0, arSum = 0;
        using var grad = backward ? enable_grad() : no_grad();
        foreach (var group in PackedSequence.Group(batch.Examples))
        {
            using var scope = NewDisposeScope();

            // 1. The group's examples (same context and labels, one record) as one packed sequence of T tokens.
            var examples = group.Select(i => batch.Examples[i]).ToList();
            var packed = new PackedSequence(examples);
            var (ids, positions, mask) = packed.ToTensors(model.Device);

            // 2. One forward: AR, teacher and student logits.
            var logits = model.Forward(ids, positions: positions, mask: mask)[0];                  // (T, V)
            var loss = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: model.Device);

            // 3. AR loss on the labels (from this forward when the labels are context ⊕ fixed point, else from a forward
            //    of the labels alone), once per group, weighted by the group's share of the batch.
            if (AutoregressiveWeight > 0)
            {
                var labels = new[] { examples[0].Labels };
                var starts = new[] { examples[0].AnswerStart };
                Tensor arMean;
                if (packed.HoldsLabels)
                {
                    arMean = Autoregressive.Accumulate(logits, labels, (_, p) => packed.LabelRow(p), starts).Sum;
                }
                else
                {
                    var arLogits = model.Forward(ConsistencyBatch.Pad(labels, model.Device))[0];  // (L, V)
                    arMean = Autoregressive.Accumulate(arLogits, labels, (_, p) => p, starts).Sum;
                }

                arSum += arMean.to_type(ScalarType.Float64).item<double>() * examples.Count;
                using var weight = (AutoregressiveWeight * examples.Count).ToScalar();
                loss = loss.add(arMean * weight, Scalars.One);
            }

            // 4. Consistency loss: each student's kept logits against the detached teacher's, summed over the examples.
            var (consistency, _, _, _) = Consistency.Accumulate(examples, logits, packed.StudentRow, logits.detach(), packed.TeacherRow);
            consistencySum += consistency.to_type(ScalarType.Float64).item<double>();
            loss = loss.add(consistency, Scalars.One);

            // 5. Backward of scale · (the group's share of the batch mean).
            if (backward && loss.requires_grad)
            {
                using var s = (scale / total).ToScalar();
                (loss * s).backward();
            }
        }

        return new LossComponents(consistencySum / total, arSum / total, AutoregressiveWeight);
    }
}
