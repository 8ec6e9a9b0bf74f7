/* test_index.c — unit tests of the shape rules of ir/ops_index.c, the ones with room for mistakes:
 * Einsum's equations (implicit outputs, ellipses that broadcast, diagonals), TopK, Tile, OneHot's
 * axis, Compress with and without an axis, ScatterND's updates, the losses' outputs, and the ops
 * whose result is computed at compile time (NonZero, EyeLike, Size, Unique, NonMaxSuppression).
 * TensorScatter, TfIdfVectorizer, Einsum (and its cost) and the scatter reductions are also
 * evaluated on constants, which runs their kernels.
 * Expected shapes and values were worked out by hand from the ONNX operator spec; each op also gets
 * inputs it must refuse. */
#include <check.h>
#include <stdint.h>
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

/* The node's attribute `name`, replaced when it is there already (xf_attr_get finds the first). */
static xf_attr *attr_for(int32_t node, const char *name, int type) {
    xf_node *n = &g->nodes[node];
    for (int i = 0; i < n->nattr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return xf_node_add_attr(g, node, name, type);
}

/* Unlike tu_set_ints, replaces an attribute set before: the tests below reuse nodes. */
static void set_ints(int32_t node, const char *name, int32_t count, const int64_t *v) {
    xf_attr *a = attr_for(node, name, XF_ATTR_INTS);
    a->n = count;
    a->ints = xf_alloc(g->arena, sizeof(int64_t) * (size_t)(count > 0 ? count : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
}
static void set_floats(int32_t node, const char *name, int32_t count, const float *v) {
    xf_attr *a = attr_for(node, name, XF_ATTR_FLOATS);
    a->n = count;
    a->floats = xf_alloc(g->arena, sizeof(float) * (size_t)count);
    memcpy(a->floats, v, sizeof(float) * (size_t)count);
}

/* A refused node's diagnostic names the node and contains `what`. */

static int32_t einsum(const char *name, const char *eq, int32_t nin, const int32_t *in) {
    int32_t n = tu_node(g, XF_OP_EINSUM, name, nin, in);
    tu_set_str(g, n, "equation", eq);
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

    tu_expect_refusal(g, einsum("sizes", "ij,ij->i", 2, (int32_t[]){m, sq}), "does not fit");
    int32_t m2 = f32("m2", 2, SHAPE(3, 5));
    tu_expect_refusal(g, einsum("mismatch", "ij,ij->i", 2, (int32_t[]){m, m2}), "sizes 4 and 5");
    tu_expect_refusal(g, einsum("unknown_out", "ij->k", 1, &m), "output label 'k'");
    tu_expect_refusal(g, einsum("few_terms", "ij", 2, (int32_t[]){m, m}), "fewer operands");
    tu_expect_refusal(g, einsum("three", "i,i,i", 3, (int32_t[]){m, m, m}), "3 operands");
    tu_expect_refusal(g, einsum("bad_char", "i#j", 1, &m), "unexpected character '#'");
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
    tu_set_int(g, n, "axis", 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, g->nodes[n].out[1], XF_I64, 2, 4);
    tu_expect_refusal(g, tu_node(g, XF_OP_TOP_K, "k_large", 2, (int32_t[]){x, tu_i64(g, "k5", 1, SHAPE(5))}),
                   "out of range");
    tu_expect_refusal(g, tu_node(g, XF_OP_TOP_K, "k_input", 2, (int32_t[]){x, tu_input(g, "kin", XF_I64, 1, SHAPE(1))}),
                   "--bind kin=FILE.pb");

    int32_t n2 = tu_node(g, XF_OP_TILE, "tile", 2, (int32_t[]){x, tu_i64(g, "reps", 2, SHAPE(2, 0))});
    tu_infer_ok(g, n2);
    CHECK_SHAPE(g, tu_out(g, n2), XF_F32, 6, 0);
    tu_expect_refusal(g, tu_node(g, XF_OP_TILE, "tile_count", 2, (int32_t[]){x, tu_i64(g, "reps3", 3, SHAPE(1, 1, 1))}),
                   "3 entries");
    tu_expect_refusal(g, tu_node(g, XF_OP_TILE, "tile_neg", 2, (int32_t[]){x, tu_i64(g, "repsn", 2, SHAPE(1, -1))}),
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
    tu_set_int(g, n, "axis", -2); /* counted in the output's rank 3: position 1 */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I32, 2, 10, 3);
    n = tu_node(g, XF_OP_ONE_HOT, "onehot_axis_range", 3, (int32_t[]){idx, dv, values});
    tu_set_int(g, n, "axis", 3);
    tu_expect_refusal(g, n, "out of range");

    int32_t x = f32("x", 2, SHAPE(3, 2));
    uint8_t cond[3] = {0, 1, 1};
    int32_t c = xf_const_add(g, "cond", XF_BOOL, 1, SHAPE(3), cond);
    n = tu_node(g, XF_OP_COMPRESS, "compress", 2, (int32_t[]){x, c});
    tu_set_int(g, n, "axis", 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 2);
    n = tu_node(g, XF_OP_COMPRESS, "compress_flat", 2, (int32_t[]){x, c}); /* no axis: x flattened */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2);
    n = tu_node(g, XF_OP_COMPRESS, "compress_long", 2, (int32_t[]){x, c});
    tu_set_int(g, n, "axis", 1);
    tu_expect_refusal(g, n, "3 entries");
    int32_t cin = tu_input(g, "cin", XF_BOOL, 1, SHAPE(3));
    n = tu_node(g, XF_OP_COMPRESS, "compress_input", 2, (int32_t[]){x, cin});
    tu_expect_refusal(g, n, "output shape depends on the values of input 'cin'");
}
END_TEST

START_TEST(test_scatter) {
    int32_t x = f32("x", 3, SHAPE(4, 4, 4)), idx = tu_input(g, "idx", XF_I64, 2, SHAPE(2, 1));
    int32_t upd = f32("upd", 3, SHAPE(2, 4, 4));
    int32_t n = tu_node(g, XF_OP_SCATTER_ND, "nd", 3, (int32_t[]){x, idx, upd});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 4, 4);
    int32_t bad = f32("bad", 3, SHAPE(2, 4, 3));
    tu_expect_refusal(g, tu_node(g, XF_OP_SCATTER_ND, "nd_bad", 3, (int32_t[]){x, idx, bad}), "do not fit");
    int32_t deep = tu_input(g, "deep", XF_I64, 2, SHAPE(2, 4));
    tu_expect_refusal(g, tu_node(g, XF_OP_SCATTER_ND, "nd_deep", 3, (int32_t[]){x, deep, upd}), "address 4 dimensions");

    int32_t d2 = f32("d2", 2, SHAPE(3, 3)), i2 = tu_input(g, "i2", XF_I64, 2, SHAPE(2, 3));
    int32_t u2 = f32("u2", 2, SHAPE(2, 3));
    n = tu_node(g, XF_OP_SCATTER_ELEMENTS, "elements", 3, (int32_t[]){d2, i2, u2});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 3);
    int32_t u3 = f32("u3", 2, SHAPE(2, 2));
    tu_expect_refusal(g, tu_node(g, XF_OP_SCATTER_ELEMENTS, "elements_bad", 3, (int32_t[]){d2, i2, u3}), "one shape");
    int32_t ui = tu_input(g, "ui", XF_I64, 2, SHAPE(2, 3));
    tu_expect_refusal(g, tu_node(g, XF_OP_SCATTER_ELEMENTS, "elements_type", 3, (int32_t[]){d2, i2, ui}),
                   "updates are int64");
}
END_TEST

