/* test_shape.c — unit tests of shape inference (xf_infer_node) one node at a time: numpy
 * broadcasting, batched MatMul, Reshape's 0 and -1, Transpose, Concat, Gather, Slice with negative
 * indices and steps, Unsqueeze with axes from a constant input or an attribute, and reductions with
 * and without keepdims. Every expected shape was worked out by hand from the ONNX operator spec;
 * each op also gets inputs it must refuse, with a diagnostic naming the node. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

/* A fresh graph per test; freed in the teardown so failing tests do not leak into the next. */
static xf_graph *g;
static void setup(void) { g = xf_graph_new("shape.onnx"); }
static void teardown(void) { xf_graph_free(g); g = NULL; }

static int32_t f32(const char *name, int32_t rank, const int64_t *shape) {
    return tu_input(g, name, XF_F32, rank, shape);
}

/* The diagnostic of a refused node names the file and the node. */
static void expect_failure(int32_t node) {
    xf_diag d;
    const char *msg = tu_infer_fails(g, node, &d);
    char want[300];
    snprintf(want, sizeof want, "node '%s'", g->nodes[node].name);
    ck_assert_msg(strstr(msg, want), "diagnostic does not name node '%s': %s", g->nodes[node].name, msg);
    ck_assert_msg(strstr(msg, "shape.onnx") == msg, "diagnostic does not start with the file: %s", msg);
}

/* ---- broadcasting ---- */

START_TEST(test_broadcast) {
    int32_t a = f32("a", 3, SHAPE(2, 1, 4)), b = f32("b", 2, SHAPE(3, 1));
    int32_t n = tu_node(g, XF_OP_ADD, "add", 2, (int32_t[]){a, b});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3, 4);

    /* order does not matter */
    n = tu_node(g, XF_OP_MUL, "mul", 2, (int32_t[]){b, a});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3, 4);

    /* a scalar broadcasts to anything */
    int32_t s = f32("s", 0, NULL), v = f32("v", 1, SHAPE(5));
    n = tu_node(g, XF_OP_SUB, "sub", 2, (int32_t[]){v, s});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 5);
    n = tu_node(g, XF_OP_DIV, "div_scalars", 2, (int32_t[]){s, s});
    tu_infer_ok(g, n);
    CHECK_SCALAR(g, tu_out(g, n), XF_F32);

    /* a dimension of 0 broadcasts against 1 and stays 0 */
    int32_t z = f32("z", 2, SHAPE(0, 3)), o = f32("o", 2, SHAPE(1, 3));
    n = tu_node(g, XF_OP_ADD, "add_empty", 2, (int32_t[]){z, o});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 0, 3);

    /* comparisons give bool; Where takes the type of its data operands */
    n = tu_node(g, XF_OP_LESS, "less", 2, (int32_t[]){a, b});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_BOOL, 2, 3, 4);
    int32_t cond = tu_input(g, "cond", XF_BOOL, 2, SHAPE(2, 1));
    int32_t c = f32("c", 2, SHAPE(2, 3)), w3 = f32("w3", 1, SHAPE(3));
    n = tu_node(g, XF_OP_WHERE, "where", 3, (int32_t[]){cond, w3, c});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3);

    /* unary ops keep the shape */
    n = tu_node(g, XF_OP_SQRT, "sqrt", 1, &a);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 1, 4);
}
END_TEST

START_TEST(test_broadcast_mismatch) {
    int32_t a = f32("a", 2, SHAPE(2, 3)), b = f32("b", 2, SHAPE(4, 5));
    expect_failure(tu_node(g, XF_OP_ADD, "bad_add", 2, (int32_t[]){a, b}));
    /* 3 against 2 in the last dimension, even though the ranks differ */
    int32_t c = f32("c", 3, SHAPE(7, 2, 3)), e = f32("e", 1, SHAPE(2));
    expect_failure(tu_node(g, XF_OP_MUL, "bad_mul", 2, (int32_t[]){c, e}));
    /* [2,3] and [3,2] transposed: no dimension broadcasts */
    int32_t t = f32("t", 2, SHAPE(3, 2));
    expect_failure(tu_node(g, XF_OP_SUB, "bad_sub", 2, (int32_t[]){a, t}));
}
END_TEST

