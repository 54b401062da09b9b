// AVX2/FMA/F16C kernels, compiled for those extensions function by function (`target` attributes), and called only
// where `__builtin_cpu_supports` found them, so the binary still starts on any x86-64.
//
// One output (weight row r, activation b) is always computed by the same sequence of instructions, whatever tile it
// falls in: `kt_vec_dot` is the 1 x 1 tile, so `kt_matmul` gives the bits of `kt_vec_dot` for every output.
//  - F32/F16/BF16 x F32: one 8-lane accumulator per output, elements k..k+7 fused-multiply-added into it in order,
//    then a fixed horizontal sum, then the tail (n % 8 elements) added one by one.
//  - Q8_0/Q4_0 x Q8_0: per 32-block, the integer products summed in 8 lanes (sign trick + maddubs + madd, as
//    llama.cpp's AVX2 path, or one vpdpbusd where the CPU has VNNI: the same integers), converted, times d_w, then
//    fused-multiply-added with d_x into 8 lanes (two vector operations, no scalar product to broadcast); then the
//    fixed horizontal sum. The tile is kt_tile_q8.h, instantiated below for AVX2, AVX-VNNI and AVX512-VNNI.
//  - Q4_K/Q6_K x Q8_K: per 256-block the exact integer sums, then `sum += d * isum` in F32 as the scalar path does
//    (so these agree with the scalar kernels bit for bit); tiles of 1 row x up to 4 activations.
// The matrix product tiles several weight rows by several activations, so each loaded (and unpacked) weight block
// serves several activations and each activation block several rows; activations are taken in chunks that stay in L2.
#include "kt_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

#define KT_MAX_RM 8
#define KT_MAX_RN 6
// Decode (one activation) streams 8 rows at a time; each row is short (a few KiB), too short for the hardware
// prefetcher to ramp up, so the tile prefetches the rows `KT_PREFETCH_TILE` below the ones it reads (two tiles
// ahead): measured 11 -> 30 GB/s for Q8_0 and 8 -> 14 GB/s for Q4_0 on one core. Every tile does so, not only the
// single-activation one: a batched decode step (2-4 sequences, continuous batching) streams its weights through
// the small tiles just as once, and without the prefetch 2 sequences decoded slower together than one alone
// (Q8_0, 2 threads: 12 -> 24-33 tok/s in all, on a shared machine); in a prefill the repeated prefetch of rows
// already in L1 costs one instruction per block.
// Activation bytes per chunk of the matrix product: 512 KiB measured best of 256 KiB..1 MiB for F16 (66 -> 78
// GFLOP/s at 32 activations of 4096), neutral for Q8_0/Q4_0.
#ifndef KT_CHUNK_BYTES
#define KT_CHUNK_BYTES (512 * 1024)
#endif
#ifndef KT_PREFETCH_TILE
#define KT_PREFETCH_TILE 16
#endif
// Tile shapes (rows x activations) for batches, per weight type, measured on the development machine
// (docs/kernels.md: of 2x4, 3x4, 4x3, 3x3 at 32 activations of 4096); a single activation always takes 8 rows.
#ifndef KT_SHAPES
#define KT_F32_MR 3
#define KT_F32_NR 3
#define KT_F16_MR 3
#define KT_F16_NR 3
#define KT_BF16_MR 3
#define KT_BF16_NR 3
#define KT_Q8_0_MR 2
#define KT_Q8_0_NR 4
#define KT_Q4_0_MR 3
#define KT_Q4_0_NR 3
#endif
#define KT_TARGET __attribute__((target("avx2,fma,f16c")))
#define KT_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

// MARK: - Common helpers

KT_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

KT_INLINE int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// (_cvtsh_ss would merge into a live register, a false dependency on whatever it last held.)
KT_INLINE float f16_scalar(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

/// The F16 scale at the start of a block, broadcast: a 4-byte load (the scale and the block's next two bytes, which
/// the conversion ignores) zero-extends into a fresh register, so no false dependency on a live one.
KT_INLINE __m256 f16_scale_at(const void *block) {
    int32_t word;
    memcpy(&word, block, 4);
    return _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(word)));
}

// MARK: - Float weights (F32, F16, BF16) x F32 activations

enum { W_F32 = 0, W_F16 = 1, W_BF16 = 2 };

KT_INLINE __m256 load_weights(int kind, const void *row, int64_t k) {
    if (kind == W_F32) {
        return _mm256_loadu_ps((const float *)row + k);
    }
    const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + k));
    if (kind == W_F16) {
        return _mm256_cvtph_ps(h);
    }
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