START_TEST(test_loss) {
    int32_t x = f32("x", 4, SHAPE(3, 5, 6, 6)), t = tu_input(g, "t", XF_I64, 3, SHAPE(3, 6, 6));
    int32_t n = tu_node(g, XF_OP_NLL_LOSS, "nll_mean", 2, (int32_t[]){x, t});
    tu_infer_ok(g, n); /* reduction defaults to mean: a scalar */
    CHECK_SCALAR(g, tu_out(g, n), XF_F32);
    n = tu_node(g, XF_OP_NLL_LOSS, "nll_none", 2, (int32_t[]){x, t});
    tu_set_str(g, n, "reduction", "none");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 6, 6);
    int32_t loss = tu_fresh(g, "loss"), log_prob = tu_fresh(g, "log_prob");
    n = xf_node_add(g, XF_OP_SCE_LOSS, "sce", 2, (int32_t[]){x, t}, 2, (int32_t[]){loss, log_prob});
    tu_infer_ok(g, n);
    CHECK_SCALAR(g, loss, XF_F32);
    CHECK_SHAPE(g, log_prob, XF_F32, 3, 5, 6, 6);

    int32_t t2 = tu_input(g, "t2", XF_I64, 3, SHAPE(3, 6, 5));
    tu_expect_refusal(g, tu_node(g, XF_OP_NLL_LOSS, "nll_shape", 2, (int32_t[]){x, t2}), "do not fit");
    int32_t w = f32("w", 1, SHAPE(4));
    tu_expect_refusal(g, tu_node(g, XF_OP_NLL_LOSS, "nll_weight", 3, (int32_t[]){x, t, w}), "one float32 per class (5)");
    n = tu_node(g, XF_OP_NLL_LOSS, "nll_reduction", 2, (int32_t[]){x, t});
    tu_set_str(g, n, "reduction", "avg");
    tu_expect_refusal(g, n, "reduction 'avg'");
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
    tu_expect_refusal(g, tu_node(g, XF_OP_NON_ZERO, "nonzero_input", 1,
                           (int32_t[]){tu_input(g, "xin", XF_F32, 1, SHAPE(4))}),
                   "output shape depends on the values");

    int32_t x = tu_input(g, "x", XF_I32, 2, SHAPE(3, 4));
    n = tu_node(g, XF_OP_EYE_LIKE, "eye", 1, &x);
    tu_set_int(g, n, "k", -1);
    tu_set_int(g, n, "dtype", XF_F64);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F64, 3, 4);
    const double *eye = g->values[tu_out(g, n)].data;
    for (int r = 0; r < 3; r++)
        for (int col = 0; col < 4; col++) ck_assert(eye[r * 4 + col] == (col == r - 1 ? 1.0 : 0.0));
    tu_expect_refusal(g, tu_node(g, XF_OP_EYE_LIKE, "eye_rank", 1, (int32_t[]){f32("v", 1, SHAPE(3))}), "matrix");

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
    tu_set_int(g, n, "axis", -1);
    tu_set_int(g, n, "keepdims", 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 2, 3);
    n = tu_node(g, XF_OP_ARG_MAX, "argmax_range", 1, &x);
    tu_set_int(g, n, "axis", 3);
    tu_expect_refusal(g, n, "out of range");
}
END_TEST

