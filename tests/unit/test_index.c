/* test_index.c — unit tests of the shape rules of ir/ops_index.c, the ones with room for mistakes:
 * Einsum's equations (implicit outputs, ellipses that broadcast, diagonals), TopK, Tile, OneHot's
 * axis, Compress with and without an axis, ScatterND's updates, the losses' outputs, and the ops
 * whose result is computed at compile time (NonZero, EyeLike, Size). Expected shapes and values
 * were worked out by hand from the ONNX operator spec; each op also gets inputs it must refuse. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) { g = xf_graph_new("index.onnx"); }
static void teardown(void) { xf_graph_free(g); g = NULL; }

static int32_t f32(const char *name, int32_t rank, const int64_t *shape) {
    return tu_input(g, name, XF_F32, rank, shape);
}

static void set_int(int32_t node, const char *name, int64_t v) { xf_node_add_attr(g, node, name, XF_ATTR_INT)->i = v; }
static void set_str(int32_t node, const char *name, const char *s) {
    xf_node_add_attr(g, node, name, XF_ATTR_STRING)->s = s;
}

/* A refused node's diagnostic names the node and contains `what`. */
static void expect_failure(int32_t node, const char *what) {
    xf_diag d;
    const char *msg = tu_infer_fails(g, node, &d);
    char want[300];
    snprintf(want, sizeof want, "node '%s'", g->nodes[node].name);
    ck_assert_msg(strstr(msg, want), "diagnostic does not name node '%s': %s", g->nodes[node].name, msg);
    ck_assert_msg(strstr(msg, what), "diagnostic does not say '%s': %s", what, msg);
}

static int32_t einsum(const char *name, const char *eq, int32_t nin, const int32_t *in) {
    int32_t n = tu_node(g, XF_OP_EINSUM, name, nin, in);
    set_str(n, "equation", eq);
    return n;
}

START_TEST(test_einsum) {
    int32_t a = f32("a", 3, SHAPE(5, 2, 3)), b = f32("b", 3, SHAPE(5, 3, 4));
    int32_t n = einsum("batch_matmul", "bij, bjk -> bik", 2, (int32_t[]){a, b});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 5, 2, 4);
    /* implicit output: the labels used once in all, in alphabetical order (b and j are summed) */
    n = einsum("implicit", "bij,bjk", 2, (int32_t[]){a, b});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 4);
    int32_t m = f32("m", 2, SHAPE(3, 4));
    n = einsum("implicit_order", "ji", 1, &m); /* i before j: a transpose */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 3);
    /* an ellipsis covers the leading dims and broadcasts: [2,1,3,4] with [5,4,6] */
    int32_t e1 = f32("e1", 4, SHAPE(2, 1, 3, 4)), e2 = f32("e2", 3, SHAPE(5, 4, 6));
    n = einsum("ellipsis", "...ij,...jk->...ik", 2, (int32_t[]){e1, e2});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 5, 3, 6);
    /* a repeated label is a diagonal */
    int32_t sq = f32("sq", 3, SHAPE(3, 5, 5));
    n = einsum("diagonal", "...ii ->...i", 1, &sq);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 5);
    n = einsum("trace", "bii", 1, &sq); /* implicit: i is used twice, so summed */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3);
    int32_t s = f32("s", 0, NULL);
    n = einsum("scalar", "->", 1, &s);
    tu_infer_ok(g, n);
    CHECK_SCALAR(g, tu_out(g, n), XF_F32);

    expect_failure(einsum("sizes", "ij,ij->i", 2, (int32_t[]){m, sq}), "does not fit");
    int32_t m2 = f32("m2", 2, SHAPE(3, 5));
    expect_failure(einsum("mismatch", "ij,ij->i", 2, (int32_t[]){m, m2}), "sizes 4 and 5");
    expect_failure(einsum("unknown_out", "ij->k", 1, &m), "output label 'k'");
    expect_failure(einsum("few_terms", "ij", 2, (int32_t[]){m, m}), "fewer operands");
    expect_failure(einsum("three", "i,i,i", 3, (int32_t[]){m, m, m}), "3 operands");
    expect_failure(einsum("bad_char", "i#j", 1, &m), "unexpected character '#'");
}
END_TEST

