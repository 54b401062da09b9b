// Dequantization of every type and ggml's reference quantizers (ggml/src/ggml-quants.c: `dequantize_row_*`,
// `quantize_row_*_ref`), rewritten here: same arithmetic in the same order, so the bits agree.
#include "kt_internal.h"

#include <math.h>

// Products and sums stay separately rounded (as in ggml's C and gguf-py's numpy): no fused multiply-add.
#pragma STDC FP_CONTRACT OFF

static void dequantize_q4_0(const kt_block_q4_0 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK4_0; i++) {
        const float d = kt_f16_to_f32(x[i].d);
        for (int j = 0; j < KT_QK4_0 / 2; j++) {
            y[i * KT_QK4_0 + j] = d * (float)((x[i].qs[j] & 0x0F) - 8);
            y[i * KT_QK4_0 + j + KT_QK4_0 / 2] = d * (float)((x[i].qs[j] >> 4) - 8);
        }
    }
}

static void dequantize_q8_0(const kt_block_q8_0 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK8_0; i++) {
        const float d = kt_f16_to_f32(x[i].d);
        for (int j = 0; j < KT_QK8_0; j++) {
            y[i * KT_QK8_0 + j] = d * (float)x[i].qs[j];
        }
    }
}

static void dequantize_q4_K(const kt_block_q4_K *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK_K; i++) {
        const float d = kt_f16_to_f32(x[i].d);
        const float dmin = kt_f16_to_f32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int j = 0; j < 4; j++) {
            uint8_t sc, m;
            kt_q4_K_scale_min(2 * j, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            kt_q4_K_scale_min(2 * j + 1, x[i].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) {
                const float p = d1 * (float)(q[l] & 0x0F);
                y[l] = p - m1;
            }
            for (int l = 0; l < 32; l++) {
                const float p = d2 * (float)(q[l] >> 4);
                y[32 + l] = p - m2;
            }
            q += 32;
            y += 64;
        }
    }
}

static void dequantize_q6_K(const kt_block_q6_K *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK_K; i++) {
        const float d = kt_f16_to_f32(x[i].d);
        const uint8_t *ql = x[i].ql;
        const uint8_t *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = (d * (float)sc[is + 0]) * (float)q1;
                y[l + 32] = (d * (float)sc[is + 2]) * (float)q2;
                y[l + 64] = (d * (float)sc[is + 4]) * (float)q3;
                y[l + 96] = (d * (float)sc[is + 6]) * (float)q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

static void dequantize_q8_K(const kt_block_q8_K *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK_K; i++) {
        for (int j = 0; j < KT_QK_K; j++) {
            y[i * KT_QK_K + j] = x[i].d * (float)x[i].qs[j];
        }
    }
}

void kt_dequantize_row(kt_type type, const void *src, float *dst, int64_t n) {
    switch (type) {
    case KT_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case KT_F16: {
#if defined(__x86_64__)
        if (kt_use_simd()) {
            kt_f16_to_f32_row_f16c(src, dst, n);
            return;
        }
#endif
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; i++) {
            dst[i] = kt_f16_to_f32(h[i]);
        }
        return;
    }
    case KT_BF16: {
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; i++) {
            dst[i] = kt_bf16_to_f32(h[i]);
        }
        return;
    }
    case KT_Q4_0: dequantize_q4_0(src, dst, n); return;
    case KT_Q8_0: dequantize_q8_0(src, dst, n); return;
    case KT_Q4_K: dequantize_q4_K(src, dst, n); return;
    case KT_Q6_K: dequantize_q6_K(src, dst, n); return;
    case KT_Q8_K: dequantize_q8_K(src, dst, n); return;
    case KT_Q4_0_R8:
    case KT_Q8_0_R8:
        // Interleaved tensors have no contiguous rows (kt_deinterleave_rows first): NaN, so misuse is loud.
        for (int64_t i = 0; i < n; i++) {
            dst[i] = NAN;
        }
        return;
    }
}

static void quantize_q8_0(const float *x, kt_block_q8_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK8_0; i++) {
        const float *v = x + i * KT_QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < KT_QK8_0; j++) {
            const float a = fabsf(v[j]);
            amax = amax > a ? amax : a;  // ggml's MAX(amax, a): a NaN never wins
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = kt_f32_to_f16(d);
        for (int j = 0; j < KT_QK8_0; j++) {
            y[i].qs[j] = (int8_t)roundf(v[j] * id);
        }
    }
}

static void quantize_q4_0(const float *x, kt_block_q4_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK4_0; i++) {
        const float *v = x + i * KT_QK4_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < KT_QK4_0; j++) {
            if (amax < fabsf(v[j])) {
                amax = fabsf(v[j]);
                max = v[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = kt_f32_to_f16(d);
        for (int j = 0; j < KT_QK4_0 / 2; j++) {
            const int8_t q0 = (int8_t)(v[j] * id + 8.5f);
            const int8_t q1 = (int8_t)(v[j + KT_QK4_0 / 2] * id + 8.5f);
            const uint8_t lo = (uint8_t)(q0 < 15 ? q0 : 15);
            const uint8_t hi = (uint8_t)(q1 < 15 ? q1 : 15);
            y[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

// Rounds to nearest, ties to even, by the float magic-number trick of ggml's `nearest_int` (|v| < 2^22).
static inline int nearest_int(float v) {
    const float shifted = v + 12582912.0f;
    return (int)(kt_f32_to_bits(shifted) & 0x007fffff) - 0x00400000;
}

static void quantize_q8_K(const float *x, kt_block_q8_K *y, int64_t n) {
    for (int64_t i = 0; i < n / KT_QK_K; i++) {
        const float *v = x + i * KT_QK_K;
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < KT_QK_K; j++) {
            const float a = fabsf(v[j]);
            if (a > amax) {
                amax = a;
                max = v[j];
            }
        }
        if (amax == 0.0f) {
            y[i].d = 0.0f;
            memset(y[i].qs, 0, sizeof(y[i].qs));
            memset(y[i].bsums, 0, sizeof(y[i].bsums));
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < KT_QK_K; j++) {
            const int q = nearest_int(iscale * v[j]);
            y[i].qs[j] = (int8_t)(q < 127 ? q : 127);
        }
        for (int j = 0; j < KT_QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) {
                sum += y[i].qs[j * 16 + l];
            }
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

int kt_quantize_row(kt_type type, const float *src, void *dst, int64_t n) {
    switch (type) {
    case KT_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return 0;
    case KT_F16: {
#if defined(__x86_64__)
        if (kt_use_simd()) {
            kt_f32_to_f16_row_f16c(src, dst, n);
            return 0;
        }
#endif
        uint16_t *h = dst;
        for (int64_t i = 0; i < n; i++) {
            h[i] = kt_f32_to_f16(src[i]);
        }
        return 0;
    }
    case KT_BF16: {
        uint16_t *h = dst;
        for (int64_t i = 0; i < n; i++) {
            h[i] = kt_f32_to_bf16(src[i]);
        }
        return 0;
    }
    case KT_Q8_0:
#if defined(__x86_64__)
        if (kt_use_simd()) {
            kt_quantize_q8_0_avx2(src, dst, n);
            return 0;
        }
#endif
        quantize_q8_0(src, dst, n);
        return 0;
    case KT_Q4_0: quantize_q4_0(src, dst, n); return 0;
    case KT_Q8_K:
#if defined(__x86_64__)
        if (kt_use_simd()) {
            kt_quantize_q8_K_avx2(src, dst, n);
            return 0;
        }
#endif
        quantize_q8_K(src, dst, n);
        return 0;
    default: return -1;
    }
}
