/* test_pool.c — threads: the pthread pool that `xfc --emit-pool` writes (runtime/pool/), and the
 * splits the kernel table's XF_PARALLEL rows give (xf_call_split), run range by range on real
 * kernels against the whole call. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../../lower/lower.h"
#include "../../runtime/kernels.h"
#include "../../runtime/pool/xfc_pool.h"
#include "testutil.h"

/* ---- the pool ---- */

enum { MAX_N = 300, MAX_RANGES = 64 };
typedef struct coverage {
    atomic_int hits[MAX_N];
    atomic_int ranges;
    pthread_t thread[MAX_RANGES];
} coverage;

static void count_range(void *arg, int64_t begin, int64_t end) {
    coverage *c = arg;
    ck_assert(0 <= begin && begin < end && end <= MAX_N);
    int r = atomic_fetch_add(&c->ranges, 1);
    if (r < MAX_RANGES) c->thread[r] = pthread_self();
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&c->hits[i], 1);
}

/* Thousands of small calls, n from 0 to MAX_N - 1: each index is visited exactly once, in at most
 * `threads` non-empty ranges. */
START_TEST(ranges_cover_each_index_once) {
    for (int threads = 1; threads <= 5; threads++) {
        xfc_executor *ex = xfc_pool_new(threads);
        ck_assert_ptr_nonnull(ex);
        ck_assert_int_eq(ex->threads, threads);
        for (int round = 0; round < 4; round++)
            for (int64_t n = 0; n < MAX_N; n++) {
                coverage c;
                memset(&c, 0, sizeof c);
                ex->parallel_for(ex->ctx, n, count_range, &c);
                for (int64_t i = 0; i < n; i++)
                    ck_assert_msg(c.hits[i] == 1, "threads %d n %d: index %d visited %d times", threads, (int)n,
                                  (int)i, (int)c.hits[i]);
                ck_assert_int_le(c.ranges, n < threads ? n : threads);
            }
        xfc_pool_free(ex);
    }
}
END_TEST

/* The ranges run on more than one thread: each waits until another range has started, which it
 * could never see if the pool ran them one after another. */
typedef struct meeting {
    atomic_int started;
    pthread_t first, second;
} meeting;

static void meet(void *arg, int64_t begin, int64_t end) {
    (void)begin, (void)end;
    meeting *m = arg;
    int me = atomic_fetch_add(&m->started, 1);
    if (me == 0) m->first = pthread_self();
    else m->second = pthread_self();
    while (atomic_load(&m->started) < 2) {
    }
}

START_TEST(ranges_run_on_several_threads) {
    xfc_executor *ex = xfc_pool_new(2);
    ck_assert_ptr_nonnull(ex);
    for (int round = 0; round < 100; round++) {
        meeting m;
        memset(&m, 0, sizeof m);
        ex->parallel_for(ex->ctx, 2, meet, &m);
        ck_assert_int_eq(m.started, 2);
        ck_assert(!pthread_equal(m.first, m.second));
    }
    xfc_pool_free(ex);
}
END_TEST

START_TEST(bad_thread_counts_are_refused) {
    ck_assert_ptr_null(xfc_pool_new(0));
    ck_assert_ptr_null(xfc_pool_new(-3));
    ck_assert_ptr_null(xfc_pool_new(100000));
    xfc_pool_free(NULL);
}
END_TEST

/* ---- splits from the kernel table ---- */

static float pseudo_random(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 24) - 0.5f;
}

static void fill(float *x, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) x[i] = pseudo_random(&seed);
}

/* Tensor argument i of a split call for the range starting at lo. */
static float *at(float *base, const xf_split *s, int i, int64_t lo) { return base + lo * s->step[i]; }

