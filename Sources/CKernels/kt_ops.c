// Per-token operations of the model graph (see kt_ops.h). Each operation has a portable scalar path and an
// AVX2/FMA/F16C path chosen at run time; the hot loop of each lives here and nowhere else.
#include "kt_ops.h"
#include "kt_types.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KT_X86 1
#define KT_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define KT_X86 0
#endif

int kt_ops_version(void) { return 2; }

// The CPU probe is kt_types.c's (one relaxed-atomic cache for every kernel file); these operations do not follow
// kt_force_scalar, which selects the weight kernels' path only.
static int use_avx2(void) { return KT_X86 && kt_cpu_has_avx2(); }

void kt_cpu_relax(void) {
#if KT_X86
    _mm_pause();
#endif
}

// MARK: - Half precision, scalar

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ff;
    uint32_t bits;
    if (e == 0) {
        if (m == 0) {
            bits = sign;
        } else {
            // Subnormal: shift the mantissa up to the implicit bit, lowering the exponent as it goes.
            e = 113;
            while (!(m & 0x400)) {
                m <<= 1;
                e--;
            }
            bits = sign | (e << 23) | ((m & 0x3ff) << 13);
        }
    } else if (e == 31) {
        bits = sign | 0x7f800000 | (m << 13);
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t a = x & 0x7fffffff;
    uint32_t e = a >> 23;
    if (a > 0x7f800000) return (uint16_t)(sign | 0x7e00);  // NaN
    if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00);  // rounds to infinity (or is)
    if (e < 113) {
        // Below the smallest normal half: a multiple of 2^-24, rounded to nearest even.
        if (e < 102) return (uint16_t)sign;
        uint32_t m = (a & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t m = a & 0x7fffff;
    uint32_t r = ((e - 112) << 10) | (m >> 13);
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

// MARK: - exp: range reduction to |r| ≤ ln2/2, then a degree-7 Taylor polynomial (error below 1e-8 relative).

static const float exp_hi = 88.0f, exp_lo = -87.33654f;
static const float log2e = 1.44269504088896341f;
static const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
static const float c2 = 1.0f / 2, c3 = 1.0f / 6, c4 = 1.0f / 24, c5 = 1.0f / 120, c6 = 1.0f / 720,
                   c7 = 1.0f / 5040;

float kt_exp(float x) {
    x = fminf(fmaxf(x, exp_lo), exp_hi);
    float n = nearbyintf(x * log2e);
    float r = fmaf(-n, ln2_hi, x);
    r = fmaf(-n, ln2_lo, r);
    float p = c7;
    p = fmaf(p, r, c6);
    p = fmaf(p, r, c5);
    p = fmaf(p, r, c4);
    p = fmaf(p, r, c3);
    p = fmaf(p, r, c2);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

#if KT_X86
KT_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(exp_hi)), _mm256_set1_ps(exp_lo));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_lo), r);
    __m256 p = _mm256_set1_ps(c7);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

KT_AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

// MARK: - RMSNorm: the scale from the whole row, the output written for a range of it (each element's bits do not
// depend on the range, so workers can split a row).

static float rms_scale_scalar(const float *x, int64_t n, float eps) {
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += x[i] * x[i];
    return 1.0f / sqrtf(sum / (float)n + eps);
}

void kt_rms_norm_ref(const float *x, const float *w, float *y, int64_t n, float eps) {
    float scale = rms_scale_scalar(x, n, eps);
    for (int64_t i = 0; i < n; i++) y[i] = w[i] * (x[i] * scale);
}

#if KT_X86
KT_AVX2 static void rms_norm_avx2(const float *x, const float *w, float *y, int64_t n, float eps, int64_t begin,
                                  int64_t end) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        acc = _mm256_fmadd_ps(v, v, acc);
    }
    float sum = hsum8(acc);
    for (; i < n; i++) sum += x[i] * x[i];
    float scale = 1.0f / sqrtf(sum / (float)n + eps);
    __m256 s = _mm256_set1_ps(scale);
    for (i = begin; i + 8 <= end; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(w + i), _mm256_mul_ps(_mm256_loadu_ps(x + i), s)));
    }
    for (; i < end; i++) y[i] = w[i] * (x[i] * scale);
}
#endif

void kt_rms_norm_range(const float *x, const float *w, float *y, int64_t n, float eps, int64_t begin, int64_t end) {
#if KT_X86
    if (use_avx2()) {
        rms_norm_avx2(x, w, y, n, eps, begin, end);
        return;
    }
#endif
    float scale = rms_scale_scalar(x, n, eps);
    for (int64_t i = begin; i < end; i++) y[i] = w[i] * (x[i] * scale);
}

void kt_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps) {
    kt_rms_norm_range(x, w, y, n, eps, 0, n);
}

