/* perf_driver.c — the timing harness bench/perf.sh links with one model's generated C (made with
 * `xfc --name model`, so the symbols are model_run, MODEL_ARENA_BYTES ...). It fills the inputs from
 * raw files (the bytes of a TensorProto's data, written by perf.py) or with random numbers of the
 * right shape, and times model_run (model_run_ex with a pool for --threads):
 *
 *   driver [--weights model.bin] [--input FILE.raw]... [--threads N] [--warmup W] [--runs N]
 *       W warm-up runs, then N timed runs; prints the milliseconds of each timed run on one line.
 *   driver ... --serve
 *       reads commands from standard input, one a line, so that perf.py can interleave this model's
 *       runs with onnxruntime's in another process while both stay warm:
 *         run N       runs N times; answers "ok" and the milliseconds of each run
 *         save FILE   writes output 0's bytes to FILE; answers "ok"
 *       The first line it prints is "ready threads=T": how many threads a run really uses.
 *   driver --read-bandwidth BYTES [--runs N]
 *       the machine's streaming read bandwidth over a buffer of BYTES bytes, in GB/s, once a run:
 *       the yardstick for the memory-bound kernels, built with the same compiler and flags.
 *
 * Any failure prints one line to stderr and exits with status 2. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

#ifdef PERF_RUN_EX
/* Threads: perf.sh defines PERF_RUN_EX when model.h declares model_run_ex (the executor API) and
 * `xfc --emit-pool` has written xfc_pool.h/.c beside it; --threads N then runs model_run_ex with a
 * pool of N threads. Without it every run is single-threaded and the driver says so
 * ("ready threads=1"). */
#include "xfc_pool.h"
static xfc_executor *executor;
#endif

static void die(const char *what, const char *detail) {
    fprintf(stderr, "perf_driver: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

/* Bytes of one element of an ONNX dtype; 0 for the packed 4-bit types and the unknown. */
static size_t dtype_bytes(int32_t dtype) {
    switch (dtype) {
    case 2: case 3: case 9: case 17: case 18: case 19: case 20: case 24: return 1; /* u8 i8 bool f8 */
    case 4: case 5: case 10: case 16: return 2;                                  /* u16 i16 f16 bf16 */
    case 1: case 6: case 12: return 4;                                           /* f32 i32 u32 */
    case 7: case 11: case 13: return 8;                                          /* i64 f64 u64 */
    default: return 0;
    }
}

static size_t tensor_bytes(const xfc_tensor_info *t) {
    size_t n = dtype_bytes(t->dtype);
    if (!n) die("unsupported input or output dtype in", t->name);
    for (int i = 0; i < t->rank; i++) n *= (size_t)t->shape[i];
    return n;
}

/* 64-byte aligned, as model_run requires of the arena and the weights; never freed (one process per
 * model). The size is rounded up to a multiple of the alignment, as aligned_alloc wants, and is never
 * 0 (a model may need no arena). */
static void *alloc64(size_t bytes) {
    size_t size = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, size ? size : 64);
    if (!p) die("out of memory", NULL);
    return p;
}

static void read_file(const char *path, void *dst, size_t bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open", path);
    size_t got = fread(dst, 1, bytes, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != bytes || extra) die("file size does not match the model's tensor", path);
}

/* Random values for an input with no file: floats uniform in [-1, 1), integers 0 (an integer input
 * is usually an index, and 0 is always in range). A fixed seed keeps runs comparable. */
static void fill_random(const xfc_tensor_info *t, void *dst, size_t bytes) {
    memset(dst, 0, bytes);
    if (t->dtype != 1) return;
    uint32_t state = 12345;
    float *x = dst;
    for (size_t i = 0; i < bytes / sizeof(float); i++) {
        state = state * 1664525u + 1013904223u;
        x[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
    }
}

static const void *weights;
static size_t weights_bytes;
static void *arena;
static const void *inputs[MODEL_NUM_INPUTS];
static void *outputs[MODEL_NUM_OUTPUTS];

static void run_once(void) {
    int status;
#if defined(PERF_RUN_EX) && defined(MODEL_WEIGHTS_BYTES)
    status = model_run_ex(weights, weights_bytes, arena, inputs, outputs, executor);
#elif defined(PERF_RUN_EX)
    status = model_run_ex(arena, inputs, outputs, executor);
#elif defined(MODEL_WEIGHTS_BYTES)
    status = model_run(weights, weights_bytes, arena, inputs, outputs);
#else
    status = model_run(arena, inputs, outputs);
#endif
    if (status != XFC_OK) {
        fprintf(stderr, "perf_driver: model_run returned %d\n", status);
        exit(2);
    }
}

/* Runs n times and prints "ok" (when asked) and each run's milliseconds on one line. */
static void timed_runs(long n, int say_ok) {
    if (say_ok) fputs("ok", stdout);
    for (long i = 0; i < n; i++) {
        double t0 = now_ms();
        run_once();
        printf("%s%.4f", say_ok || i ? " " : "", now_ms() - t0);
    }
    putchar('\n');
    fflush(stdout);
}

static void serve(int threads) {
    printf("ready threads=%d\n", threads);
    fflush(stdout);
    char line[4096], path[4096];
    long n;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "run %ld", &n) == 1 && n > 0) {
            timed_runs(n, 1);
        } else if (sscanf(line, "save %4095s", path) == 1) {
            FILE *f = fopen(path, "wb");
            size_t bytes = tensor_bytes(&model_outputs[0]);
            if (!f || fwrite(outputs[0], 1, bytes, f) != bytes || fclose(f)) die("cannot write", path);
            puts("ok");
            fflush(stdout);
        } else {
            die("unknown command", line);
        }
    }
}

