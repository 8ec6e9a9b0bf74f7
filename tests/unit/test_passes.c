/* test_passes.c — unit tests of the passes that every compilation runs, beyond what their golden
 * tests show (tests/golden/fold, tests/golden/plan_memory): the whole pipeline collapses an
 * exporter's shape chain at -O0 and -O2; an index out of range found while folding is reported on
 * its node; a Concat of many parts folds and lowers; and on pseudo-random DAGs memory planning never
 * lets two buffers that are live at the same time share a byte. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/passes.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) { g = xf_graph_new("passes.onnx"); }
static void teardown(void) { xf_graph_free(g); g = NULL; }

static const xf_options O0 = {.opt_level = 0}, O2 = {.opt_level = 2};

static void fold_ok(const xf_options *o) {
    xf_diag d = {0};
    xf_pass_fold(g, o, &d);
    ck_assert_msg(!d.set, "fold reported: %s", d.msg);
}

/* ---- the exporters' shape chains ---- */

/* The whole pipeline at -O0 and -O2 leaves only the Reshape of the chain. */
START_TEST(test_pipeline_shape_chain) {
    for (int level = 0; level <= 2; level += 2) {
        xf_graph_free(g);
        g = xf_graph_new("passes.onnx");
        int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(8, 6));
        int32_t shape = tu_node(g, XF_OP_SHAPE, "shape", 1, &x);
        int32_t gather = tu_node(g, XF_OP_GATHER, "gather", 2, (int32_t[]){tu_out(g, shape), tu_i64(g, "i", 1, SHAPE(1))});
        int32_t concat = tu_node(g, XF_OP_CONCAT, "concat", 3,
                                 (int32_t[]){tu_i64(g, "two", 1, SHAPE(2)), tu_i64(g, "m1", 1, SHAPE(-1)), tu_out(g, gather)});
        xf_node_add_attr(g, concat, "axis", XF_ATTR_INT)->i = 0;
        int32_t reshape = tu_node(g, XF_OP_RESHAPE, "reshape", 2, (int32_t[]){x, tu_out(g, concat)});
        int32_t y = tu_out(g, reshape);
        tu_mark_output(g, y);
        xf_options o = {.opt_level = level};
        xf_diag d = {0};
        ck_assert_msg(xf_run_pipeline(g, &o, &d), "-O%d pipeline failed: %s", level, d.msg);
        ck_assert_int_eq(g->nnodes, 1);
        ck_assert_int_eq(g->nodes[0].op, XF_OP_RESHAPE);
        CHECK_SHAPE(g, y, XF_F32, 2, 4, 6);
        ck_assert_int_eq(g->values[y].offset, -1); /* a graph output is not in the arena */
    }
}
END_TEST

/* ---- constant arithmetic ---- */

/* float64 folds in double, as the generated float64 loop computes: 0.1 + 0.2 is
 * 0.30000000000000004 there, while float arithmetic gives 0.300000012 (the bug this catches). Sqrt
 * checks that the double functions are used too. */
START_TEST(test_fold_float64_in_double) {
    int32_t a = xf_const_add(g, "a", XF_F64, 1, SHAPE(1), (double[]){0.1});
    int32_t b = xf_const_add(g, "b", XF_F64, 1, SHAPE(1), (double[]){0.2});
    int32_t add = tu_node(g, XF_OP_ADD, "add", 2, (int32_t[]){a, b});
    int32_t root = tu_node(g, XF_OP_SQRT, "root", 1, (int32_t[]){b});
    tu_mark_output(g, tu_out(g, add));
    tu_mark_output(g, tu_out(g, root));
    fold_ok(&O2);
    volatile double x = 0.1, y = 0.2; /* computed at run time, in double */
    ck_assert(*(const double *)g->values[tu_out(g, add)].data == x + y);
    ck_assert(*(const double *)g->values[tu_out(g, root)].data == sqrt(y));
}
END_TEST

/* An index out of range in data known at compile time is the model's error, reported on the node. */
START_TEST(test_fold_gather_out_of_range) {
    int64_t bad[] = {3, -4};
    for (int i = 0; i < 2; i++) {
        xf_graph_free(g);
        g = xf_graph_new("passes.onnx");
        int32_t data = tu_i64(g, "data", 3, SHAPE(5, 6, 7));
        int32_t gather = tu_node(g, XF_OP_GATHER, "bad_gather", 2, (int32_t[]){data, tu_i64(g, "idx", 1, &bad[i])});
        tu_mark_output(g, tu_out(g, gather));
        xf_diag d = {0};
        xf_pass_fold(g, &O0, &d);
        ck_assert_msg(d.set, "index %lld into 3 elements was not reported", (long long)bad[i]);
        ck_assert_msg(strstr(d.msg, "node 'bad_gather'"), "diagnostic does not name the node: %s", d.msg);
    }
}
END_TEST

