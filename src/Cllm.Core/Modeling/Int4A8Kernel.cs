using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cllm.Core;

/// <summary>
/// y = x·Wᵀ with 4-bit weights and 8-bit dynamic activations, in integer dot products (<see cref="Int4A8Path"/>: AVX-512
/// VNNI in the native kernel, AVX-VNNI, or AVX2 <c>vpmaddubsw</c> + <c>vpmaddwd</c>, which sums the same four products per
/// 32-bit lane, so all give the same bits). ATen's int4 kernel converts the weights to floating point on every call, so a T-token call costs
/// about T one-token calls; here the integer weights are unpacked once per row and multiplied by up to four tokens, and a
/// 16-token call costs far less than 16 one-token calls (docs/quantization.md).
/// <para>
/// Weights, per row n and group g of <c>groupSize</c> input features: W[n, k] = q·scale[n, g] + offset[n, g], q in 0..15,
/// packed 64 features per 32 bytes (byte j of a unit holds feature j in its low nibble and feature j + 32 in its high one).
/// Activations, per token t and group g: x[t, k] ≈ xq·sx[t, g] with xq in −127..127 (symmetric, rounded to nearest even).
/// Then y[t, n] = Σ_g sx[t, g]·scale[n, g]·Σ_k q·xq + Σ_g offset[n, g]·sx[t, g]·Σ_k xq, computed as: per group the exact
/// integer sum Σ_k q·xq, then a = fma(sum, scale·sx, a) in order of g (one float chain per output, so lanes and outputs
/// may be reduced however is fastest), and o = Σ_g offset·u as one FMA chain in order of g; y = a + o (<c>Store</c>). Every output depends on its
/// own token only, in that fixed order: a row of a T-token call equals that token computed alone, bit for bit.
/// </para>
/// </summary>
internal static unsafe class Int4A8Kernel
{
    /// <summary>Input features per packed unit (32 bytes).</summary>
    public const int UnitFeatures = 64;

    /// <summary>Group sizes the kernel takes, largest first: the weight group is the largest that divides K.</summary>
    public static readonly int[] GroupSizes = { 128, 64 };

    /// <summary>Whether this CPU runs the kernel (x64 with AVX2 and FMA).</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>The fastest path this machine runs: AVX-512 VNNI where the native kernel loads, else AVX-VNNI, else AVX2.</summary>
    public static Int4A8Path Best { get; } = NativeKernels.Int4A8Rows != null ? Int4A8Path.Avx512Vnni
        : AvxVnni.IsSupported ? Int4A8Path.AvxVnni : Int4A8Path.Avx2;

    /// <summary>Whether this machine runs <paramref name="path"/>.</summary>
    public static bool Runs(Int4A8Path path) => path switch
    {
        Int4A8Path.Avx512Vnni => NativeKernels.Int4A8Rows != null,
        Int4A8Path.AvxVnni => AvxVnni.IsSupported,
        _ => IsSupported,
    };

    /// <summary>The path in the load message, with why a faster one is not used.</summary>
    public static string Describe() => Best switch
    {
        Int4A8Path.Avx512Vnni => "AVX-512 VNNI, native kernel",
        Int4A8Path.AvxVnni => $"AVX-VNNI; no AVX-512 VNNI kernel: {NativeKernels.Int4A8Missing}",
        _ => $"AVX2; no AVX-VNNI, no AVX-512 VNNI kernel: {NativeKernels.Int4A8Missing}",
    };

    /// <summary>The group size for an input size K: the largest of <see cref="GroupSizes"/> dividing K; null if none does.</summary>
    public static int? GroupSize(long inFeatures)
    {
        foreach (int g in GroupSizes)
        {
            if (inFeatures % g == 0)
            {
                return g;
            }
        }

        return null;
    }

