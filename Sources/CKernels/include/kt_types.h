// Tensor element types (ggml's block formats and numbering) and their kernels: dequantization, reference
// quantization, dot products and matrix products against activations.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types, numbered as ggml's `ggml_type`, so a GGUF tensor's type id is its `kt_type`.
typedef enum {
    KT_F32 = 0,
    KT_F16 = 1,
    KT_Q4_0 = 2,
    KT_Q8_0 = 8,
    KT_Q4_K = 12,
    KT_Q6_K = 14,
    KT_Q8_K = 15,
    KT_BF16 = 30,
    /// Q4_0 and Q8_0 with 8 rows interleaved for the matrix product (kt_r8.c); the engine's own, never in a file.
    KT_Q4_0_R8 = 1002,
    KT_Q8_0_R8 = 1008,
} kt_type;

/// 1 where this library computes with `type` (any value, for instance a GGUF type id), else 0.
int kt_type_supported(int type);
/// The type's name as ggml prints it ("f32", "q4_K", ...); "unknown" otherwise.
const char *kt_type_name(int type);
/// Elements per block: 1 (F32, F16, BF16), 32 (Q4_0, Q8_0) or 256 (K quants).
int64_t kt_block_elements(kt_type type);
/// Bytes per block.
size_t kt_block_bytes(kt_type type);
/// Bytes of a row of `n` elements (`n` a multiple of the block).
size_t kt_row_bytes(kt_type type, int64_t n);
/// The format activations take for products with weights of `type`: F32 for F32/F16/BF16, Q8_0 for Q4_0/Q8_0,
/// Q8_K for Q4_K/Q6_K (as ggml's `vec_dot_type`).
kt_type kt_activation_type(kt_type weight);

/// Widens a row of `n` elements to F32.
void kt_dequantize_row(kt_type type, const void *src, float *dst, int64_t n);
/// Quantizes a row of `n` F32 elements, bit for bit as ggml's reference quantizers (`quantize_row_*_ref`, also
/// gguf-py's `quants.py`). Returns 0, or -1 for a type with no quantizer here.
int kt_quantize_row(kt_type type, const float *src, void *dst, int64_t n);

/// The dot product of one weight row of `type` with one activation row in `kt_activation_type(type)`.
float kt_vec_dot(kt_type type, int64_t n, const void *w, const void *x);

/// `y[b * ldy + r] = dot(W[r], X[b])` for weight rows `r0 ..< r1` and activations `b` in `0 ..< nb`.
/// Weight rows lie `kt_row_bytes(type, n)` apart from `w` (row 0); activation rows, already in
/// `kt_activation_type(type)`, lie `x_stride` bytes apart. Every output has the same bits as `kt_vec_dot` of its
/// row and activation, whatever `nb`, the row range or the tiling (batching changes no result).
void kt_matmul(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x, size_t x_stride,
               int64_t nb, float *y, int64_t ldy);

/// The interleaved type for the matrix products of `type` (`KT_Q8_0_R8` for `KT_Q8_0`, `KT_Q4_0_R8` for
/// `KT_Q4_0`), else `type` itself. An interleaved tensor has the size of its ggml one, its rows a multiple of 8; only
/// `kt_matmul` reads it (with every output the bits of that product at any `nb` and row range), and
/// `kt_deinterleave_rows` turns it back.
kt_type kt_interleaved_type(kt_type type);
/// Interleaves groups `g0 ..< g1` of 8 rows of `n` elements of a `KT_Q8_0` or `KT_Q4_0` tensor at `src` into `dst`
/// (the same offsets, no overlap). Returns 1, or 0 for another type.
int kt_interleave_rows(kt_type type, const void *src, void *dst, int64_t g0, int64_t g1, int64_t n);
/// The inverse of `kt_interleave_rows` for `KT_Q8_0_R8` or `KT_Q4_0_R8` at `src`: ggml's rows into `dst`.
int kt_deinterleave_rows(kt_type type, const void *src, void *dst, int64_t g0, int64_t g1, int64_t n);

/// 1 where the CPU runs the AVX2/FMA/F16C paths.
int kt_cpu_has_avx2(void);
/// Forces the portable scalar paths (1) or the best available (0) on the calling thread; for tests that compare them.
void kt_force_scalar(int on);
/// The VNNI instructions the CPU has for 256-bit vectors, as a mask: 1 AVX-VNNI, 2 AVX512-VNNI with AVX512VL (0 also
/// without AVX2). The Q8_0/Q4_0 products use them; the results are the same bits as without.
int kt_cpu_vnni(void);
/// Makes the Q8_0/Q4_0 products on the calling thread use VNNI flavour 1 or 2 (if the CPU has it, else none), none
/// (0), or the best available (-1, the default); for tests and benchmarks that compare them.
void kt_force_vnni(int flavour);
/// 1 where the CPU has AVX-512 F and VL, which the F32/F16/BF16 products use (16 lanes: other bits than the 8-lane
/// AVX2 path, the same bits for every tile and `kt_vec_dot` on one machine).
int kt_cpu_has_avx512(void);
/// Makes the float products on the calling thread use 512-bit vectors where the CPU has them (1, the default) or
/// the AVX2 path (0); for tests and benchmarks that compare them.
void kt_force_avx512(int on);

#ifdef __cplusplus
}
#endif