/* ---- memory planning ---- */

static void plan(const xf_options *o) {
    xf_diag d = {0};
    xf_pass_plan_memory(g, o, &d);
    ck_assert_msg(!d.set, "plan_memory reported: %s", d.msg);
}

/* A deterministic generator, so failures reproduce. */
static uint32_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (rng_state >> 8) % n;
}

static int64_t aligned(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/* A random DAG of Neg, Concat and Reshape nodes over rank-1 and [1, n] float tensors, with a few
 * graph outputs in the middle and consumers reaching far back (long lifetimes). */
static void build_random_dag(uint32_t seed, int nodes) {
    rng_state = seed;
    int32_t *vals = malloc(sizeof *vals * (size_t)(nodes + 1));
    int32_t nvals = 0;
    vals[nvals++] = tu_input(g, "x", XF_F32, 1, (int64_t[]){1 + rnd(300)});
    for (int i = 0; i < nodes; i++) {
        /* mostly recent values, sometimes any earlier one */
        int32_t pick[2];
        for (int k = 0; k < 2; k++)
            pick[k] = vals[rnd(4) ? nvals - 1 - (int32_t)rnd(nvals < 5 ? (uint32_t)nvals : 5) : (int32_t)rnd(nvals)];
        const xf_value *p0 = &g->values[pick[0]], *p1 = &g->values[pick[1]];
        char name[32];
        snprintf(name, sizeof name, "v%d", i);
        uint32_t kind = rnd(3);
        int32_t out;
        if (kind == 0 && p0->rank == 1 && p1->rank == 1 && p0->shape[0] + p1->shape[0] <= 2000) {
            out = xf_value_add(g, name, XF_F32, 1, (int64_t[]){p0->shape[0] + p1->shape[0]});
            int32_t n = xf_node_add(g, XF_OP_CONCAT, name, 2, pick, 1, &out);
            xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 0;
        } else if (kind == 1) {
            int64_t len = xf_value_numel(p0);
            char sname[40];
            snprintf(sname, sizeof sname, "%s_shape", name);
            int32_t s = p0->rank == 1 ? tu_i64(g, sname, 2, (int64_t[]){1, len}) : tu_i64(g, sname, 1, &len);
            int32_t rank = p0->rank == 1 ? 2 : 1;
            out = xf_value_add(g, name, XF_F32, rank, rank == 2 ? (int64_t[]){1, len} : (int64_t[]){len});
            xf_node_add(g, XF_OP_RESHAPE, name, 2, (int32_t[]){pick[0], s}, 1, &out);
        } else {
            const xf_value *src = &g->values[pick[0]];
            out = xf_value_add(g, name, XF_F32, src->rank, src->shape);
            xf_node_add(g, XF_OP_NEG, name, 1, pick, 1, &out);
        }
        vals[nvals++] = out;
        if (rnd(8) == 0) tu_mark_output(g, out);
    }
    if (!g->values[vals[nvals - 1]].is_output) tu_mark_output(g, vals[nvals - 1]);
    free(vals);
}

/* Checks the plan against lifetimes computed here, independently of the planner. */
static void check_plan(int level) {
    int32_t nv = g->nvalues;
    int64_t *first = malloc(sizeof *first * (size_t)nv), *last = malloc(sizeof *last * (size_t)nv);
    int32_t *root = malloc(sizeof *root * (size_t)nv);
    int64_t sum_aligned = 0;
    for (int32_t v = 0; v < nv; v++) {
        const xf_value *x = &g->values[v];
        bool in_arena = !x->data && !x->is_input && !x->is_output;
        root[v] = -1;
        if (!in_arena) {
            ck_assert_msg(x->offset == -1, "'%s' is not an intermediate but has offset %lld", x->name,
                          (long long)x->offset);
            continue;
        }
        ck_assert_msg(x->offset >= 0, "intermediate '%s' has no offset", x->name);
        ck_assert_msg(x->offset % 64 == 0, "'%s' at offset %lld is not 64-byte aligned", x->name, (long long)x->offset);
        ck_assert_msg(x->offset + xf_value_bytes(x) <= g->arena_bytes, "'%s' runs past the arena", x->name);
        root[v] = v;
        if (x->alias_of >= 0) {
            ck_assert_msg(level >= 1, "-O0 must not alias ('%s')", x->name);
            const xf_value *r = &g->values[x->alias_of];
            ck_assert_msg(xf_ops[g->nodes[x->producer].op].flags & XF_FLAG_VIEW, "'%s' aliases but is no view", x->name);
            ck_assert_int_eq(r->alias_of, -1);
            ck_assert_int_eq(x->offset, r->offset);
            ck_assert_int_eq(xf_value_bytes(x), xf_value_bytes(r));
            root[v] = x->alias_of;
        } else {
            sum_aligned += aligned(xf_value_bytes(x));
        }
    }
    /* lifetime of each buffer: from the first write of any value stored in it to the last read */
    for (int32_t v = 0; v < nv; v++) first[v] = INT64_MAX, last[v] = -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        for (int k = 0; k < n->nout; k++) {
            int32_t r = root[n->out[k]];
            if (r < 0) continue;
            if (i < first[r]) first[r] = i;
            if (i > last[r]) last[r] = i;
        }
        for (int k = 0; k < n->nin; k++) {
            int32_t r = n->in[k] >= 0 ? root[n->in[k]] : -1;
            if (r >= 0 && i > last[r]) last[r] = i;
        }
    }
    int64_t live_peak = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        int64_t live = 0;
        for (int32_t v = 0; v < nv; v++)
            if (root[v] == v && first[v] <= i && i <= last[v]) live += xf_value_bytes(&g->values[v]);
        if (live > live_peak) live_peak = live;
    }
    for (int32_t u = 0; u < nv; u++) {
        if (root[u] != u) continue;
        for (int32_t v = u + 1; v < nv; v++) {
            if (root[v] != v) continue;
            bool together = first[u] <= last[v] && first[v] <= last[u];
            if (!together && level >= 1) continue;
            const xf_value *a = &g->values[u], *b = &g->values[v];
            bool overlap = a->offset < b->offset + xf_value_bytes(b) && b->offset < a->offset + xf_value_bytes(a);
            ck_assert_msg(!overlap || xf_value_bytes(a) == 0 || xf_value_bytes(b) == 0,
                          "-O%d: '%s' [%lld, +%lld) live %lld..%lld overlaps '%s' [%lld, +%lld) live %lld..%lld", level,
                          a->name, (long long)a->offset, (long long)xf_value_bytes(a), (long long)first[u],
                          (long long)last[u], b->name, (long long)b->offset, (long long)xf_value_bytes(b),
                          (long long)first[v], (long long)last[v]);
        }
    }
    ck_assert_int_ge(g->arena_bytes, live_peak);
    if (level == 0) ck_assert_int_eq(g->arena_bytes, sum_aligned);
    else ck_assert_int_le(g->arena_bytes, sum_aligned);
    free(first);
    free(last);
    free(root);
}

