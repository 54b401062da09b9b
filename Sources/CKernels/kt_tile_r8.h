// The row-interleaved Q8_0/Q4_0 tile (`KT_Q8_0_R8`, `KT_Q4_0_R8`, kt_r8.c): the hot loop of prefill and decode on
// 8-bit and 4-bit weights, in this one place. Included by kt_dot_avx2.c once per instruction set (no include guard),
// with
//   KT_R8_NAME            the function's name,
//   KT_R8_ATTR            its attributes (always inlined, the target's extensions),
//   KT_R8_VNNI            1 where `KT_R8_DOT(acc, u, s)` is one `vpdpbusd` (acc + the sums of 4 products of unsigned
//                         bytes `u` and signed bytes `s` in each of 8 int32 lanes), 0 for AVX2's
//                         `maddubs` + `madd`, which needs the unsigned operand below 129 (llama.cpp's sign trick).
//
// A group of 8 weight rows is one 32-byte vector per 4 consecutive elements: lane r holds row r's 4 bytes. So each
// int32 lane accumulates one row's products with the activation's 4 bytes broadcast, and after a block's 8 (Q8_0)
// or 4 (Q4_0, both nibbles) vectors lane r holds the exact integer sum of row r's 32 products. Then one conversion,
// one product of the 8 rows' scales with the activation's scale and one fused multiply-add give 8 outputs at once:
// `acc = fma((float)isum, d_w * d_x, acc)` per block, in block order, which is what the scalar reference
// (kt_r8.c) computes, so every output has the bits of the 1-activation (decode) case whatever the batch.

KT_R8_ATTR void KT_R8_NAME(int q4, int RN, int64_t nblocks, const char *w, const char *x, size_t x_stride,
                           float *out, int64_t ldo) {
    __m256 acc[KT_R8_MAX_RN];
    for (int j = 0; j < RN; j++) {
        acc[j] = _mm256_setzero_ps();
    }
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i ones8 = _mm256_set1_epi8(1);
    const __m256i ones16 = _mm256_set1_epi16(1);
    const size_t group_block = q4 ? KT_R8_GROUP_Q4_0 : KT_R8_GROUP_Q8_0;
    for (int64_t b = 0; b < nblocks; b++) {
        const char *g = w + (size_t)b * group_block;
        _mm_prefetch(g + KT_R8_PREFETCH * group_block, _MM_HINT_T0);
        _mm_prefetch(g + KT_R8_PREFETCH * group_block + 64, _MM_HINT_T0);
        _mm_prefetch(g + KT_R8_PREFETCH * group_block + 128, _MM_HINT_T0);
        if (!q4) {
            _mm_prefetch(g + KT_R8_PREFETCH * group_block + 192, _MM_HINT_T0);
            _mm_prefetch(g + KT_R8_PREFETCH * group_block + 256, _MM_HINT_T0);
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g));
        const uint8_t *qs = (const uint8_t *)g + 16;
        const int8_t *xq[KT_R8_MAX_RN];
        __m256i isum[KT_R8_MAX_RN];
        for (int j = 0; j < RN; j++) {
            const kt_block_q8_0 *xb = (const kt_block_q8_0 *)(x + (size_t)j * x_stride) + b;
            xq[j] = xb->qs;
            // The integer sums start at the offset correction: Q4_0 stores q = value + 8, and VNNI multiplies Q8_0's
            // values + 128 (unsigned), so each product carries `offset * x`; subtracting `offset * sum(x)` once makes
            // the lanes exact.
            const int offset = q4 ? 8 : KT_R8_VNNI ? 128 : 0;
            if (offset) {
                const __m256i qx = _mm256_loadu_si256((const __m256i *)xb->qs);
                const int sum = hsum_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, qx), ones16));
                isum[j] = _mm256_set1_epi32(-offset * sum);
            } else {
                isum[j] = _mm256_setzero_si256();
            }
        }
        if (q4) {
            for (int k = 0; k < 4; k++) {
                const __m256i packed = _mm256_loadu_si256((const __m256i *)(qs + 32 * k));
                const __m256i lo = _mm256_and_si256(packed, low);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
                for (int j = 0; j < RN; j++) {
                    int32_t a, c;
                    memcpy(&a, xq[j] + 4 * k, 4);
                    memcpy(&c, xq[j] + 16 + 4 * k, 4);
                    isum[j] = KT_R8_DOT(isum[j], lo, _mm256_set1_epi32(a));
                    isum[j] = KT_R8_DOT(isum[j], hi, _mm256_set1_epi32(c));
                }
            }
        } else {
            for (int k = 0; k < 8; k++) {
                const __m256i qw = _mm256_loadu_si256((const __m256i *)(qs + 32 * k));
#if KT_R8_VNNI
                const __m256i uw = _mm256_xor_si256(qw, _mm256_set1_epi8((char)0x80));
#else
                const __m256i aw = _mm256_sign_epi8(qw, qw);
#endif
                for (int j = 0; j < RN; j++) {
                    int32_t a;
                    memcpy(&a, xq[j] + 4 * k, 4);
#if KT_R8_VNNI
                    isum[j] = KT_R8_DOT(isum[j], uw, _mm256_set1_epi32(a));
#else
                    isum[j] = KT_R8_DOT(isum[j], aw, _mm256_sign_epi8(_mm256_set1_epi32(a), qw));
#endif
                }
            }
        }
        for (int j = 0; j < RN; j++) {
            const __m256 dx = f16_scale_at(x + (size_t)j * x_stride + (size_t)b * sizeof(kt_block_q8_0));
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_mul_ps(dw, dx), acc[j]);
        }
    }
    for (int j = 0; j < RN; j++) {
        _mm256_storeu_ps(out + (int64_t)j * ldo, acc[j]);
    }
}