START_TEST(test_elementwise_types_and_arity) {
    int32_t a = f32("a", 1, SHAPE(4));
    int32_t i = tu_input(g, "i", XF_I64, 1, SHAPE(4));
    expect_failure(tu_node(g, XF_OP_ADD, "mixed_types", 2, (int32_t[]){a, i}));
    expect_failure(tu_node(g, XF_OP_ADD, "one_operand", 1, &a));
    expect_failure(tu_node(g, XF_OP_NEG, "two_operands", 2, (int32_t[]){a, a}));
    /* Sqrt has no integer form in ops.def */
    expect_failure(tu_node(g, XF_OP_SQRT, "int_sqrt", 1, &i));
    /* an integer Add is fine */
    int32_t n = tu_node(g, XF_OP_ADD, "int_add", 2, (int32_t[]){i, i});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 4);
    /* Cast takes its type from the attribute */
    n = tu_node(g, XF_OP_CAST, "cast", 1, &a);
    xf_node_add_attr(g, n, "to", XF_ATTR_INT)->i = XF_I32;
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I32, 4);
}
END_TEST

/* A graph input whose dimension is still unknown must be reported, pointing at --shape. */
START_TEST(test_dynamic_input_refused) {
    int32_t x = f32("x", 2, SHAPE(-1, 4));
    g->values[x].dim_param[0] = "batch";
    int32_t n = tu_node(g, XF_OP_RELU, "relu", 1, &x);
    xf_diag d;
    const char *msg = tu_infer_fails(g, n, &d);
    ck_assert_msg(strstr(msg, "'x'") && strstr(msg, "--shape"), "unhelpful diagnostic: %s", msg);
    int32_t u = tu_fresh(g, "unknown");
    expect_failure(tu_node(g, XF_OP_RELU, "relu_unknown", 1, &u));
}
END_TEST

/* ---- MatMul ---- */

START_TEST(test_matmul) {
    int32_t a = f32("a", 4, SHAPE(2, 1, 3, 4)), b = f32("b", 3, SHAPE(5, 4, 6));
    int32_t n = tu_node(g, XF_OP_MATMUL, "batched", 2, (int32_t[]){a, b});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 5, 3, 6);

    int32_t m = f32("m", 2, SHAPE(3, 4)), w = f32("w", 2, SHAPE(4, 6));
    n = tu_node(g, XF_OP_MATMUL, "plain", 2, (int32_t[]){m, w});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 6);

    /* a batch of matrices times one matrix, as in every linear layer */
    int32_t x = f32("x", 3, SHAPE(1, 16, 4));
    n = tu_node(g, XF_OP_MATMUL, "linear", 2, (int32_t[]){x, w});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 16, 6);

    /* 1-D operands: a vector on the left loses its row dimension, on the right its column */
    int32_t v = f32("v", 1, SHAPE(4)), bw = f32("bw", 3, SHAPE(2, 4, 6));
    n = tu_node(g, XF_OP_MATMUL, "vec_left", 2, (int32_t[]){v, bw});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 6);
    int32_t bm = f32("bm", 3, SHAPE(2, 3, 4));
    n = tu_node(g, XF_OP_MATMUL, "vec_right", 2, (int32_t[]){bm, v});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3);
}
END_TEST

START_TEST(test_matmul_mismatch) {
    int32_t m = f32("m", 2, SHAPE(3, 4)), w = f32("w", 2, SHAPE(5, 6));
    expect_failure(tu_node(g, XF_OP_MATMUL, "inner", 2, (int32_t[]){m, w}));
    int32_t a = f32("a", 3, SHAPE(2, 3, 4)), b = f32("b", 3, SHAPE(3, 4, 5));
    expect_failure(tu_node(g, XF_OP_MATMUL, "batch", 2, (int32_t[]){a, b}));
}
END_TEST

/* ---- Reshape ---- */

static int32_t reshape(const char *name, int32_t x, int32_t n, const int64_t *target) {
    char cname[64];
    snprintf(cname, sizeof cname, "%s_shape", name);
    return tu_node(g, XF_OP_RESHAPE, name, 2, (int32_t[]){x, tu_i64(g, cname, n, target)});
}

