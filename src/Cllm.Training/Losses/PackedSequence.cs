using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

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