KT_INLINE float load_weight(int kind, const void *row, int64_t k) {
    if (kind == W_F32) {
        return ((const float *)row)[k];
    }
    const uint16_t h = ((const uint16_t *)row)[k];
    return kind == W_F16 ? f16_scalar(h) : kt_bf16_to_f32(h);
}

/// One tile of `RM` weight rows by `RN` activations (constants after inlining: the accumulators live in registers).
KT_INLINE void tile_float(int kind, int RM, int RN, int64_t n, const char *w, size_t w_stride, const char *x,
                          size_t x_stride, float *y, int64_t ldy) {
    __m256 acc[KT_MAX_RM][KT_MAX_RN];
    for (int i = 0; i < RM; i++) {
        for (int j = 0; j < RN; j++) {
            acc[i][j] = _mm256_setzero_ps();
        }
    }
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 xv[KT_MAX_RN];
        for (int j = 0; j < RN; j++) {
            xv[j] = _mm256_loadu_ps((const float *)(x + (size_t)j * x_stride) + k);
        }
        const int elem = kind == W_F32 ? 4 : 2;
        for (int i = 0; i < RM; i++) {
            // Several rows at once are several streams: prefetched. One row is one stream (decode): left to the
            // hardware prefetcher, which software prefetches of the rows ahead only disturb.
            if (RM > 1 && ((k * elem) & 63) == 0) {
                _mm_prefetch(w + (size_t)i * w_stride + KT_PREFETCH_TILE * w_stride + k * elem, _MM_HINT_T0);
            }
            const __m256 wv = load_weights(kind, w + (size_t)i * w_stride, k);
            for (int j = 0; j < RN; j++) {
                acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
            }
        }
    }
    for (int i = 0; i < RM; i++) {
        for (int j = 0; j < RN; j++) {
            float s = hsum_ps(acc[i][j]);
            const float *xr = (const float *)(x + (size_t)j * x_stride);
            for (int64_t t = k; t < n; t++) {
                const float p = load_weight(kind, w + (size_t)i * w_stride, t) * xr[t];
                s = s + p;
            }
            y[(int64_t)j * ldy + i] = s;
        }
    }
}

// MARK: - Float weights x F32 activations on 512-bit vectors

// Where the CPU has AVX-512 (F and VL), the float products take 16 lanes: half the instructions per element (the
// loads, the F16/BF16 widening) and 32 registers, so tiles of 4 rows x 6 activations fit. On AMD Zen 4, whose
// 512-bit operations take two passes through 256-bit units, the fused multiply-adds run at the same rate as AVX2's
// but the widening and loads no longer limit them (docs/kernels.md). Each output: one 16-lane accumulator, elements
// k ..< k+16 fused-multiply-added in order, the two 8-lane halves added, the 8-lane horizontal sum of the AVX2
// path, then the n % 16 tail one element at a time; the same for every tile, `kt_vec_dot` included.
#define KT_TARGET512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl")))
#define KT_INLINE512 static inline __attribute__((always_inline, target("avx2,fma,f16c,avx512f,avx512vl")))
#ifndef KT_SHAPES512
#define KT_F32_MR512 4
#define KT_F32_NR512 3
#define KT_F16_MR512 4
#define KT_F16_NR512 3
#define KT_BF16_MR512 4
#define KT_BF16_NR512 3
#endif

KT_INLINE512 __m512 load_weights16(int kind, const void *row, int64_t k) {
    if (kind == W_F32) {
        return _mm512_loadu_ps((const float *)row + k);
    }
    const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)row + k));
    if (kind == W_F16) {
        return _mm512_cvtph_ps(h);
    }
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