START_TEST(matmul_rows_split_by_grains) {
    xf_graph *g = xf_graph_new("split.onnx");
    enum { M = 37, K = 41, N = 23 }; /* enough work to split, rows not a whole number of grains */
    int32_t y = xf_value_add(g, "y", XF_F32, 2, SHAPE(M, N)), a = xf_value_add(g, "a", XF_F32, 2, SHAPE(M, K)),
            b = xf_value_add(g, "b", XF_F32, 2, SHAPE(K, N));
    xf_call calls[2];
    xf_calls out = {g, calls, 0, 2};
    XF_CALL(&out, xf_matmul, .y = xf_t(y), .a = xf_t(a), .b = xf_t(b), .batch = 1, .m = M, .k = K, .n = N);
    xf_split s;
    ck_assert(xf_call_split(g, &calls[0], &s));
    ck_assert_str_eq(xf_kernels[XF_K_xf_matmul].params[s.param].name, "m");
    ck_assert_int_eq(s.count, M);
    ck_assert_int_eq(s.step[0], N); /* y */
    ck_assert_int_eq(s.step[1], K); /* a */
    ck_assert_int_eq(s.step[2], 0); /* b: every range reads all of it */

    static float fa[M * K], fb[K * N], whole[M * N], parts[M * N];
    fill(fa, M * K, 1);
    fill(fb, K * N, 2);
    xf_matmul(whole, fa, fb, 1, M, K, N, 0, 0);
    /* ranges of one grain each, as many ranges as an executor may make */
    memset(parts, 0, sizeof parts);
    for (int64_t lo = 0; lo < M; lo += s.grain) {
        int64_t hi = lo + s.grain < M ? lo + s.grain : M;
        xf_matmul(at(parts, &s, 0, lo), at(fa, &s, 1, lo), at(fb, &s, 2, lo), 1, hi - lo, K, N, 0, 0);
    }
    ck_assert(memcmp(whole, parts, sizeof whole) == 0);

    /* a batch of products is split over the batch */
    XF_CALL(&out, xf_matmul, .y = xf_t(y), .a = xf_t(a), .b = xf_t(b), .batch = 4, .m = 8, .k = 64, .n = 64,
            .a_step = 512, .b_step = 0);
    ck_assert(xf_call_split(g, &calls[1], &s));
    ck_assert_str_eq(xf_kernels[XF_K_xf_matmul].params[s.param].name, "batch");
    ck_assert_int_eq(s.step[0], 8 * 64);
    ck_assert_int_eq(s.step[1], 512);
    ck_assert_int_eq(s.step[2], 0);
    xf_graph_free(g);
}
END_TEST

/* Too little work, or one grain, is not worth waking threads for; a kernel without a row runs whole. */
START_TEST(small_calls_are_not_split) {
    xf_graph *g = xf_graph_new("split.onnx");
    int32_t v = xf_value_add(g, "v", XF_F32, 2, SHAPE(4, 4));
    xf_call calls[3];
    xf_calls out = {g, calls, 0, 3};
    XF_CALL(&out, xf_matmul, .y = xf_t(v), .a = xf_t(v), .b = xf_t(v), .batch = 1, .m = 4, .k = 4, .n = 4);
    XF_CALL(&out, xf_matmul, .y = xf_t(v), .a = xf_t(v), .b = xf_t(v), .batch = 1, .m = 4, .k = 4096, .n = 4096);
    XF_CALL(&out, xf_copy, .y = xf_t(v), .x = xf_t(v), .nbytes = 1 << 30);
    xf_split s;
    ck_assert(!xf_call_split(g, &calls[0], &s)); /* little work */
    ck_assert(!xf_call_split(g, &calls[1], &s)); /* much work, one grain of rows */
    ck_assert(!xf_call_split(g, &calls[2], &s)); /* a kernel without an XF_PARALLEL row */
    xf_graph_free(g);
}
END_TEST

static Suite *pool_suite(void) {
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ranges_cover_each_index_once);
    tcase_add_test(tc, ranges_run_on_several_threads);
    tcase_add_test(tc, bad_thread_counts_are_refused);
    tcase_add_test(tc, matmul_rows_split_by_grains);
    tcase_add_test(tc, small_calls_are_not_split);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(pool_suite()); }
