/* test_fuse_norm.c — unit tests of the RMSNormalization op (shape rule, lowering, kernel) and of
 * the passes fuse_rms_norm and fuse_layer_norm: every variant each matcher documents must fuse into
 * one node, the near misses must not fuse and must say why (fuse_rms_norm's are golden tests,
 * tests/golden/fuse_rms_norm/), and the fused graph must compute what
 * a direct double-precision evaluation of the formula gives. Graphs are evaluated node by node with
 * the constant evaluator, which runs the kernels the generated code carries. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ops.h"
#include "passes/match.h"
#include "passes/passes.h"
#include "testutil.h"

static xf_graph *g;
static xf_fusion_stats stats; /* what the passes fused and missed; reset with each graph */
static const xf_options O2 = {.opt_level = 2, .stats = &stats};
static void setup(void) {
    g = xf_graph_new("norm.onnx");
    stats = (xf_fusion_stats){.nmissed = 0};
}
static void teardown(void) { xf_graph_free(g); g = NULL; }

/* ---- building and running graphs ---- */

static int32_t f32_scalar(const char *name, float value) {
    return xf_const_add(g, name, XF_F32, 0, NULL, &value);
}

/* Adds a node and returns its output value. */
static int32_t op1(int op, const char *name, int32_t a) {
    return tu_out(g, tu_node(g, op, name, 1, (int32_t[]){a}));
}

static int32_t op2(int op, const char *name, int32_t a, int32_t b) {
    return tu_out(g, tu_node(g, op, name, 2, (int32_t[]){a, b}));
}

static int32_t cast(const char *name, int32_t a, int64_t to) {
    int32_t v = op1(XF_OP_CAST, name, a);
    xf_node_add_attr(g, g->values[v].producer, "to", XF_ATTR_INT)->i = to;
    return v;
}

/* ReduceMean over the given axes with keepdims, the axes as input (opset 18) or attribute. */
static int32_t mean(const char *name, int32_t x, int64_t axis, bool as_attr) {
    if (!as_attr) return op2(XF_OP_REDUCE_MEAN, name, x, tu_i64(g, xf_sprintf(g->arena, "%s_axes", name), 1, &axis));
    int32_t v = op1(XF_OP_REDUCE_MEAN, name, x);
    xf_attr *a = xf_node_add_attr(g, g->values[v].producer, "axes", XF_ATTR_INTS);
    a->n = 1;
    a->ints = xf_alloc(g->arena, sizeof(int64_t));
    a->ints[0] = axis;
    return v;
}

static void infer_all(void) {
    for (int32_t i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead) tu_infer_ok(g, i);
}

static bool run_pass(bool (*pass)(xf_graph *, const xf_options *, xf_diag *)) {
    xf_diag d = {0};
    bool changed = pass(g, &O2, &d);
    ck_assert_msg(!d.set, "the pass reported: %s", d.msg);
    return changed;
}

/* Gives input v the data, then evaluates every live node in order as the generated code would;
 * returns the data of value `result`. */
static const float *run(int32_t result) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, i, &d), "%s", d.msg);
    }
    ck_assert_msg(g->values[result].data, "'%s' was not computed", g->values[result].name);
    return g->values[result].data;
}

static void bind(int32_t v, const float *data) {
    g->values[v].data = (void *)data;
}