/* ---- Unique, NonMaxSuppression: computed at compile time ---- */

static int32_t const_f32(const char *name, int32_t rank, const int64_t *shape, const float *data) {
    return xf_const_add(g, name, XF_F32, rank, shape, data);
}

static void check_i64(int32_t v, int count, const int64_t *want, const char *what) {
    const int64_t *got = g->values[v].data;
    ck_assert_msg(got, "%s has no data", what);
    for (int i = 0; i < count; i++)
        ck_assert_msg(got[i] == want[i], "%s[%d] = %lld, want %lld", what, i, (long long)got[i], (long long)want[i]);
}

static void check_f32(int32_t v, int count, const float *want, const char *what) {
    const float *got = g->values[v].data;
    ck_assert_msg(got, "%s has no data", what);
    for (int i = 0; i < count; i++)
        ck_assert_msg(got[i] == want[i], "%s[%d] = %g, want %g", what, i, (double)got[i], (double)want[i]);
}

/* Unique with all four outputs. */
static int32_t unique(const char *name, int32_t x, int32_t *out) {
    for (int k = 0; k < 4; k++) out[k] = tu_fresh(g, xf_sprintf(g->arena, "%s_%d", name, k));
    return xf_node_add(g, XF_OP_UNIQUE, name, 1, &x, 4, out);
}