    /// <summary>
    /// x (T, K) float32 → xq (T, K), sx (T, G) and u (T, G) = sx·Σ xq per group. <paramref name="xq"/> needs T·K bytes,
    /// <paramref name="sx"/> and <paramref name="u"/> T·G floats. Rounding is to nearest even.
    /// </summary>
    public static void QuantizeActivations(float* x, int tokens, int inFeatures, int groupSize, sbyte* xq, float* sx, float* u)
    {
        int groups = inFeatures / groupSize;
        var limit = Vector256.Create(127f);
        for (int t = 0; t < tokens; t++)
        {
            for (int g = 0; g < groups; g++)
            {
                long o = (long)t * inFeatures + (long)g * groupSize;
                float* src = x + o;
                var maxAbs = Vector256<float>.Zero;
                for (int i = 0; i < groupSize; i += 8)
                {
                    maxAbs = Vector256.Max(maxAbs, Vector256.Abs(Vector256.Load(src + i)));
                }

                var half = Vector256.Max(maxAbs, Avx.Permute2x128(maxAbs, maxAbs, 1)).GetLower();
                half = Vector128.Max(half, Sse.MoveHighToLow(half, half));
                float max = MathF.Max(half.ToScalar(), half.GetElement(1));
                float scale = max / 127f;
                var inverse = Vector256.Create(max > 0f ? 127f / max : 0f);
                var sum = Vector256<int>.Zero;
                for (int i = 0; i < groupSize; i += 32)
                {
                    var q0 = RoundToInt(Vector256.Load(src + i), inverse, limit);
                    var q1 = RoundToInt(Vector256.Load(src + i + 8), inverse, limit);
                    var q2 = RoundToInt(Vector256.Load(src + i + 16), inverse, limit);
                    var q3 = RoundToInt(Vector256.Load(src + i + 24), inverse, limit);
                    sum = Avx2.Add(Avx2.Add(sum, Avx2.Add(q0, q1)), Avx2.Add(q2, q3));
                    Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).Store(xq + o + i);
                }

                sx[t * groups + g] = scale;
                u[t * groups + g] = scale * Vector256.Sum(sum);
            }
        }
    }

    /// <summary>round(x·inverse) as int32, clamped to ±127 (a rounding step past 127 cannot happen, but NaN or ∞ inputs must not wrap).</summary>
    private static Vector256<int> RoundToInt(Vector256<float> x, Vector256<float> inverse, Vector256<float> limit)
        => Avx.ConvertToVector256Int32(Vector256.Min(Vector256.Max(Avx.RoundToNearestInteger(x * inverse), -limit), limit));

    /// <summary>
    /// (T, N) from packed weights w (N, K/2), scale and offset (N, G) float32, and activations from
    /// <see cref="QuantizeActivations"/>, into <paramref name="output"/>: float32 or bfloat16, written or added to. Each value
    /// is rounded and added as ATen would after a float32 product: bfloat16 by round-to-nearest-even, a sum in float32
    /// rounded once. Rows are shared out to <paramref name="threads"/> workers on <paramref name="path"/> (one
    /// <see cref="Runs"/> says this machine runs; tests compare them).
    /// </summary>
    public static void MatMul(byte* w, float* scale, float* offset, sbyte* xq, float* sx, float* u, KernelOutput output,
        int tokens, int outFeatures, int inFeatures, int groupSize, int threads, Int4A8Path path)
    {
        if (!Runs(path))
        {
            throw new PlatformNotSupportedException($"the Int4A8 kernel's {path} path does not run here");
        }

        var job = new Job(w, scale, offset, xq, sx, u, output, tokens, outFeatures, inFeatures, groupSize, path);
        KernelWorkers.For(outFeatures, 16, (long)outFeatures * inFeatures, threads, job.Rows);   // whole blocks of 16 rows: the native kernel's for up to 16 tokens
    }

    /// <summary>float32 → bfloat16 bits, rounding to nearest even (NaN → 0x7FC0), as c10's conversion does.</summary>
    internal static ushort ToBFloat16(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7FC0;
        }

        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>bfloat16 bits → float32 (exact).</summary>
    internal static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>One call's pointers and sizes, shared by its workers (each writes its own rows of y).</summary>
    private readonly struct Job
    {
        private readonly byte* _w;
        private readonly float* _scale, _offset, _sx, _u;
        private readonly KernelOutput _y;
        private readonly sbyte* _xq;
        private readonly int _tokens, _n, _k, _groups, _unitsPerGroup;
        private readonly int _groupSize;
        private readonly bool _vnni, _native;

        public Job(byte* w, float* scale, float* offset, sbyte* xq, float* sx, float* u, KernelOutput y, int tokens, int n, int k, int groupSize, Int4A8Path path)
        {
            _w = w;
            _scale = scale;
            _offset = offset;
            _xq = xq;
            _sx = sx;
            _u = u;
            _y = y;
            (_tokens, _n, _k, _groups, _unitsPerGroup, _groupSize) = (tokens, n, k, k / groupSize, groupSize / UnitFeatures, groupSize);
            (_vnni, _native) = (path == Int4A8Path.AvxVnni, path == Int4A8Path.Avx512Vnni);
        }

        /// <summary>
        /// Rows [n0, n1) of y for every token: two rows at a time, four tokens per pass over their weights, then two, then
        /// one (a one-token call: two rows per pass). The first pass over a row pair prefetches the next pair's weights, so the loads that follow find them in
        /// cache instead of waiting on memory (without it the kernel ran at 55–65% of its arithmetic rate).
        /// </summary>
        public void Rows(int n0, int n1)
        {
            if (_native)
            {
                NativeKernels.Int4A8Rows(_w, _scale, _offset, _xq, _sx, _u, _y.F32, _y.BF16, _y.Accumulate ? 1 : 0, _tokens, _n, _k, _groupSize, n0, n1);
                return;
            }

            for (int n = n0; n < n1; n++)
            {
                int t = 0;
                if (n + 1 < n1 && _tokens == 1)
                {
                    TwoRowsOneToken(n);
                    n++;
                    continue;
                }

                if (n + 1 < n1 && _tokens >= 2)
                {
                    for (; t + 4 <= _tokens; t += 4)
                    {
                        TwoRowsFourTokens(n, t);
                    }

                    for (; t + 2 <= _tokens; t += 2)
                    {
                        TwoRowsTwoTokens(n, t);
                    }

                    for (; t < _tokens; t++)
                    {
                        OneToken(n, t);
                        OneToken(n + 1, t);
                    }

                    n++;
                    continue;
                }

                for (; t + 4 <= _tokens; t += 4)
                {
                    FourTokens(n, t);
                }

                for (; t < _tokens; t++)
                {
                    OneToken(n, t);
                }
            }
        }

        /// <summary>Σ of four u8·s8 products per int32 lane added to acc: vpdpbusd, or the AVX2 pair that sums the same (no saturation: |15·127·2| fits 16 bits).</summary>
        private Vector256<int> Dot(Vector256<int> acc, Vector256<byte> q, Vector256<sbyte> x)
            => _vnni ? AvxVnni.MultiplyWideningAndAdd(acc, q, x)
                : Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, x), Vector256<short>.One));

        private void FourTokens(int n, int t)
        {
            var mask = Vector256.Create((byte)0x0F);
            byte* row = _w + (long)n * (_k / 2);
            float* scale = _scale + (long)n * _groups;
            sbyte* x0 = _xq + (long)t * _k, x1 = x0 + _k, x2 = x1 + _k, x3 = x2 + _k;
            float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
            for (int g = 0; g < _groups; g++)
            {
                // Two integer chains per token (low and high nibbles) keep eight vpdpbusd in flight; integer sums are exact in any order.
                Vector256<int> l0 = default, l1 = default, l2 = default, l3 = default, h0 = default, h1 = default, h2 = default, h3 = default;
                for (int unit = g * _unitsPerGroup, end = unit + _unitsPerGroup; unit < end; unit++)
                {
                    int k = unit * UnitFeatures;
                    var packed = Vector256.Load(row + k / 2);
                    var lo = Avx2.And(packed, mask);
                    var hi = Avx2.And(Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask);
                    l0 = Dot(l0, lo, Vector256.Load(x0 + k));
                    l1 = Dot(l1, lo, Vector256.Load(x1 + k));
                    l2 = Dot(l2, lo, Vector256.Load(x2 + k));
                    l3 = Dot(l3, lo, Vector256.Load(x3 + k));
                    h0 = Dot(h0, hi, Vector256.Load(x0 + k + 32));
                    h1 = Dot(h1, hi, Vector256.Load(x1 + k + 32));
                    h2 = Dot(h2, hi, Vector256.Load(x2 + k + 32));
                    h3 = Dot(h3, hi, Vector256.Load(x3 + k + 32));
                }

                float s = scale[g];
                float* sx = _sx + t * _groups + g;
                a0 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(l0, h0)), s * sx[0], a0);
                a1 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(l1, h1)), s * sx[_groups], a1);
                a2 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(l2, h2)), s * sx[2 * _groups], a2);
                a3 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(l3, h3)), s * sx[3 * _groups], a3);
            }

            Store(n, t, a0);
            Store(n, t + 1, a1);
            Store(n, t + 2, a2);
            Store(n, t + 3, a3);
        }

        /// <summary>Rows n and n + 1 for tokens t..t+3: each activation load serves two rows (the sums are FourTokens' exactly).</summary>
        private void TwoRowsFourTokens(int n, int t)
        {
            var mask = Vector256.Create((byte)0x0F);
            byte* row = _w + (long)n * (_k / 2), next = row + _k / 2;
            float* scale = _scale + (long)n * _groups;
            sbyte* x0 = _xq + (long)t * _k, x1 = x0 + _k, x2 = x1 + _k, x3 = x2 + _k;
            bool prefetch = t == 0;
            float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, b0 = 0f, b1 = 0f, b2 = 0f, b3 = 0f;
            for (int g = 0; g < _groups; g++)
            {
                Vector256<int> d0 = default, d1 = default, d2 = default, d3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                for (int unit = g * _unitsPerGroup, end = unit + _unitsPerGroup; unit < end; unit++)
                {
                    int k = unit * UnitFeatures;
                    if (prefetch)
                    {
                        Sse.Prefetch0(row + _k + k);                                              // the next row pair: one line per unit covers its K bytes
                    }

                    var p = Vector256.Load(row + k / 2);
                    var q = Vector256.Load(next + k / 2);
                    var lo = Avx2.And(p, mask);
                    var loNext = Avx2.And(q, mask);
                    var x = Vector256.Load(x0 + k);
                    d0 = Dot(d0, lo, x);
                    e0 = Dot(e0, loNext, x);
                    x = Vector256.Load(x1 + k);
                    d1 = Dot(d1, lo, x);
                    e1 = Dot(e1, loNext, x);
                    x = Vector256.Load(x2 + k);
                    d2 = Dot(d2, lo, x);
                    e2 = Dot(e2, loNext, x);
                    x = Vector256.Load(x3 + k);
                    d3 = Dot(d3, lo, x);
                    e3 = Dot(e3, loNext, x);
                    var hi = Avx2.And(Avx2.ShiftRightLogical(p.AsUInt16(), 4).AsByte(), mask);
                    var hiNext = Avx2.And(Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte(), mask);
                    x = Vector256.Load(x0 + k + 32);
                    d0 = Dot(d0, hi, x);
                    e0 = Dot(e0, hiNext, x);
                    x = Vector256.Load(x1 + k + 32);
                    d1 = Dot(d1, hi, x);
                    e1 = Dot(e1, hiNext, x);
                    x = Vector256.Load(x2 + k + 32);
                    d2 = Dot(d2, hi, x);
                    e2 = Dot(e2, hiNext, x);
                    x = Vector256.Load(x3 + k + 32);
                    d3 = Dot(d3, hi, x);
                    e3 = Dot(e3, hiNext, x);
                }

                float s = scale[g], sNext = scale[_groups + g];
                float* sx = _sx + t * _groups + g;
                float sx0 = sx[0], sx1 = sx[_groups], sx2 = sx[2 * _groups], sx3 = sx[3 * _groups];
                a0 = MathF.FusedMultiplyAdd(Vector256.Sum(d0), s * sx0, a0);
                a1 = MathF.FusedMultiplyAdd(Vector256.Sum(d1), s * sx1, a1);
                a2 = MathF.FusedMultiplyAdd(Vector256.Sum(d2), s * sx2, a2);
                a3 = MathF.FusedMultiplyAdd(Vector256.Sum(d3), s * sx3, a3);
                b0 = MathF.FusedMultiplyAdd(Vector256.Sum(e0), sNext * sx0, b0);
                b1 = MathF.FusedMultiplyAdd(Vector256.Sum(e1), sNext * sx1, b1);
                b2 = MathF.FusedMultiplyAdd(Vector256.Sum(e2), sNext * sx2, b2);
                b3 = MathF.FusedMultiplyAdd(Vector256.Sum(e3), sNext * sx3, b3);
            }

            Store(n, t, a0);
            Store(n, t + 1, a1);
            Store(n, t + 2, a2);
            Store(n, t + 3, a3);
            Store(n + 1, t, b0);
            Store(n + 1, t + 1, b1);
            Store(n + 1, t + 2, b2);
            Store(n + 1, t + 3, b3);
        }

        /// <summary>Rows n and n + 1 for tokens t and t + 1: the weights unpacked once for both tokens, each output's arithmetic OneToken's exactly.</summary>
        private void TwoRowsTwoTokens(int n, int t)
        {
            var mask = Vector256.Create((byte)0x0F);
            byte* row = _w + (long)n * (_k / 2), next = row + _k / 2;
            float* scale = _scale + (long)n * _groups;
            sbyte* x0 = _xq + (long)t * _k, x1 = x0 + _k;
            bool prefetch = t == 0;
            float a0 = 0f, a1 = 0f, b0 = 0f, b1 = 0f;
            for (int g = 0; g < _groups; g++)
            {
                Vector256<int> la0 = default, ha0 = default, la1 = default, ha1 = default, lb0 = default, hb0 = default, lb1 = default, hb1 = default;
                for (int unit = g * _unitsPerGroup, end = unit + _unitsPerGroup; unit < end; unit++)
                {
                    int k = unit * UnitFeatures;
                    if (prefetch)
                    {
                        Sse.Prefetch0(row + _k + k);
                    }

                    var p = Vector256.Load(row + k / 2);
                    var q = Vector256.Load(next + k / 2);
                    var lo = Avx2.And(p, mask);
                    var hi = Avx2.And(Avx2.ShiftRightLogical(p.AsUInt16(), 4).AsByte(), mask);
                    var loNext = Avx2.And(q, mask);
                    var hiNext = Avx2.And(Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte(), mask);
                    var x = Vector256.Load(x0 + k);
                    la0 = Dot(la0, lo, x);
                    lb0 = Dot(lb0, loNext, x);
                    x = Vector256.Load(x0 + k + 32);
                    ha0 = Dot(ha0, hi, x);
                    hb0 = Dot(hb0, hiNext, x);
                    x = Vector256.Load(x1 + k);
                    la1 = Dot(la1, lo, x);
                    lb1 = Dot(lb1, loNext, x);
                    x = Vector256.Load(x1 + k + 32);
                    ha1 = Dot(ha1, hi, x);
                    hb1 = Dot(hb1, hiNext, x);
                }

                float sx0 = _sx[t * _groups + g], sx1 = _sx[(t + 1) * _groups + g];
                a0 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(la0, ha0)), scale[g] * sx0, a0);
                a1 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(la1, ha1)), scale[g] * sx1, a1);
                b0 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(lb0, hb0)), scale[_groups + g] * sx0, b0);
                b1 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(lb1, hb1)), scale[_groups + g] * sx1, b1);
            }

            Store(n, t, a0);
            Store(n, t + 1, a1);
            Store(n + 1, t, b0);
            Store(n + 1, t + 1, b1);
        }

        /// <summary>Rows n and n + 1 for a one-token call (the decode step): OneToken's arithmetic, with the next pair prefetched.</summary>
        private void TwoRowsOneToken(int n)
        {
            var mask = Vector256.Create((byte)0x0F);
            byte* row = _w + (long)n * (_k / 2), next = row + _k / 2;
            float* scale = _scale + (long)n * _groups;
            float a0 = 0f, b0 = 0f;
            for (int g = 0; g < _groups; g++)
            {
                Vector256<int> la = default, ha = default, lb = default, hb = default;
                for (int unit = g * _unitsPerGroup, end = unit + _unitsPerGroup; unit < end; unit++)
                {
                    int k = unit * UnitFeatures;
                    Sse.Prefetch0(row + _k + k);
                    var p = Vector256.Load(row + k / 2);
                    var q = Vector256.Load(next + k / 2);
                    var x = Vector256.Load(_xq + k);
                    la = Dot(la, Avx2.And(p, mask), x);
                    lb = Dot(lb, Avx2.And(q, mask), x);
                    x = Vector256.Load(_xq + k + 32);
                    ha = Dot(ha, Avx2.And(Avx2.ShiftRightLogical(p.AsUInt16(), 4).AsByte(), mask), x);
                    hb = Dot(hb, Avx2.And(Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte(), mask), x);
                }

                a0 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(la, ha)), scale[g] * _sx[g], a0);
                b0 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(lb, hb)), scale[_groups + g] * _sx[g], b0);
            }

            Store(n, 0, a0);
            Store(n + 1, 0, b0);
        }

        private void OneToken(int n, int t)
        {
            var mask = Vector256.Create((byte)0x0F);
            byte* row = _w + (long)n * (_k / 2);
            float* scale = _scale + (long)n * _groups;
            sbyte* x0 = _xq + (long)t * _k;
            float a0 = 0f;
            for (int g = 0; g < _groups; g++)
            {
                Vector256<int> l0 = default, h0 = default;
                for (int unit = g * _unitsPerGroup, end = unit + _unitsPerGroup; unit < end; unit++)
                {
                    int k = unit * UnitFeatures;
                    var packed = Vector256.Load(row + k / 2);
                    l0 = Dot(l0, Avx2.And(packed, mask), Vector256.Load(x0 + k));
                    h0 = Dot(h0, Avx2.And(Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask), Vector256.Load(x0 + k + 32));
                }

                a0 = MathF.FusedMultiplyAdd(Vector256.Sum(Avx2.Add(l0, h0)), scale[g] * _sx[t * _groups + g], a0);
            }

            Store(n, t, a0);
        }

        /// <summary>y[t, n] = the products' share <paramref name="acc"/> + o, o = Σ_g offset[n, g]·u[t, g] (the offsets' share) as one FMA chain in order of g.</summary>
        private void Store(int n, int t, float acc)
        {
            float* offset = _offset + (long)n * _groups, u = _u + (long)t * _groups;
            float o = 0f;
            for (int g = 0; g < _groups; g++)
            {
                o = MathF.FusedMultiplyAdd(offset[g], u[g], o);
            }

            float value = acc + o;
            long i = (long)t * _n + n;
            if (_y.BF16 is not null)
            {
                ushort rounded = ToBFloat16(value);
                _y.BF16[i] = _y.Accumulate ? ToBFloat16(FromBFloat16(_y.BF16[i]) + FromBFloat16(rounded)) : rounded;
            }
            else if (_y.Accumulate)
            {
                _y.F32[i] += value;
            }
            else
            {
                _y.F32[i] = value;
            }
        }
    }
}
