// Row-interleaved Q8_0 and Q4_0 (`KT_Q8_0_R8`, `KT_Q4_0_R8`): the layout, the conversion from and to ggml's blocks,
// and the scalar reference product. The SIMD tile is kt_tile_r8.h.
//
// Why: in ggml's layout each output's 32-block sum is spread over 8 int32 lanes that must be reduced, scaled and
// accumulated one output at a time (kt_tile_q8.h: 4-5 vector operations per output and block). Interleaving 8 rows,
// 4 bytes at a time, puts one row in each lane, so a block's integer sums of 8 rows come out whole and their scaling
// is one vector operation for 8 outputs. llama.cpp repacks Q4_0 the same way for its CPU back end
// (`block_q4_0x8`, ggml-cpu's repack.cpp); this layout is our own, chosen for `vpdpbusd` with the activation's 4
// bytes broadcast.
//
// A tensor of R rows (R a multiple of 8) and n columns keeps ggml's size: group g (rows 8g ..< 8g + 8) is
// `row_bytes(n) * 8` bytes at `g * 8 * row_bytes(n)`, block by block; group block b is the 8 rows' F16 scales
// (16 bytes), then for Q8_0 8 vectors of 32 bytes (vector k, bytes 4r ..< 4r + 4: row r's elements 4k ..< 4k + 4), and
// for Q4_0 4 vectors (vector k, bytes 4r ..< 4r + 4: row r's packed bytes 4k ..< 4k + 4, whose low nibbles are
// elements 4k ..< 4k + 4 and high nibbles elements 16 + 4k ..< 16 + 4k + 4, as in ggml's block).
#include "kt_internal.h"

#include <math.h>

#pragma STDC FP_CONTRACT OFF

static int is_q4(kt_type type) { return type == KT_Q4_0_R8 || type == KT_Q4_0; }

static size_t group_block_bytes(kt_type type) { return is_q4(type) ? KT_R8_GROUP_Q4_0 : KT_R8_GROUP_Q8_0; }

kt_type kt_interleaved_type(kt_type type) {
    switch (type) {
    case KT_Q8_0: return KT_Q8_0_R8;
    case KT_Q4_0: return KT_Q4_0_R8;
    default: return type;
    }
}

/// The byte of row `lane`'s block at `offset` (past the scale) within a group block.
static size_t interleaved_offset(size_t offset, int lane) { return 16 + (offset / 4) * 32 + (size_t)lane * 4 + offset % 4; }

/// Moves groups `g0 ..< g1` between ggml's rows (`rows`) and the interleaved layout (`groups`), in the direction
/// `interleave` says; `type` is the ggml type.
static void move_groups(kt_type type, const char *src, char *dst, int64_t g0, int64_t g1, int64_t n, int interleave) {
    const int64_t nblocks = n / KT_QK8_0;
    const size_t block = kt_block_bytes(type);
    const size_t quants = block - 2;
    const size_t row_bytes = kt_row_bytes(type, n);
    for (int64_t g = g0; g < g1; g++) {
        const size_t group = (size_t)g * 8 * row_bytes;
        for (int64_t b = 0; b < nblocks; b++) {
            const size_t interleaved = group + (size_t)b * 8 * block;
            for (int lane = 0; lane < 8; lane++) {
                const size_t row = group + (size_t)lane * row_bytes + (size_t)b * block;
                if (interleave) {
                    memcpy(dst + interleaved + 2 * lane, src + row, 2);
                } else {
                    memcpy(dst + row, src + interleaved + 2 * lane, 2);
                }
                for (size_t t = 0; t < quants; t += 4) {
                    const size_t at = interleaved + interleaved_offset(t, lane);
                    if (interleave) {
                        memcpy(dst + at, src + row + 2 + t, 4);
                    } else {
                        memcpy(dst + row + 2 + t, src + at, 4);
                    }
                }
            }
        }
    }
}

int kt_interleave_rows(kt_type type, const void *src, void *dst, int64_t g0, int64_t g1, int64_t n) {
    if (type != KT_Q8_0 && type != KT_Q4_0) {
        return 0;
    }
    move_groups(type, src, dst, g0, g1, n, 1);
    return 1;
}

int kt_deinterleave_rows(kt_type type, const void *src, void *dst, int64_t g0, int64_t g1, int64_t n) {
    if (type != KT_Q8_0_R8 && type != KT_Q4_0_R8) {
        return 0;
    }
    move_groups(type == KT_Q8_0_R8 ? KT_Q8_0 : KT_Q4_0, src, dst, g0, g1, n, 0);
    return 1;
}

/// Row `lane`'s weights of one group block as integers (Q4_0 already minus 8).
static void group_block_values(int q4, const uint8_t *block, int lane, int values[32]) {
    for (int e = 0; e < 16; e++) {
        if (q4) {
            const uint8_t packed = block[interleaved_offset((size_t)e, lane)];
            values[e] = (packed & 0x0F) - 8;
            values[e + 16] = (packed >> 4) - 8;
        } else {
            values[e] = (int8_t)block[interleaved_offset((size_t)e, lane)];
            values[e + 16] = (int8_t)block[interleaved_offset((size_t)e + 16, lane)];
        }
    }
}

void kt_matmul_r8_scalar(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x,
                         size_t x_stride, int64_t nb, float *y, int64_t ldy) {
    const int q4 = is_q4(type);
    const int64_t nblocks = n / KT_QK8_0;
    const size_t row_bytes = kt_row_bytes(type, n);
    const size_t group_block = group_block_bytes(type);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *group = (const uint8_t *)w + (size_t)(r / 8) * 8 * row_bytes;
        const int lane = (int)(r % 8);
        for (int64_t j = 0; j < nb; j++) {
            const kt_block_q8_0 *xb = (const kt_block_q8_0 *)((const char *)x + (size_t)j * x_stride);
            float acc = 0.0f;
            for (int64_t b = 0; b < nblocks; b++) {
                const uint8_t *block = group + (size_t)b * group_block;
                uint16_t d;
                memcpy(&d, block + 2 * lane, 2);
                int values[32];
                group_block_values(q4, block, lane, values);
                int isum = 0;
                for (int e = 0; e < 32; e++) {
                    isum += values[e] * xb[b].qs[e];
                }
                acc = fmaf((float)isum, kt_f16_to_f32(d) * kt_f16_to_f32(xb[b].d), acc);
            }
            y[j * ldy + r] = acc;
        }
    }
}
