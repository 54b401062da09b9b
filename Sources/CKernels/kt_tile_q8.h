// The Q8_0/Q4_0 x Q8_0 tile: the hot loop of the 8-bit and 4-bit products, in this one place. Included by
// kt_dot_avx2.c once per instruction set (no include guard), with
//   KT_Q8_NAME          the function's name,
//   KT_Q8_ATTR          its attributes (always inlined, the target's extensions),
//   KT_Q8_DOT4(u, s)    8 lanes of int32, each the exact sum of 4 products of unsigned bytes `u` and signed bytes `s`:
//                       `madd(maddubs(u, s), 1)` on AVX2 (no pair of products reaches the int16 saturation here:
//                       |u| <= 128, |s| <= 127 for Q8_0's sign trick, u <= 15 for Q4_0), `dpbusd` with VNNI.
// Every variant computes the same integers and then the same floating-point steps, so their results are identical
// bit for bit (KernelTests checks it where the CPU has VNNI).

/// One 32-block of a Q8_0 or Q4_0 row times one Q8_0 activation block, as 8 lanes of exact integer sums (each the
/// sum of 4 products), converted to F32.
///  - Q8_0: llama.cpp's sign trick, `maddubs(|w|, x * sign(w))` (|x| <= 127, so the sign never overflows; w = -128
///    works, as |w| = 128 unsigned);
///  - Q4_0: the unsigned nibbles q directly, `maddubs(q, x) - 8 * (sums of 4 x)` (`x8` holds that correction per
///    activation block), which gives the lanes of `(q - 8) * x` exactly.

KT_Q8_ATTR void KT_Q8_NAME(int q4, int RM, int RN, int64_t nblocks, const char *w, size_t w_stride, const char *x,
                       size_t x_stride, float *y, int64_t ldy) {
    __m256 acc[KT_MAX_RM][KT_MAX_RN];
    for (int i = 0; i < RM; i++) {
        for (int j = 0; j < RN; j++) {
            acc[i][j] = _mm256_setzero_ps();
        }
    }
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < nblocks; b++) {
        __m256i qx[KT_MAX_RN];
        __m256i x8[KT_MAX_RN];
        __m256 dx[KT_MAX_RN];
        for (int j = 0; j < RN; j++) {
            const kt_block_q8_0 *xb = (const kt_block_q8_0 *)(x + (size_t)j * x_stride) + b;
            qx[j] = _mm256_loadu_si256((const __m256i *)xb->qs);
            dx[j] = f16_scale_at(xb);
            if (q4) {
                x8[j] = KT_Q8_DOT4(_mm256_set1_epi8(8), qx[j]);
            }
        }
        for (int i = 0; i < RM; i++) {
            if (q4) {
                const kt_block_q4_0 *wb = (const kt_block_q4_0 *)(w + (size_t)i * w_stride) + b;
                _mm_prefetch((const char *)wb + KT_PREFETCH_TILE * w_stride, _MM_HINT_T0);
                const __m256 dwv = f16_scale_at(wb);
                const __m128i packed = _mm_loadu_si128((const __m128i *)wb->qs);
                const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low);
                for (int j = 0; j < RN; j++) {
                    const __m256i s = _mm256_sub_epi32(KT_Q8_DOT4(q, qx[j]), x8[j]);
                    acc[i][j] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), dwv), dx[j], acc[i][j]);
                }
            } else {
                const kt_block_q8_0 *wb = (const kt_block_q8_0 *)(w + (size_t)i * w_stride) + b;
                _mm_prefetch((const char *)wb + KT_PREFETCH_TILE * w_stride, _MM_HINT_T0);
                const __m256 dwv = f16_scale_at(wb);
                const __m256i qw = _mm256_loadu_si256((const __m256i *)wb->qs);
                const __m256i aw = _mm256_sign_epi8(qw, qw);
                for (int j = 0; j < RN; j++) {
                    const __m256i s = KT_Q8_DOT4(aw, _mm256_sign_epi8(qx[j], qw));
                    acc[i][j] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), dwv), dx[j], acc[i][j]);
                }
            }
        }
    }
    for (int i = 0; i < RM; i++) {
        for (int j = 0; j < RN; j++) {
            y[(int64_t)j * ldy + i] = hsum_ps(acc[i][j]);
        }
    }
}
