// Int4A8 rows with AVX-512 VNNI (vpdpbusd on 512 bits): the arithmetic of Int4A8Kernel.cs, bit for bit.
//
// .NET 10 exposes vpdpbusd only as AVX-VNNI (VEX, 256 bits) or AVX10.1; CPUs with AVX-512 VNNI but neither (AMD Zen 4,
// Intel Ice Lake to Sapphire Rapids) would run the managed kernel's AVX2 path, three instructions per 32 products. Here
// one instruction does 64: a packed unit (32 bytes, 64 features) becomes one register, low nibbles in its lower half
// and high nibbles in its upper half, against the unit's 64 activation bytes.
//
// Per output (row n, token t) the arithmetic is the managed kernel's: for each group g in order, the exact integer sum
// of the group's products, a = fma(float(sum), scale[n, g] * sx[t, g], a) and o = fma(offset[n, g], u[t, g], o); then
// y = a + o, rounded as Store does. Integer sums are exact in any order, so the lanes may be added however is fastest: eight outputs
// are reduced together (reduce8) and their float steps run in the eight lanes of one register. Build with
// -ffp-contract=off so the compiler fuses nothing the C# code does not.
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>

#include "bf16_bits.h"

typedef struct
{
    const uint8_t* w;        // (N, K/2) packed
    const float* scale;      // (N, G)
    const float* offset;     // (N, G)
    const int8_t* xq;        // (T, K)
    const float* sx;         // (T, G)
    const float* sxt;        // (G, T): sx transposed, so four tokens' scales of a group are one load; null unless row pairs take pair_block
    const float* u;          // (T, G)
    const float* ut;         // (G, T): u transposed
    float* y_f32;            // (T, N), or null
    uint16_t* y_bf16;        // (T, N) bfloat16 bits, or null
    int accumulate, tokens, n, k, groups, units_per_group;
} job;

// y[t, n] = value (the products' share plus the offsets'), rounded and written or added as Store does.
static inline void store(const job* j, int n, int t, float value)
{
    int64_t i = (int64_t)t * j->n + n;
    if (j->y_bf16)
    {
        uint16_t rounded = to_bf16(value);
        j->y_bf16[i] = j->accumulate ? to_bf16(from_bf16(j->y_bf16[i]) + from_bf16(rounded)) : rounded;
    }
    else if (j->accumulate)
    {
        j->y_f32[i] += value;
    }
    else
    {
        j->y_f32[i] = value;
    }
}

// A packed unit as one register: bytes 0-31 the low nibbles, bytes 32-63 the high ones.
static inline __m512i unpack(const uint8_t* p, __m512i shifts, __m512i mask)
{
    __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)p));
    return _mm512_and_si512(_mm512_srlv_epi16(both, shifts), mask);
}

// Eight vectors of 16 int32 lanes -> their eight sums, in lanes [d0, d2, d4, d6, d1, d3, d5, d7].
static inline __m256i reduce8(__m512i d0, __m512i d1, __m512i d2, __m512i d3, __m512i d4, __m512i d5, __m512i d6, __m512i d7)
{
    // 128-bit blocks 0-1 of u0 hold d0 (its two halves added), blocks 2-3 hold d1; likewise u1..u3.
    __m512i u0 = _mm512_add_epi32(_mm512_shuffle_i64x2(d0, d1, 0x44), _mm512_shuffle_i64x2(d0, d1, 0xEE));
    __m512i u1 = _mm512_add_epi32(_mm512_shuffle_i64x2(d2, d3, 0x44), _mm512_shuffle_i64x2(d2, d3, 0xEE));
    __m512i u2 = _mm512_add_epi32(_mm512_shuffle_i64x2(d4, d5, 0x44), _mm512_shuffle_i64x2(d4, d5, 0xEE));
    __m512i u3 = _mm512_add_epi32(_mm512_shuffle_i64x2(d6, d7, 0x44), _mm512_shuffle_i64x2(d6, d7, 0xEE));
    // Per block: [sum of u0's block, u1's, u2's, u3's].
    __m512i v0 = _mm512_add_epi32(_mm512_unpacklo_epi32(u0, u1), _mm512_unpackhi_epi32(u0, u1));
    __m512i v1 = _mm512_add_epi32(_mm512_unpacklo_epi32(u2, u3), _mm512_unpackhi_epi32(u2, u3));
    __m512i w = _mm512_add_epi32(_mm512_unpacklo_epi64(v0, v1), _mm512_unpackhi_epi64(v0, v1));
    // Blocks 0 + 1 are d0, d2, d4, d6; blocks 2 + 3 are d1, d3, d5, d7.
    __m512i z = _mm512_add_epi32(w, _mm512_shuffle_i32x4(w, w, 0xB1));
    return _mm512_castsi512_si256(_mm512_shuffle_i32x4(z, z, 0x08));
}