KT_INLINE512 void tile_float512(int kind, int RM, int RN, int64_t n, const char *w, size_t w_stride, const char *x,
                                size_t x_stride, float *y, int64_t ldy) {
    __m512 acc[KT_MAX_RM][KT_MAX_RN];
    for (int i = 0; i < RM; i++) {
        for (int j = 0; j < RN; j++) {
            acc[i][j] = _mm512_setzero_ps();
        }
    }
    const int elem = kind == W_F32 ? 4 : 2;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 xv[KT_MAX_RN];
        for (int j = 0; j < RN; j++) {
            xv[j] = _mm512_loadu_ps((const float *)(x + (size_t)j * x_stride) + k);
        }
        for (int i = 0; i < RM; i++) {
            if (RM > 1 && ((k * elem) & 63) == 0) {
                _mm_prefetch(w + (size_t)i * w_stride + KT_PREFETCH_TILE * w_stride + k * elem, _MM_HINT_T0);
            }
            const __m512 wv = load_weights16(kind, w + (size_t)i * w_stride, k);
            for (int j = 0; j < RN; j++) {
                acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
            }
        }
    }
    for (int i = 0; i < RM; i++) {
        for (int j = 0; j < RN; j++) {
            const __m512 a = acc[i][j];
            const __m256 high = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
            float s = hsum_ps(_mm256_add_ps(_mm512_castps512_ps256(a), high));
            const float *xr = (const float *)(x + (size_t)j * x_stride);
            for (int64_t t = k; t < n; t++) {
                const float p = load_weight(kind, w + (size_t)i * w_stride, t) * xr[t];
                s = s + p;
            }
            y[(int64_t)j * ldy + i] = s;
        }
    }
}

// MARK: - Q8_0 / Q4_0 weights x Q8_0 activations

#define KT_Q8_NAME tile_q8
#define KT_Q8_ATTR KT_INLINE
#define KT_Q8_DOT4(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#include "kt_tile_q8.h"
#undef KT_Q8_NAME
#undef KT_Q8_ATTR
#undef KT_Q8_DOT4

// AVX-VNNI (VEX: Intel Alder Lake and later, AMD Zen 5) and AVX512-VNNI with AVX512VL (EVEX, 256-bit vectors: Intel
// Cascade Lake and later servers, AMD Zen 4): one `vpdpbusd` instead of `vpmaddubsw` + `vpmaddwd`.
#define KT_Q8_NAME tile_q8_vnni
#define KT_Q8_ATTR static inline __attribute__((always_inline, target("avx2,fma,f16c,avxvnni")))
#define KT_Q8_DOT4(u, s) _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), (u), (s))
#include "kt_tile_q8.h"
#undef KT_Q8_NAME
#undef KT_Q8_ATTR
#undef KT_Q8_DOT4

#define KT_Q8_NAME tile_q8_vnni512
#define KT_Q8_ATTR static inline __attribute__((always_inline, target("avx2,fma,f16c,avx512vnni,avx512vl")))
#define KT_Q8_DOT4(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#include "kt_tile_q8.h"
#undef KT_Q8_NAME
#undef KT_Q8_ATTR
#undef KT_Q8_DOT4

// MARK: - Interleaved Q8_0 / Q4_0 weights (8 rows per group) x Q8_0 activations

#define KT_R8_MAX_RN 6
// Group blocks prefetched ahead of the one read (a group block is 144 or 272 bytes of one contiguous stream).
#ifndef KT_R8_PREFETCH
#define KT_R8_PREFETCH 8
#endif

#define KT_R8_NAME tile_r8
#define KT_R8_ATTR KT_INLINE
#define KT_R8_VNNI 0
#define KT_R8_DOT(acc, u, s) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), ones16))
#include "kt_tile_r8.h"
#undef KT_R8_NAME
#undef KT_R8_ATTR
#undef KT_R8_VNNI
#undef KT_R8_DOT

#define KT_R8_NAME tile_r8_vnni
#define KT_R8_ATTR static inline __attribute__((always_inline, target("avx2,fma,f16c,avxvnni")))
#define KT_R8_VNNI 1
#define KT_R8_DOT(acc, u, s) _mm256_dpbusd_avx_epi32((acc), (u), (s))
#include "kt_tile_r8.h"
#undef KT_R8_NAME
#undef KT_R8_ATTR
#undef KT_R8_VNNI
#undef KT_R8_DOT

#define KT_R8_NAME tile_r8_vnni512
#define KT_R8_ATTR static inline __attribute__((always_inline, target("avx2,fma,f16c,avx512vnni,avx512vl")))
#define KT_R8_VNNI 1
#define KT_R8_DOT(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#include "kt_tile_r8.h"
#undef KT_R8_NAME
#undef KT_R8_ATTR
#undef KT_R8_VNNI
#undef KT_R8_DOT

// MARK: - Q4_K / Q6_K weights x Q8_K activations

// One weight row against `RN` activations: the row's blocks are unpacked once (scales, mins, 4- or 6-bit values) and
// serve every activation; each output's integer sums are exact, so its F32 steps are those of the 1-activation case.

