using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading.Tasks;

namespace Cllm.Core;

/// <summary>
/// Attention of T new tokens over S keys and values for a bfloat16 model on the CPU (AVX2), in float32 arithmetic, each
/// query row on its own: its bits depend on its query, its mask row and the keys it may see, never on T or on the masked
/// keys (their weight is exactly 0), so a row of a block equals the same token decoded alone. ATen's attention pays per
/// call and per head what these sizes do not need: on the 0.97B shape (22 layers, 128 cached tokens, libtorch on the one
/// thread it keeps beside the int4a8 kernel) attention and cache writes took 2.2 ms of a one-token forward and 12 of a
/// 16-token one; here 0.8 and 7.4 (Cllm.Profile).
/// </summary>
/// <remarks>
/// Per query row: s_j = q·k_j · D^−½ + bias_j, the dot product's lane l summing q_d·k_jd over d ≡ l (mod 8) in order, then
/// the eight lanes in one fixed tree; m = max s; p_j = exp(s_j − m) (0 where masked); l = Σ p_j (lane j mod 8 in key
/// order, then the lanes pairwise); y = (Σ_j p_j·v_j, j in order, fused) / l, rounded to bfloat16 to nearest even.
/// </remarks>
internal static unsafe class CachedAttention
{
    private const int Lanes = 8;

    /// <summary>Work (multiply-adds) below which one thread runs the call.</summary>
    private const long ParallelThreshold = 1 << 18;

    /// <summary>
    /// Whether a model of <paramref name="dtype"/> on <paramref name="device"/> with head size <paramref name="headDim"/> and
    /// hidden size <paramref name="hidden"/> runs the bfloat16 CPU kernels: this attention, the row-by-row RMSNorm (eight
    /// features per step) and <see cref="ClassifierKernel"/>.
    /// </summary>
    public static bool Supports(TorchSharp.torch.ScalarType dtype, TorchSharp.DeviceType device, int headDim, int hidden)
        => dtype == TorchSharp.torch.ScalarType.BFloat16 && device == TorchSharp.DeviceType.CPU
           && headDim % Lanes == 0 && headDim <= 256 && hidden % Lanes == 0 && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// q: element (b, t, h, d) at <c>q[(b·T + t)·qRow + h·D + d]</c>; keys and values: (b, j, s, d) at
    /// <c>[b·kvBatch + j·kvHead + s·kvRow + d]</c>; mask: additive float32 bias, key s of row t at <c>mask[t·maskRow + s]</c>,
    /// 0 or −∞, or null when every key is visible; y: (b, t, h, d) at <c>y[(b·T + t)·H·D + h·D + d]</c>. Query head h reads
    /// KV head h / (H / Hkv). Shared out over (b, KV head) to <paramref name="workers"/> threads.
    /// </summary>
    public static void Run(ushort* q, long qRow, ushort* keys, ushort* values, long kvBatch, long kvHead, long kvRow,
        float* mask, long maskRow, ushort* y, int b, int t, int s, int h, int hkv, int d, int workers)
    {
        var job = new Job(q, qRow, keys, values, kvBatch, kvHead, kvRow, mask, maskRow, y, t, s, h, hkv, d);
        int items = b * hkv;
        long work = (long)b * h * t * s * d;
        if (workers <= 1 || items == 1 || work < ParallelThreshold)
        {
            for (int i = 0; i < items; i++)
            {
                job.Item(i / hkv, i % hkv);
            }

            return;
        }

        Parallel.For(0, items, new ParallelOptions { MaxDegreeOfParallelism = workers }, i => job.Item(i / hkv, i % hkv));
    }

    /// <summary>One query row: its query (D) float32, its mask row (null: every key visible) and its output (D) bfloat16.</summary>
    private readonly struct QueryRow(float* q, float* bias, ushort* y)
    {
        public readonly float* Q = q;
        public readonly float* Bias = bias;
        public readonly ushort* Y = y;
    }