START_TEST(test_reshape) {
    int32_t x = f32("x", 3, SHAPE(2, 3, 4));
    int32_t n = reshape("zero_minus1", x, 2, SHAPE(0, -1));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 12);
    n = reshape("minus1_zero", x, 3, SHAPE(-1, 0, 2)); /* 0 copies dim 1 (3); -1 = 24 / 6 */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 3, 2);
    n = reshape("all_zero", x, 3, SHAPE(0, 0, -1));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3, 4);
    n = reshape("flat", x, 1, SHAPE(-1));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 24);
    n = reshape("split_heads", x, 4, SHAPE(0, 0, 2, 2));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3, 2, 2);
    int32_t s = f32("s", 0, NULL);
    n = reshape("to_1x1", s, 2, SHAPE(1, -1));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1);
}
END_TEST

START_TEST(test_reshape_refused) {
    int32_t x = f32("x", 3, SHAPE(2, 3, 4));
    expect_failure(reshape("not_divisible", x, 2, SHAPE(5, -1)));
    expect_failure(reshape("two_minus1", x, 2, SHAPE(-1, -1)));
    expect_failure(reshape("wrong_count", x, 2, SHAPE(7, 4)));
    expect_failure(reshape("negative", x, 2, SHAPE(-2, 12)));
    expect_failure(reshape("zero_past_rank", x, 4, SHAPE(2, 3, 4, 0)));
    /* a shape computed at run time cannot be handled */
    int32_t dyn = tu_input(g, "dyn", XF_I64, 1, SHAPE(2));
    expect_failure(tu_node(g, XF_OP_RESHAPE, "runtime_shape", 2, (int32_t[]){x, dyn}));
}
END_TEST

/* ---- Transpose ---- */

START_TEST(test_transpose) {
    int32_t x = f32("x", 4, SHAPE(1, 2, 3, 4));
    int32_t n = tu_node(g, XF_OP_TRANSPOSE, "heads", 1, &x);
    xf_attr *p = xf_node_add_attr(g, n, "perm", XF_ATTR_INTS);
    p->n = 4;
    p->ints = (int64_t[]){0, 2, 1, 3};
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 3, 2, 4);

    int32_t y = f32("y", 3, SHAPE(2, 3, 4));
    n = tu_node(g, XF_OP_TRANSPOSE, "reverse", 1, &y); /* no perm: dimensions reversed */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 3, 2);

    n = tu_node(g, XF_OP_TRANSPOSE, "not_a_perm", 1, &y);
    p = xf_node_add_attr(g, n, "perm", XF_ATTR_INTS);
    p->n = 3;
    p->ints = (int64_t[]){0, 0, 1};
    expect_failure(n);
    n = tu_node(g, XF_OP_TRANSPOSE, "short_perm", 1, &y);
    p = xf_node_add_attr(g, n, "perm", XF_ATTR_INTS);
    p->n = 2;
    p->ints = (int64_t[]){1, 0};
    expect_failure(n);
    n = tu_node(g, XF_OP_TRANSPOSE, "perm_out_of_range", 1, &y);
    p = xf_node_add_attr(g, n, "perm", XF_ATTR_INTS);
    p->n = 3;
    p->ints = (int64_t[]){0, 1, 3};
    expect_failure(n);
}
END_TEST

/* ---- Concat ---- */

START_TEST(test_concat) {
    int32_t a = f32("a", 2, SHAPE(2, 3)), b = f32("b", 2, SHAPE(2, 5)), c = f32("c", 2, SHAPE(2, 1));
    int32_t n = tu_node(g, XF_OP_CONCAT, "last", 3, (int32_t[]){a, b, c});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = -1;
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 9);

    int32_t d = f32("d", 2, SHAPE(4, 3));
    n = tu_node(g, XF_OP_CONCAT, "first", 2, (int32_t[]){a, d});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 0;
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 6, 3);

    /* an empty part adds nothing */
    int32_t e = f32("e", 2, SHAPE(0, 3));
    n = tu_node(g, XF_OP_CONCAT, "with_empty", 2, (int32_t[]){e, a});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 0;
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3);

    n = tu_node(g, XF_OP_CONCAT, "mismatch", 2, (int32_t[]){a, d});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 1;
    expect_failure(n);
    int32_t r = f32("r", 3, SHAPE(2, 3, 1));
    n = tu_node(g, XF_OP_CONCAT, "ranks", 2, (int32_t[]){a, r});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 0;
    expect_failure(n);
    int32_t i = tu_input(g, "i", XF_I64, 2, SHAPE(2, 3));
    n = tu_node(g, XF_OP_CONCAT, "types", 2, (int32_t[]){a, i});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 0;
    expect_failure(n);
    n = tu_node(g, XF_OP_CONCAT, "axis_range", 2, (int32_t[]){a, a});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 2;
    expect_failure(n);
}
END_TEST