KT_INLINE void tile_q4_K(int RN, int64_t nblocks, const kt_block_q4_K *w, const char *x, size_t x_stride, float *y,
                         int64_t ldy) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    float sum[KT_MAX_RN];
    for (int j = 0; j < RN; j++) {
        sum[j] = 0.0f;
    }
    for (int64_t i = 0; i < nblocks; i++) {
        // The 6-bit scales and mins, unpacked as 32-bit words (bytes 0-3: scales 0-3 and the top bits of scales
        // 4-7; bytes 4-7: mins 0-3 and the top bits of mins 4-7; bytes 8-11: the low nibbles of scales and mins 4-7).
        uint32_t word[3];
        memcpy(word, w[i].scales, 12);
        const uint32_t sc_lo = word[0] & 0x3f3f3f3fu, m_lo = word[1] & 0x3f3f3f3fu;
        const uint32_t sc_hi = (word[2] & 0x0f0f0f0fu) | ((word[0] >> 2) & 0x30303030u);
        const uint32_t m_hi = ((word[2] >> 4) & 0x0f0f0f0fu) | ((word[1] >> 2) & 0x30303030u);
        const __m128i sc8 = _mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8));
        // Each min twice, against the two 16-sums of its 32 activations.
        const __m128i m8 = _mm_set_epi32(0, 0, (int)m_hi, (int)m_lo);
        const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
        __m256i q[8], scale[8];
        for (int k = 0; k < 4; k++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * k));
            q[2 * k] = _mm256_and_si256(packed, low);
            q[2 * k + 1] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
        }
        for (int k = 0; k < 8; k++) {  // scale k in every 16-bit lane: bytes 2k, 2k + 1 of the 16-bit scales
            scale[k] = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * k)));
        }
        const float dw = f16_scalar(w[i].d), dminw = f16_scalar(w[i].dmin);
        for (int j = 0; j < RN; j++) {
            const kt_block_q8_K *xb = (const kt_block_q8_K *)(x + (size_t)j * x_stride) + i;
            const __m256i bsums = _mm256_loadu_si256((const __m256i *)xb->bsums);
            const int summ = hsum_epi32(_mm256_madd_epi16(bsums, m16));
            __m256i sumi = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                const __m256i a = _mm256_loadu_si256((const __m256i *)(xb->qs + 32 * k));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], a), scale[k]));
            }
            const float d = dw * xb->d;
            const float dmin = dminw * xb->d;
            const float a = d * (float)hsum_epi32(sumi);
            const float b = dmin * (float)summ;
            sum[j] += a - b;
        }
    }
    for (int j = 0; j < RN; j++) {
        y[(int64_t)j * ldy] = sum[j];
    }
}

KT_INLINE void tile_q6_K(int RN, int64_t nblocks, const kt_block_q6_K *w, const char *x, size_t x_stride, float *y,
                         int64_t ldy) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i two = _mm256_set1_epi8(0x30);
    float sum[KT_MAX_RN];
    for (int j = 0; j < RN; j++) {
        sum[j] = 0.0f;
    }
    for (int64_t i = 0; i < nblocks; i++) {
        const int8_t *sc = w[i].scales;
        __m256i q[8], scale[8];
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = w[i].ql + 64 * half;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(w[i].qh + 32 * half));
            __m256i *qh = q + 4 * half;
            qh[0] = _mm256_or_si256(_mm256_and_si256(l0, low), _mm256_and_si256(_mm256_slli_epi16(h, 4), two));
            qh[1] = _mm256_or_si256(_mm256_and_si256(l1, low), _mm256_and_si256(_mm256_slli_epi16(h, 2), two));
            qh[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low), _mm256_and_si256(h, two));
            qh[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low),
                                    _mm256_and_si256(_mm256_srli_epi16(h, 2), two));
        }
        // Values k cover sub-blocks 2k and 2k + 1 (16 each): scale 2k in the low 128 bits, 2k + 1 in the high, each
        // placed in the high byte of 16-bit lanes and shifted down with its sign.
        const __m128i raw = _mm_loadu_si128((const __m128i *)sc);
        const __m256i raw2 = _mm256_broadcastsi128_si256(raw);
        for (int k = 0; k < 8; k++) {
            const __m256i pick = _mm256_set_m128i(_mm_set1_epi16((short)(((2 * k + 1) << 8) | 0x80)),
                                                  _mm_set1_epi16((short)(((2 * k) << 8) | 0x80)));
            scale[k] = _mm256_srai_epi16(_mm256_shuffle_epi8(raw2, pick), 8);
        }
        const __m256i sc16 = _mm256_cvtepi8_epi16(raw);
        const float dw = f16_scalar(w[i].d);
        for (int j = 0; j < RN; j++) {
            const kt_block_q8_K *xb = (const kt_block_q8_K *)(x + (size_t)j * x_stride) + i;
            const int corr = hsum_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums)));
            __m256i sumi = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                const __m256i a = _mm256_loadu_si256((const __m256i *)(xb->qs + 32 * k));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], a), scale[k]));
            }
            const int isum = hsum_epi32(sumi) - 32 * corr;
            sum[j] += (dw * xb->d) * (float)isum;
        }
    }
    for (int j = 0; j < RN; j++) {
        y[(int64_t)j * ldy] = sum[j];
    }
}

