// AVX2/FMA/F16C kernels (placeholder until the SIMD paths land: every type falls back to scalar).
#include "kt_internal.h"

#if defined(__x86_64__)
int kt_vec_dot_avx2(kt_type type, int64_t n, const void *w, const void *x, float *result) {
    (void)type; (void)n; (void)w; (void)x; (void)result;
    return 0;
}

int kt_matmul_avx2(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x, size_t x_stride,
                   int64_t nb, float *y, int64_t ldy) {
    (void)type; (void)n; (void)w; (void)r0; (void)r1; (void)x; (void)x_stride; (void)nb; (void)y; (void)ldy;
    return 0;
}
#endif
