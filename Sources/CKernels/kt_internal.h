// Internal to CKernels: ggml's block layouts, scalar half-precision conversions and the per-path kernel tables.
// Block layouts as ggml defines them (ggml/src/ggml-common.h, llama.cpp as vendored by llama-cpp-python 0.3.36).
#pragma once
#include "kt_types.h"

#include <string.h>

#define KT_QK4_0 32
#define KT_QK8_0 32
#define KT_QK_K 256

/// Q4_0: 32 weights, `d * (q - 8)` with `q` the 4-bit value; low nibbles hold elements 0..15, high 16..31.
typedef struct {
    uint16_t d;
    uint8_t qs[KT_QK4_0 / 2];
} kt_block_q4_0;

/// Q8_0: 32 weights, `d * q`.
typedef struct {
    uint16_t d;
    int8_t qs[KT_QK8_0];
} kt_block_q8_0;

/// Q4_K: 256 weights in 8 sub-blocks of 32 with 6-bit scales and mins: `d * sc * q - dmin * m`.
typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[KT_QK_K / 2];
} kt_block_q4_K;

/// Q6_K: 256 weights in 16 sub-blocks of 16 with 8-bit scales: `d * sc * (q - 32)`, q = 4 low bits | 2 high bits.
typedef struct {
    uint8_t ql[KT_QK_K / 2];
    uint8_t qh[KT_QK_K / 4];
    int8_t scales[KT_QK_K / 16];
    uint16_t d;
} kt_block_q6_K;

/// Q8_K: 256 activations, `d * q`, with the sums of each 16 quants (F32 scale, not F16).
typedef struct {
    float d;
    int8_t qs[KT_QK_K];
    int16_t bsums[KT_QK_K / 16];
} kt_block_q8_K;

_Static_assert(sizeof(kt_block_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(kt_block_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(kt_block_q4_K) == 144, "q4_K block");
_Static_assert(sizeof(kt_block_q6_K) == 210, "q6_K block");
_Static_assert(sizeof(kt_block_q8_K) == 292, "q8_K block");

static inline float kt_bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t kt_f32_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/// IEEE binary16 to binary32 (exact).
static inline float kt_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    if (exponent == 0x1f) {
        return kt_bits_to_f32(sign | 0x7f800000u | (mantissa << 13));
    }
    if (exponent == 0) {
        if (mantissa == 0) {
            return kt_bits_to_f32(sign);
        }
        // Subnormal: mantissa * 2^-24, exact in binary32.
        const float magnitude = (float)mantissa * 0x1p-24f;
        return kt_bits_to_f32(sign | kt_f32_to_bits(magnitude));
    }
    return kt_bits_to_f32(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// IEEE binary32 to binary16, rounding to nearest even (as F16C's VCVTPS2PH with mode 0 and numpy's astype);
/// NaN becomes a quiet NaN.
static inline uint16_t kt_f32_to_f16(float f) {
    const uint32_t u = kt_f32_to_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return sign | 0x7e00 | (uint16_t)((a >> 13) & 0x3ff);
    }
    if (a >= 0x477ff000u) {  // rounds to or beyond 65520: infinity
        return sign | 0x7c00;
    }
    if (a >= 0x38800000u) {  // normal binary16 result
        const uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
        return sign | (uint16_t)((rounded - 0x38000000u) >> 13);
    }
    if (a < 0x33000000u) {  // below half the smallest subnormal: zero
        return sign;
    }
    // Subnormal result: shift the full significand, rounding to nearest even.
    const uint32_t exponent = a >> 23;
    const uint32_t significand = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;  // 14 ..< 25
    const uint32_t half = 1u << (shift - 1);
    const uint32_t rest = significand & ((1u << shift) - 1);
    uint32_t value = significand >> shift;
    if (rest > half || (rest == half && (value & 1u))) {
        value += 1;
    }
    return sign | (uint16_t)value;
}

/// BF16 to binary32 (exact).
static inline float kt_bf16_to_f32(uint16_t h) { return kt_bits_to_f32((uint32_t)h << 16); }

/// Binary32 to BF16 as ggml's `ggml_compute_fp32_to_bf16`: round to nearest even, NaN forced quiet.
static inline uint16_t kt_f32_to_bf16(float f) {
    const uint32_t u = kt_f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t)((u >> 16) | 64);
    }
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

/// Q4_K's packed 6-bit scale and min of sub-block `j` (0 ..< 8).
static inline void kt_q4_K_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/// 1 where the AVX2 paths run: the CPU has them and `kt_force_scalar` is off.
int kt_use_simd(void);

/// The VNNI flavour the 8-bit and 4-bit AVX2 tiles use: 1 AVX-VNNI, 2 AVX512-VNNI, 0 none (`kt_force_vnni`, else the
/// first the CPU has).
int kt_use_vnni(void);

/// 1 where the float products use 512-bit vectors: the CPU has AVX-512 F and VL, and `kt_force_avx512(0)` is not in
/// effect on the calling thread.
int kt_use_avx512(void);

/// The scalar kernels (kt_dot_scalar.c): the reference the SIMD paths are tested against.
float kt_vec_dot_scalar(kt_type type, int64_t n, const void *w, const void *x);
void kt_matmul_scalar(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x,
                      size_t x_stride, int64_t nb, float *y, int64_t ldy);

/// Bytes of one block of a group of 8 interleaved rows (kt_r8.c): 8 scales and the 8 rows' quants.
#define KT_R8_GROUP_Q8_0 (8 * sizeof(kt_block_q8_0))
#define KT_R8_GROUP_Q4_0 (8 * sizeof(kt_block_q4_0))

/// The scalar product of interleaved weights (kt_r8.c), the reference of kt_tile_r8.h.
void kt_matmul_r8_scalar(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x,
                         size_t x_stride, int64_t nb, float *y, int64_t ldy);

#if defined(__x86_64__)
/// The AVX2/FMA/F16C kernels (kt_dot_avx2.c); only called where the CPU has them. Return 0 where the type has no
/// AVX2 kernel (the caller then runs the scalar one).
int kt_vec_dot_avx2(kt_type type, int64_t n, const void *w, const void *x, float *result);
int kt_matmul_avx2(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x, size_t x_stride,
                   int64_t nb, float *y, int64_t ldy);
/// F16C conversions of whole rows (kt_quants_avx2.c); `kt_dequantize_row` and `kt_quantize_row` use them on the
/// SIMD path (both exact, so the results equal the scalar conversions').
void kt_f16_to_f32_row_f16c(const uint16_t *src, float *dst, int64_t n);
void kt_f32_to_f16_row_f16c(const float *src, uint16_t *dst, int64_t n);
/// The activation quantizers (`n` a multiple of the block), bit for bit as the scalar reference ones.
void kt_quantize_q8_0_avx2(const float *x, void *dst, int64_t n);
void kt_quantize_q8_K_avx2(const float *x, void *dst, int64_t n);
#endif