// MARK: - Tile instantiations and the drivers

typedef void (*tile_fn)(int64_t n, const char *w, size_t w_stride, const char *x, size_t x_stride, float *y,
                        int64_t ldy);

#define KT_TILE(attr, name, body, RM, RN)                                                                                 \
    static attr void name##_##RM##x##RN(      int64_t n, const char *w, size_t w_stride, const char *x,                \
                                             size_t x_stride, float *y, int64_t ldy) {                                \
        body(RM, RN, n, w, w_stride, x, x_stride, y, ldy);                                                            \
    }
#define KT_TILES(attr, name, body) \
    KT_TILE(attr, name, body, 1, 1) KT_TILE(attr, name, body, 2, 1) KT_TILE(attr, name, body, 3, 1) KT_TILE(attr, name, body, 4, 1) \
    KT_TILE(attr, name, body, 5, 1) KT_TILE(attr, name, body, 6, 1) KT_TILE(attr, name, body, 7, 1) KT_TILE(attr, name, body, 8, 1) \
    KT_TILE(attr, name, body, 1, 2) KT_TILE(attr, name, body, 2, 2) KT_TILE(attr, name, body, 3, 2) KT_TILE(attr, name, body, 4, 2) \
    KT_TILE(attr, name, body, 1, 3) KT_TILE(attr, name, body, 2, 3) KT_TILE(attr, name, body, 3, 3) KT_TILE(attr, name, body, 4, 3) \
    KT_TILE(attr, name, body, 1, 4) KT_TILE(attr, name, body, 2, 4) KT_TILE(attr, name, body, 3, 4) KT_TILE(attr, name, body, 4, 4) \
    KT_TILE(attr, name, body, 1, 5) KT_TILE(attr, name, body, 2, 5) KT_TILE(attr, name, body, 3, 5) KT_TILE(attr, name, body, 4, 5) \
    KT_TILE(attr, name, body, 1, 6) KT_TILE(attr, name, body, 2, 6) KT_TILE(attr, name, body, 3, 6) KT_TILE(attr, name, body, 4, 6) \
    static const tile_fn name##_tiles[KT_MAX_RM][KT_MAX_RN] = { \
    [0][0] = name##_1x1, [1][0] = name##_2x1, [2][0] = name##_3x1, [3][0] = name##_4x1, \
    [4][0] = name##_5x1, [5][0] = name##_6x1, [6][0] = name##_7x1, [7][0] = name##_8x1, \
    [0][1] = name##_1x2, [1][1] = name##_2x2, [2][1] = name##_3x2, [3][1] = name##_4x2, \
    [0][2] = name##_1x3, [1][2] = name##_2x3, [2][2] = name##_3x3, [3][2] = name##_4x3, \
    [0][3] = name##_1x4, [1][3] = name##_2x4, [2][3] = name##_3x4, [3][3] = name##_4x4, \
    [0][4] = name##_1x5, [1][4] = name##_2x5, [2][4] = name##_3x5, [3][4] = name##_4x5, \
    [0][5] = name##_1x6, [1][5] = name##_2x6, [2][5] = name##_3x6, [3][5] = name##_4x6, \
    };

