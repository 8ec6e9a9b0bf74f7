/* perf_blas.c — OpenBLAS's single-precision GEMM, the yardstick for xfc's matrix products in
 * bench/perf.sh. Times C[M,N] = A[M,K] · B[K,N] (row major, as a model's MatMul with [in, out]
 * weights) through cblas_sgemm on one thread:
 *
 *   perf_blas --info                  prints "corename=... config=..." (which kernel OpenBLAS picked
 *                                     for this CPU: it depends on the CPU and on OPENBLAS_CORETYPE)
 *   perf_blas M K N --serve           reads "run N" lines from standard input and answers "ok" and the
 *                                     milliseconds of each of N runs, like perf_driver.c
 *   perf_blas M K N [--runs N]        one warm-up, then N timed runs' milliseconds on one line
 *
 * Any failure prints one line to stderr and exits with status 2. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static float *random_matrix(long rows, long cols) {
    float *x = aligned_alloc(64, ((size_t)rows * (size_t)cols * sizeof(float) + 63) / 64 * 64);
    if (!x) {
        fputs("perf_blas: out of memory\n", stderr);
        exit(2);
    }
    unsigned state = 12345;
    for (long i = 0; i < rows * cols; i++) {
        state = state * 1664525u + 1013904223u;
        x[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
    }
    return x;
}

static long m, k, n;
static float *a, *b, *c;

static void sgemm_once(void) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a, (int)k, b, (int)n,
                0.0f, c, (int)n);
}

static void timed_runs(long runs, int say_ok) {
    if (say_ok) fputs("ok", stdout);
    for (long i = 0; i < runs; i++) {
        double t0 = now_ms();
        sgemm_once();
        printf("%s%.4f", say_ok || i ? " " : "", now_ms() - t0);
    }
    putchar('\n');
    fflush(stdout);
}

int main(int argc, char **argv) {
    /* One thread whatever the environment says: the comparison is with single-threaded code. */
    openblas_set_num_threads(1);
    if (argc == 2 && !strcmp(argv[1], "--info")) {
        printf("corename=%s config=%s\n", openblas_get_corename(), openblas_get_config());
        return 0;
    }
    int serve = argc == 5 && !strcmp(argv[4], "--serve");
    long runs = argc == 6 && !strcmp(argv[4], "--runs") ? atol(argv[5]) : 5;
    if (argc < 4 || (argc > 4 && !serve && argc != 6) || runs < 1) {
        fputs("usage: perf_blas --info | M K N [--serve | --runs N]\n", stderr);
        return 2;
    }
    m = atol(argv[1]), k = atol(argv[2]), n = atol(argv[3]);
    if (m < 1 || k < 1 || n < 1) {
        fputs("perf_blas: M, K and N must be positive\n", stderr);
        return 2;
    }
    a = random_matrix(m, k), b = random_matrix(k, n), c = random_matrix(m, n);
    sgemm_once(); /* warm-up: OpenBLAS allocates its buffers on the first call */
    if (!serve) {
        timed_runs(runs, 0);
        return 0;
    }
    printf("ready threads=%d\n", openblas_get_num_threads());
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "run %ld", &runs) != 1 || runs < 1) {
            fprintf(stderr, "perf_blas: unknown command: %s", line);
            return 2;
        }
        timed_runs(runs, 1);
    }
    return 0;
}
