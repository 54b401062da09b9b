// Per-token vector operations of the model graph: attention over the KV cache, RMSNorm, rotary embeddings, the
// SiLU-gated product, and the spin hint of the worker pool. Plain C with AVX2/FMA/F16C intrinsics behind run-time
// dispatch (`__attribute__((target(...)))` + `__builtin_cpu_supports`), and a portable scalar path that is the
// reference in tests.
//
// Why C rather than Swift SIMD: the F16 KV cache needs the F16C conversion instructions (`vcvtph2ps`), which Swift's
// SIMD types cannot express, and run-time dispatch keeps one binary correct on any x86-64 while using the vector
// units where the CPU has them, as the tensor kernels of kt_types.h do.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Version marker of this header's functions.
int kt_ops_version(void);

/// The portable scalar paths of the operations below, callable directly (tests compare them with the dispatched
/// paths without flipping any process-wide switch).
void kt_rms_norm_ref(const float *x, const float *w, float *y, int64_t n, float eps);
/// Scalar `kt_silu_mul`.
void kt_silu_mul_ref(const float *g, const float *u, float *y, int64_t n);
/// Scalar `kt_attention`.
void kt_attention_ref(const float *q, int64_t nq, int64_t q_stride, const void *k, const void *v, int kv_type,
                      int64_t head_dim, int64_t n, float scale, float *out, int64_t out_stride);

/// A spin-wait hint (`pause` on x86-64) for the worker pool's barrier.
void kt_cpu_relax(void);

/// `y[i] = w[i] * (x[i] / sqrt(mean(x²) + eps))` over `n` elements (`x` and `y` may be the same).
void kt_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps);

/// `kt_rms_norm` writing only `y[begin ..< end]` (the scale still comes from all `n` elements); every element has
/// the same bits as in `kt_rms_norm`, so workers can share a row.
void kt_rms_norm_range(const float *x, const float *w, float *y, int64_t n, float eps, int64_t begin, int64_t end);

/// Rotates `heads` consecutive heads of `head_dim` elements in place by the angles whose cosines and sines
/// (`head_dim / 2` each) are given. `interleaved` 0 pairs element `i` with `i + head_dim / 2` (transformers'
/// `rotate_half`); 1 pairs `2i` with `2i + 1` (llama.cpp's layout for Llama Q/K rows, permuted by its converter).
void kt_rope(float *x, int64_t heads, int64_t head_dim, const float *cos, const float *sin, int interleaved);

/// `y[i] = g[i] / (1 + exp(-g[i])) * u[i]` over `n` elements.
void kt_silu_mul(const float *g, const float *u, float *y, int64_t n);

/// `exp(x)` as the vector paths compute it (a degree-7 polynomial after range reduction, within 2 ulp of `expf`);
/// the scalar path uses the same polynomial.
float kt_exp(float x);

/// Causal attention of `nq` query heads that share one key/value head, over `n` cached positions.
///
/// Query `i` is `q + i * q_stride` (`head_dim` floats); keys and values are `n` contiguous rows of `head_dim`
/// elements of `kv_type` (0 = F32, 1 = F16, ggml's numbering); output `i` goes to `out + i * out_stride`.
/// Computes `softmax(q·kᵀ · scale) v` with an online softmax over blocks of keys (no scratch, no allocation).
/// Every query's result has the same bits whatever `nq`, so grouping heads changes nothing. `head_dim` ≤ 512.
void kt_attention(const float *q, int64_t nq, int64_t q_stride, const void *k, const void *v, int kv_type,
                  int64_t head_dim, int64_t n, float scale, float *out, int64_t out_stride);

/// Converts `n` floats to IEEE half precision (round to nearest even, as F16C's `vcvtps2ph`), for the F16 KV cache;
/// elements past the last multiple of 8 take the scalar path.
void kt_store_f16(const float *src, uint16_t *dst, int64_t n);

/// Widens `n` IEEE half-precision values to F32.
void kt_load_f16(const uint16_t *src, float *dst, int64_t n);

#ifdef __cplusplus
}
#endif
