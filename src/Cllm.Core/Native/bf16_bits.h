// bfloat16 <-> float32 as Cllm's managed kernels convert (Int4A8Kernel.ToBFloat16 / FromBFloat16): round to nearest
// even, NaN to 0x7FC0; widening is exact. Shared by the native kernels.
#ifndef CLLM_BF16_BITS_H
#define CLLM_BF16_BITS_H

#include <immintrin.h>
#include <stdint.h>

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

// Sixteen float32 values -> bfloat16 bits, as to_bf16 rounds each.
static inline __m256i round16(__m512 v)
{
    __m512i bits = _mm512_castps_si512(v);
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)),
        _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1))), 16);
    r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_set1_epi32(0x7FC0));
    return _mm512_cvtepi32_epi16(r);
}

// Sixteen bfloat16 bits -> float32 (exact).
static inline __m512 widen16(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Sixteen float32 results v written to y_f32 + i or, as bfloat16, to y_bf16 + i (the other null), or added there: a
// bfloat16 sum is the old value plus the rounded result, rounded again (as ATen's add_ after a product); `valid`
// masks the lanes to touch.
static inline void store16_at(float* y_f32, uint16_t* y_bf16, int accumulate, int64_t i, __m512 v, __mmask16 valid)
{
    if (y_bf16)
    {
        __m256i rounded = round16(v);
        if (accumulate)
        {
            rounded = round16(_mm512_add_ps(widen16(_mm256_maskz_loadu_epi16(valid, y_bf16 + i)), widen16(rounded)));
        }

        _mm256_mask_storeu_epi16(y_bf16 + i, valid, rounded);
    }
    else
    {
        if (accumulate)
        {
            v = _mm512_add_ps(_mm512_maskz_loadu_ps(valid, y_f32 + i), v);
        }

        _mm512_mask_storeu_ps(y_f32 + i, valid, v);
    }
}

#endif
