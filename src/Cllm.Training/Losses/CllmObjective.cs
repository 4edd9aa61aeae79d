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
    public CllmObjective(IConsistencyLoss consistency, AutoregressiveLoss? autoregressive = null, double autoregressiveWeight = ReferenceAutoregressiveWeight)
    {
        ArgumentNullException.ThrowIfNull(consistency);
        if (!(autoregressiveWeight >= 0) || double.IsInfinity(autoregressiveWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(autoregressiveWeight), autoregressiveWeight, "the autoregressive weight must be finite and ≥ 0.");
        }

        Consistency = consistency;
        Autoregressive = autoregressive ?? new AutoregressiveLoss();
        AutoregressiveWeight = autoregressiveWeight;
    }

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
    /// All tensors are released before returning. Returns the unscaled loss values.
    /// </summary>
    public LossComponents Backward(LlamaForCausalLM model, ConsistencyBatch batch, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        double ar = 0;
        Tensor? teacherLogits = null;
        if (AutoregressiveWeight > 0)
        {
            var labels = batch.Examples.Select(e => e.Labels).ToList();
            var logits = model.Forward(batch.LabelInput(model.Device));                  // (B, T, V)
            var arTerm = Autoregressive.Compute(logits, labels);
            ar = arTerm.Item;
            if (batch.LabelsAreTeacherSequences)
            {
                teacherLogits = logits.detach();
            }

            if (arTerm.Value.requires_grad)
            {
                (arTerm.Value * (AutoregressiveWeight * scale)).backward();
            }
        }

        var consistency = Consistency.Compute(model, batch, teacherLogits);
        if (consistency.Value.requires_grad)
        {
            (consistency.Value * scale).backward();
        }

        return new LossComponents(consistency.Item, ar, AutoregressiveWeight);
    }

    /// <summary>Both losses without gradients (for evaluation).</summary>
    public LossComponents Evaluate(LlamaForCausalLM model, ConsistencyBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double ar = 0;
        Tensor? teacherLogits = null;
        if (AutoregressiveWeight > 0 || batch.LabelsAreTeacherSequences)
        {
            var labels = batch.Examples.Select(e => e.Labels).ToList();
            var logits = model.Forward(batch.LabelInput(model.Device));
            ar = Autoregressive.Compute(logits, labels).Item;
            teacherLogits = batch.LabelsAreTeacherSequences ? logits : null;
        }

        double consistency = Consistency.Compute(model, batch, teacherLogits).Item;
        return new LossComponents(consistency, AutoregressiveWeight > 0 ? ar : 0, AutoregressiveWeight);
    }
}