// Rows n, n+1 and tokens t..t+count-1 (count 2..8, a constant where inlined): the outputs' values into a[16], lane
// order per four tokens [r0t0, r0t2, r1t0, r1t2, r0t1, r0t3, r1t1, r1t3] (reduce8's; missing tokens' lanes are zero).
static inline __attribute__((always_inline)) void pair_block(const job* j, int n, int t, const int count, int prefetch, float* a)
{
    const int q = (count + 3) / 4;
    const __m512i mask = _mm512_set1_epi8(0x0F);
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    const __m256i tokenLanes = _mm256_setr_epi32(0, 2, 0, 2, 1, 3, 1, 3);
    const int64_t rowBytes = j->k / 2;
    const uint8_t* row = j->w + (int64_t)n * rowBytes;
    const int8_t* x = j->xq + (int64_t)t * j->k;
    __m256 acc[2] = { _mm256_setzero_ps(), _mm256_setzero_ps() }, off[2] = { _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int g = 0; g < j->groups; g++)
    {
        __m512i d[2][8];
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 8; i++)
                d[r][i] = _mm512_setzero_si512();

        for (int unit = g * j->units_per_group, end = unit + j->units_per_group; unit < end; unit++)
        {
            int k = unit * 64;
            if (prefetch)
            {
                _mm_prefetch((const char*)(row + 2 * rowBytes + k), _MM_HINT_T0);   // the next pair: a line per unit covers its K bytes
            }

            __m512i w0 = unpack(row + k / 2, shifts, mask);
            __m512i w1 = unpack(row + rowBytes + k / 2, shifts, mask);
            for (int i = 0; i < count; i++)
            {
                __m512i xi = _mm512_loadu_si512((const void*)(x + (int64_t)i * j->k + k));
                d[0][i] = _mm512_dpbusd_epi32(d[0][i], w0, xi);
                d[1][i] = _mm512_dpbusd_epi32(d[1][i], w1, xi);
            }
        }

        __m256 rows = _mm256_blend_ps(_mm256_set1_ps(j->scale[(int64_t)n * j->groups + g]),
            _mm256_set1_ps(j->scale[(int64_t)(n + 1) * j->groups + g]), 0xCC);
        __m256 offsets = _mm256_blend_ps(_mm256_set1_ps(j->offset[(int64_t)n * j->groups + g]),
            _mm256_set1_ps(j->offset[(int64_t)(n + 1) * j->groups + g]), 0xCC);
        for (int h = 0; h < q; h++)
        {
            __m256i sums = reduce8(d[0][4 * h], d[0][4 * h + 1], d[0][4 * h + 2], d[0][4 * h + 3],
                d[1][4 * h], d[1][4 * h + 1], d[1][4 * h + 2], d[1][4 * h + 3]);
            __m256 tokens = _mm256_permutevar8x32_ps(
                _mm256_castps128_ps256(_mm_loadu_ps(j->sxt + (int64_t)g * j->tokens + t + 4 * h)), tokenLanes);
            acc[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(rows, tokens), acc[h]);
            __m256 us = _mm256_permutevar8x32_ps(
                _mm256_castps128_ps256(_mm_loadu_ps(j->ut + (int64_t)g * j->tokens + t + 4 * h)), tokenLanes);
            off[h] = _mm256_fmadd_ps(offsets, us, off[h]);
        }
    }

    for (int h = 0; h < q; h++)
    {
        _mm256_storeu_ps(a + 8 * h, _mm256_add_ps(acc[h], off[h]));
    }
}