#define BODY_F32(RM, RN, ...) tile_float(W_F32, RM, RN, __VA_ARGS__)
#define BODY_F16(RM, RN, ...) tile_float(W_F16, RM, RN, __VA_ARGS__)
#define BODY_BF16(RM, RN, ...) tile_float(W_BF16, RM, RN, __VA_ARGS__)
#define BODY_Q8_0(RM, RN, n, ...) tile_q8(0, RM, RN, (n) / KT_QK8_0, __VA_ARGS__)
#define BODY_Q4_0(RM, RN, n, ...) tile_q8(1, RM, RN, (n) / KT_QK4_0, __VA_ARGS__)
#define BODY_Q8_0_VNNI(RM, RN, n, ...) tile_q8_vnni(0, RM, RN, (n) / KT_QK8_0, __VA_ARGS__)
#define BODY_Q4_0_VNNI(RM, RN, n, ...) tile_q8_vnni(1, RM, RN, (n) / KT_QK4_0, __VA_ARGS__)
#define BODY_Q8_0_VNNI512(RM, RN, n, ...) tile_q8_vnni512(0, RM, RN, (n) / KT_QK8_0, __VA_ARGS__)
#define BODY_Q4_0_VNNI512(RM, RN, n, ...) tile_q8_vnni512(1, RM, RN, (n) / KT_QK4_0, __VA_ARGS__)
#define KT_TARGET_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define KT_TARGET_VNNI512 __attribute__((target("avx2,fma,f16c,avx512vnni,avx512vl")))

KT_TILES(KT_TARGET, f32, BODY_F32)
#define BODY_F32_512(RM, RN, ...) tile_float512(W_F32, RM, RN, __VA_ARGS__)
#define BODY_F16_512(RM, RN, ...) tile_float512(W_F16, RM, RN, __VA_ARGS__)
#define BODY_BF16_512(RM, RN, ...) tile_float512(W_BF16, RM, RN, __VA_ARGS__)
KT_TILES(KT_TARGET512, f32_512, BODY_F32_512)
KT_TILES(KT_TARGET512, f16_512, BODY_F16_512)
KT_TILES(KT_TARGET512, bf16_512, BODY_BF16_512)
KT_TILES(KT_TARGET, f16, BODY_F16)
KT_TILES(KT_TARGET, bf16, BODY_BF16)
KT_TILES(KT_TARGET, q8_0, BODY_Q8_0)
KT_TILES(KT_TARGET, q4_0, BODY_Q4_0)
KT_TILES(KT_TARGET_VNNI, q8_0_vnni, BODY_Q8_0_VNNI)
KT_TILES(KT_TARGET_VNNI, q4_0_vnni, BODY_Q4_0_VNNI)
KT_TILES(KT_TARGET_VNNI512, q8_0_vnni512, BODY_Q8_0_VNNI512)
KT_TILES(KT_TARGET_VNNI512, q4_0_vnni512, BODY_Q4_0_VNNI512)

static const tile_fn (*tiles_for(kt_type type))[KT_MAX_RN] {
    const int vnni = kt_use_vnni();
    const int wide = kt_use_avx512();
    switch (type) {
    case KT_F32: return wide ? f32_512_tiles : f32_tiles;
    case KT_F16: return wide ? f16_512_tiles : f16_tiles;
    case KT_BF16: return wide ? bf16_512_tiles : bf16_tiles;
    case KT_Q8_0: return vnni == 1 ? q8_0_vnni_tiles : vnni == 2 ? q8_0_vnni512_tiles : q8_0_tiles;
    case KT_Q4_0: return vnni == 1 ? q4_0_vnni_tiles : vnni == 2 ? q4_0_vnni512_tiles : q4_0_tiles;
    default: return NULL;
    }
}

typedef void (*ktile_fn)(int64_t n, const void *w, const char *x, size_t x_stride, float *y, int64_t ldy);
#define KT_KTILE(name, body, RN)                                                                                      \
    static KT_TARGET void name##_##RN(int64_t n, const void *w, const char *x, size_t x_stride, float *y,             \
                                      int64_t ldy) {                                                                  \
        body(RN, n / KT_QK_K, w, x, x_stride, y, ldy);                                                                \
    }
KT_KTILE(q4_K, tile_q4_K, 1)
KT_KTILE(q4_K, tile_q4_K, 2)
KT_KTILE(q4_K, tile_q4_K, 3)
KT_KTILE(q4_K, tile_q4_K, 4)
KT_KTILE(q6_K, tile_q6_K, 1)
KT_KTILE(q6_K, tile_q6_K, 2)
KT_KTILE(q6_K, tile_q6_K, 3)
KT_KTILE(q6_K, tile_q6_K, 4)
static const ktile_fn q4_K_tiles[4] = {q4_K_1, q4_K_2, q4_K_3, q4_K_4};
static const ktile_fn q6_K_tiles[4] = {q6_K_1, q6_K_2, q6_K_3, q6_K_4};

