/* test_gemm.c — the blocked matrix product (xf_matmul_blocked in runtime/math.c) under xf_matmul
 * and xf_linear, against a plain triple loop written here that sums in double.
 *
 * The shapes are chosen to reach every edge of the blocking: m = 1, rows and columns that are not a
 * multiple of any tile size, k = 0, k below and above every slice depth (KC is 64 to 256), a block
 * of rows of a larger than one MC block, w stored [k, n] and [n, k], the bias, every activation,
 * and batches with and without broadcasting. Every output must be within a relative tolerance of
 * the reference, and nothing past the end of y may be written.
 *
 * The same file is built three ways (tests/CMakeLists.txt): with the library's flags (the portable
 * path, the one xfc folds constants with), with -march=native and with -mavx2 -mfma where the
 * machine runs them (the AVX-512 and AVX2 paths), and cross-compiled for aarch64 and run under
 * qemu-aarch64 where those are installed (the NEON path). So it is a plain program, not a Check
 * suite: it exits 1 and names the case on the first mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/kernels.h"

#define GUARD 64 /* elements past the end of y that must stay untouched */
#define SENTINEL 12345.0f

static uint32_t seed = 1;
static float random_value(void) { /* uniform in [-1, 1), the same sequence on every machine */
    seed = seed * 1664525u + 1013904223u;
    return (float)(seed >> 8) / 8388608.0f - 1.0f;
}

static float *random_array(int64_t count) {
    float *x = malloc((size_t)(count ? count : 1) * sizeof(float));
    for (int64_t i = 0; i < count; i++) x[i] = random_value();
    return x;
}

static double activate(double v, int activation) {
    switch (activation) {
    case 1: return v > 0 ? v : 0;
    case 2: return 0.5 * v * (1 + erf(v / sqrt(2.0)));
    case 3: return 0.5 * v * (1 + tanh(sqrt(2 / 3.14159265358979) * (v + 0.044715 * v * v * v)));
    case 4: return v / (1 + exp(-v));
    case 5: return 1 / (1 + exp(-v));
    case 6: return tanh(v);
    default: return v;
    }
}

static int failures;

/* Compares y [m, n] with activation(a @ w + bias) computed here; w is [k, n], or [n, k] when w_nk.
 * The tolerance scales with the sum of the magnitudes of the terms, which bounds float rounding. */
static void check(const char *what, const float *y, const float *a, const float *w, const float *bias, int64_t m,
                  int64_t k, int64_t n, int w_nk, int activation) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double sum = bias ? bias[j] : 0, size = bias ? fabs(bias[j]) : 0;
            for (int64_t p = 0; p < k; p++) {
                double term = (double)a[i * k + p] * (w_nk ? w[j * k + p] : w[p * n + j]);
                sum += term;
                size += fabs(term);
            }
            double want = activate(sum, activation), got = y[i * n + j];
            if (!(fabs(got - want) <= 1e-5 * size + 1e-6)) {
                if (failures++ < 10)
                    fprintf(stderr, "FAIL %s m=%lld k=%lld n=%lld w_nk=%d activation=%d: y[%lld,%lld] = %.9g, want %.9g\n",
                            what, (long long)m, (long long)k, (long long)n, w_nk, activation, (long long)i,
                            (long long)j, got, want);
                return;
            }
        }
    for (int g = 0; g < GUARD; g++)
        if (y[m * n + g] != SENTINEL) {
            if (failures++ < 10)
                fprintf(stderr, "FAIL %s m=%lld k=%lld n=%lld: wrote past the end of y\n", what, (long long)m,
                        (long long)k, (long long)n);
            return;
        }
}

static float *output(int64_t count) {
    float *y = malloc((size_t)(count + GUARD) * sizeof(float));
    for (int64_t i = 0; i < count + GUARD; i++) y[i] = SENTINEL;
    return y;
}

/* xf_linear with and without bias, w both ways, and every activation (cycled over the shapes so
 * that each shape sees one, and each activation many shapes). */
static void linear_case(int64_t m, int64_t k, int64_t n, int variant) {
    float *x = random_array(m * k), *w = random_array(k * n), *bias = random_array(n), *y = output(m * n);
    for (int w_nk = 0; w_nk < 2; w_nk++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            int activation = (variant + 2 * w_nk + with_bias) % 7;
            for (int64_t i = 0; i < m * n; i++) y[i] = SENTINEL;
            xf_linear(y, x, w, with_bias ? bias : NULL, m, k, n, activation, w_nk);
            check("xf_linear", y, x, w, with_bias ? bias : NULL, m, k, n, w_nk, activation);
        }
    free(x), free(w), free(bias), free(y);
}

/* xf_matmul over a batch whose a and b advance by a_step and b_step (0: broadcast one matrix). */
static void matmul_case(int64_t batch, int64_t m, int64_t k, int64_t n, int broadcast_a, int broadcast_b) {
    int64_t a_step = broadcast_a ? 0 : m * k, b_step = broadcast_b ? 0 : k * n;
    float *a = random_array(batch * m * k), *b = random_array(batch * k * n), *y = output(batch * m * n);
    xf_matmul(y, a, b, batch, m, k, n, a_step, b_step);
    for (int64_t t = 0; t < batch; t++) {
        /* check one matrix at a time; its guard region is the next matrix, so save and restore it */
        float *yt = y + t * m * n, saved[GUARD];
        for (int g = 0; g < GUARD; g++) saved[g] = yt[m * n + g], yt[m * n + g] = SENTINEL;
        check("xf_matmul", yt, a + t * a_step, b + t * b_step, NULL, m, k, n, 0, 0);
        for (int g = 0; g < GUARD; g++) yt[m * n + g] = saved[g];
    }
    free(a), free(b), free(y);
}

int main(void) {
    static const int64_t shapes[][3] = {
        {1, 1, 1},     {1, 7, 5},      {1, 300, 33},  {2, 0, 3},     {3, 5, 7},      {4, 64, 8},
        {5, 17, 31},   {6, 16, 16},    {7, 129, 33},  {8, 32, 32},   {9, 256, 48},   {13, 300, 65},
        {16, 513, 40}, {12, 96, 64},   {25, 64, 100}, {33, 700, 70}, {128, 65, 130}, {17, 1, 257},
        {300, 600, 9}, /* a is 720 KB: more than one block of rows */
    };
    int count = (int)(sizeof shapes / sizeof shapes[0]);
    for (int s = 0; s < count; s++) linear_case(shapes[s][0], shapes[s][1], shapes[s][2], s);
    for (int s = 0; s < count; s++) matmul_case(1 + s % 3, shapes[s][0], shapes[s][1], shapes[s][2], 0, 0);
    matmul_case(4, 7, 33, 19, 1, 0); /* one a for every b */
    matmul_case(4, 9, 40, 35, 0, 1); /* one b for every a */
    matmul_case(3, 1, 64, 64, 0, 0); /* a batch of vector-matrix products */
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("xf_matmul and xf_linear agree with the reference on %d shapes\n", count + 3);
    return 0;
}