// MARK: - Rotary embeddings (a few hundred multiplies per token: scalar everywhere, the compiler vectorises it)

void kt_rope(float *x, int64_t heads, int64_t head_dim, const float *cos, const float *sin, int interleaved) {
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < heads; h++) {
        float *v = x + h * head_dim;
        if (interleaved) {
            for (int64_t i = 0; i < half; i++) {
                float a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * cos[i] - b * sin[i];
                v[2 * i + 1] = b * cos[i] + a * sin[i];
            }
        } else {
            for (int64_t i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * cos[i] - b * sin[i];
                v[i + half] = b * cos[i] + a * sin[i];
            }
        }
    }
}

// MARK: - SiLU-gated product

void kt_silu_mul_ref(const float *g, const float *u, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = g[i] / (1.0f + kt_exp(-g[i])) * u[i];
}

#if KT_X86
KT_AVX2 static void silu_mul_avx2(const float *g, const float *u, float *y, int64_t n) {
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv));
        __m256 s = _mm256_div_ps(gv, _mm256_add_ps(one, e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) y[i] = g[i] / (1.0f + kt_exp(-g[i])) * u[i];
}
#endif

void kt_silu_mul(const float *g, const float *u, float *y, int64_t n) {
#if KT_X86
    if (use_avx2()) {
        silu_mul_avx2(g, u, y, n);
        return;
    }
#endif
    kt_silu_mul_ref(g, u, y, n);
}

// MARK: - F16 rows

#if KT_X86
KT_AVX2 static int64_t store_f16_avx2(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    }
    return i;
}

KT_AVX2 static int64_t load_f16_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    return i;
}
#endif

void kt_store_f16(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
#if KT_X86
    if (use_avx2()) i = store_f16_avx2(src, dst, n);
#endif
    for (; i < n; i++) dst[i] = float_to_half(src[i]);
}

void kt_load_f16(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
#if KT_X86
    if (use_avx2()) i = load_f16_avx2(src, dst, n);
#endif
    for (; i < n; i++) dst[i] = half_to_float(src[i]);
}

// MARK: - Attention

// Keys per block of the online softmax: scores of one block live on the stack.
#define KT_KEY_BLOCK 64
// Queries processed together against one block of keys (a grouped-query group, or part of it).
#define KT_QUERY_GROUP 8
#define KT_MAX_HEAD_DIM 512

static float key_value_at(const void *base, int kv_type, int64_t index) {
    return kv_type == 1 ? half_to_float(((const uint16_t *)base)[index]) : ((const float *)base)[index];
}

void kt_attention_ref(const float *q, int64_t nq, int64_t q_stride, const void *k, const void *v, int kv_type,
                      int64_t hd, int64_t n, float scale, float *out, int64_t out_stride) {
    float acc[KT_MAX_HEAD_DIM];
    float s[KT_KEY_BLOCK];
    if (n <= 0 || hd <= 0 || hd > KT_MAX_HEAD_DIM) return;
    for (int64_t i = 0; i < nq; i++) {
        const float *qi = q + i * q_stride;
        float m = -INFINITY, l = 0;
        for (int64_t d = 0; d < hd; d++) acc[d] = 0;
        for (int64_t j0 = 0; j0 < n; j0 += KT_KEY_BLOCK) {
            int64_t jn = n - j0 < KT_KEY_BLOCK ? n - j0 : KT_KEY_BLOCK;
            float bm = -INFINITY;
            for (int64_t j = 0; j < jn; j++) {
                float dot = 0;
                for (int64_t d = 0; d < hd; d++) dot += qi[d] * key_value_at(k, kv_type, (j0 + j) * hd + d);
                s[j] = dot * scale;
                if (s[j] > bm) bm = s[j];
            }
            if (bm > m) {
                float corr = m == -INFINITY ? 0 : kt_exp(m - bm);
                for (int64_t d = 0; d < hd; d++) acc[d] *= corr;
                l *= corr;
                m = bm;
            }
            for (int64_t j = 0; j < jn; j++) {
                float p = kt_exp(s[j] - m);
                l += p;
                for (int64_t d = 0; d < hd; d++) acc[d] += p * key_value_at(v, kv_type, (j0 + j) * hd + d);
            }
        }
        for (int64_t d = 0; d < hd; d++) out[i * out_stride + d] = acc[d] / l;
    }
}

#if KT_X86
KT_AVX2 static inline __m256 load8(const void *base, int kv_type, int64_t index) {
    if (kv_type == 1) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + index)));
    return _mm256_loadu_ps((const float *)base + index);
}

