// Int4A8 rows with AVX-512 VNNI (vpdpbusd on 512 bits), the same arithmetic as Int4A8Kernel.cs, bit for bit.
//
// .NET 10 exposes vpdpbusd only as AVX-VNNI (VEX, 256 bits) or AVX10.1; CPUs with AVX-512 VNNI but neither (AMD Zen 4,
// Intel Ice Lake to Sapphire Rapids) would run the kernel's AVX2 fallback, three instructions per 32 products. Here one
// instruction does 64: a packed unit (32 bytes, 64 features) becomes one register, low nibbles in its lower half and
// high nibbles in its upper half, against the unit's 64 activation bytes, so lanes 0-7 hold the C# kernel's low-nibble
// sums and lanes 8-15 its high-nibble sums. Integer sums are exact; every float step (the per-group FMA into eight lanes,
// the offsets' share, the lane sums, the rounding to bfloat16) is the C# kernel's, in its order. Build with
// -ffp-contract=off so the compiler fuses nothing the C# code does not.
#include <immintrin.h>
#include <stdint.h>

#define MAX_TOKENS 4

typedef struct
{
    const uint8_t* w;
    const float* scale;
    const float* offset;
    const int8_t* xq;
    const float* sx;
    const float* u;
    float* y_f32;
    uint16_t* y_bf16;
    int accumulate, tokens, n, k, groups, units_per_group;
} job;

static inline uint16_t to_bf16(float value)
{
    if (value != value)
    {
        return 0x7FC0;
    }

    uint32_t bits;
    __builtin_memcpy(&bits, &value, 4);
    return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

static inline float from_bf16(uint16_t bits)
{
    uint32_t b = (uint32_t)bits << 16;
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
}

// The eight lanes summed as the C# kernel does: halves, then pairs, then the last two.
static inline float sum8(__m256 v)
{
    __m128 four = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    return _mm_cvtss_f32(two) + _mm_cvtss_f32(_mm_shuffle_ps(two, two, 1));
}

static inline void store(const job* j, int n, int t, __m256 acc)
{
    const float* offset = j->offset + (int64_t)n * j->groups;
    const float* u = j->u + (int64_t)t * j->groups;
    __m256 c = _mm256_setzero_ps();
    int g = 0;
    for (; g + 8 <= j->groups; g += 8)
    {
        c = _mm256_fmadd_ps(_mm256_loadu_ps(offset + g), _mm256_loadu_ps(u + g), c);
    }

    float tail = 0.0f;
    for (; g < j->groups; g++)
    {
        tail += offset[g] * u[g];
    }

    float value = sum8(acc) + sum8(c) + tail;
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

// Rows n..n+R-1 (R = 1 or 2) for tokens t..t+T-1 (T = 1..4); R and T are constants where this is inlined.
static inline __attribute__((always_inline)) void block(const job* j, int n, int t, const int R, const int T, int prefetch)
{
    const __m512i mask = _mm512_set1_epi8(0x0F);
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    const int64_t rowBytes = j->k / 2;
    const uint8_t* row = j->w + (int64_t)n * rowBytes;
    const int8_t* x = j->xq + (int64_t)t * j->k;
    __m256 acc[2][MAX_TOKENS];
    for (int r = 0; r < R; r++)
        for (int i = 0; i < T; i++)
            acc[r][i] = _mm256_setzero_ps();

    for (int g = 0; g < j->groups; g++)
    {
        __m512i d[2][MAX_TOKENS];
        for (int r = 0; r < R; r++)
            for (int i = 0; i < T; i++)
                d[r][i] = _mm512_setzero_si512();

        for (int unit = g * j->units_per_group, end = unit + j->units_per_group; unit < end; unit++)
        {
            int k = unit * 64;
            if (prefetch)
            {
                _mm_prefetch((const char*)(row + R * rowBytes + k / 2 * R), _MM_HINT_T0);
            }

            __m512i w0 = unpack(row + k / 2, shifts, mask);
            __m512i w1 = R == 2 ? unpack(row + rowBytes + k / 2, shifts, mask) : w0;
            for (int i = 0; i < T; i++)
            {
                __m512i xi = _mm512_loadu_si512((const void*)(x + (int64_t)i * j->k + k));
                d[0][i] = _mm512_dpbusd_epi32(d[0][i], w0, xi);
                if (R == 2)
                {
                    d[1][i] = _mm512_dpbusd_epi32(d[1][i], w1, xi);
                }
            }
        }

        for (int r = 0; r < R; r++)
        {
            float s = j->scale[(int64_t)(n + r) * j->groups + g];
            for (int i = 0; i < T; i++)
            {
                __m256i lh = _mm256_add_epi32(_mm512_castsi512_si256(d[r][i]), _mm512_extracti64x4_epi64(d[r][i], 1));
                float ss = s * j->sx[(int64_t)(t + i) * j->groups + g];
                acc[r][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lh), _mm256_set1_ps(ss), acc[r][i]);
            }
        }
    }

    for (int r = 0; r < R; r++)
        for (int i = 0; i < T; i++)
            store(j, n + r, t + i, acc[r][i]);
}

static void rows_for(const job* j, int n, int R)
{
    int t = 0;
    for (; t + 4 <= j->tokens; t += 4)
    {
        if (R == 2) block(j, n, t, 2, 4, t == 0); else block(j, n, t, 1, 4, 0);
    }

    switch (j->tokens - t)
    {
        case 3: if (R == 2) block(j, n, t, 2, 3, t == 0); else block(j, n, t, 1, 3, 0); break;
        case 2: if (R == 2) block(j, n, t, 2, 2, t == 0); else block(j, n, t, 1, 2, 0); break;
        case 1: if (R == 2) block(j, n, t, 2, 1, t == 0); else block(j, n, t, 1, 1, 0); break;
        default: break;
    }
}

// Rows [n0, n1) of y for every token, two rows at a time (the first pass over a pair prefetches the next pair).
__attribute__((visibility("default")))
void cllm_int4a8_rows(const uint8_t* w, const float* scale, const float* offset, const int8_t* xq, const float* sx,
    const float* u, float* y_f32, uint16_t* y_bf16, int accumulate, int tokens, int out_features, int in_features,
    int group_size, int n0, int n1)
{
    job j = { w, scale, offset, xq, sx, u, y_f32, y_bf16, accumulate, tokens, out_features, in_features,
              in_features / group_size, group_size / 64 };
    int n = n0;
    for (; n + 1 < n1; n += 2)
    {
        rows_for(&j, n, 2);
    }

    if (n < n1)
    {
        rows_for(&j, n, 1);
    }
}