// Rows n..n+R-1 (R = 1 or 2) for one token t: the same steps, one output at a time.
static void rows_one_token(const job* j, int n, int R, int t, int prefetch)
{
    const __m512i mask = _mm512_set1_epi8(0x0F);
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    const int64_t rowBytes = j->k / 2;
    const uint8_t* row = j->w + (int64_t)n * rowBytes;
    const int8_t* x = j->xq + (int64_t)t * j->k;
    float a0 = 0.0f, a1 = 0.0f, o0 = 0.0f, o1 = 0.0f;
    for (int g = 0; g < j->groups; g++)
    {
        __m512i d0 = _mm512_setzero_si512(), d1 = _mm512_setzero_si512();
        for (int unit = g * j->units_per_group, end = unit + j->units_per_group; unit < end; unit++)
        {
            int k = unit * 64;
            if (prefetch)
            {
                _mm_prefetch((const char*)(row + R * rowBytes + k / 2 * R), _MM_HINT_T0);
            }

            __m512i xi = _mm512_loadu_si512((const void*)(x + k));
            d0 = _mm512_dpbusd_epi32(d0, unpack(row + k / 2, shifts, mask), xi);
            if (R == 2)
            {
                d1 = _mm512_dpbusd_epi32(d1, unpack(row + rowBytes + k / 2, shifts, mask), xi);
            }
        }

        float sxg = j->sx[(int64_t)t * j->groups + g], ug = j->u[(int64_t)t * j->groups + g];
        a0 = __builtin_fmaf((float)_mm512_reduce_add_epi32(d0), j->scale[(int64_t)n * j->groups + g] * sxg, a0);
        o0 = __builtin_fmaf(j->offset[(int64_t)n * j->groups + g], ug, o0);
        if (R == 2)
        {
            a1 = __builtin_fmaf((float)_mm512_reduce_add_epi32(d1), j->scale[(int64_t)(n + 1) * j->groups + g] * sxg, a1);
            o1 = __builtin_fmaf(j->offset[(int64_t)(n + 1) * j->groups + g], ug, o1);
        }
    }

    store(j, n, t, a0 + o0);
    if (R == 2)
    {
        store(j, n + 1, t, a1 + o1);
    }
}

// Stores a pair_block's shares for rows n, n+1 and tokens t..t+count-1.
static inline void store_pair_block(const job* j, int n, int t, int count, const float* a)
{
    for (int lane = 0; lane < 16; lane++)
    {
        int token = t + 4 * (lane >> 3) + (lane & 1) * 2 + ((lane >> 2) & 1);
        if (token < t + count)
        {
            store(j, n + ((lane >> 1) & 1), token, a[lane]);
        }
    }
}

// Rows n, n+1 for every token: eight tokens per pass over their weights, then what is left in one pass (a one-token
// call, the decode step, takes the simpler one-token pass).
static void row_pair(const job* j, int n)
{
    float a[16];
    int t = 0;
    for (; t + 8 <= j->tokens; t += 8)
    {
        pair_block(j, n, t, 8, t == 0, a);
        store_pair_block(j, n, t, 8, a);
    }

    int left = j->tokens - t, prefetch = t == 0;
    switch (left)
    {
        case 7: pair_block(j, n, t, 7, prefetch, a); break;
        case 6: pair_block(j, n, t, 6, prefetch, a); break;
        case 5: pair_block(j, n, t, 5, prefetch, a); break;
        case 4: pair_block(j, n, t, 4, prefetch, a); break;
        case 3: pair_block(j, n, t, 3, prefetch, a); break;
        case 2: pair_block(j, n, t, 2, prefetch, a); break;
        case 1: rows_one_token(j, n, 2, t, prefetch); return;
        default: return;
    }

    store_pair_block(j, n, t, left, a);
}

// Sixteen outputs of token t (rows n..n+15, the lanes of v) rounded and written or added as store does.
static inline void store16(const job* j, int n, int t, __m512 v)
{
    store16_at(j->y_f32, j->y_bf16, j->accumulate, (int64_t)t * j->n + n, v, 0xFFFF);
}