START_TEST(test_unique) {
    int32_t x = const_f32("x", 1, SHAPE(6), (const float[]){2, 1, 1, 3, 4, 3}), o[4];
    tu_infer_ok(g, unique("sorted", x, o)); /* sorted by default */
    CHECK_SHAPE(g, o[0], XF_F32, 4);
    CHECK_SHAPE(g, o[2], XF_I64, 6);
    check_f32(o[0], 4, (const float[]){1, 2, 3, 4}, "Y");
    check_i64(o[1], 4, (const int64_t[]){1, 0, 3, 4}, "indices");
    check_i64(o[2], 6, (const int64_t[]){1, 0, 0, 2, 3, 2}, "inverse_indices");
    check_i64(o[3], 4, (const int64_t[]){2, 1, 2, 1}, "counts");
    int32_t n = unique("first_seen", x, o);
    tu_set_int(g, n, "sorted", 0); /* in the order of first occurrence */
    tu_infer_ok(g, n);
    check_f32(o[0], 4, (const float[]){2, 1, 3, 4}, "Y");
    check_i64(o[1], 4, (const int64_t[]){0, 1, 3, 4}, "indices");
    check_i64(o[2], 6, (const int64_t[]){0, 1, 1, 2, 3, 2}, "inverse_indices");
    check_i64(o[3], 4, (const int64_t[]){1, 2, 2, 1}, "counts");

    /* along the last axis: columns (1,1,2), (0,0,3), (0,0,3); (0,0,3) sorts first */
    int32_t m = const_f32("m", 2, SHAPE(3, 3), (const float[]){1, 0, 0, 1, 0, 0, 2, 3, 3});
    n = unique("columns", m, o);
    tu_set_int(g, n, "axis", -1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, o[0], XF_F32, 3, 2);
    check_f32(o[0], 6, (const float[]){0, 1, 0, 1, 3, 2}, "Y");
    check_i64(o[1], 2, (const int64_t[]){1, 0}, "indices");
    check_i64(o[2], 3, (const int64_t[]){1, 0, 0}, "inverse_indices");
    check_i64(o[3], 2, (const int64_t[]){2, 1}, "counts");

    n = unique("axis_range", m, o);
    tu_set_int(g, n, "axis", 2);
    tu_expect_refusal(g, n, "out of range");
    tu_expect_refusal(g, unique("not_const", tu_input(g, "xin", XF_I64, 1, SHAPE(5)), o), "--bind xin=FILE.pb");
}
END_TEST

static int32_t nms(const char *name, int32_t nin, const int32_t *in) {
    return tu_node(g, XF_OP_NON_MAX_SUPPRESSION, name, nin, in);
}

START_TEST(test_non_max_suppression) {
    /* [y1, x1, y2, x2]: box 1 is box 0 moved right by 0.1 (IoU 0.9 / 1.1), box 2 lies far away */
    int32_t boxes = const_f32("boxes", 3, SHAPE(1, 3, 4), (const float[]){0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 10, 1, 11});
    int32_t scores = const_f32("scores", 3, SHAPE(1, 1, 3), (const float[]){0.9f, 0.95f, 0.5f});
    int32_t max3 = tu_i64(g, "max3", 1, SHAPE(3)), max2 = tu_i64(g, "max2", 1, SHAPE(2));
    int32_t iou = const_f32("iou", 1, SHAPE(1), (const float[]){0.5f});
    int32_t iou_high = const_f32("iou_high", 1, SHAPE(1), (const float[]){0.9f});
    int32_t score = const_f32("score", 1, SHAPE(1), (const float[]){0.6f});
    int32_t n = nms("suppress", 4, (int32_t[]){boxes, scores, max3, iou});
    tu_infer_ok(g, n); /* box 1 first (best score), box 0 suppressed by it */
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 2, 3);
    check_i64(tu_out(g, n), 6, (const int64_t[]){0, 0, 1, 0, 0, 2}, "selected");
    n = nms("score_threshold", 5, (int32_t[]){boxes, scores, max3, iou, score});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 1, 3);
    n = nms("limit", 4, (int32_t[]){boxes, scores, max2, iou_high});
    tu_infer_ok(g, n); /* nothing suppressed at 0.9: the two best */
    check_i64(tu_out(g, n), 6, (const int64_t[]){0, 0, 1, 0, 0, 0}, "selected");
    n = nms("no_max", 2, (int32_t[]){boxes, scores}); /* max_output_boxes_per_class defaults to 0 */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 0, 3);

    n = nms("center", 2, (int32_t[]){boxes, scores});
    tu_set_int(g, n, "center_point_box", 2);
    tu_expect_refusal(g, n, "center_point_box must be 0 or 1");
    int32_t scores_bad = const_f32("scores_bad", 3, SHAPE(1, 1, 2), (const float[]){0.9f, 0.95f});
    tu_expect_refusal(g, nms("shapes", 2, (int32_t[]){boxes, scores_bad}), "[B, N, 4] and [B, C, N]");
    int32_t bin = tu_input(g, "bin", XF_F32, 3, SHAPE(1, 3, 4));
    tu_expect_refusal(g, nms("not_const", 2, (int32_t[]){bin, scores}), "--bind bin=FILE.pb");
}
END_TEST