static int count_op(int op) {
    int n = 0;
    for (int32_t i = 0; i < g->nnodes; i++) n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

static const xf_node *producer(int32_t v) {
    return g->values[v].producer >= 0 ? &g->nodes[g->values[v].producer] : NULL;
}

static void check_missed(const char *pattern, const char *words) {
    ck_assert_msg(stats.nmissed >= 1, "no near miss was recorded");
    const xf_missed *m = &stats.missed[stats.nmissed - 1];
    ck_assert_str_eq(m->pattern, pattern);
    ck_assert_msg(strstr(m->reason, words), "the reason '%s' does not say '%s'", m->reason, words);
}

/* Test data: rows of varied magnitude, none all zero. */
#define MAXN 512
static float X[MAXN], Z[MAXN], W[64], B[64];
static void fill(void) {
    for (int i = 0; i < MAXN; i++) {
        X[i] = 1.5f * sinf(0.37f * (float)i) + 0.05f * (float)(i % 7);
        Z[i] = cosf(0.23f * (float)i) * 2.0f;
    }
    for (int i = 0; i < 64; i++) {
        W[i] = 0.5f + 0.03f * (float)i;
        B[i] = 0.1f * (float)(i % 5) - 0.2f;
    }
}

/* Reference RMS norm in double: x viewed as [rows, cols], scale w[j % period] (NULL: none). */
static void rms_ref(double *y, const float *x, const float *w, int64_t rows, int64_t cols, int64_t period, double eps) {
    for (int64_t r = 0; r < rows; r++) {
        double ss = 0;
        for (int64_t j = 0; j < cols; j++) ss += (double)x[r * cols + j] * x[r * cols + j];
        double inv = 1 / sqrt(ss / (double)cols + eps);
        for (int64_t j = 0; j < cols; j++) y[r * cols + j] = x[r * cols + j] * inv * (w ? w[j % period] : 1.0);
    }
}

static void check_close(const float *got, const double *want, int64_t n, double tol) {
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "element %lld: got %.8g, want %.8g", (long long)i, got[i], want[i]);
}

/* ---- RMSNormalization: the op ---- */

START_TEST(op_shape_and_scale_rules) {
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(2, 4, 6));
    int32_t ok[] = {
        tu_input(g, "full", XF_F32, 2, SHAPE(4, 6)), tu_input(g, "last", XF_F32, 1, SHAPE(6)),
        tu_input(g, "one", XF_F32, 1, SHAPE(1)), tu_input(g, "lead", XF_F32, 3, SHAPE(1, 1, 6)),
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int32_t n = tu_node(g, XF_OP_RMS_NORM, xf_sprintf(g->arena, "ok%zu", k), 2, (int32_t[]){x, ok[k]});
        xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = -2;
        tu_infer_ok(g, n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 4, 6);
    }
    xf_diag d;
    /* varies along the first normalised dim but not the last: not one repeated block */
    int32_t n = tu_node(g, XF_OP_RMS_NORM, "col", 2, (int32_t[]){x, tu_input(g, "col_w", XF_F32, 2, SHAPE(4, 1))});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = -2;
    ck_assert(strstr(tu_infer_fails(g, n, &d), "does not fit"));
    /* varies along a dim that is not normalised */
    n = tu_node(g, XF_OP_RMS_NORM, "outer", 2, (int32_t[]){x, tu_input(g, "outer_w", XF_F32, 3, SHAPE(2, 1, 6))});
    ck_assert(strstr(tu_infer_fails(g, n, &d), "does not fit"));
    n = tu_node(g, XF_OP_RMS_NORM, "axis", 2, (int32_t[]){x, ok[1]});
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = 3;
    tu_infer_fails(g, n, &d);
    n = tu_node(g, XF_OP_RMS_NORM, "type", 2, (int32_t[]){x, tu_input(g, "w64", XF_I64, 1, SHAPE(6))});
    ck_assert(strstr(tu_infer_fails(g, n, &d), "types differ"));
    n = tu_node(g, XF_OP_RMS_NORM, "int", 1, (int32_t[]){tu_input(g, "xi", XF_I64, 1, SHAPE(6))});
    tu_infer_fails(g, n, &d);
}
END_TEST

/* The kernel on rows of 13 (lanes and a tail), with the scale as a full block, repeated per head,
 * one value, and absent; with epsilon and axis given or left to their defaults. */