/* ---- Gather ---- */

START_TEST(test_gather) {
    int32_t x = f32("x", 3, SHAPE(5, 6, 7));
    int32_t idx = tu_input(g, "idx", XF_I64, 2, SHAPE(2, 3));
    int32_t n = tu_node(g, XF_OP_GATHER, "mid", 2, (int32_t[]){x, idx});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 1;
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 5, 2, 3, 7);

    /* default axis 0, int32 indices: the embedding lookup */
    int32_t ids = tu_input(g, "ids", XF_I32, 2, SHAPE(1, 16));
    int32_t table = f32("table", 2, SHAPE(512, 64));
    n = tu_node(g, XF_OP_GATHER, "embed", 2, (int32_t[]){table, ids});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 16, 64);

    /* a scalar index removes the axis */
    n = tu_node(g, XF_OP_GATHER, "last_axis", 2, (int32_t[]){x, tu_i64_scalar(g, "k", -1)});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = -1;
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 5, 6);

    int32_t fidx = f32("fidx", 1, SHAPE(2));
    expect_failure(tu_node(g, XF_OP_GATHER, "float_indices", 2, (int32_t[]){x, fidx}));
    n = tu_node(g, XF_OP_GATHER, "bad_axis", 2, (int32_t[]){x, idx});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 3;
    expect_failure(n);
}
END_TEST

/* ---- Slice ---- */

/* Slice(x, starts, ends[, axes[, steps]]) with int64 constant lists of length k (NULL: omitted). */
static int32_t slice(const char *name, int32_t x, int32_t k, const int64_t *starts, const int64_t *ends,
                     const int64_t *axes, const int64_t *steps) {
    char buf[64];
    int32_t in[5] = {x};
    int32_t nin = 3;
    snprintf(buf, sizeof buf, "%s_starts", name);
    in[1] = tu_i64(g, buf, k, starts);
    snprintf(buf, sizeof buf, "%s_ends", name);
    in[2] = tu_i64(g, buf, k, ends);
    if (axes || steps) {
        snprintf(buf, sizeof buf, "%s_axes", name);
        in[3] = axes ? tu_i64(g, buf, k, axes) : -1;
        nin = 4;
    }
    if (steps) {
        snprintf(buf, sizeof buf, "%s_steps", name);
        in[4] = tu_i64(g, buf, k, steps);
        nin = 5;
    }
    return tu_node(g, XF_OP_SLICE, name, nin, in);
}

START_TEST(test_slice) {
    int32_t x = f32("x", 2, SHAPE(10, 20));
    /* columns -3 .. -1: 17 and 18 */
    int32_t n = slice("neg", x, 1, SHAPE(-3), SHAPE(-1), SHAPE(1), NULL);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 10, 2);
    /* no axes: the lists cover the leading dimensions; ends past the end clamp; -5 is 15 */
    n = slice("leading", x, 2, SHAPE(2, -5), SHAPE(1000, INT64_MAX), NULL, NULL);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 8, 5);
    /* reversed with step -2 from the last row to "before the start": rows 9, 7, 5, 3, 1 */
    n = slice("reverse", x, 1, SHAPE(-1), SHAPE(INT64_MIN), SHAPE(0), SHAPE(-2));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 5, 20);
    /* step 3 over 10 rows: 0, 3, 6, 9 */
    n = slice("step3", x, 1, SHAPE(0), SHAPE(10), SHAPE(-2), SHAPE(3));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 20);
    /* start after end: empty */
    n = slice("empty", x, 1, SHAPE(-2), SHAPE(3), SHAPE(1), NULL);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 10, 0);
    /* starts below -dim clamp to 0: the whole axis */
    n = slice("clamp_low", x, 1, SHAPE(-100), SHAPE(-1), SHAPE(1), NULL);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 10, 19);
    /* the RoPE halves of llama: x[..., :dim/2] and x[..., dim/2:] */
    int32_t q = f32("q", 4, SHAPE(1, 4, 16, 16));
    n = slice("rope_lo", q, 1, SHAPE(0), SHAPE(8), SHAPE(3), SHAPE(1));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 4, 16, 8);
    n = slice("rope_hi", q, 1, SHAPE(8), SHAPE(INT64_MAX), SHAPE(-1), SHAPE(1));
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 4, 16, 8);
}
END_TEST