/* ---- TensorScatter, TfIdfVectorizer: their kernels, run on constants ---- */

/* Evaluation of node n, which must succeed (ok) or fail on an index out of range. */
static void eval(int32_t n, bool ok) {
    tu_infer_ok(g, n);
    xf_diag d = {0};
    bool done = xf_eval_node(g, n, &d);
    if (ok) ck_assert_msg(done, "%s", d.msg);
    else ck_assert_msg(!done && strstr(d.msg, "out of range"), "node '%s': %s", g->nodes[n].name,
                       done ? "evaluated but should have failed" : d.msg);
}

static int32_t tensor_scatter(const char *name, int32_t cache, int32_t update, int32_t write, const char *mode) {
    int32_t n = tu_node(g, XF_OP_TENSOR_SCATTER, name, write >= 0 ? 3 : 2, (int32_t[]){cache, update, write});
    if (mode) tu_set_str(g, n, "mode", mode);
    return n;
}

START_TEST(test_tensor_scatter) {
    /* cache [2, 1, 4, 1]: batch 0 holds 0..3, batch 1 4..7; updates of two positions per batch */
    int32_t cache = const_f32("cache", 4, SHAPE(2, 1, 4, 1), (const float[]){0, 1, 2, 3, 4, 5, 6, 7});
    int32_t upd = const_f32("upd", 4, SHAPE(2, 1, 2, 1), (const float[]){10, 11, 20, 21});
    int32_t n = tensor_scatter("linear", cache, upd, tu_i64(g, "w12", 2, SHAPE(1, 2)), NULL);
    eval(n, true);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 1, 4, 1);
    check_f32(tu_out(g, n), 8, (const float[]){0, 10, 11, 3, 4, 5, 20, 21}, "linear");
    n = tensor_scatter("at_zero", cache, upd, -1, NULL); /* no write_indices: all 0 */
    eval(n, true);
    check_f32(tu_out(g, n), 8, (const float[]){10, 11, 2, 3, 20, 21, 6, 7}, "at_zero");
    n = tensor_scatter("circular", cache, upd, tu_i64(g, "wm13", 2, SHAPE(-1, 3)), "circular");
    eval(n, true); /* -1 wraps to 3 as Python's % has it; 3, 4 wrap to 3, 0 */
    check_f32(tu_out(g, n), 8, (const float[]){11, 1, 2, 10, 21, 5, 6, 20}, "circular");
    /* linear writes must fit: 3 + 2 > 4, and -1 is before the start */
    eval(tensor_scatter("past_end", cache, upd, tu_i64(g, "w13", 2, SHAPE(1, 3)), "linear"), false);
    eval(tensor_scatter("negative", cache, upd, tu_i64(g, "wm10", 2, SHAPE(-1, 0)), "linear"), false);

    int32_t long_upd = const_f32("long_upd", 4, SHAPE(2, 1, 5, 1), (const float[10]){0});
    tu_expect_refusal(g, tensor_scatter("too_long", cache, long_upd, -1, NULL), "does not fit");
    int32_t other = const_f32("other", 4, SHAPE(2, 2, 2, 1), (const float[8]){0});
    tu_expect_refusal(g, tensor_scatter("other_dims", cache, other, -1, NULL), "does not fit");
    n = tensor_scatter("batch_axis", cache, upd, -1, NULL);
    tu_set_int(g, n, "axis", 0);
    tu_expect_refusal(g, n, "cannot be 0");
    tu_expect_refusal(g, tensor_scatter("indices_shape", cache, upd, tu_i64(g, "w3", 3, SHAPE(0, 0, 0)), NULL),
                   "write_indices must be int64 [2]");
    tu_expect_refusal(g, tensor_scatter("mode", cache, upd, -1, "ring"), "mode 'ring'");
}
END_TEST

