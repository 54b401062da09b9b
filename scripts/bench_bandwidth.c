// Read bandwidth of this machine with N threads (bench-engine's bound for decoding): each thread sums its share of a
// 1 GiB buffer with 256-bit loads, best of 5 passes. Prints GB/s.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES ((size_t)1 << 30)

static float *buffer;
static int threads;
static float sink[64];

static void *reader(void *arg) {
    long t = (long)arg;
    size_t n = BYTES / sizeof(float) / threads;
    const float *p = buffer + n * t;
    __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a = _mm256_add_ps(a, _mm256_load_ps(p + i));
        b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
        c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
        d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
    for (int i = 0; i < 8; i++) sink[t] += out[i];
    return NULL;
}

int main(int argc, char **argv) {
    threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || threads > 64) threads = 1;
    buffer = aligned_alloc(64, BYTES);
    for (size_t i = 0; i < BYTES / sizeof(float); i++) buffer[i] = (float)(i & 1023);
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pthread_t ids[64];
        for (long t = 0; t < threads; t++) pthread_create(&ids[t], NULL, reader, (void *)t);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (BYTES / s / 1e9 > best) best = BYTES / s / 1e9;
    }
    float total = 0;
    for (int t = 0; t < threads; t++) total += sink[t];
    printf("%.2f GB/s (checksum %g)\n", best, total);
    return 0;
}