START_TEST(test_top_k_and_tile) {
    int32_t x = f32("x", 2, SHAPE(3, 4));
    int32_t vals = tu_fresh(g, "vals"), idx = tu_fresh(g, "idx");
    int32_t n = xf_node_add(g, XF_OP_TOP_K, "topk", 2, (int32_t[]){x, tu_i64(g, "k", 1, SHAPE(3))}, 2,
                            (int32_t[]){vals, idx});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, vals, XF_F32, 3, 3);
    CHECK_SHAPE(g, idx, XF_I64, 3, 3);
    n = xf_node_add(g, XF_OP_TOP_K, "topk_axis0", 2, (int32_t[]){x, tu_i64(g, "k0", 1, SHAPE(2))}, 2,
                    (int32_t[]){tu_fresh(g, "v0"), tu_fresh(g, "i0")});
    set_int(n, "axis", 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, g->nodes[n].out[1], XF_I64, 2, 4);
    expect_failure(tu_node(g, XF_OP_TOP_K, "k_large", 2, (int32_t[]){x, tu_i64(g, "k5", 1, SHAPE(5))}),
                   "out of range");
    expect_failure(tu_node(g, XF_OP_TOP_K, "k_input", 2, (int32_t[]){x, tu_input(g, "kin", XF_I64, 1, SHAPE(1))}),
                   "--bind kin=FILE.pb");

    int32_t n2 = tu_node(g, XF_OP_TILE, "tile", 2, (int32_t[]){x, tu_i64(g, "reps", 2, SHAPE(2, 0))});
    tu_infer_ok(g, n2);
    CHECK_SHAPE(g, tu_out(g, n2), XF_F32, 6, 0);
    expect_failure(tu_node(g, XF_OP_TILE, "tile_count", 2, (int32_t[]){x, tu_i64(g, "reps3", 3, SHAPE(1, 1, 1))}),
                   "3 entries");
    expect_failure(tu_node(g, XF_OP_TILE, "tile_neg", 2, (int32_t[]){x, tu_i64(g, "repsn", 2, SHAPE(1, -1))}),
                   "negative");
}
END_TEST

START_TEST(test_one_hot_and_compress) {
    int32_t idx = tu_input(g, "indices", XF_I64, 2, SHAPE(2, 3));
    float depth = 10.0f;
    int32_t dv = xf_const_add(g, "depth", XF_F32, 0, NULL, &depth);
    int32_t values = tu_input(g, "values", XF_I32, 1, SHAPE(2));
    int32_t n = tu_node(g, XF_OP_ONE_HOT, "onehot", 3, (int32_t[]){idx, dv, values});
    tu_infer_ok(g, n); /* axis -1: the new dim goes last; the type is values' */
    CHECK_SHAPE(g, tu_out(g, n), XF_I32, 2, 3, 10);
    n = tu_node(g, XF_OP_ONE_HOT, "onehot_axis", 3, (int32_t[]){idx, dv, values});
    set_int(n, "axis", -2); /* counted in the output's rank 3: position 1 */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I32, 2, 10, 3);
    n = tu_node(g, XF_OP_ONE_HOT, "onehot_axis_range", 3, (int32_t[]){idx, dv, values});
    set_int(n, "axis", 3);
    expect_failure(n, "out of range");

    int32_t x = f32("x", 2, SHAPE(3, 2));
    uint8_t cond[3] = {0, 1, 1};
    int32_t c = xf_const_add(g, "cond", XF_BOOL, 1, SHAPE(3), cond);
    n = tu_node(g, XF_OP_COMPRESS, "compress", 2, (int32_t[]){x, c});
    set_int(n, "axis", 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 2);
    n = tu_node(g, XF_OP_COMPRESS, "compress_flat", 2, (int32_t[]){x, c}); /* no axis: x flattened */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2);
    n = tu_node(g, XF_OP_COMPRESS, "compress_long", 2, (int32_t[]){x, c});
    set_int(n, "axis", 1);
    expect_failure(n, "3 entries");
    int32_t cin = tu_input(g, "cin", XF_BOOL, 1, SHAPE(3));
    n = tu_node(g, XF_OP_COMPRESS, "compress_input", 2, (int32_t[]){x, cin});
    expect_failure(n, "output shape depends on the values of input 'cin'");
}
END_TEST

START_TEST(test_scatter) {
    int32_t x = f32("x", 3, SHAPE(4, 4, 4)), idx = tu_input(g, "idx", XF_I64, 2, SHAPE(2, 1));
    int32_t upd = f32("upd", 3, SHAPE(2, 4, 4));
    int32_t n = tu_node(g, XF_OP_SCATTER_ND, "nd", 3, (int32_t[]){x, idx, upd});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 4, 4);
    int32_t bad = f32("bad", 3, SHAPE(2, 4, 3));
    expect_failure(tu_node(g, XF_OP_SCATTER_ND, "nd_bad", 3, (int32_t[]){x, idx, bad}), "do not fit");
    int32_t deep = tu_input(g, "deep", XF_I64, 2, SHAPE(2, 4));
    expect_failure(tu_node(g, XF_OP_SCATTER_ND, "nd_deep", 3, (int32_t[]){x, deep, upd}), "address 4 dimensions");

    int32_t d2 = f32("d2", 2, SHAPE(3, 3)), i2 = tu_input(g, "i2", XF_I64, 2, SHAPE(2, 3));
    int32_t u2 = f32("u2", 2, SHAPE(2, 3));
    n = tu_node(g, XF_OP_SCATTER_ELEMENTS, "elements", 3, (int32_t[]){d2, i2, u2});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 3);
    int32_t u3 = f32("u3", 2, SHAPE(2, 2));
    expect_failure(tu_node(g, XF_OP_SCATTER_ELEMENTS, "elements_bad", 3, (int32_t[]){d2, i2, u3}), "one shape");
    int32_t ui = tu_input(g, "ui", XF_I64, 2, SHAPE(2, 3));
    expect_failure(tu_node(g, XF_OP_SCATTER_ELEMENTS, "elements_type", 3, (int32_t[]){d2, i2, ui}),
                   "updates are int64");
}
END_TEST