START_TEST(op_computes_rms_norm) {
    fill();
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(3, 2, 13));
    struct { int32_t rank; const int64_t *shape; int64_t axis, period; bool eps; } cases[] = {
        {1, SHAPE(13), -1, 13, true}, {2, SHAPE(2, 13), -2, 26, false}, {1, SHAPE(13), -2, 13, true},
        {1, SHAPE(1), -1, 1, false}, {0, NULL, 1, 0, true},
    };
    int32_t nodes[5];
    for (size_t k = 0; k < 5; k++) {
        int32_t w = cases[k].rank ? tu_f32_const(g, xf_sprintf(g->arena, "w%zu", k), cases[k].rank, cases[k].shape, W) : -1;
        int32_t n = tu_node(g, XF_OP_RMS_NORM, xf_sprintf(g->arena, "n%zu", k), w >= 0 ? 2 : 1, (int32_t[]){x, w});
        if (cases[k].axis != -1) xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = cases[k].axis;
        if (cases[k].eps) xf_node_add_attr(g, n, "epsilon", XF_ATTR_FLOAT)->f = 0.25f;
        tu_infer_ok(g, n);
        nodes[k] = n;
    }
    bind(x, X);
    for (size_t k = 0; k < 5; k++) {
        int64_t cols = cases[k].axis == -1 || cases[k].axis == 2 ? 13 : 26;
        double want[78];
        rms_ref(want, X, cases[k].rank ? W : NULL, 78 / cols, cols, cases[k].period, cases[k].eps ? 0.25 : 1e-5);
        check_close(run(tu_out(g, nodes[k])), want, 78, 1e-5);
    }
}
END_TEST

START_TEST(op_refuses_other_types_when_lowering) {
    int32_t x = tu_input(g, "x", XF_F64, 2, SHAPE(2, 8));
    int32_t n = tu_node(g, XF_OP_RMS_NORM, "n", 1, (int32_t[]){x});
    tu_infer_ok(g, n);
    xf_call calls[4];
    xf_calls out = {.g = g, .at = calls, .max = 4};
    xf_diag d = {0};
    ck_assert(!xf_lower_node(g, n, &out, &d));
    ck_assert(strstr(d.msg, "float32 only"));
}
END_TEST

/* ---- fuse_rms_norm: the variants ---- */

/* Variant k (0..95) of x * reciprocal(sqrt(mean(x^2) + eps)) * w, digits of a mixed radix number:
 * square Pow(x,2) | Mul(x,x); eps Add(m,e) | Add(e,m); inverse Sqrt+Reciprocal | Div(x,sqrt) |
 * Div(1,sqrt) | Pow(s,-0.5); weight Mul(w,y) | Mul(y,w) | none; axes input | attribute. */
static int32_t build_rms_variant(int k, int32_t x, int32_t w, float eps) {
    int square = k % 2, eps_order = k / 2 % 2, inverse = k / 4 % 4, weight = k / 16 % 3, axes_attr = k / 48 % 2;
    int32_t sq = square ? op2(XF_OP_MUL, "sq", x, x) : op2(XF_OP_POW, "sq", x, f32_scalar("two", 2.0f));
    int32_t m = mean("mean", sq, -1, axes_attr), e = f32_scalar("eps", eps);
    int32_t s = eps_order ? op2(XF_OP_ADD, "add", e, m) : op2(XF_OP_ADD, "add", m, e);
    int32_t y;
    switch (inverse) {
    case 0: y = op2(XF_OP_MUL, "norm", x, op1(XF_OP_RECIPROCAL, "rsqrt", op1(XF_OP_SQRT, "sqrt", s))); break;
    case 1: y = op2(XF_OP_DIV, "norm", x, op1(XF_OP_SQRT, "sqrt", s)); break;
    case 2: y = op2(XF_OP_MUL, "norm", op2(XF_OP_DIV, "rsqrt", f32_scalar("one", 1.0f), op1(XF_OP_SQRT, "sqrt", s)), x); break;
    default: y = op2(XF_OP_MUL, "norm", x, op2(XF_OP_POW, "rsqrt", s, f32_scalar("mhalf", -0.5f))); break;
    }
    if (weight == 0) y = op2(XF_OP_MUL, "weight", w, y);
    if (weight == 1) y = op2(XF_OP_MUL, "weight", y, w);
    return y;
}

