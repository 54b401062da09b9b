// The portable scalar kernels: dot products of one weight row with one activation row, and the matrix product as
// their loop. They are the aarch64 (and any non-AVX2) path and the reference the SIMD paths are tested against.
//
// Float types accumulate in 8 interleaved partial sums (element i into sum i % 8), summed pairwise at the end;
// quantized types sum each block's integer products exactly and accumulate `d_w * d_x * isum` per block.
#include "kt_internal.h"

static inline float reduce8(const float s[8]) { return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])); }

static float dot_f32(int64_t n, const float *w, const float *x) {
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) {
            s[l] += w[i + l] * x[i + l];
        }
    }
    float r = reduce8(s);
    for (; i < n; i++) {
        r += w[i] * x[i];
    }
    return r;
}

static float dot_f16(int64_t n, const uint16_t *w, const float *x) {
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) {
            s[l] += kt_f16_to_f32(w[i + l]) * x[i + l];
        }
    }
    float r = reduce8(s);
    for (; i < n; i++) {
        r += kt_f16_to_f32(w[i]) * x[i];
    }
    return r;
}

static float dot_bf16(int64_t n, const uint16_t *w, const float *x) {
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) {
            s[l] += kt_bf16_to_f32(w[i + l]) * x[i + l];
        }
    }
    float r = reduce8(s);
    for (; i < n; i++) {
        r += kt_bf16_to_f32(w[i]) * x[i];
    }
    return r;
}

static float dot_q8_0(int64_t n, const kt_block_q8_0 *w, const kt_block_q8_0 *x) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KT_QK8_0; i++) {
        int isum = 0;
        for (int j = 0; j < KT_QK8_0; j++) {
            isum += w[i].qs[j] * x[i].qs[j];
        }
        sum += (kt_f16_to_f32(w[i].d) * kt_f16_to_f32(x[i].d)) * (float)isum;
    }
    return sum;
}

static float dot_q4_0(int64_t n, const kt_block_q4_0 *w, const kt_block_q8_0 *x) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KT_QK4_0; i++) {
        int isum = 0;
        for (int j = 0; j < KT_QK4_0 / 2; j++) {
            isum += ((w[i].qs[j] & 0x0F) - 8) * x[i].qs[j];
            isum += ((w[i].qs[j] >> 4) - 8) * x[i].qs[j + KT_QK4_0 / 2];
        }
        sum += (kt_f16_to_f32(w[i].d) * kt_f16_to_f32(x[i].d)) * (float)isum;
    }
    return sum;
}

static float dot_q4_K(int64_t n, const kt_block_q4_K *w, const kt_block_q8_K *x) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KT_QK_K; i++) {
        const uint8_t *q = w[i].qs;
        const int8_t *a = x[i].qs;
        int sumi = 0, summ = 0;
        for (int j = 0; j < 4; j++) {
            uint8_t sc0, m0, sc1, m1;
            kt_q4_K_scale_min(2 * j, w[i].scales, &sc0, &m0);
            kt_q4_K_scale_min(2 * j + 1, w[i].scales, &sc1, &m1);
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += (q[l] & 0x0F) * a[l];
                s1 += (q[l] >> 4) * a[32 + l];
            }
            sumi += sc0 * s0 + sc1 * s1;
            summ += m0 * (x[i].bsums[4 * j] + x[i].bsums[4 * j + 1]) + m1 * (x[i].bsums[4 * j + 2] + x[i].bsums[4 * j + 3]);
            q += 32;
            a += 64;
        }
        const float d = kt_f16_to_f32(w[i].d) * x[i].d;
        const float dmin = kt_f16_to_f32(w[i].dmin) * x[i].d;
        sum += d * (float)sumi - dmin * (float)summ;
    }
    return sum;
}

static float dot_q6_K(int64_t n, const kt_block_q6_K *w, const kt_block_q8_K *x) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KT_QK_K; i++) {
        const uint8_t *ql = w[i].ql;
        const uint8_t *qh = w[i].qh;
        const int8_t *a = x[i].qs;
        int sumi = 0;
        for (int half = 0; half < 2; half++) {
            const int8_t *sc = w[i].scales + 8 * half;
            int s[8] = {0};
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                s[is + 0] += q1 * a[l];
                s[is + 2] += q2 * a[l + 32];
                s[is + 4] += q3 * a[l + 64];
                s[is + 6] += q4 * a[l + 96];
            }
            for (int k = 0; k < 8; k++) {
                sumi += sc[k] * s[k];
            }
            ql += 64;
            qh += 32;
            a += 128;
        }
        sum += (kt_f16_to_f32(w[i].d) * x[i].d) * (float)sumi;
    }
    return sum;
}

float kt_vec_dot_scalar(kt_type type, int64_t n, const void *w, const void *x) {
    switch (type) {
    case KT_F32: return dot_f32(n, w, x);
    case KT_F16: return dot_f16(n, w, x);
    case KT_BF16: return dot_bf16(n, w, x);
    case KT_Q8_0: return dot_q8_0(n, w, x);
    case KT_Q4_0: return dot_q4_0(n, w, x);
    case KT_Q4_K: return dot_q4_K(n, w, x);
    case KT_Q6_K: return dot_q6_K(n, w, x);
    default: return 0.0f;  // Q8_K is an activation format: no weight kernel
    }
}

void kt_matmul_scalar(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x,
                      size_t x_stride, int64_t nb, float *y, int64_t ldy) {
    const size_t row_bytes = kt_row_bytes(type, n);
    const char *wb = w;
    const char *xb = x;
    for (int64_t r = r0; r < r1; r++) {
        const void *row = wb + (size_t)r * row_bytes;
        for (int64_t b = 0; b < nb; b++) {
            y[b * ldy + r] = kt_vec_dot_scalar(type, n, row, xb + (size_t)b * x_stride);
        }
    }
}