START_TEST(test_slice_int32_lists) {
    int32_t x = f32("x", 2, SHAPE(10, 20));
    int32_t starts = xf_const_add(g, "s32", XF_I32, 1, SHAPE(1), (int32_t[]){-4});
    int32_t ends = xf_const_add(g, "e32", XF_I32, 1, SHAPE(1), (int32_t[]){20});
    int32_t axes = xf_const_add(g, "a32", XF_I32, 1, SHAPE(1), (int32_t[]){1});
    int32_t n = tu_node(g, XF_OP_SLICE, "i32", 4, (int32_t[]){x, starts, ends, axes});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 10, 4);
}
END_TEST

START_TEST(test_slice_refused) {
    int32_t x = f32("x", 2, SHAPE(10, 20));
    expect_failure(slice("zero_step", x, 1, SHAPE(0), SHAPE(5), SHAPE(0), SHAPE(0)));
    expect_failure(slice("bad_axis", x, 1, SHAPE(0), SHAPE(5), SHAPE(2), NULL));
    expect_failure(slice("twice", x, 2, SHAPE(0, 1), SHAPE(5, 5), SHAPE(0, -2), NULL));
    int32_t s = tu_i64(g, "s2", 2, SHAPE(0, 0)), e = tu_i64(g, "e1", 1, SHAPE(3));
    expect_failure(tu_node(g, XF_OP_SLICE, "lengths", 3, (int32_t[]){x, s, e}));
    int32_t dyn = tu_input(g, "dyn", XF_I64, 1, SHAPE(1));
    expect_failure(tu_node(g, XF_OP_SLICE, "runtime_start", 3, (int32_t[]){x, dyn, e}));
}
END_TEST

/* ---- Unsqueeze ---- */

START_TEST(test_unsqueeze) {
    int32_t x = f32("x", 2, SHAPE(3, 4));
    /* opset 13+: axes from a constant input, normalised against the output rank 4 */
    int32_t n = tu_node(g, XF_OP_UNSQUEEZE, "both_ends", 2, (int32_t[]){x, tu_i64(g, "ax", 2, SHAPE(0, -1))});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 3, 4, 1);
    n = tu_node(g, XF_OP_UNSQUEEZE, "middle", 2, (int32_t[]){x, tu_i64(g, "ax1", 1, SHAPE(1))});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 1, 4);
    /* axes out of order */
    n = tu_node(g, XF_OP_UNSQUEEZE, "unordered", 2, (int32_t[]){x, tu_i64(g, "ax2", 2, SHAPE(3, 1))});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 1, 4, 1);
    /* a scalar to rank 1 (the shape arithmetic of exporters does this) */
    int32_t s = tu_input(g, "s", XF_I64, 0, NULL);
    n = tu_node(g, XF_OP_UNSQUEEZE, "scalar", 2, (int32_t[]){s, tu_i64(g, "ax3", 1, SHAPE(0))});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 1);
    /* before opset 13: axes as an attribute */
    n = tu_node(g, XF_OP_UNSQUEEZE, "attr", 1, &x);
    xf_attr *a = xf_node_add_attr(g, n, "axes", XF_ATTR_INTS);
    a->n = 1;
    a->ints = (int64_t[]){0};
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 3, 4);

    expect_failure(tu_node(g, XF_OP_UNSQUEEZE, "dup", 2, (int32_t[]){x, tu_i64(g, "ax4", 2, SHAPE(0, 0))}));
    expect_failure(tu_node(g, XF_OP_UNSQUEEZE, "range", 2, (int32_t[]){x, tu_i64(g, "ax5", 1, SHAPE(3))}));
    int32_t dyn = tu_input(g, "dyn", XF_I64, 1, SHAPE(1));
    expect_failure(tu_node(g, XF_OP_UNSQUEEZE, "runtime_axes", 2, (int32_t[]){x, dyn}));
    expect_failure(tu_node(g, XF_OP_UNSQUEEZE, "no_axes", 1, &x));
}
END_TEST