/* The pool of ONNX's TfIdfVectorizer tests: unigrams 2, 3, 5, 4 (columns 0-3), bigrams (5,6),
 * (7,8), (6,7) (columns 4-6). */
static int32_t tfidf(const char *name, int32_t x, int64_t min, int64_t max, int64_t skip, const char *mode) {
    int32_t n = tu_node(g, XF_OP_TFIDF_VECTORIZER, name, 1, &x);
    tu_set_int(g, n, "min_gram_length", min);
    tu_set_int(g, n, "max_gram_length", max);
    tu_set_int(g, n, "max_skip_count", skip);
    tu_set_str(g, n, "mode", mode);
    set_ints(n, "ngram_counts", 2, SHAPE(0, 4));
    set_ints(n, "ngram_indexes", 7, SHAPE(0, 1, 2, 3, 4, 5, 6));
    set_ints(n, "pool_int64s", 10, SHAPE(2, 3, 5, 4, 5, 6, 7, 8, 6, 7));
    return n;
}

START_TEST(test_tfidf) {
    const int64_t ids[12] = {1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8};
    int32_t x = xf_const_add(g, "x", XF_I64, 1, SHAPE(12), ids);
    int32_t n = tfidf("bigrams", x, 2, 2, 0, "TF"); /* (7,8), (6,7), (5,6) occur once each, in a row */
    eval(n, true);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 7);
    check_f32(tu_out(g, n), 7, (const float[]){0, 0, 0, 0, 1, 1, 1}, "bigrams");

    int32_t ids32[12];
    for (int i = 0; i < 12; i++) ids32[i] = (int32_t)ids[i];
    int32_t rows = xf_const_add(g, "rows", XF_I32, 2, SHAPE(2, 6), ids32);
    n = tfidf("skips", rows, 2, 2, 5, "TF"); /* any gap up to 5: row 1 (8 6 7 5 6 8) has all three */
    eval(n, true);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 7);
    check_f32(tu_out(g, n), 14, (const float[]){0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, "skips");

    /* unigrams only (counts 3 of id 3 and 1 of id 5), weighted */
    const float w[7] = {1, 2, 0.5f, 4, 1, 1, 1};
    n = tfidf("tfidf", x, 1, 1, 3, "TFIDF"); /* skips do not apply to unigrams */
    set_floats(n, "weights", 7, w);
    eval(n, true);
    check_f32(tu_out(g, n), 7, (const float[]){0, 6, 0.5f, 0, 0, 0, 0}, "tfidf");
    n = tfidf("idf", x, 1, 1, 0, "IDF");
    set_floats(n, "weights", 7, w);
    eval(n, true);
    check_f32(tu_out(g, n), 7, (const float[]){0, 2, 0.5f, 0, 0, 0, 0}, "idf");

    /* of two equal n-grams the later one counts */
    int32_t pair = xf_const_add(g, "pair", XF_I64, 1, SHAPE(2), SHAPE(5, 6));
    n = tfidf("duplicate", pair, 2, 2, 0, "TF");
    set_ints(n, "ngram_counts", 2, SHAPE(0, 0));
    set_ints(n, "ngram_indexes", 2, SHAPE(0, 1));
    set_ints(n, "pool_int64s", 4, SHAPE(5, 6, 5, 6));
    eval(n, true);
    check_f32(tu_out(g, n), 2, (const float[]){0, 1}, "duplicate");

    tu_expect_refusal(g, tfidf("float_ids", f32("fx", 1, SHAPE(4)), 1, 2, 0, "TF"), "int32 or int64");
    tu_expect_refusal(g, tfidf("mode", x, 1, 2, 0, "BM25"), "mode 'BM25'");
    tu_expect_refusal(g, tfidf("lengths", x, 2, 1, 0, "TF"), "not a range");
    n = tfidf("indexes", x, 1, 2, 0, "TF");
    set_ints(n, "ngram_indexes", 6, SHAPE(0, 1, 2, 3, 4, 5));
    tu_expect_refusal(g, n, "6 entries for 7 n-grams");
    n = tfidf("ragged", x, 1, 2, 0, "TF");
    set_ints(n, "ngram_counts", 2, SHAPE(0, 3));
    tu_expect_refusal(g, n, "not a whole number");
    n = tfidf("few_weights", x, 1, 2, 0, "IDF");
    set_floats(n, "weights", 3, w);
    tu_expect_refusal(g, n, "fewer than the 7 output columns");
    n = tfidf("strings", x, 1, 2, 0, "TF");
    xf_attr *a = xf_node_add_attr(g, n, "pool_strings", XF_ATTR_STRINGS);
    a->n = 1;
    a->strings = xf_alloc(g->arena, sizeof(char *));
    a->strings[0] = "a";
    tu_expect_refusal(g, n, "pool_strings");
}
END_TEST

