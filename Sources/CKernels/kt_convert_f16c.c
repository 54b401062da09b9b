// F16C row conversions (exact both ways, so they equal the scalar conversions bit for bit).
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
#endif