int kt_vec_dot_avx2(kt_type type, int64_t n, const void *w, const void *x, float *result) {
    switch (type) {
    case KT_Q4_K: q4_K_1(n, w, x, 0, result, 1); return 1;
    case KT_Q6_K: q6_K_1(n, w, x, 0, result, 1); return 1;
    default: break;
    }
    const tile_fn(*tiles)[KT_MAX_RN] = tiles_for(type);
    if (tiles == NULL) {
        return 0;
    }
    tiles[0][0](n, w, 0, x, 0, result, 1);
    return 1;
}

/// Activations per chunk: the chunk's rows stay in L2 (`KT_CHUNK_BYTES`) while every weight row tile passes over
/// them; each weight row tile is read from memory once per chunk.
static int64_t activation_chunk(size_t x_row_bytes) {
    int64_t chunk = (int64_t)((KT_CHUNK_BYTES) / (x_row_bytes ? x_row_bytes : 1));
    chunk -= chunk % 12;
    return chunk < 12 ? 12 : chunk;
}

typedef void (*r8_tile_fn)(int64_t nblocks, const char *w, const char *x, size_t x_stride, float *out, int64_t ldo);
#define KT_R8_TILE(attr, name, body, Q4, RN)                                                                          \
    static attr void name##_##RN(int64_t nblocks, const char *w, const char *x, size_t x_stride, float *out,         \
                                 int64_t ldo) {                                                                       \
        body(Q4, RN, nblocks, w, x, x_stride, out, ldo);                                                              \
    }
#define KT_R8_TILES(attr, name, body, Q4)                                                                             \
    KT_R8_TILE(attr, name, body, Q4, 1) KT_R8_TILE(attr, name, body, Q4, 2) KT_R8_TILE(attr, name, body, Q4, 3)      \
    KT_R8_TILE(attr, name, body, Q4, 4) KT_R8_TILE(attr, name, body, Q4, 5) KT_R8_TILE(attr, name, body, Q4, 6)      \
    static const r8_tile_fn name##_tiles[KT_R8_MAX_RN] = {name##_1, name##_2, name##_3, name##_4, name##_5, name##_6};
KT_R8_TILES(KT_TARGET, q8_0_r8, tile_r8, 0)
KT_R8_TILES(KT_TARGET, q4_0_r8, tile_r8, 1)
KT_R8_TILES(KT_TARGET_VNNI, q8_0_r8_vnni, tile_r8_vnni, 0)
KT_R8_TILES(KT_TARGET_VNNI, q4_0_r8_vnni, tile_r8_vnni, 1)
KT_R8_TILES(KT_TARGET_VNNI512, q8_0_r8_vnni512, tile_r8_vnni512, 0)
KT_R8_TILES(KT_TARGET_VNNI512, q4_0_r8_vnni512, tile_r8_vnni512, 1)

// Activations per interleaved tile (measured: docs/kernels.md).
#ifndef KT_R8_NR
#define KT_R8_NR 4
#endif

/// The product of interleaved weights: each group of 8 rows meets the chunk's activations `KT_R8_NR` at a time; a
/// group only partly inside `r0 ..< r1` is computed whole into a scratch tile and only its rows in range are stored.
static void matmul_r8(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x, size_t x_stride,
                      int64_t nb, float *y, int64_t ldy) {
    const int q4 = type == KT_Q4_0_R8;
    const int vnni = kt_use_vnni();
    const r8_tile_fn *tiles = q4 ? (vnni == 1 ? q4_0_r8_vnni_tiles : vnni == 2 ? q4_0_r8_vnni512_tiles : q4_0_r8_tiles)
                                 : (vnni == 1 ? q8_0_r8_vnni_tiles : vnni == 2 ? q8_0_r8_vnni512_tiles : q8_0_r8_tiles);
    const int64_t nblocks = n / KT_QK8_0;
    const size_t group_bytes = 8 * kt_row_bytes(type, n);
    const int64_t chunk = activation_chunk(kt_row_bytes(KT_Q8_0, n));
    const char *xb = x;
    for (int64_t b0 = 0; b0 < nb; b0 += chunk) {
        const int64_t b1 = b0 + chunk < nb ? b0 + chunk : nb;
        for (int64_t g = r0 / 8; g * 8 < r1; g++) {
            const char *wg = (const char *)w + (size_t)g * group_bytes;
            const int whole = g * 8 >= r0 && g * 8 + 8 <= r1;
            for (int64_t b = b0; b < b1; b += KT_R8_NR) {
                const int64_t rn = b1 - b < KT_R8_NR ? b1 - b : KT_R8_NR;
                if (whole) {
                    tiles[rn - 1](nblocks, wg, xb + (size_t)b * x_stride, x_stride, y + b * ldy + g * 8, ldy);
                    continue;
                }
                float scratch[KT_R8_MAX_RN * 8];
                tiles[rn - 1](nblocks, wg, xb + (size_t)b * x_stride, x_stride, scratch, 8);
                for (int64_t j = 0; j < rn; j++) {
                    for (int64_t r = g * 8; r < g * 8 + 8; r++) {
                        if (r >= r0 && r < r1) {
                            y[(b + j) * ldy + r] = scratch[j * 8 + (r - g * 8)];
                        }
                    }
                }
            }
        }
    }
}