    private readonly struct Job
    {
        private readonly ushort* _q, _keys, _values, _y;
        private readonly float* _mask;
        private readonly long _qRow, _kvBatch, _kvHead, _kvRow, _maskRow;
        private readonly int _t, _s, _h, _d, _g, _sPad;
        private readonly float _scale;

        public Job(ushort* q, long qRow, ushort* keys, ushort* values, long kvBatch, long kvHead, long kvRow, float* mask,
            long maskRow, ushort* y, int t, int s, int h, int hkv, int d)
        {
            _q = q;
            _keys = keys;
            _values = values;
            _mask = mask;
            _y = y;
            (_qRow, _kvBatch, _kvHead, _kvRow, _maskRow) = (qRow, kvBatch, kvHead, kvRow, maskRow);
            (_t, _s, _h, _d, _g) = (t, s, h, d, h / hkv);
            _sPad = (s + Lanes - 1) / Lanes * Lanes;
            _scale = 1f / MathF.Sqrt(d);
        }

        /// <summary>Every query row of batch row <paramref name="bi"/> that reads KV head <paramref name="j"/>, two at a time.</summary>
        public void Item(int bi, int j)
        {
            // k and v (S, D) widened to float32; two rows' scores (S′ each), S′ = S rounded up to 8; two query rows (D each).
            long floats = 2L * _s * _d + 2L * _sPad + 2L * _d;
            float* scratch = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            try
            {
                float* k = scratch;
                float* v = k + (long)_s * _d;
                float* scores = v + (long)_s * _d;
                float* q = scores + 2L * _sPad;
                Widen(_keys + bi * _kvBatch + j * _kvHead, k);
                Widen(_values + bi * _kvBatch + j * _kvHead, v);
                int rows = _g * _t;                                                          // (head hh, token t) = row hh·T + t
                for (int r = 0; r < rows; r += 2)
                {
                    int r1 = Math.Min(r + 1, rows - 1);                                          // an odd last row pairs with itself
                    var a = Row(bi, j, r, q);
                    var b = Row(bi, j, r1, q + _d);
                    QueryPair(a, b, k, v, scores, scores + _sPad);
                }
            }
            finally
            {
                NativeMemory.AlignedFree(scratch);
            }
        }

        /// <summary>Row r of (b, KV head j): its query widened into <paramref name="q"/>, its mask row and its output.</summary>
        private QueryRow Row(int bi, int j, int r, float* q)
        {
            int head = j * _g + r / _t, ti = r % _t;
            long row = (long)bi * _t + ti;
            WidenRow(_q + row * _qRow + (long)head * _d, q, _d);
            return new QueryRow(q, _mask is null ? null : _mask + ti * _maskRow, _y + row * _h * _d + (long)head * _d);
        }

        /// <summary>The S rows of D bfloat16 values at <paramref name="rows"/> (row stride kvRow) into (S, D) float32.</summary>
        private void Widen(ushort* rows, float* into)
        {
            for (int s = 0; s < _s; s++)
            {
                WidenRow(rows + s * _kvRow, into + (long)s * _d, _d);
            }
        }

        private static void WidenRow(ushort* from, float* into, int count)
        {
            for (int i = 0; i < count; i += Lanes)
            {
                BFloat16Vectors.Widen(from + i).Store(into + i);
            }
        }

        /// <summary>
        /// Two query rows over the same keys and values (each row's arithmetic its own; they share the loads). A masked
        /// key's weight is exactly 0 and adds +0 to a sum that is never −0, so it leaves the bits of y as a key that does
        /// not exist would: the reason a row of a block equals the token alone.
        /// </summary>
        private void QueryPair(QueryRow a, QueryRow b, float* k, float* v, float* scoresA, float* scoresB)
        {
            var scale = Vector256.Create(_scale);
            var maxA = Vector256.Create(float.NegativeInfinity);
            var maxB = maxA;
            for (int c = 0; c < _sPad; c += Lanes)
            {
                var (sa, sb) = Dot8(a.Q, b.Q, k, c);
                maxA = Vector256.Max(maxA, Store(sa * scale, a.Bias, c, scoresA));
                maxB = Vector256.Max(maxB, Store(sb * scale, b.Bias, c, scoresB));
            }

            float la = Weights(scoresA, maxA), lb = Weights(scoresB, maxB);
            var lva = Vector256.Create(la);
            var lvb = Vector256.Create(lb);
            for (int d = 0; d < _d; d += 2 * Lanes)
            {
                // y[d..d+16) of both rows in four registers: Σ p_s·v_s over s in order, then / l.
                bool two = d + Lanes < _d;
                Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default;
                float* vs = v + d;
                for (int s = 0; s < _s; s++, vs += _d)
                {
                    var v0 = Vector256.Load(vs);
                    var pa = Vector256.Create(scoresA[s]);
                    var pb = Vector256.Create(scoresB[s]);
                    a0 = Fma.MultiplyAdd(pa, v0, a0);
                    b0 = Fma.MultiplyAdd(pb, v0, b0);
                    if (two)
                    {
                        var v1 = Vector256.Load(vs + Lanes);
                        a1 = Fma.MultiplyAdd(pa, v1, a1);
                        b1 = Fma.MultiplyAdd(pb, v1, b1);
                    }
                }

                BFloat16Vectors.Store(a0 / lva, a.Y + d);
                BFloat16Vectors.Store(b0 / lvb, b.Y + d);
                if (two)
                {
                    BFloat16Vectors.Store(a1 / lva, a.Y + d + Lanes);
                    BFloat16Vectors.Store(b1 / lvb, b.Y + d + Lanes);
                }
            }

            if (float.IsNegativeInfinity(la))
            {
                new Span<ushort>(a.Y, _d).Clear();                                           // no visible key
            }

            if (float.IsNegativeInfinity(lb))
            {
                new Span<ushort>(b.Y, _d).Clear();
            }
        }

        /// <summary>
        /// Scores → weights in place: p = exp(s − max) (0 where masked) and l = Σ p (lane s mod 8 in key order, then the
        /// lanes pairwise); −∞ when no key is visible.
        /// </summary>
        private float Weights(float* scores, Vector256<float> max)
        {
            float m = float.NegativeInfinity;
            for (int i = 0; i < Lanes; i++)
            {
                m = MathF.Max(m, max.GetElement(i));
            }

            var mv = Vector256.Create(float.IsNegativeInfinity(m) ? 0f : m);
            var negativeInfinity = Vector256.Create(float.NegativeInfinity);
            var sum = Vector256<float>.Zero;
            for (int c = 0; c < _sPad; c += Lanes)
            {
                var sc = Vector256.Load(scores + c);
                var p = Vector256.ConditionalSelect(Vector256.Equals(sc, negativeInfinity), Vector256<float>.Zero, Vector256.Exp(sc - mv));
                p.Store(scores + c);
                sum += p;
            }

            return float.IsNegativeInfinity(m) ? m : ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + (sum[6] + sum[7]));
        }

