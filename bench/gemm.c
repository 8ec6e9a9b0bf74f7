/* gemm.c — times the runtime's matrix products (xf_matmul, and xf_linear reading w as [n, k]) against
 * the reference loops they replaced, on the matrix shapes of the bench-size Llama, and prints
 * GFLOP/s. bench/gemm.sh builds it with the kernels of runtime/ and runs it; see bench/README.md.
 *
 *     gemm [M]      M rows of a (default 128, the prefill length; 1 is a decode step)
 *
 * Each figure is the best of several timed runs of about 0.1 s each: on a shared machine the
 * fastest run is the one least disturbed. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/kernels.h"

/* The loops before the blocked product, kept here to compare with: i-k-j for w [k, n], one dot
 * product per output for w [n, k]. */
static void old_matmul(float *restrict y, const float *restrict a, const float *restrict b, int64_t m, int64_t k,
                       int64_t n) {
    for (int64_t i = 0; i < m; i++) {
        float *yi = y + i * n;
        for (int64_t j = 0; j < n; j++) yi[j] = 0.0f;
        for (int64_t p = 0; p < k; p++) {
            float av = a[i * k + p];
            const float *bp = b + p * n;
            for (int64_t j = 0; j < n; j++) yi[j] += av * bp[j];
        }
    }
}

static void old_linear_nk(float *restrict y, const float *restrict x, const float *restrict w, int64_t m, int64_t k,
                          int64_t n) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) y[i * n + j] = xf_dot(x + i * k, w + j * k, k);
}

enum { OLD_MATMUL, NEW_MATMUL, OLD_LINEAR_NK, NEW_LINEAR_NK };

static void run(int which, float *y, const float *a, const float *b, int64_t m, int64_t k, int64_t n) {
    switch (which) {
    case OLD_MATMUL: old_matmul(y, a, b, m, k, n); break;
    case NEW_MATMUL: xf_matmul(y, a, b, 1, m, k, n, 0, 0); break;
    case OLD_LINEAR_NK: old_linear_nk(y, a, b, m, k, n); break;
    default: xf_linear(y, a, b, NULL, m, k, n, 0, 1); break;
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double gflops(int which, float *y, const float *a, const float *b, int64_t m, int64_t k, int64_t n) {
    int calls = 1;
    for (;;) { /* enough calls for about 0.1 s */
        double start = now();
        for (int c = 0; c < calls; c++) run(which, y, a, b, m, k, n);
        if (now() - start > 0.1) break;
        calls *= 2;
    }
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double start = now();
        for (int c = 0; c < calls; c++) run(which, y, a, b, m, k, n);
        double t = (now() - start) / calls;
        best = t < best ? t : best;
    }
    return 2.0 * (double)(m * k * n) / best * 1e-9;
}

int main(int argc, char **argv) {
    int64_t m = argc > 1 ? atoll(argv[1]) : 128;
    static const int64_t shapes[][2] = {{512, 512}, {512, 256}, {512, 1408}, {1408, 512}, {512, 8192}};
    printf("GFLOP/s, one thread, m = %lld\n", (long long)m);
    printf("%5s %5s | %12s %12s %7s | %12s %12s %7s\n", "k", "n", "matmul old", "new", "speedup", "w[n,k] old",
           "new", "speedup");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t k = shapes[s][0], n = shapes[s][1];
        float *a = malloc((size_t)(m * k) * sizeof(float)), *b = malloc((size_t)(k * n) * sizeof(float));
        float *y = malloc((size_t)(m * n) * sizeof(float));
        for (int64_t i = 0; i < m * k; i++) a[i] = (float)(i % 17) * 0.01f - 0.08f;
        for (int64_t i = 0; i < k * n; i++) b[i] = (float)(i % 13) * 0.01f - 0.06f;
        double g[4];
        for (int which = 0; which < 4; which++) g[which] = gflops(which, y, a, b, m, k, n);
        printf("%5lld %5lld | %12.1f %12.1f %6.1fx | %12.1f %12.1f %6.1fx\n", (long long)k, (long long)n, g[0], g[1],
               g[1] / g[0], g[2], g[3], g[3] / g[2]);
        free(a), free(b), free(y);
    }
    return 0;
}