// Rows n..n+15 for tokens t0..t0+tokens-1 (at most 16), one row per lane: no reduction across lanes at all. Each
// packed unit of the sixteen rows is transposed so that register d holds bytes 4d..4d+3 of every row (features 4d..4d+3
// in its low nibbles, 32+4d..32+4d+3 in its high ones), and one vpdpbusd adds four products to each row's sum against
// four activation bytes broadcast. The float steps are the same per output, in the lanes.
static void rows16(const job* j, int n, int t0, int tokens)
{
    const int groups = j->groups;
    const int64_t rowBytes = j->k / 2;
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i low = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), high = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    const __m512i rowGroups = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(groups));
    const uint8_t* rows = j->w + (int64_t)n * rowBytes;
    __m512 a[16], o[16];
    for (int t = 0; t < tokens; t++)
    {
        a[t] = _mm512_setzero_ps();
        o[t] = _mm512_setzero_ps();
    }

    for (int g = 0; g < groups; g++)
    {
        __m512i s[16];                                                                 // set by the group's first unit
        for (int first = g * j->units_per_group, unit = first, end = unit + j->units_per_group; unit < end; unit++)
        {
            // z[i]: row i's 32 bytes in the lower half, row i + 8's in the upper; then an 8 x 8 dword transpose per half.
            const uint8_t* p = rows + unit * 32;
            // The next block of sixteen rows, read in order: 16 · K/2 bytes over K/64 units, 512 bytes per unit.
            const uint8_t* next = rows + 16 * rowBytes + (int64_t)unit * 512;
            for (int i = 0; i < 8; i++)
                _mm_prefetch((const char*)(next + 64 * i), _MM_HINT_T0);

            __m512i z[8], w[16];
            for (int i = 0; i < 8; i++)
                z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)(p + i * rowBytes))),
                    _mm256_loadu_si256((const __m256i*)(p + (i + 8) * rowBytes)), 1);

            __m512i e0 = _mm512_unpacklo_epi32(z[0], z[1]), e1 = _mm512_unpackhi_epi32(z[0], z[1]);
            __m512i e2 = _mm512_unpacklo_epi32(z[2], z[3]), e3 = _mm512_unpackhi_epi32(z[2], z[3]);
            __m512i e4 = _mm512_unpacklo_epi32(z[4], z[5]), e5 = _mm512_unpackhi_epi32(z[4], z[5]);
            __m512i e6 = _mm512_unpacklo_epi32(z[6], z[7]), e7 = _mm512_unpackhi_epi32(z[6], z[7]);
            __m512i u[8] = {
                _mm512_unpacklo_epi64(e0, e2), _mm512_unpackhi_epi64(e0, e2), _mm512_unpacklo_epi64(e1, e3), _mm512_unpackhi_epi64(e1, e3),
                _mm512_unpacklo_epi64(e4, e6), _mm512_unpackhi_epi64(e4, e6), _mm512_unpacklo_epi64(e5, e7), _mm512_unpackhi_epi64(e5, e7) };
            for (int d = 0; d < 4; d++)
            {
                __m512i lower = _mm512_permutex2var_epi64(u[d], low, u[d + 4]);    // dword d of rows 0..15
                __m512i upper = _mm512_permutex2var_epi64(u[d], high, u[d + 4]);   // dword d + 4
                w[2 * d] = _mm512_and_si512(lower, nibble);
                w[2 * d + 1] = _mm512_and_si512(_mm512_srli_epi16(lower, 4), nibble);
                w[8 + 2 * d] = _mm512_and_si512(upper, nibble);
                w[8 + 2 * d + 1] = _mm512_and_si512(_mm512_srli_epi16(upper, 4), nibble);
            }

            const int8_t* x = j->xq + (int64_t)t0 * j->k + unit * 64;
            for (int t = 0; t < tokens; t++, x += j->k)
            {
                // Four independent chains (one per d), added at the end: integer sums, exact in any order.
                __m512i part[4];
                for (int d = 0; d < 4; d++)
                {
                    int32_t lo, hi, lo4, hi4;
                    __builtin_memcpy(&lo, x + 4 * d, 4);
                    __builtin_memcpy(&hi, x + 32 + 4 * d, 4);
                    __builtin_memcpy(&lo4, x + 16 + 4 * d, 4);
                    __builtin_memcpy(&hi4, x + 48 + 4 * d, 4);
                    __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[2 * d], _mm512_set1_epi32(lo));
                    sum = _mm512_dpbusd_epi32(sum, w[2 * d + 1], _mm512_set1_epi32(hi));
                    sum = _mm512_dpbusd_epi32(sum, w[8 + 2 * d], _mm512_set1_epi32(lo4));
                    part[d] = _mm512_dpbusd_epi32(sum, w[8 + 2 * d + 1], _mm512_set1_epi32(hi4));
                }

                __m512i total = _mm512_add_epi32(_mm512_add_epi32(part[0], part[1]), _mm512_add_epi32(part[2], part[3]));
                s[t] = unit == first ? total : _mm512_add_epi32(s[t], total);
            }
        }

        __m512 scales = _mm512_i32gather_ps(rowGroups, j->scale + (int64_t)n * groups + g, 4);
        __m512 offsets = _mm512_i32gather_ps(rowGroups, j->offset + (int64_t)n * groups + g, 4);
        for (int t = 0; t < tokens; t++)
        {
            int64_t tg = (int64_t)(t0 + t) * groups + g;
            a[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), _mm512_mul_ps(scales, _mm512_set1_ps(j->sx[tg])), a[t]);
            o[t] = _mm512_fmadd_ps(offsets, _mm512_set1_ps(j->u[tg]), o[t]);
        }
    }

    for (int t = 0; t < tokens; t++)
        store16(j, n, t0 + t, _mm512_add_ps(a[t], o[t]));
}

