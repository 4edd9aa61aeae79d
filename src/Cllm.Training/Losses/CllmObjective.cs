using System;
using System.Linq;
using Cllm.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training.Losses;

/// <summary>
/// The CLLM training objective <c>L = L_consistency + ω · L_AR</c> (reference: global consistency, ω = 10, label
/// smoothing 0.1 on the teacher's full output).
/// </summary>
public sealed class CllmObjective
{
    /// <summary>The reference's weight of the autoregressive loss.</summary>
    public const double ReferenceAutoregressiveWeight = 10.0;

    /// <param name="consistency">The consistency loss.</param>
    /// <param name="autoregressive">The autoregressive loss; null means label smoothing 0.1.</param>
    /// <param name="autoregressiveWeight">ω ≥ 0; 0 trains consistency only.</param>
    /// <param name="layout">How examples are laid out for the model (same losses either way); packing needs a <see cref="ConsistencyLoss"/>.</param>
    public CllmObjective(IConsistencyLoss consistency, AutoregressiveLoss? autoregressive = null, double autoregressiveWeight = ReferenceAutoregressiveWeight, ForwardLayout layout = ForwardLayout.Packed)
    {
        if (!System.Enum.IsDefined(layout))
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "unknown layout");
        }

        if (layout == ForwardLayout.Packed && consistency is not ConsistencyLoss)
        {
            throw new ArgumentException("the packed layout needs a ConsistencyLoss (global or local); use ForwardLayout.Padded for other IConsistencyLoss implementations.", nameof(layout));
        }

        ArgumentNullException.ThrowIfNull(consistency);
        if (!(autoregressiveWeight >= 0) || double.IsInfinity(autoregressiveWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(autoregressiveWeight), autoregressiveWeight, "the autoregressive weight must be finite and ≥ 0.");
        }

        Consistency = consistency;
        Autoregressive = autoregressive ?? new AutoregressiveLoss();
        AutoregressiveWeight = autoregressiveWeight;
        Layout = layout;
    }

    /// <summary>How examples are laid out for the model.</summary>
    public ForwardLayout Layout { get; }

    /// <summary>The consistency loss.</summary>
    public IConsistencyLoss Consistency { get; }

    /// <summary>The autoregressive loss.</summary>
    public AutoregressiveLoss Autoregressive { get; }

    /// <summary>ω.</summary>
    public double AutoregressiveWeight { get; }

    /// <summary>
    /// Computes both losses and accumulates <c>scale · (L_consistency + ω · L_AR)</c> into the parameters' gradients
    /// (scale = 1/K under K-step gradient accumulation). Two backward passes, the autoregressive one first, as in the
    /// reference; together they equal one backward of the sum, with only one graph alive at a time. When every
    /// example's autoregressive sequence is its teacher sequence (global consistency on teacher outputs) the teacher
    /// logits are the detached logits of the autoregressive forward: same values, one forward fewer.
    /// With the packed layout each group of examples sharing a record is one forward and one backward instead.
    /// All tensors are released before returning. Returns the unscaled loss values.
    /// </summary>
    public LossComponents Backward(LlamaForCausalLM model, ConsistencyBatch batch, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        if (Layout == ForwardLayout.Packed)
        {
            return RunPacked(model, batch, scale, backward: true);
        }

        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        double ar = 0;
        Tensor? teacherLogits = null;
        if (AutoregressiveWeight > 0)
        {
            var labels = batch.Examples.Select(e => e.Labels).ToList();
            var logits = model.Forward(batch.LabelInput(model.Device));                  // (B, T, V)
            var arTerm = Autoregressive.Compute(logits, labels, batch.Examples.Select(e => e.AnswerStart).ToList());
            ar = arTerm.Item;
            if (batch.LabelsAreTeacherSequences)
            {
                teacherLogits = logits.detach();
            }

            if (arTerm.Value.requires_grad)
            {
                using var weight = (AutoregressiveWeight * scale).ToScalar();
                (arTerm.Value * weight).backward();
            }
        }

        var consistency = Consistency.Compute(model, batch, teacherLogits);
        if (consistency.Value.requires_grad)
        {
            using var s = scale.ToScalar();
            (consistency.Value * s).backward();
        }

        return new LossComponents(consistency.Item, ar, AutoregressiveWeight);
    }

    /// <summary>Both losses without gradients (for evaluation).</summary>
    public LossComponents Evaluate(LlamaForCausalLM model, ConsistencyBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        if (Layout == ForwardLayout.Packed)
        {
            return RunPacked(model, batch, 1.0, backward: false);
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double ar = 0;
        Tensor? teacherLogits = null;
        if (AutoregressiveWeight > 0 || batch.LabelsAreTeacherSequences)
        {
            var labels = batch.Examples.Select(e => e.Labels).ToList();
            var logits = model.Forward(batch.LabelInput(model.Device));
            ar = Autoregressive.Compute(logits, labels, batch.Examples.Select(e => e.AnswerStart).ToList()).Item;
            teacherLogits = batch.LabelsAreTeacherSequences ? logits : null;
        }

        double consistency = Consistency.Compute(model, batch, teacherLogits).Item;
        return new LossComponents(consistency, AutoregressiveWeight > 0 ? ar : 0, AutoregressiveWeight);
    }

    /// <summary>
    /// The packed layout: per group of examples sharing context and labels, one forward over
    /// <see cref="PackedSequence"/> gives the autoregressive logits, the (detached) teacher logits and every student's
    /// logits; each group's share of <c>scale · (L_consistency + ω · L_AR)</c> is back-propagated before the next group.
    /// </summary>
    private LossComponents RunPacked(LlamaForCausalLM model, ConsistencyBatch batch, double scale, bool backward)
    {
        var consistency = (ConsistencyLoss)Consistency;
        int total = batch.Count;
        double consistencySum = 0, arSum = 0;
        using var grad = backward ? enable_grad() : no_grad();
        foreach (var group in PackedSequence.Group(batch.Examples))
        {
            using var scope = NewDisposeScope();
            var examples = group.Select(i => batch.Examples[i]).ToList();
            var packed = new PackedSequence(examples);
            var (ids, positions, mask) = packed.ToTensors(model.Device);
            var logits = model.Forward(ids, positions: positions, mask: mask)[0];        // (T, V)
            var loss = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: model.Device);
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
                    var arLogits = model.Forward(ConsistencyBatch.Pad(labels, model.Device))[0];   // (L, V)
                    arMean = Autoregressive.Accumulate(arLogits, labels, (_, p) => p, starts).Sum;
                }

                arSum += arMean.to_type(ScalarType.Float64).item<double>() * examples.Count;   // every example of the group has these labels
                using var weight = (AutoregressiveWeight * examples.Count).ToScalar();
                loss = loss.add(arMean * weight, Scalars.One);
            }

            var (consistencyTerm, _, _) = consistency.Accumulate(examples, logits, packed.StudentRow, logits.detach(), packed.TeacherRow);
            consistencySum += consistencyTerm.to_type(ScalarType.Float64).item<double>();
            loss = loss.add(consistencyTerm, Scalars.One);
            if (backward && loss.requires_grad)
            {
                using var s = (scale / total).ToScalar();
                (loss * s).backward();
            }
        }

        return new LossComponents(consistencySum / total, arSum / total, AutoregressiveWeight);
    }
}