START_TEST(rms_variants_fuse) {
    fill();
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(1, 4, 12));
    int32_t w = tu_f32_const(g, "w", 1, SHAPE(12), W);
    int32_t y = build_rms_variant(_i, x, w, 1e-3f);
    tu_mark_output(g, y);
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(stats.fused[XF_FUSION_rms_norm], 1);
    ck_assert_int_eq(stats.nmissed, 0);
    const xf_node *n = producer(y);
    ck_assert_int_eq(n->op, XF_OP_RMS_NORM);
    ck_assert_int_eq(n->in[0], x);
    bool weighted = _i / 16 % 3 != 2;
    if (weighted) ck_assert_int_eq(n->in[1], w);
    else ck_assert_int_eq(xf_value_numel(&g->values[n->in[1]]), 1); /* a constant 1 */
    ck_assert_int_eq(xf_attr_int(n, "axis", 0), -1);
    ck_assert_float_eq(xf_attr_float(n, "epsilon", 0), 1e-3f);
    bind(x, X);
    double want[48];
    rms_ref(want, X, weighted ? W : NULL, 4, 12, 12, 1e-3);
    check_close(run(y), want, 48, 1e-5);
}
END_TEST

/* q/k norms: the last axis of [B,S,H,D] and of [B,H,S,D], with the gain of one head. */
START_TEST(rms_per_head_fuses) {
    fill();
    const int64_t *shapes[] = {SHAPE(1, 5, 3, 8), SHAPE(1, 3, 5, 8)};
    int32_t ys[2], xs[2];
    for (int k = 0; k < 2; k++) {
        xs[k] = tu_input(g, xf_sprintf(g->arena, "x%d", k), XF_F32, 4, shapes[k]);
        ys[k] = build_rms_variant(0, xs[k], tu_f32_const(g, xf_sprintf(g->arena, "w%d", k), 1, SHAPE(8), W), 1e-6f);
        tu_mark_output(g, ys[k]);
    }
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert_int_eq(stats.fused[XF_FUSION_rms_norm], 2);
    ck_assert_int_eq(count_op(XF_OP_RMS_NORM), 2);
    bind(xs[0], X);
    bind(xs[1], X);
    for (int k = 0; k < 2; k++) {
        double want[120];
        rms_ref(want, X, W, 15, 8, 8, 1e-6);
        check_close(run(ys[k]), want, 120, 1e-5);
    }
}
END_TEST

/* A mean over the two last axes normalises both: axis -2, the gain repeated per row of the last. */
START_TEST(rms_over_trailing_axes_fuses) {
    fill();
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(2, 3, 8));
    int32_t sq = op2(XF_OP_MUL, "sq", x, x);
    int32_t m = op2(XF_OP_REDUCE_MEAN, "mean", sq, tu_i64(g, "axes", 2, (int64_t[]){-1, -2}));
    int32_t s = op1(XF_OP_SQRT, "sqrt", op2(XF_OP_ADD, "add", m, f32_scalar("eps", 1e-5f)));
    int32_t y = op2(XF_OP_MUL, "weight", op2(XF_OP_DIV, "norm", x, s), tu_f32_const(g, "w", 1, SHAPE(8), W));
    tu_mark_output(g, y);
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert_int_eq(producer(y)->op, XF_OP_RMS_NORM);
    ck_assert_int_eq(xf_attr_int(producer(y), "axis", 0), -2);
    bind(x, X);
    double want[48];
    rms_ref(want, X, W, 2, 24, 8, 1e-5);
    check_close(run(y), want, 48, 1e-5);
}
END_TEST

/* Hugging Face's RMSNorm in half precision: x cast to float32, normalised, cast back, weighed. */
START_TEST(rms_cast_pair_is_absorbed) {
    fill();
    int32_t x0 = tu_input(g, "x0", XF_F32, 2, SHAPE(4, 16));
    int32_t x = cast("up", x0, XF_F32);
    int32_t m = mean("mean", op2(XF_OP_POW, "sq", x, f32_scalar("two", 2.0f)), -1, false);
    int32_t inv = op1(XF_OP_RECIPROCAL, "rsqrt", op1(XF_OP_SQRT, "sqrt", op2(XF_OP_ADD, "add", m, f32_scalar("eps", 1e-6f))));
    int32_t y = op2(XF_OP_MUL, "weight", tu_f32_const(g, "w", 1, SHAPE(16), W), cast("down", op2(XF_OP_MUL, "norm", x, inv), XF_F32));
    tu_mark_output(g, y);
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(producer(y)->op, XF_OP_RMS_NORM);
    ck_assert_int_eq(producer(y)->in[0], x0);
    bind(x0, X);
    double want[64];
    rms_ref(want, X, W, 4, 16, 16, 1e-6);
    check_close(run(y), want, 64, 1e-5);
}
END_TEST