int kt_matmul_avx2(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x, size_t x_stride,
                   int64_t nb, float *y, int64_t ldy) {
    if (type == KT_Q8_0_R8 || type == KT_Q4_0_R8) {
        matmul_r8(type, n, w, r0, r1, x, x_stride, nb, y, ldy);
        return 1;
    }
    const size_t row_bytes = kt_row_bytes(type, n);
    const char *wb = w;
    const char *xb = x;
    const int64_t chunk = activation_chunk(kt_row_bytes(kt_activation_type(type), n));
    if (type == KT_Q4_K || type == KT_Q6_K) {
        const ktile_fn *ktiles = type == KT_Q4_K ? q4_K_tiles : q6_K_tiles;
        for (int64_t b0 = 0; b0 < nb; b0 += chunk) {
            const int64_t b1 = b0 + chunk < nb ? b0 + chunk : nb;
            for (int64_t r = r0; r < r1; r++) {
                for (int64_t b = b0; b < b1; b += 4) {
                    const int64_t rn = b1 - b < 4 ? b1 - b : 4;
                    ktiles[rn - 1](n, wb + (size_t)r * row_bytes, xb + (size_t)b * x_stride, x_stride, y + b * ldy + r,
                                   ldy);
                }
            }
        }
        return 1;
    }
    const tile_fn(*tiles)[KT_MAX_RN] = tiles_for(type);
    if (tiles == NULL) {
        return 0;
    }
    int64_t mr, nr;
    const int float_weights = type == KT_F32 || type == KT_F16 || type == KT_BF16;
    const int wide = kt_use_avx512();
    switch (type) {
    case KT_F32: mr = wide ? KT_F32_MR512 : KT_F32_MR, nr = wide ? KT_F32_NR512 : KT_F32_NR; break;
    case KT_F16: mr = wide ? KT_F16_MR512 : KT_F16_MR, nr = wide ? KT_F16_NR512 : KT_F16_NR; break;
    case KT_BF16: mr = wide ? KT_BF16_MR512 : KT_BF16_MR, nr = wide ? KT_BF16_NR512 : KT_BF16_NR; break;
    case KT_Q8_0: mr = KT_Q8_0_MR, nr = KT_Q8_0_NR; break;
    default: mr = KT_Q4_0_MR, nr = KT_Q4_0_NR; break;
    }
    for (int64_t b0 = 0; b0 < nb; b0 += chunk) {
        const int64_t b1 = b0 + chunk < nb ? b0 + chunk : nb;
        // A tile of rows meets every activation of the chunk (its weights stay in L1), in groups of `nr`; a single
        // activation (decode) takes float rows one at a time, one sequential stream the hardware prefetcher follows
        // (F16, 415M model, one thread: 13.8 tok/s with 8 rows and software prefetch, 21.4 one row without, llama.cpp
        // 24.0), and 8 Q8_0/Q4_0 rows at a time with software prefetch (below).
        const int64_t rows = b1 - b0 == 1 ? (float_weights ? 1 : 8) : mr;
        for (int64_t r = r0; r < r1; r += rows) {
            const int64_t rm = r1 - r < rows ? r1 - r : rows;
            for (int64_t b = b0; b < b1; b += nr) {
                const int64_t rn = b1 - b < nr ? b1 - b : nr;
                tiles[rm - 1][rn - 1](n, wb + (size_t)r * row_bytes, row_bytes, xb + (size_t)b * x_stride, x_stride,
                                      y + b * ldy + r, ldy);
            }
        }
    }
    return 1;
}
#endif
