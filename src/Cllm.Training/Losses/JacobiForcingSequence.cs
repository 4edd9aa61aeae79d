using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Cllm.Training;

/// <summary>
/// k consecutive blocks of one prompt packed for Jacobi Forcing in the reference's layout
/// <c>[context | noisy 0 | clean 0 | noisy 1 | clean 1 | … | noisy k−1 | clean k−1]</c> (L = C + 2kn tokens; clean j is the
/// fixed point of block j, noisy j the state picked for it by <see cref="ProgressiveNoise"/>). Both blocks of pair j sit
/// at positions C + jn … C + jn + n − 1. The noise-conditioned mask (true = may attend), row = query:
/// <list type="bullet">
/// <item>context token i: context tokens 0 … i (causal);</item>
/// <item>noisy j, offset t: the context, every earlier noisy block (0 … j−1), and noisy j offsets 0 … t (with
/// <c>cleanPrefix</c>: every earlier clean block instead, the mask of the reference's single-block trainer
/// <c>soft_flexattn_cllm_trainer.py</c>);</item>
/// <item>clean j, offset t: the context, every earlier clean block (0 … j−1), and clean j offsets 0 … t.</item>
/// </list>
/// So noisy j's logits are those of a causal forward over context ⊕ noisy 0 … noisy j (the student, conditioned on a
/// noisy prefix), and clean j's those of context ⊕ clean 0 … clean j, the model's own greedy output (the teacher and the
/// autoregressive sequence), all from one forward. For C = 2, k = 2, n = 2 (rows c0 c1 | n0 n0 | k0 k0 | n1 n1 | k1 k1):
/// <code>
///        c c  n0  k0  n1  k1
///   c0   1 .  . .  . .  . .  . .
///   c1   1 1  . .  . .  . .  . .
///   n0   1 1  1 .  . .  . .  . .
///   n0   1 1  1 1  . .  . .  . .
///   k0   1 1  . .  1 .  . .  . .
///   k0   1 1  . .  1 1  . .  . .
///   n1   1 1  1 1  . .  1 .  . .
///   n1   1 1  1 1  . .  1 1  . .
///   k1   1 1  . .  1 1  . .  1 .
///   k1   1 1  . .  1 1  . .  1 1
/// </code>
/// </summary>
internal sealed class JacobiForcingSequence
{
    private readonly int _context;
    private readonly int _block;
    private readonly int[] _firstMismatch;

    /// <param name="context">The tokens before the first block (prompt and earlier fixed points), C ≥ 1.</param>
    /// <param name="noisy">k ≥ 1 noisy block states, n tokens each.</param>
    /// <param name="clean">The k fixed points, n tokens each.</param>
    /// <param name="answerStart">First token of <see cref="Labels"/> the AR loss predicts (0: every token after the first).</param>
    /// <param name="cleanPrefix">Noisy blocks see the earlier clean blocks instead of the earlier noisy ones.</param>
    public JacobiForcingSequence(IReadOnlyList<int> context, IReadOnlyList<IReadOnlyList<int>> noisy, IReadOnlyList<IReadOnlyList<int>> clean, int answerStart = 0, bool cleanPrefix = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(noisy);
        ArgumentNullException.ThrowIfNull(clean);
        if (context.Count == 0 || noisy.Count == 0 || noisy.Count != clean.Count)
        {
            throw new ArgumentException($"a packed sequence needs a context and k ≥ 1 noisy/clean block pairs (got C = {context.Count}, {noisy.Count} noisy, {clean.Count} clean).");
        }

        _context = context.Count;
        _block = clean[0].Count;
        if (_block == 0 || noisy.Concat(clean).Any(b => b.Count != _block))
        {
            throw new ArgumentException("every block must hold the same number (≥ 1) of tokens.");
        }

        Blocks = clean.Count;
        int c = _context, n = _block, k = Blocks;
        Length = c + (2 * k * n);
        Ids = new long[Length];
        Positions = new long[Length];
        Mask = new bool[(long)Length * Length];
        _firstMismatch = new int[k];
        var labels = new int[c + (k * n)];
        for (int i = 0; i < c; i++)
        {
            Ids[i] = context[i];
            Positions[i] = i;
            labels[i] = context[i];
            for (int j = 0; j <= i; j++)
            {
                Mask[((long)i * Length) + j] = true;
            }
        }

        for (int j = 0; j < k; j++)
        {
            int w = 0;
            while (w < n && noisy[j][w] == clean[j][w])
            {
                w++;
            }

            _firstMismatch[j] = w;
            for (int t = 0; t < n; t++)
            {
                labels[c + (j * n) + t] = clean[j][t];
                Fill(NoisyStart(j) + t, noisy[j][t], j, t, NoisyStart, cleanPrefix ? CleanStart : NoisyStart);
                Fill(CleanStart(j) + t, clean[j][t], j, t, CleanStart, CleanStart);
            }
        }

        Labels = labels;
        AnswerStart = answerStart;
        if (answerStart < 0 || answerStart >= labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(answerStart), answerStart, $"must be in [0, {labels.Length}).");
        }