// Rows [n0, n1) of y for every token, two rows at a time (the first pass over a pair prefetches the next pair).
__attribute__((visibility("default")))
void cllm_int4a8_rows(const uint8_t* w, const float* scale, const float* offset, const int8_t* xq, const float* sx,
    const float* u, float* y_f32, uint16_t* y_bf16, int accumulate, int tokens, int out_features, int in_features,
    int group_size, int n0, int n1)
{
    int groups = in_features / group_size;
    job j = { w, scale, offset, xq, sx, NULL, u, NULL, y_f32, y_bf16, accumulate, tokens, out_features, in_features, groups,
              group_size / 64 };
    int n = n0;
    if (tokens >= 2)
    {
        for (; n + 16 <= n1; n += 16)
            for (int t = 0; t < tokens; t += 16)
                rows16(&j, n, t, tokens - t < 16 ? tokens - t : 16);
    }

    // Row pairs left after the blocks read four tokens' scales of a group in one load, so they take sx and u transposed
    // (G, T), made only when such pairs are left. A one-token call (the decode step) needs neither copy; without memory
    // for them every output takes the one-token pass, which computes the same bits.
    size_t size = (size_t)tokens * groups + 8;                                    // + 8: a four-token load past the last token
    float* sxt = tokens >= 2 && n + 1 < n1 ? (float*)calloc(2 * size, sizeof(float)) : NULL;
    float* ut = sxt ? sxt + size : NULL;
    for (int t = 0; sxt && t < tokens; t++)
        for (int g = 0; g < groups; g++)
        {
            sxt[(int64_t)g * tokens + t] = sx[(int64_t)t * groups + g];
            ut[(int64_t)g * tokens + t] = u[(int64_t)t * groups + g];
        }

    j.sxt = sxt;
    j.ut = ut;
    for (; n + 1 < n1; n += 2)
    {
        if (sxt)
        {
            row_pair(&j, n);
        }
        else
        {
            for (int t = 0; t < tokens; t++)
                rows_one_token(&j, n, 2, t, t == 0);
        }
    }

    for (; n < n1; n++)
        for (int t = 0; t < tokens; t++)
            rows_one_token(&j, n, 1, t, 0);

    free(sxt);
}
