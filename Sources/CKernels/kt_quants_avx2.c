// AVX2/F16C row conversions and activation quantizers. Each gives the bits of its scalar counterpart in
// kt_quants.c (ggml's reference): the same IEEE operations per element, only several elements at once.
#include "kt_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma,f16c"))) void kt_f16_to_f32_row_f16c(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    }
    for (; i < n; i++) {
        dst[i] = kt_f16_to_f32(src[i]);
    }
}

__attribute__((target("avx2,fma,f16c"))) void kt_f32_to_f16_row_f16c(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; i < n; i++) {
        dst[i] = kt_f32_to_f16(src[i]);
    }
}

#pragma STDC FP_CONTRACT OFF

/// Rounds half away from zero, as C's `roundf`: truncate, then step away from zero where the dropped fraction
/// (exact in F32) is at least one half.
__attribute__((always_inline, target("avx2,fma,f16c"))) static inline __m256 round_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    const __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
    const __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_or_ps(step, sign));
}

/// Packs 32 F32 values holding small integers into 32 bytes, in order.
__attribute__((always_inline, target("avx2,fma,f16c"))) static inline __m256i pack_i8(__m256 a, __m256 b, __m256 c,
                                                                                      __m256 d) {
    const __m256i ab = _mm256_packs_epi32(_mm256_cvttps_epi32(a), _mm256_cvttps_epi32(b));
    const __m256i cd = _mm256_packs_epi32(_mm256_cvttps_epi32(c), _mm256_cvttps_epi32(d));
    const __m256i bytes = _mm256_packs_epi16(ab, cd);
    // packs interleave the 128-bit lanes: elements come out as 0-3 8-11 16-19 24-27 4-7 12-15 20-23 28-31.
    return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

__attribute__((target("avx2,fma,f16c"))) void kt_quantize_q8_0_avx2(const float *x, void *dst, int64_t n) {
    kt_block_q8_0 *y = dst;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < n / KT_QK8_0; i++) {
        const float *v = x + i * KT_QK8_0;
        const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8);
        const __m256 v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, abs_mask), _mm256_and_ps(v1, abs_mask)),
                                 _mm256_max_ps(_mm256_and_ps(v2, abs_mask), _mm256_and_ps(v3, abs_mask)));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = kt_f32_to_f16(d);
        const __m256 s = _mm256_set1_ps(id);
        const __m256i q = pack_i8(round_away(_mm256_mul_ps(v0, s)), round_away(_mm256_mul_ps(v1, s)),
                                  round_away(_mm256_mul_ps(v2, s)), round_away(_mm256_mul_ps(v3, s)));
        _mm256_storeu_si256((__m256i *)y[i].qs, q);
    }
}

__attribute__((target("avx2,fma,f16c"))) void kt_quantize_q8_K_avx2(const float *x, void *dst, int64_t n) {
    kt_block_q8_K *y = dst;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < n / KT_QK_K; i++) {
        const float *v = x + i * KT_QK_K;
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < KT_QK_K; j += 8) {
            m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(v + j), abs_mask));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        float max = 0.0f;  // the first element of largest magnitude, with its sign (as the reference picks it)
        for (int j = 0; j < KT_QK_K; j++) {
            if (v[j] == amax || v[j] == -amax) {
                max = v[j];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 s = _mm256_set1_ps(iscale);
        const __m256 top = _mm256_set1_ps(127.0f);
        const __m256i ones = _mm256_set1_epi8(1);
        for (int j = 0; j < KT_QK_K; j += 32) {
            __m256 r[4];
            for (int k = 0; k < 4; k++) {
                const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(v + j + 8 * k), s);
                r[k] = _mm256_min_ps(_mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), top);
            }
            const __m256i q = pack_i8(r[0], r[1], r[2], r[3]);
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), q);
            // Sums of 16: maddubs(1, q) adds byte pairs, madd by 1 adds those pairs, then within each 16.
            const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, q), _mm256_set1_epi16(1));
            const __m256i s64 = _mm256_add_epi32(s32, _mm256_srli_epi64(s32, 32));
            const __m128i lo = _mm256_castsi256_si128(s64), hi = _mm256_extracti128_si256(s64, 1);
            y[i].bsums[j / 16] = (int16_t)(_mm_extract_epi32(lo, 0) + _mm_extract_epi32(lo, 2));
            y[i].bsums[j / 16 + 1] = (int16_t)(_mm_extract_epi32(hi, 0) + _mm_extract_epi32(hi, 2));
        }
        y[i].d = 1.0f / iscale;
    }
}
#endif