/* Reads `bytes` bytes front to back `runs` times and prints GB/s for each pass. Integer adds in
 * eight independent lanes keep the loop vectorisable without -ffast-math and light enough that the
 * memory system, not the core, is the limit. */
static volatile uint64_t read_sink;

static void read_bandwidth(size_t bytes, long runs) {
    size_t n = bytes / sizeof(uint64_t) / 8 * 8;
    uint64_t *buf = alloc64(n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) buf[i] = i; /* touch every page before timing */
    uint64_t sink = 0;
    for (long r = -1; r < runs; r++) { /* pass -1 is a warm-up */
        uint64_t lane[8] = {0};
        double t0 = now_ms();
        for (size_t i = 0; i < n; i += 8)
            for (int j = 0; j < 8; j++) lane[j] += buf[i + j];
        double ms = now_ms() - t0;
        for (int j = 0; j < 8; j++) sink += lane[j];
        if (r >= 0) printf("%s%.3f", r ? " " : "", (double)(n * sizeof(uint64_t)) / ms * 1e-6);
    }
    printf("\n");
    read_sink = sink; /* a volatile store: the sum is used, so the reads cannot be dropped */
}

int main(int argc, char **argv) {
    const char *weights_path = NULL, *input_paths[MODEL_NUM_INPUTS] = {0};
    int n_inputs = 0, threads = 1, serve_mode = 0;
    long warmup = 1, runs = 5, bandwidth_bytes = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--serve")) { serve_mode = 1; continue; }
        if (!val) die("missing value after", arg);
        i++;
        if (!strcmp(arg, "--weights")) weights_path = val;
        else if (!strcmp(arg, "--input")) {
            if (n_inputs == MODEL_NUM_INPUTS) die("more --input files than the model has inputs", val);
            input_paths[n_inputs++] = val;
        }
        else if (!strcmp(arg, "--threads")) threads = atoi(val);
        else if (!strcmp(arg, "--warmup")) warmup = atol(val);
        else if (!strcmp(arg, "--runs")) runs = atol(val);
        else if (!strcmp(arg, "--read-bandwidth")) bandwidth_bytes = atol(val);
        else die("unknown option", arg);
    }
    if (threads < 1 || runs < 1 || warmup < 0) die("--threads and --runs must be positive", NULL);
    if (bandwidth_bytes > 0) {
        read_bandwidth((size_t)bandwidth_bytes, runs);
        return 0;
    }

#ifdef MODEL_WEIGHTS_BYTES
    if (!weights_path) die("this model reads its weights from a file: pass --weights model.bin", NULL);
    weights_bytes = MODEL_WEIGHTS_BYTES;
    void *w = alloc64(weights_bytes);
    read_file(weights_path, w, weights_bytes);
    weights = w;
#else
    if (weights_path) die("this model has its weights inside; --weights is not for it", NULL);
#endif
    arena = alloc64(MODEL_ARENA_BYTES);
    for (int k = 0; k < MODEL_NUM_INPUTS; k++) {
        size_t bytes = tensor_bytes(&model_inputs[k]);
        void *x = alloc64(bytes);
        if (input_paths[k]) read_file(input_paths[k], x, bytes);
        else fill_random(&model_inputs[k], x, bytes);
        inputs[k] = x;
    }
    for (int k = 0; k < MODEL_NUM_OUTPUTS; k++) outputs[k] = alloc64(tensor_bytes(&model_outputs[k]));

#ifdef PERF_RUN_EX
    executor = threads > 1 ? xfc_pool_new(threads) : NULL;
    if (threads > 1 && !executor) die("cannot start the thread pool", NULL);
#else
    threads = 1; /* no executor API yet: the generated code runs on the calling thread */
#endif
    for (long i = 0; i < warmup; i++) run_once();
    if (serve_mode) serve(threads);
    else timed_runs(runs, 0);
    return 0;
}