        // Row `row` holds `token` of block j at offset t: it sees the context, blocks 0 … j−1 starting at `prefix`,
        // and its own block (starting at `start`) up to itself.
        void Fill(int row, int token, int j, int t, Func<int, int> start, Func<int, int> prefix)
        {
            Ids[row] = token;
            Positions[row] = c + ((long)j * n) + t;
            long at = (long)row * Length;
            for (int i = 0; i < c; i++)
            {
                Mask[at + i] = true;
            }

            for (int earlier = 0; earlier < j; earlier++)
            {
                for (int i = 0; i < n; i++)
                {
                    Mask[at + prefix(earlier) + i] = true;
                }
            }

            for (int i = 0; i <= t; i++)
            {
                Mask[at + start(j) + i] = true;
            }
        }
    }

    /// <summary>Packed length L = C + 2kn.</summary>
    public int Length { get; }

    /// <summary>Number of blocks k.</summary>
    public int Blocks { get; }

    /// <summary>Block length n.</summary>
    public int BlockLength => _block;

    /// <summary>Context length C.</summary>
    public int ContextLength => _context;

    /// <summary>Token ids (L).</summary>
    public long[] Ids { get; }

    /// <summary>Position ids (L): the context's 0 … C − 1, then C + jn + t for both blocks of pair j.</summary>
    public long[] Positions { get; }

    /// <summary>(L, L) row-major, true = may attend (see the class summary).</summary>
    public bool[] Mask { get; }

    /// <summary>The autoregressive sequence: context ⊕ clean 0 … clean k−1 (C + kn tokens).</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>First token of <see cref="Labels"/> the AR loss predicts.</summary>
    public int AnswerStart { get; }

    /// <summary>Row of noisy block j's offset t.</summary>
    public int NoisyRow(int j, int t) => NoisyStart(j) + t;

    /// <summary>Row of clean block j's offset t.</summary>
    public int CleanRow(int j, int t) => CleanStart(j) + t;

    /// <summary>Row holding the logit at position p of <see cref="Labels"/>.</summary>
    public long LabelRow(int p) => p < _context ? p : CleanRow((p - _context) / _block, (p - _context) % _block);

    /// <summary>
    /// The consistency loss's (student row, teacher row) pairs, as the reference keeps them: for every block j, offsets
    /// t = w_j … n − 1 where w_j is the first token of noisy j that differs from clean j (none when they are equal).
    /// The logit at offset t predicts offset t + 1 (at t = n − 1 the next block's first token).
    /// </summary>
    public List<(long Student, long Teacher)> ConsistencyRows()
    {
        var rows = new List<(long, long)>();
        for (int j = 0; j < Blocks; j++)
        {
            for (int t = _firstMismatch[j]; t < _block; t++)
            {
                rows.Add((NoisyRow(j, t), CleanRow(j, t)));
            }
        }

        return rows;
    }

    /// <summary>The model inputs: ids (1, L) i64, positions (L) i64, mask (L, L) bool.</summary>
    public (Tensor Ids, Tensor Positions, Tensor Mask) ToTensors(Device device)
        => (tensor(Ids, dtype: ScalarType.Int64, device: device).view(1, Length),
            tensor(Positions, dtype: ScalarType.Int64, device: device),
            tensor(Mask, dtype: ScalarType.Bool, device: device).view(Length, Length));

    /// <summary>
    /// The sequence of <paramref name="chain"/> (consecutive blocks of one prompt, see <see cref="Chains"/>): the first
    /// block's context, each block's state nearest its progressive target (or, with <paramref name="randomNoise"/>, a
    /// target drawn from it uniformly in [min, max] per block), and the fixed points.
    /// </summary>
    public static JacobiForcingSequence FromChain(IReadOnlyList<TrajectoryRecord> chain, int window, double minNoise, double maxNoise, bool answerOnly, bool cleanPrefix = false, Random? randomNoise = null)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var noisy = new List<IReadOnlyList<int>>(chain.Count);
        var clean = new List<IReadOnlyList<int>>(chain.Count);
        foreach (var record in chain)
        {
            double target = randomNoise is null
                ? ProgressiveNoise.Target(record.BlockIndex, window, minNoise, maxNoise)
                : minNoise + ((maxNoise - minNoise) * randomNoise.NextDouble());
            noisy.Add(record.Trajectory[ProgressiveNoise.Select(record, target)]);
            clean.Add(record.FixedPoint);
        }

        return new JacobiForcingSequence(chain[0].PromptIds, noisy, clean, answerOnly ? chain[0].PromptLength : 0, cleanPrefix);
    }

    /// <summary>
    /// Splits <paramref name="records"/> into chains of consecutive blocks of one prompt, at most one noise window each:
    /// records of one <c>data_id</c> in block order, a chain continuing while the next block's index is one more, its
    /// length is the same and its context is the previous context ⊕ the previous fixed point, and ending at a window
    /// boundary (a block index that is a multiple of <paramref name="window"/>). Returns record indices, chains in
    /// order of their first record.
    /// </summary>
    public static List<int[]> Chains(IReadOnlyList<TrajectoryRecord> records, int window)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var chains = new List<int[]>();
        foreach (var prompt in Enumerable.Range(0, records.Count).GroupBy(i => records[i].DataId, StringComparer.Ordinal))
        {
            var current = new List<int>();
            foreach (int i in prompt.OrderBy(i => records[i].BlockIndex).ThenBy(i => i))
            {
                var r = records[i];
                if (current.Count > 0)
                {
                    var previous = records[current[^1]];
                    bool continues = r.BlockIndex == previous.BlockIndex + 1
                        && r.BlockIndex % window != 0
                        && r.BlockLength == previous.BlockLength
                        && r.PromptIds.SequenceEqual(previous.TeacherOutputIds);
                    if (!continues)
                    {
                        chains.Add(current.ToArray());
                        current.Clear();
                    }
                }

                current.Add(i);
            }

            chains.Add(current.ToArray());
        }

        chains.Sort((a, b) => a.Min().CompareTo(b.Min()));
        return chains;
    }

    private int NoisyStart(int j) => _context + (2 * j * _block);

    private int CleanStart(int j) => _context + (((2 * j) + 1) * _block);
}