KT_AVX2 static void attention_avx2(const float *q, int64_t nq, int64_t q_stride, const void *k, const void *v,
                                   int kv_type, int64_t hd, int64_t n, float scale, float *out, int64_t out_stride) {
    float acc[KT_QUERY_GROUP][KT_MAX_HEAD_DIM] __attribute__((aligned(32)));
    float s[KT_KEY_BLOCK] __attribute__((aligned(32)));
    float m[KT_QUERY_GROUP], l[KT_QUERY_GROUP];
    for (int64_t i0 = 0; i0 < nq; i0 += KT_QUERY_GROUP) {
        int64_t cq = nq - i0 < KT_QUERY_GROUP ? nq - i0 : KT_QUERY_GROUP;
        for (int64_t i = 0; i < cq; i++) {
            m[i] = -INFINITY;
            l[i] = 0;
            for (int64_t d = 0; d < hd; d += 8) _mm256_store_ps(acc[i] + d, _mm256_setzero_ps());
        }
        for (int64_t j0 = 0; j0 < n; j0 += KT_KEY_BLOCK) {
            int64_t jn = n - j0 < KT_KEY_BLOCK ? n - j0 : KT_KEY_BLOCK;
            for (int64_t i = 0; i < cq; i++) {
                const float *qi = q + (i0 + i) * q_stride;
                float *a = acc[i];
                // Scores, four keys at a time for independent FMA chains.
                int64_t j = 0;
                for (; j + 4 <= jn; j += 4) {
                    __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0;
                    int64_t r = (j0 + j) * hd;
                    for (int64_t d = 0; d < hd; d += 8) {
                        __m256 qv = _mm256_loadu_ps(qi + d);
                        d0 = _mm256_fmadd_ps(qv, load8(k, kv_type, r + d), d0);
                        d1 = _mm256_fmadd_ps(qv, load8(k, kv_type, r + hd + d), d1);
                        d2 = _mm256_fmadd_ps(qv, load8(k, kv_type, r + 2 * hd + d), d2);
                        d3 = _mm256_fmadd_ps(qv, load8(k, kv_type, r + 3 * hd + d), d3);
                    }
                    s[j] = hsum8(d0) * scale;
                    s[j + 1] = hsum8(d1) * scale;
                    s[j + 2] = hsum8(d2) * scale;
                    s[j + 3] = hsum8(d3) * scale;
                }
                for (; j < jn; j++) {
                    __m256 d0 = _mm256_setzero_ps();
                    int64_t r = (j0 + j) * hd;
                    for (int64_t d = 0; d < hd; d += 8) d0 = _mm256_fmadd_ps(_mm256_loadu_ps(qi + d), load8(k, kv_type, r + d), d0);
                    s[j] = hsum8(d0) * scale;
                }
                float bm = -INFINITY;
                for (j = 0; j < jn; j++) bm = s[j] > bm ? s[j] : bm;
                if (bm > m[i]) {
                    float corr = m[i] == -INFINITY ? 0 : kt_exp(m[i] - bm);
                    __m256 c = _mm256_set1_ps(corr);
                    for (int64_t d = 0; d < hd; d += 8) _mm256_store_ps(a + d, _mm256_mul_ps(_mm256_load_ps(a + d), c));
                    l[i] *= corr;
                    m[i] = bm;
                }
                // Probabilities in place, eight at a time (the tail through the same polynomial, scalar).
                __m256 mv = _mm256_set1_ps(m[i]);
                for (j = 0; j + 8 <= jn; j += 8) _mm256_store_ps(s + j, exp8(_mm256_sub_ps(_mm256_load_ps(s + j), mv)));
                for (; j < jn; j++) s[j] = kt_exp(s[j] - m[i]);
                float sum = l[i];
                for (j = 0; j < jn; j++) sum += s[j];
                l[i] = sum;
                for (j = 0; j < jn; j++) {
                    __m256 p = _mm256_set1_ps(s[j]);
                    int64_t r = (j0 + j) * hd;
                    for (int64_t d = 0; d < hd; d += 8) {
                        _mm256_store_ps(a + d, _mm256_fmadd_ps(p, load8(v, kv_type, r + d), _mm256_load_ps(a + d)));
                    }
                }
            }
        }
        for (int64_t i = 0; i < cq; i++) {
            float *o = out + (i0 + i) * out_stride;
            for (int64_t d = 0; d < hd; d++) o[d] = acc[i][d] / l[i];
        }
    }
}
#endif

void kt_attention(const float *q, int64_t nq, int64_t q_stride, const void *k, const void *v, int kv_type,
                  int64_t head_dim, int64_t n, float scale, float *out, int64_t out_stride) {
    if (n <= 0 || head_dim <= 0 || head_dim > KT_MAX_HEAD_DIM) return;
#if KT_X86
    if (use_avx2() && head_dim % 8 == 0) {
        attention_avx2(q, nq, q_stride, k, v, kv_type, head_dim, n, scale, out, out_stride);
        return;
    }
#endif
    kt_attention_ref(q, nq, q_stride, k, v, kv_type, head_dim, n, scale, out, out_stride);
}
