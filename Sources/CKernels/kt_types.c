// Type table and the public entry points: each picks the AVX2 path where the CPU has it, else the scalar one.
#include "kt_internal.h"

int kt_type_supported(int type) {
    switch (type) {
    case KT_F32: case KT_F16: case KT_BF16: case KT_Q4_0: case KT_Q8_0: case KT_Q4_K: case KT_Q6_K: case KT_Q8_K:
        return 1;
    default:
        return 0;
    }
}

const char *kt_type_name(int type) {
    switch (type) {
    case KT_F32: return "f32";
    case KT_F16: return "f16";
    case KT_BF16: return "bf16";
    case KT_Q4_0: return "q4_0";
    case KT_Q8_0: return "q8_0";
    case KT_Q4_K: return "q4_K";
    case KT_Q6_K: return "q6_K";
    case KT_Q8_K: return "q8_K";
    case KT_Q4_0_R8: return "q4_0_r8";
    case KT_Q8_0_R8: return "q8_0_r8";
    default: return "unknown";
    }
}

int64_t kt_block_elements(kt_type type) {
    switch (type) {
    case KT_Q4_0: case KT_Q4_0_R8: return KT_QK4_0;
    case KT_Q8_0: case KT_Q8_0_R8: return KT_QK8_0;
    case KT_Q4_K: case KT_Q6_K: case KT_Q8_K: return KT_QK_K;
    default: return 1;
    }
}

size_t kt_block_bytes(kt_type type) {
    switch (type) {
    case KT_F32: return 4;
    case KT_F16: case KT_BF16: return 2;
    case KT_Q4_0: case KT_Q4_0_R8: return sizeof(kt_block_q4_0);
    case KT_Q8_0: case KT_Q8_0_R8: return sizeof(kt_block_q8_0);
    case KT_Q4_K: return sizeof(kt_block_q4_K);
    case KT_Q6_K: return sizeof(kt_block_q6_K);
    case KT_Q8_K: return sizeof(kt_block_q8_K);
    default: return 0;
    }
}

size_t kt_row_bytes(kt_type type, int64_t n) { return (size_t)(n / kt_block_elements(type)) * kt_block_bytes(type); }

kt_type kt_activation_type(kt_type weight) {
    switch (weight) {
    case KT_Q4_0: case KT_Q8_0: case KT_Q4_0_R8: case KT_Q8_0_R8: return KT_Q8_0;
    case KT_Q4_K: case KT_Q6_K: case KT_Q8_K: return KT_Q8_K;
    default: return KT_F32;
    }
}

// Run-time dispatch: the CPU is probed once (racing first calls store the same value; relaxed atomics keep that
// defined); `kt_force_scalar` overrides for tests, on the calling thread only, so a test comparing the paths never
// changes the path of work running on other threads (the engine's workers, other test suites).
static int cpu_state = -1;  // -1 unprobed, 0 scalar only, 1 AVX2/FMA/F16C
static _Thread_local int forced_scalar = 0;

int kt_cpu_has_avx2(void) {
    int state = __atomic_load_n(&cpu_state, __ATOMIC_RELAXED);
    if (state < 0) {
#if defined(__x86_64__)
        __builtin_cpu_init();
        state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
        state = 0;
#endif
        __atomic_store_n(&cpu_state, state, __ATOMIC_RELAXED);
    }
    return state;
}

void kt_force_scalar(int on) { forced_scalar = on ? 1 : 0; }

// VNNI for 256-bit vectors, probed once like the above: a mask of 1 (AVX-VNNI, VEX) and 2 (AVX512-VNNI with
// AVX512VL, EVEX); `kt_force_vnni` chooses one of them, or none, on the calling thread.
static int vnni_state = -1;
static _Thread_local int forced_vnni = -1;

int kt_cpu_vnni(void) {
    int state = __atomic_load_n(&vnni_state, __ATOMIC_RELAXED);
    if (state < 0) {
        state = 0;
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (kt_cpu_has_avx2() && __builtin_cpu_supports("avxvnni")) {
            state |= 1;
        }
        if (kt_cpu_has_avx2() && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")) {
            state |= 2;
        }
#endif
        __atomic_store_n(&vnni_state, state, __ATOMIC_RELAXED);
    }
    return state;
}

void kt_force_vnni(int flavour) { forced_vnni = flavour; }

int kt_use_vnni(void) {
    const int available = kt_cpu_vnni();
    if (forced_vnni >= 0) {
        return (forced_vnni & available) == forced_vnni ? forced_vnni : 0;
    }
    return (available & 1) ? 1 : (available & 2) ? 2 : 0;
}

// AVX-512 F and VL, probed once like the above; `kt_force_avx512(0)` turns its use off on the calling thread.
static int avx512_state = -1;
static _Thread_local int avx512_off = 0;

int kt_cpu_has_avx512(void) {
    int state = __atomic_load_n(&avx512_state, __ATOMIC_RELAXED);
    if (state < 0) {
        state = 0;
#if defined(__x86_64__)
        __builtin_cpu_init();
        state = kt_cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#endif
        __atomic_store_n(&avx512_state, state, __ATOMIC_RELAXED);
    }
    return state;
}

void kt_force_avx512(int on) { avx512_off = on ? 0 : 1; }

int kt_use_avx512(void) { return !avx512_off && kt_cpu_has_avx512(); }

int kt_use_simd(void) { return !forced_scalar && kt_cpu_has_avx2(); }

float kt_vec_dot(kt_type type, int64_t n, const void *w, const void *x) {
#if defined(__x86_64__)
    float result;
    if (kt_use_simd() && kt_vec_dot_avx2(type, n, w, x, &result)) {
        return result;
    }
#endif
    return kt_vec_dot_scalar(type, n, w, x);
}

void kt_matmul(kt_type type, int64_t n, const void *w, int64_t r0, int64_t r1, const void *x, size_t x_stride,
               int64_t nb, float *y, int64_t ldy) {
    if (r1 <= r0 || nb <= 0) {
        return;
    }
#if defined(__x86_64__)
    if (kt_use_simd() && kt_matmul_avx2(type, n, w, r0, r1, x, x_stride, nb, y, ldy)) {
        return;
    }
#endif
    if (type == KT_Q8_0_R8 || type == KT_Q4_0_R8) {
        kt_matmul_r8_scalar(type, n, w, r0, r1, x, x_stride, nb, y, ldy);
        return;
    }
    kt_matmul_scalar(type, n, w, r0, r1, x, x_stride, nb, y, ldy);
}