/* A cast of x that something else reads too stays, and the norm is fused inside it. */
START_TEST(rms_shared_cast_stays) {
    int32_t x0 = tu_input(g, "x0", XF_F32, 2, SHAPE(4, 16));
    int32_t x = cast("up", x0, XF_F32);
    int32_t y = cast("down", build_rms_variant(37, x, -1, 1e-6f), XF_F32); /* Mul(x,x), Div(x,sqrt), no weight */
    tu_mark_output(g, y);
    tu_mark_output(g, op1(XF_OP_NEG, "other", x));
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert_int_eq(count_op(XF_OP_CAST), 2);
    ck_assert_int_eq(count_op(XF_OP_RMS_NORM), 1);
    ck_assert_int_eq(producer(g->nodes[g->values[y].producer].in[0])->op, XF_OP_RMS_NORM);
}
END_TEST

/* Gemma's (1 + w) is folded into one constant before fusion, which then takes it as the gain. */
START_TEST(rms_gemma_one_plus_w) {
    fill();
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(3, 8));
    int32_t gain = op2(XF_OP_ADD, "one_plus_w", f32_scalar("one", 1.0f), tu_f32_const(g, "w", 1, SHAPE(8), W));
    int32_t y = build_rms_variant(0, x, gain, 1e-6f);
    tu_mark_output(g, y);
    xf_diag d = {0};
    xf_pass_fold(g, &O2, &d);
    ck_assert_msg(!d.set, "%s", d.msg);
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert_int_eq(tu_live_nodes(g), 1);
    const xf_value *scale = &g->values[producer(y)->in[1]];
    ck_assert_ptr_nonnull(scale->data);
    float one_plus_w[8];
    for (int j = 0; j < 8; j++) {
        one_plus_w[j] = 1.0f + W[j];
        ck_assert_float_eq(((const float *)scale->data)[j], one_plus_w[j]);
    }
    bind(x, X);
    double want[24];
    rms_ref(want, X, one_plus_w, 3, 8, 8, 1e-6);
    check_close(run(y), want, 24, 1e-5);
}
END_TEST

/* Mamba-2's gated norm: norm(x * silu(z)) * w. The norm fuses here; fuse_activation then makes
 * the product SwiGlu(z, x). */
START_TEST(rms_gated_mamba2) {
    fill();
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(4, 16)), z = tu_input(g, "z", XF_F32, 2, SHAPE(4, 16));
    int32_t silu = op2(XF_OP_MUL, "silu", z, op1(XF_OP_SIGMOID, "sigmoid", z));
    int32_t h = op2(XF_OP_MUL, "gate", x, silu);
    int32_t y = build_rms_variant(0, h, tu_f32_const(g, "w", 1, SHAPE(16), W), 1e-5f);
    tu_mark_output(g, y);
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert(run_pass(xf_pass_fuse_activation));
    ck_assert_int_eq(tu_live_nodes(g), 2);
    ck_assert_int_eq(producer(y)->op, XF_OP_RMS_NORM);
    const xf_node *glu = producer(h);
    ck_assert_int_eq(glu->op, XF_OP_SWIGLU);
    ck_assert_int_eq(glu->in[0], z);
    ck_assert_int_eq(glu->in[1], x);
    bind(x, X);
    bind(z, Z);
    float gated[64];
    for (int i = 0; i < 64; i++) gated[i] = (float)(X[i] * (Z[i] / (1 + exp(-(double)Z[i]))));
    double want[64];
    rms_ref(want, gated, W, 4, 16, 16, 1e-5);
    check_close(run(y), want, 64, 1e-5);
}
END_TEST

/* A product by something that varies per row is no gain: the norm fuses, the product stays. */
START_TEST(rms_row_varying_product_stays) {
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(4, 16)), gate = tu_input(g, "gate", XF_F32, 2, SHAPE(4, 16));
    int32_t y = build_rms_variant(0, x, gate, 1e-5f);
    tu_mark_output(g, y);
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_rms_norm));
    ck_assert_int_eq(producer(y)->op, XF_OP_MUL);
    ck_assert_int_eq(count_op(XF_OP_RMS_NORM), 1);
}
END_TEST