/* ---- Einsum and the scatter reductions: one kernel each for every element type ---- */

/* "ij,jk->ik" of float32 [2, 3] and [3, 2]; its cost is a multiply-add (two flops) for each of the
 * 3 terms of each of the 4 outputs. */
START_TEST(test_einsum_values) {
    int32_t a = tu_f32_const(g, "a", 2, SHAPE(2, 3), (const float[]){1, 2, 3, 4, 5, 6});
    int32_t b = tu_f32_const(g, "b", 2, SHAPE(3, 2), (const float[]){1, 0, 0, 1, 1, 1});
    int32_t n = einsum("matmul", "ij,jk->ik", 2, (int32_t[]){a, b});
    eval(n, true);
    const float *y = g->values[tu_out(g, n)].data;
    ck_assert(y[0] == 4.0f && y[1] == 5.0f && y[2] == 10.0f && y[3] == 11.0f);
    xf_call calls[2];
    xf_calls out = {.g = g, .at = calls, .max = 2};
    xf_diag d = {0};
    ck_assert_msg(xf_lower_node(g, n, &out, &d), "%s", d.msg);
    ck_assert_int_eq(out.count, 1);
    ck_assert_int_eq(xf_call_cost(g, &calls[0]).flops, 2 * 4 * 3);
}
END_TEST

/* Integer sums wrap (int32 here); float64 compares as float64. */
START_TEST(test_scatter_reductions) {
    int32_t idx = tu_i64(g, "idx", 1, SHAPE(0));
    int32_t x = xf_const_add(g, "x32", XF_I32, 1, SHAPE(2), (const int32_t[]){INT32_MAX, 5});
    int32_t upd = xf_const_add(g, "u32", XF_I32, 1, SHAPE(1), (const int32_t[]){1});
    int32_t n = tu_node(g, XF_OP_SCATTER_ELEMENTS, "add_i32", 3, (int32_t[]){x, idx, upd});
    tu_set_str(g, n, "reduction", "add");
    eval(n, true);
    const int32_t *y = g->values[tu_out(g, n)].data;
    ck_assert(y[0] == INT32_MIN && y[1] == 5);
    x = xf_const_add(g, "x64", XF_F64, 1, SHAPE(2), (const double[]){1.5, 2.0});
    upd = xf_const_add(g, "u64", XF_F64, 1, SHAPE(1), (const double[]){3.25});
    n = tu_node(g, XF_OP_SCATTER_ELEMENTS, "max_f64", 3, (int32_t[]){x, idx, upd});
    tu_set_str(g, n, "reduction", "max");
    eval(n, true);
    const double *z = g->values[tu_out(g, n)].data;
    ck_assert(z[0] == 3.25 && z[1] == 2.0);
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
    tcase_add_test(t, test_unique);
    tcase_add_test(t, test_non_max_suppression);
    tcase_add_test(t, test_tensor_scatter);
    tcase_add_test(t, test_tfidf);
    tcase_add_test(t, test_einsum_values);
    tcase_add_test(t, test_scatter_reductions);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(index_suite()); }