        /// <summary>
        /// q·k of keys c..c+7 (zero past S) for rows a and b: per key, lane l sums q_d·k_d over d ≡ l (mod 8) in order, then
        /// the lanes add in one fixed tree.
        /// </summary>
        private (Vector256<float> A, Vector256<float> B) Dot8(float* qa, float* qb, float* k, int c)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
            float* r = k + (long)c * _d;
            long d1 = _d;
            int keys = Math.Min(Lanes, _s - c);
            if (keys == Lanes)
            {
                for (int d = 0; d < _d; d += Lanes, r += Lanes)
                {
                    var x = Vector256.Load(qa + d);
                    var y = Vector256.Load(qb + d);
                    var k0 = Vector256.Load(r);
                    a0 = Fma.MultiplyAdd(x, k0, a0);
                    b0 = Fma.MultiplyAdd(y, k0, b0);
                    var k1 = Vector256.Load(r + d1);
                    a1 = Fma.MultiplyAdd(x, k1, a1);
                    b1 = Fma.MultiplyAdd(y, k1, b1);
                    var k2 = Vector256.Load(r + 2 * d1);
                    a2 = Fma.MultiplyAdd(x, k2, a2);
                    b2 = Fma.MultiplyAdd(y, k2, b2);
                    var k3 = Vector256.Load(r + 3 * d1);
                    a3 = Fma.MultiplyAdd(x, k3, a3);
                    b3 = Fma.MultiplyAdd(y, k3, b3);
                    var k4 = Vector256.Load(r + 4 * d1);
                    a4 = Fma.MultiplyAdd(x, k4, a4);
                    b4 = Fma.MultiplyAdd(y, k4, b4);
                    var k5 = Vector256.Load(r + 5 * d1);
                    a5 = Fma.MultiplyAdd(x, k5, a5);
                    b5 = Fma.MultiplyAdd(y, k5, b5);
                    var k6 = Vector256.Load(r + 6 * d1);
                    a6 = Fma.MultiplyAdd(x, k6, a6);
                    b6 = Fma.MultiplyAdd(y, k6, b6);
                    var k7 = Vector256.Load(r + 7 * d1);
                    a7 = Fma.MultiplyAdd(x, k7, a7);
                    b7 = Fma.MultiplyAdd(y, k7, b7);
                }
            }
            else
            {
                // The last, partial chunk: the same arithmetic for the keys that exist, zero for the others.
                Span<Vector256<float>> sa = stackalloc Vector256<float>[Lanes];
                Span<Vector256<float>> sb = stackalloc Vector256<float>[Lanes];
                sa.Clear();
                sb.Clear();
                for (int i = 0; i < keys; i++)
                {
                    for (int d = 0; d < _d; d += Lanes)
                    {
                        var ki = Vector256.Load(r + i * d1 + d);
                        sa[i] = Fma.MultiplyAdd(Vector256.Load(qa + d), ki, sa[i]);
                        sb[i] = Fma.MultiplyAdd(Vector256.Load(qb + d), ki, sb[i]);
                    }
                }

                (a0, a1, a2, a3, a4, a5, a6, a7) = (sa[0], sa[1], sa[2], sa[3], sa[4], sa[5], sa[6], sa[7]);
                (b0, b1, b2, b3, b4, b5, b6, b7) = (sb[0], sb[1], sb[2], sb[3], sb[4], sb[5], sb[6], sb[7]);
            }