/* What fuse_rms_norm must not fuse: the near misses of tests/golden/fuse_rms_norm/. */

/* ---- fuse_layer_norm ---- */

static void ln_ref(double *y, const float *x, const float *gamma, const float *beta, int rows, int cols, double eps) {
    for (int r = 0; r < rows; r++) {
        double mu = 0, var = 0;
        for (int j = 0; j < cols; j++) mu += x[r * cols + j];
        mu /= cols;
        for (int j = 0; j < cols; j++) var += (x[r * cols + j] - mu) * (x[r * cols + j] - mu);
        double inv = 1 / sqrt(var / cols + eps);
        for (int j = 0; j < cols; j++)
            y[r * cols + j] = (x[r * cols + j] - mu) * inv * (gamma ? gamma[j] : 1.0) + (beta ? beta[j] : 0.0);
    }
}

/* Variant k (0..7): square Mul(d,d) | Pow(d,2); normalising Div(d, sqrt) | Mul(reciprocal(sqrt), d);
 * affine gamma and beta | beta only. */
static int32_t build_ln_variant(int k, int32_t x, int32_t gamma, int32_t beta) {
    int32_t mu = mean("mean", x, -1, k % 2);
    int32_t d = op2(XF_OP_SUB, "centre", x, mu);
    int32_t sq = k % 2 ? op2(XF_OP_POW, "sq", d, f32_scalar("two", 2.0f)) : op2(XF_OP_MUL, "sq", d, d);
    int32_t s = op2(XF_OP_ADD, "add", mean("var", sq, -1, false), f32_scalar("eps", 1e-5f));
    int32_t y = k / 2 % 2 ? op2(XF_OP_MUL, "norm", op1(XF_OP_RECIPROCAL, "rsqrt", op1(XF_OP_SQRT, "sqrt", s)), d)
                          : op2(XF_OP_DIV, "norm", d, op1(XF_OP_SQRT, "sqrt", s));
    if (k / 4 % 2 == 0) y = op2(XF_OP_MUL, "gamma", gamma, y);
    return op2(XF_OP_ADD, "beta", y, beta);
}

START_TEST(ln_variants_fuse) {
    fill();
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(1, 4, 12));
    int32_t gamma = tu_f32_const(g, "gamma", 1, SHAPE(12), W), beta = tu_f32_const(g, "b", 1, SHAPE(12), B);
    int32_t y = build_ln_variant(_i, x, gamma, beta);
    tu_mark_output(g, y);
    infer_all();
    ck_assert(!run_pass(xf_pass_fuse_rms_norm)); /* a layer norm's variance is no RMS norm */
    ck_assert_int_eq(stats.nmissed, 0);
    ck_assert(run_pass(xf_pass_fuse_layer_norm));
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(stats.fused[XF_FUSION_layer_norm], 1);
    const xf_node *n = producer(y);
    ck_assert_int_eq(n->op, XF_OP_LAYER_NORM);
    ck_assert_int_eq(n->in[0], x);
    ck_assert_int_eq(n->in[2], beta);
    bool has_gamma = _i / 4 % 2 == 0;
    if (has_gamma) ck_assert_int_eq(n->in[1], gamma);
    tu_infer_ok(g, g->values[y].producer);
    bind(x, X);
    double want[48];
    ln_ref(want, X, has_gamma ? W : NULL, B, 4, 12, 1e-5);
    check_close(run(y), want, 48, 1e-5);
}
END_TEST

