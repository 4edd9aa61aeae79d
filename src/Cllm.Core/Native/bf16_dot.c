// BFloat16 projections with AVX-512 BF16 (vdpbf16ps): y = x·Wᵀ for bfloat16 weights packed for the instruction.
//
// ATen multiplies a bfloat16 weight in the layout it is given, and at Jacobi-block sizes (2–64 tokens) on CPUs without
// AMX it reaches a fraction of what the instruction does. Here the weight is packed once, at load, so that every operand
// is one contiguous 64-byte load and a group's weights stream from memory in order:
//
//   W (N, K) in groups of 16 output features; group g is K/2 units of 32 bfloat16 values, unit p holding W[16g + i, 2p]
//   and W[16g + i, 2p + 1] at 2i and 2i + 1 (i = 0..15). N is padded with zero rows to whole groups; K is even.
//
// One vdpbf16ps adds two products to each of sixteen outputs (one feature per lane) against a broadcast pair of one
// token's activations. Per output (token t, feature n): a = 0, then a = dpbf16(a, x[t, 2p..2p+1], W[n, 2p..2p+1]) for
// p = 0, 1, … in order: one chain per output whatever the number of tokens or the features a thread is given, so a row
// of a T-token call equals that token computed alone, bit for bit. Then y = a in float32, or rounded to bfloat16 as
// to_bf16 rounds, written or added (bfloat16: the rounded product added and the sum rounded, as ATen's add_ after a product).
#include <immintrin.h>
#include <stdint.h>

#include "bf16_bits.h"

// A compiler without AVX-512 BF16 (GCC before 10) builds the library without cllm_bf16_rows, and Cllm then refuses
// packed bfloat16 weights, naming the missing export. Function attributes, not a pragma, so that clang builds it too.
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 10)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

#define TOKENS 6   // tokens per pass over a tile's weights: 6 x 4 accumulators + 4 weights + 1 broadcast of 32 registers
#define GROUPS 4   // feature groups (16 features each) per tile

typedef struct
{
    const uint16_t* w;       // packed, see above
    const uint16_t* x;       // (T, K) bfloat16 bits
    float* y_f32;            // (T, N), or null
    uint16_t* y_bf16;        // (T, N) bfloat16 bits, or null
    int accumulate, n, k;
} job;

// The sixteen outputs of token t from feature n on (the lanes of v; `valid` masks features past N).
BF16_TARGET static inline void store16(const job* j, int t, int n, __m512 v, __mmask16 valid)
{
    store16_at(j->y_f32, j->y_bf16, j->accumulate, (int64_t)t * j->n + n, v, valid);
}

// Tokens t0..t0+tokens-1 against feature groups g0..g0+groups-1 (constants after inlining).
BF16_TARGET static inline __attribute__((always_inline)) void tile(const job* j, int t0, const int tokens, int g0, const int groups)
{
    __m512 a[TOKENS][GROUPS];
    for (int t = 0; t < tokens; t++)
        for (int g = 0; g < groups; g++)
            a[t][g] = _mm512_setzero_ps();

    const int64_t stride = (int64_t)j->k * 16;                     // values per group: K/2 units of 32
    const uint16_t* w = j->w + g0 * stride;
    const uint16_t* x = j->x + (int64_t)t0 * j->k;
    for (int p = 0; p < j->k; p += 2)
    {
        __m512bh wv[GROUPS];
        for (int g = 0; g < groups; g++)
            wv[g] = (__m512bh)_mm512_loadu_si512(w + g * stride + (int64_t)p * 16);

        for (int t = 0; t < tokens; t++)
        {
            int32_t pair;
            __builtin_memcpy(&pair, x + (int64_t)t * j->k + p, 4);
            __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
            for (int g = 0; g < groups; g++)
                a[t][g] = _mm512_dpbf16_ps(a[t][g], xv, wv[g]);
        }
    }

    for (int t = 0; t < tokens; t++)
        for (int g = 0; g < groups; g++)
        {
            int n = (g0 + g) * 16, left = j->n - n;
            store16(j, t0 + t, n, a[t][g], left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1));
        }
}

#define TILE(T, G) case T: tile(j, t, T, g, G); break
#define TILES(G) switch (count) { TILE(6, G); TILE(5, G); TILE(4, G); TILE(3, G); TILE(2, G); default: tile(j, t, 1, g, G); break; }

// Feature groups [g0, g1) of y (features 16·g0 .. min(16·g1, N)) for every token.
BF16_TARGET void cllm_bf16_rows(const uint16_t* w, const uint16_t* x, float* y_f32, uint16_t* y_bf16, int accumulate, int tokens, int n, int k, int g0, int g1)
{
    job jb = { w, x, y_f32, y_bf16, accumulate, n, k };
    const job* j = &jb;
    int g = g0;
    for (; g + GROUPS <= g1; g += GROUPS)
        for (int t = 0; t < tokens; t += TOKENS)
        {
            int count = tokens - t < TOKENS ? tokens - t : TOKENS;
            TILES(GROUPS)
        }

    for (; g < g1; g++)
        for (int t = 0; t < tokens; t += TOKENS)
        {
            int count = tokens - t < TOKENS ? tokens - t : TOKENS;
            TILES(1)
        }
}

#endif