            return (Tree(a0, a1, a2, a3, a4, a5, a6, a7), Tree(b0, b1, b2, b3, b4, b5, b6, b7));
        }

        /// <summary>[Σ a0, …, Σ a7]: pairs of lanes within each vector, then pairs of pairs, then the two 128-bit halves.</summary>
        private static Vector256<float> Tree(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
            Vector256<float> a4, Vector256<float> a5, Vector256<float> a6, Vector256<float> a7)
        {
            var h0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
            var h4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
            return Avx.Add(Avx.Permute2x128(h0123, h4567, 0x20), Avx.Permute2x128(h0123, h4567, 0x31));
        }

        /// <summary>Adds the bias of keys c..c+7 (−∞ past S) to their scaled sums, stores them and returns them.</summary>
        private Vector256<float> Store(Vector256<float> sc, float* bias, int c, float* scores)
        {
            if (c + Lanes <= _s)
            {
                if (bias is not null)
                {
                    sc += Vector256.Load(bias + c);
                }
            }
            else
            {
                for (int e = 0; e < Lanes; e++)
                {
                    sc = sc.WithElement(e, c + e < _s ? sc[e] + (bias is null ? 0f : bias[c + e]) : float.NegativeInfinity);
                }
            }

            sc.Store(scores + c);
            return sc;
        }
    }
}