START_TEST(ln_without_affine_fuses) {
    fill();
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(3, 10));
    int32_t mu = mean("mean", x, -1, false);
    int32_t d = op2(XF_OP_SUB, "centre", x, mu);
    int32_t var = mean("var", op2(XF_OP_MUL, "sq", d, d), -1, false);
    int32_t inv = op2(XF_OP_POW, "rsqrt", op2(XF_OP_ADD, "add", f32_scalar("eps", 1e-5f), var), f32_scalar("p", -0.5f));
    int32_t y = op2(XF_OP_MUL, "norm", d, inv);
    tu_mark_output(g, y);
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_layer_norm));
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(producer(y)->op, XF_OP_LAYER_NORM);
    bind(x, X);
    double want[30];
    ln_ref(want, X, NULL, NULL, 3, 10, 1e-5);
    check_close(run(y), want, 30, 1e-5);
}
END_TEST

START_TEST(ln_near_misses_stay) {
    for (int which = 0; which < 3; which++) { /* d read elsewhere; variance over another axis; eps outside */
        xf_graph_free(g);
        g = xf_graph_new("norm.onnx");
        stats = (xf_fusion_stats){.nmissed = 0};
        int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(2, 3, 10));
        int32_t mu = mean("mean", x, -1, false);
        int32_t d = op2(XF_OP_SUB, "centre", x, mu);
        int32_t var = mean("var", op2(XF_OP_MUL, "sq", d, d), which == 1 ? 1 : -1, false);
        int32_t r = which == 2 ? op2(XF_OP_ADD, "add", op1(XF_OP_SQRT, "sqrt", var), f32_scalar("eps", 1e-5f))
                               : op1(XF_OP_SQRT, "sqrt", op2(XF_OP_ADD, "add", var, f32_scalar("eps", 1e-5f)));
        int32_t y = op2(XF_OP_DIV, "norm", d, r);
        tu_mark_output(g, y);
        if (which == 0) tu_mark_output(g, op1(XF_OP_NEG, "other", d));
        infer_all();
        ck_assert(!run_pass(xf_pass_fuse_layer_norm));
        ck_assert_int_eq(count_op(XF_OP_LAYER_NORM), 0);
        check_missed("layer_norm", which == 0 ? "another user" : which == 1 ? "axes of the mean" : "after the square root");
    }
}
END_TEST

/* A parameter that is not of the normalised dims' shape stays a separate product. */
START_TEST(ln_broadcast_gamma_stays_outside) {
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(3, 10));
    int32_t y0 = build_ln_variant(4, x, -1, tu_f32_const(g, "b", 1, SHAPE(10), B)); /* beta only */
    int32_t y = op2(XF_OP_MUL, "rowscale", y0, tu_f32_const(g, "rows", 2, SHAPE(3, 1), W));
    tu_mark_output(g, y);
    infer_all();
    ck_assert(run_pass(xf_pass_fuse_layer_norm));
    ck_assert_int_eq(producer(y0)->op, XF_OP_LAYER_NORM);
    ck_assert_int_eq(producer(y)->op, XF_OP_MUL);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("fuse_norm");
    TCase *op = tcase_create("op");
    tcase_add_checked_fixture(op, setup, teardown);
    tcase_add_test(op, op_shape_and_scale_rules);
    tcase_add_test(op, op_computes_rms_norm);
    tcase_add_test(op, op_refuses_other_types_when_lowering);
    suite_add_tcase(s, op);
    TCase *rms = tcase_create("rms_norm");
    tcase_add_checked_fixture(rms, setup, teardown);
    tcase_add_loop_test(rms, rms_variants_fuse, 0, 96);
    tcase_add_test(rms, rms_per_head_fuses);
    tcase_add_test(rms, rms_over_trailing_axes_fuses);
    tcase_add_test(rms, rms_cast_pair_is_absorbed);
    tcase_add_test(rms, rms_shared_cast_stays);
    tcase_add_test(rms, rms_gemma_one_plus_w);
    tcase_add_test(rms, rms_gated_mamba2);
    tcase_add_test(rms, rms_row_varying_product_stays);
    suite_add_tcase(s, rms);
    TCase *ln = tcase_create("layer_norm");
    tcase_add_checked_fixture(ln, setup, teardown);
    tcase_add_loop_test(ln, ln_variants_fuse, 0, 8);
    tcase_add_test(ln, ln_without_affine_fuses);
    tcase_add_test(ln, ln_near_misses_stay);
    tcase_add_test(ln, ln_broadcast_gamma_stays_outside);
    suite_add_tcase(s, ln);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