START_TEST(test_loss) {
    int32_t x = f32("x", 4, SHAPE(3, 5, 6, 6)), t = tu_input(g, "t", XF_I64, 3, SHAPE(3, 6, 6));
    int32_t n = tu_node(g, XF_OP_NLL_LOSS, "nll_mean", 2, (int32_t[]){x, t});
    tu_infer_ok(g, n); /* reduction defaults to mean: a scalar */
    CHECK_SCALAR(g, tu_out(g, n), XF_F32);
    n = tu_node(g, XF_OP_NLL_LOSS, "nll_none", 2, (int32_t[]){x, t});
    set_str(n, "reduction", "none");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 6, 6);
    int32_t loss = tu_fresh(g, "loss"), log_prob = tu_fresh(g, "log_prob");
    n = xf_node_add(g, XF_OP_SCE_LOSS, "sce", 2, (int32_t[]){x, t}, 2, (int32_t[]){loss, log_prob});
    tu_infer_ok(g, n);
    CHECK_SCALAR(g, loss, XF_F32);
    CHECK_SHAPE(g, log_prob, XF_F32, 3, 5, 6, 6);

    int32_t t2 = tu_input(g, "t2", XF_I64, 3, SHAPE(3, 6, 5));
    expect_failure(tu_node(g, XF_OP_NLL_LOSS, "nll_shape", 2, (int32_t[]){x, t2}), "do not fit");
    int32_t w = f32("w", 1, SHAPE(4));
    expect_failure(tu_node(g, XF_OP_NLL_LOSS, "nll_weight", 3, (int32_t[]){x, t, w}), "one float32 per class (5)");
    n = tu_node(g, XF_OP_NLL_LOSS, "nll_reduction", 2, (int32_t[]){x, t});
    set_str(n, "reduction", "avg");
    expect_failure(n, "reduction 'avg'");
}
END_TEST

/* Results known at compile time: the shape rule fills the output's data. */
START_TEST(test_compile_time_results) {
    uint8_t cond[6] = {1, 0, 0, 1, 1, 0};
    int32_t c = xf_const_add(g, "cond", XF_BOOL, 2, SHAPE(2, 3), cond);
    int32_t n = tu_node(g, XF_OP_NON_ZERO, "nonzero", 1, &c);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 2, 3);
    const int64_t *nz = g->values[tu_out(g, n)].data, want[6] = {0, 1, 1, 0, 0, 1}; /* rows: then cols */
    ck_assert_ptr_nonnull(nz);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(nz[i], want[i]);
    expect_failure(tu_node(g, XF_OP_NON_ZERO, "nonzero_input", 1,
                           (int32_t[]){tu_input(g, "xin", XF_F32, 1, SHAPE(4))}),
                   "output shape depends on the values");

    int32_t x = tu_input(g, "x", XF_I32, 2, SHAPE(3, 4));
    n = tu_node(g, XF_OP_EYE_LIKE, "eye", 1, &x);
    set_int(n, "k", -1);
    set_int(n, "dtype", XF_F64);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F64, 3, 4);
    const double *eye = g->values[tu_out(g, n)].data;
    for (int r = 0; r < 3; r++)
        for (int col = 0; col < 4; col++) ck_assert(eye[r * 4 + col] == (col == r - 1 ? 1.0 : 0.0));
    expect_failure(tu_node(g, XF_OP_EYE_LIKE, "eye_rank", 1, (int32_t[]){f32("v", 1, SHAPE(3))}), "matrix");

    n = tu_node(g, XF_OP_SIZE, "size", 1, &x);
    tu_infer_ok(g, n);
    CHECK_SCALAR(g, tu_out(g, n), XF_I64);
    ck_assert_int_eq(*(const int64_t *)g->values[tu_out(g, n)].data, 12);
}
END_TEST

START_TEST(test_arg_extreme) {
    int32_t x = f32("x", 3, SHAPE(2, 3, 4));
    int32_t n = tu_node(g, XF_OP_ARG_MAX, "argmax", 1, &x); /* axis 0, keepdims 1 by default */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 1, 3, 4);
    n = tu_node(g, XF_OP_ARG_MIN, "argmin", 1, &x);
    set_int(n, "axis", -1);
    set_int(n, "keepdims", 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 2, 3);
    n = tu_node(g, XF_OP_ARG_MAX, "argmax_range", 1, &x);
    set_int(n, "axis", 3);
    expect_failure(n, "out of range");
}
END_TEST

static Suite *index_suite(void) {
    Suite *s = suite_create("index");
    TCase *t = tcase_create("shapes");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_einsum);
    tcase_add_test(t, test_top_k_and_tile);
    tcase_add_test(t, test_one_hot_and_compress);
    tcase_add_test(t, test_scatter);
    tcase_add_test(t, test_loss);
    tcase_add_test(t, test_compile_time_results);
    tcase_add_test(t, test_arg_extreme);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(index_suite()); }