/* ---- reductions ---- */

static int32_t reduce(int32_t op, const char *name, int32_t x, int32_t naxes, const int64_t *axes, int keepdims) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s_axes", name);
    int32_t in[2] = {x, naxes ? tu_i64(g, buf, naxes, axes) : -1};
    int32_t n = tu_node(g, op, name, naxes ? 2 : 1, in);
    if (keepdims >= 0) xf_node_add_attr(g, n, "keepdims", XF_ATTR_INT)->i = keepdims;
    return n;
}

START_TEST(test_reduce) {
    int32_t x = f32("x", 3, SHAPE(2, 3, 4));
    int32_t n = reduce(XF_OP_REDUCE_SUM, "sum_keep", x, 1, SHAPE(1), 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 1, 4);
    n = reduce(XF_OP_REDUCE_MEAN, "mean_default_keep", x, 1, SHAPE(-1), -1); /* keepdims defaults to 1 */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3, 1);
    n = reduce(XF_OP_REDUCE_MEAN, "mean_drop", x, 2, SHAPE(-1, 0), 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3);
    n = reduce(XF_OP_REDUCE_MAX, "max_all_keep", x, 0, NULL, 1); /* no axes: all of them */
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 1);
    n = reduce(XF_OP_REDUCE_MIN, "min_all_drop", x, 0, NULL, 0);
    tu_infer_ok(g, n);
    CHECK_SCALAR(g, tu_out(g, n), XF_F32);
    /* two axes; an axes attribute (before opset 18) becomes this input in the frontend (test_onnx.c) */
    n = reduce(XF_OP_REDUCE_MEAN, "mean_two", x, 2, SHAPE(0, 2), 0);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3);

    expect_failure(reduce(XF_OP_REDUCE_SUM, "axis_range", x, 1, SHAPE(3), 1));
    expect_failure(reduce(XF_OP_REDUCE_SUM, "axis_range_neg", x, 1, SHAPE(-4), 1));
}
END_TEST

static Suite *shape_suite(void) {
    Suite *s = suite_create("shape");
    TCase *ew = tcase_create("elementwise");
    tcase_add_checked_fixture(ew, setup, teardown);
    tcase_add_test(ew, test_broadcast);
    tcase_add_test(ew, test_broadcast_mismatch);
    tcase_add_test(ew, test_elementwise_types_and_arity);
    tcase_add_test(ew, test_dynamic_input_refused);
    suite_add_tcase(s, ew);
    TCase *la = tcase_create("matmul");
    tcase_add_checked_fixture(la, setup, teardown);
    tcase_add_test(la, test_matmul);
    tcase_add_test(la, test_matmul_mismatch);
    suite_add_tcase(s, la);
    TCase *data = tcase_create("data");
    tcase_add_checked_fixture(data, setup, teardown);
    tcase_add_test(data, test_reshape);
    tcase_add_test(data, test_reshape_refused);
    tcase_add_test(data, test_transpose);
    tcase_add_test(data, test_concat);
    tcase_add_test(data, test_gather);
    tcase_add_test(data, test_slice);
    tcase_add_test(data, test_slice_int32_lists);
    tcase_add_test(data, test_slice_refused);
    tcase_add_test(data, test_unsqueeze);
    suite_add_tcase(s, data);
    TCase *red = tcase_create("reduce");
    tcase_add_checked_fixture(red, setup, teardown);
    tcase_add_test(red, test_reduce);
    suite_add_tcase(s, red);
    return s;
}

int main(void) { return tu_run(shape_suite()); }