START_TEST(test_plan_random_dags) {
    for (uint32_t seed = 1; seed <= 40; seed++) {
        xf_graph_free(g);
        g = xf_graph_new("random.onnx");
        build_random_dag(seed, 10 + (int)(seed * 7 % 60));
        xf_graph_verify(g);
        plan(&O2);
        check_plan(2);
        plan(&O0);
        check_plan(0);
        plan(&(xf_options){.opt_level = 1});
        check_plan(1);
    }
}
END_TEST

/* An exporter's unrolled loop (Mamba's scan over 128 steps) ends in a Concat with one part per
 * step: lowering must take them all (it once stopped at 64) and folding must compute them. */
START_TEST(test_concat_of_many_parts) {
    enum { PARTS = 130 };
    int32_t in[PARTS];
    for (int k = 0; k < PARTS; k++) in[k] = tu_i64(g, xf_sprintf(g->arena, "c%d", k), 1, SHAPE(k));
    int32_t cat = tu_node(g, XF_OP_CONCAT, "cat", PARTS, in);
    xf_node_add_attr(g, cat, "axis", XF_ATTR_INT)->i = 0;
    fold_ok(&O2);
    const int64_t *got = g->values[tu_out(g, cat)].data;
    ck_assert_ptr_nonnull(got);
    for (int k = 0; k < PARTS; k++) ck_assert_int_eq(got[k], k);
    xf_call calls[1];
    xf_calls out = {.g = g, .at = calls, .max = 1};
    xf_diag d = {0};
    ck_assert(!xf_lower_node(g, cat, &out, &d)); /* fewer slots than parts: reported */
    ck_assert(d.set);
}
END_TEST

static Suite *passes_suite(void) {
    Suite *s = suite_create("passes");
    TCase *fold = tcase_create("fold");
    tcase_add_checked_fixture(fold, setup, teardown);
    tcase_add_test(fold, test_pipeline_shape_chain);
    tcase_add_test(fold, test_fold_float64_in_double);
    tcase_add_test(fold, test_fold_gather_out_of_range);
    suite_add_tcase(s, fold);
    TCase *mem = tcase_create("plan_memory");
    tcase_add_checked_fixture(mem, setup, teardown);
    tcase_set_timeout(mem, 30); /* the random DAGs take a few seconds under sanitizers */
    tcase_add_test(mem, test_plan_random_dags);
    tcase_add_test(fold, test_concat_of_many_parts);
    suite_add_tcase(s, mem);
    return s;
}

int main(void) { return tu_run(passes_suite()); }
