using System;
using System.Collections.Generic;
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

/// <summary>
/// Several examples of one record in a single sequence: <c>[context | block 1 | … | block r]</c>, where every block
/// (the fixed point, teacher states, student states; equal blocks stored once) sits at the positions right after
/// the context and attends to the context and to itself causally, never to another block. Each block's logits thus
/// equal those of a separate forward over context ⊕ block, while the context is run once instead of once per state.
/// </summary>
internal sealed class PackedSequence
{
    private readonly int _context;
    private readonly int _block;
    private readonly int[] _studentBlock;
    private readonly int[] _teacherBlock;
    private readonly int _labelBlock;

    /// <param name="examples">Examples with equal context, block length and labels (see <see cref="Group"/>).</param>
    public PackedSequence(IReadOnlyList<ConsistencyExample> examples)
    {
        var first = examples[0];
        _context = first.Context.Count;
        _block = first.BlockLength;
        var blocks = new List<IReadOnlyList<int>>();
        int Slot(IReadOnlyList<int> tokens)
        {
            for (int i = 0; i < blocks.Count; i++)
            {
                if (blocks[i].SequenceEqual(tokens))
                {
                    return i;
                }
            }

            blocks.Add(tokens);
            return blocks.Count - 1;
        }

        // The labels' continuation first, so the autoregressive loss reads a plain causal prefix.
        _labelBlock = first.Labels.Count == _context + _block && first.Labels.Take(_context).SequenceEqual(first.Context)
            ? Slot(first.Labels.Skip(_context).ToArray())
            : -1;
        _teacherBlock = examples.Select(e => Slot(e.Teacher)).ToArray();
        _studentBlock = examples.Select(e => Slot(e.Student)).ToArray();

        Length = _context + blocks.Count * _block;
        Ids = new long[Length];
        Positions = new long[Length];
        Mask = new bool[Length * Length];
        for (int i = 0; i < _context; i++)
        {
            Ids[i] = first.Context[i];
            Positions[i] = i;
            for (int j = 0; j <= i; j++)
            {
                Mask[i * Length + j] = true;
            }
        }

        for (int k = 0; k < blocks.Count; k++)
        {
            int start = _context + k * _block;
            for (int i = 0; i < _block; i++)
            {
                int row = start + i;
                Ids[row] = blocks[k][i];
                Positions[row] = _context + i;
                for (int j = 0; j < _context; j++)
                {
                    Mask[row * Length + j] = true;
                }

                for (int j = start; j <= row; j++)
                {
                    Mask[row * Length + j] = true;
                }
            }
        }
    }

    /// <summary>Packed length T.</summary>
    public int Length { get; }

    /// <summary>Token ids (T).</summary>
    public long[] Ids { get; }

    /// <summary>Position ids (T): the context's, then C … C + n − 1 for every block.</summary>
    public long[] Positions { get; }

    /// <summary>(T, T) row-major, true = may attend.</summary>
    public bool[] Mask { get; }

    /// <summary>True when the labels are context ⊕ one of the packed blocks, so the autoregressive loss needs no other forward.</summary>
    public bool HoldsLabels => _labelBlock >= 0;

    /// <summary>Row of example e's student logit p (p in context ⊕ block coordinates).</summary>
    public long StudentRow(int e, int p) => Row(_studentBlock[e], p);

    /// <summary>Row of example e's teacher logit p.</summary>
    public long TeacherRow(int e, int p) => Row(_teacherBlock[e], p);

    /// <summary>Row of the labels' logit p (only when <see cref="HoldsLabels"/>).</summary>
    public long LabelRow(int p) => Row(_labelBlock, p);

    /// <summary>The model inputs: ids (1, T) i64, positions (T) i64, mask (T, T) bool.</summary>
    public (Tensor Ids, Tensor Positions, Tensor Mask) ToTensors(Device device)
        => (tensor(Ids, dtype: ScalarType.Int64, device: device).view(1, Length),
            tensor(Positions, dtype: ScalarType.Int64, device: device),
            tensor(Mask, dtype: ScalarType.Bool, device: device).view(Length, Length));

    /// <summary>Indices of examples that can share one packed sequence: same context, block length and labels.</summary>
    public static List<List<int>> Group(IReadOnlyList<ConsistencyExample> examples)
    {
        var groups = new List<List<int>>();
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            var group = groups.FirstOrDefault(g =>
            {
                var o = examples[g[0]];
                return o.BlockLength == e.BlockLength
                    && (ReferenceEquals(o.Context, e.Context) || o.Context.SequenceEqual(e.Context))
                    && o.AnswerStart == e.AnswerStart
                    && (ReferenceEquals(o.Labels, e.Labels) || o.Labels.SequenceEqual(e.Labels));
            });
            if (group is null)
            {
                groups.Add(new List<int> { i });
            }
            else
            {
                group.Add(i);
            }
        }

        return groups;
    }

    private long Row(int block, int p) => p < _context ? p : _context + (long)block * _block + (p - _context);
}
