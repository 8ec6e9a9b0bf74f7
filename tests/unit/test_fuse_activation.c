/* test_fuse_activation.c — unit tests of fuse_activation: GELU in its erf and tanh forms, SiLU,
 * SwiGLU and GeGLU, written out the ways exporters write them, must each become one op computing
 * what the formula gives (checked in double precision). Wrong constants, a sigmoid of another
 * value and intermediates with a second user are the near misses of tests/golden/fuse_activation/. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "ir/ops.h"
#include "passes/match.h"
#include "passes/passes.h"
#include "testutil.h"

static xf_graph *g;
static xf_fusion_stats stats; /* what the passes fused and missed; reset with each graph */
static const xf_options O2 = {.opt_level = 2, .stats = &stats};
static void setup(void) {
    g = xf_graph_new("act.onnx");
    stats = (xf_fusion_stats){.nmissed = 0};
}
static void teardown(void) { xf_graph_free(g); g = NULL; }

#define N 40
static float X[N], U[N];
static void fill(void) {
    for (int i = 0; i < N; i++) {
        X[i] = -5.0f + 0.25f * (float)i; /* both tails and the bend */
        U[i] = 0.5f + 0.1f * (float)(i % 9);
    }
}

static int32_t f32_scalar(const char *name, float value) {
    return xf_const_add(g, name, XF_F32, 0, NULL, &value);
}

static int32_t op1(int op, const char *name, int32_t a) {
    return tu_out(g, tu_node(g, op, name, 1, (int32_t[]){a}));
}

static int32_t op2(int op, const char *name, int32_t a, int32_t b) {
    return tu_out(g, tu_node(g, op, name, 2, (int32_t[]){a, b}));
}

static const xf_node *producer(int32_t v) {
    return &g->nodes[g->values[v].producer];
}

static int32_t input(const char *name) {
    return tu_input(g, name, XF_F32, 2, SHAPE(4, 10));
}

/* Infers shapes, runs the pass, returns whether it changed the graph. */
static bool fuse(void) {
    for (int32_t i = 0; i < g->nnodes; i++) tu_infer_ok(g, i);
    xf_diag d = {0};
    bool changed = xf_pass_fuse_activation(g, &O2, &d);
    ck_assert_msg(!d.set, "%s", d.msg);
    return changed;
}

/* Binds the inputs' data and evaluates the live nodes in order; returns the data of `result`. */
static const float *run(int32_t result) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, i, &d), "%s", d.msg);
    }
    return g->values[result].data;
}

static double gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double gelu_tanh(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x))); }
static double silu(double x) { return x / (1 + exp(-x)); }

static void check_unary(int32_t y, double (*f)(double)) {
    const float *got = run(y);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabs(got[i] - f(X[i])) <= 1e-5, "x = %g: got %.8g, want %.8g", X[i], got[i], f(X[i]));
}

/* x * 0.5 * (1 + erf(x / sqrt 2)), variant k (0..8): the argument Div(x, 1.41421) | Mul(x, 0.70710) |
 * Mul(1/root2, x); then 0.5 * x first, 0.5 * (1 + erf) first, or x * (1 + erf) first; the Add
 * and every Mul with their operands swapped in odd variants. */
static int32_t build_gelu_erf(int k, int32_t x, float half, float root2) {
    int arg = k % 3, order = k / 3 % 3;
    bool swap = k % 2;
    int32_t a = arg == 0   ? op2(XF_OP_DIV, "arg", x, f32_scalar("root2", root2))
                : arg == 1 ? op2(XF_OP_MUL, "arg", x, f32_scalar("inv_root2", root2 == 1.41421f ? 0.70710f : 1.0f / root2))
                           : op2(XF_OP_MUL, "arg", f32_scalar("inv_root2", 1.0f / root2), x);
    int32_t e = op1(XF_OP_ERF, "erf", a), one = f32_scalar("one", 1.0f), h = f32_scalar("half", half);
    int32_t p = swap ? op2(XF_OP_ADD, "p", one, e) : op2(XF_OP_ADD, "p", e, one);
    if (order == 0) {
        int32_t hx = swap ? op2(XF_OP_MUL, "hx", h, x) : op2(XF_OP_MUL, "hx", x, h);
        return swap ? op2(XF_OP_MUL, "gelu", p, hx) : op2(XF_OP_MUL, "gelu", hx, p);
    }
    int32_t first = order == 1 ? h : x, second = order == 1 ? x : h;
    int32_t q = swap ? op2(XF_OP_MUL, "q", first, p) : op2(XF_OP_MUL, "q", p, first);
    return swap ? op2(XF_OP_MUL, "gelu", second, q) : op2(XF_OP_MUL, "gelu", q, second);
}

START_TEST(gelu_erf_variants_fuse) {
    fill();
    int32_t x = input("x");
    int32_t y = build_gelu_erf(_i, x, 0.5f, 1.41421f);
    tu_mark_output(g, y);
    ck_assert(fuse());
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(producer(y)->op, XF_OP_GELU);
    ck_assert_int_eq(producer(y)->in[0], x);
    ck_assert_int_eq(stats.fused[XF_FUSION_gelu], 1);
    ck_assert_int_eq(stats.nmissed, 0);
    g->values[x].data = X;
    check_unary(y, gelu);
}
END_TEST

/* 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), variant k (0..5): the cube Pow(x, 3) |
 * x * (x * x) | (x * x) * x, and operands in exporter order or swapped. */
static int32_t build_gelu_tanh(int k, int32_t x, float cubic) {
    int cube_form = k % 3;
    bool swap = k / 3;
    int32_t sq = cube_form ? op2(XF_OP_MUL, "sq", x, x) : -1;
    int32_t cube = cube_form == 0 ? op2(XF_OP_POW, "cube", x, f32_scalar("three", 3.0f))
                   : cube_form == 1 ? op2(XF_OP_MUL, "cube", x, sq) : op2(XF_OP_MUL, "cube", sq, x);
    int32_t c = f32_scalar("cubic", cubic), r = f32_scalar("root", 0.7978845608f);
    int32_t k3 = swap ? op2(XF_OP_MUL, "k", c, cube) : op2(XF_OP_MUL, "k", cube, c);
    int32_t s = swap ? op2(XF_OP_ADD, "s", k3, x) : op2(XF_OP_ADD, "s", x, k3);
    int32_t t = op1(XF_OP_TANH, "tanh", swap ? op2(XF_OP_MUL, "t", r, s) : op2(XF_OP_MUL, "t", s, r));
    int32_t hx = op2(XF_OP_MUL, "hx", x, f32_scalar("half", 0.5f));
    return op2(XF_OP_MUL, "gelu", hx, op2(XF_OP_ADD, "p", t, f32_scalar("one", 1.0f)));
}

START_TEST(gelu_tanh_variants_fuse) {
    fill();
    int32_t x = input("x");
    int32_t y = build_gelu_tanh(_i, x, 0.044715f);
    tu_mark_output(g, y);
    ck_assert(fuse());
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(producer(y)->op, XF_OP_GELU_TANH);
    ck_assert_int_eq(stats.fused[XF_FUSION_gelu], 1);
    g->values[x].data = X;
    check_unary(y, gelu_tanh);
}
END_TEST

START_TEST(silu_fuses_either_way_round) {
    fill();
    int32_t x = input("x"), x2 = input("x2");
    int32_t y = op2(XF_OP_MUL, "silu", x, op1(XF_OP_SIGMOID, "sig", x));
    int32_t y2 = op2(XF_OP_MUL, "silu2", op1(XF_OP_SIGMOID, "sig2", x2), x2);
    tu_mark_output(g, y);
    tu_mark_output(g, y2);
    ck_assert(fuse());
    ck_assert_int_eq(tu_live_nodes(g), 2);
    ck_assert_int_eq(producer(y)->op, XF_OP_SILU);
    ck_assert_int_eq(producer(y2)->op, XF_OP_SILU);
    ck_assert_int_eq(producer(y2)->in[0], x2);
    ck_assert_int_eq(stats.fused[XF_FUSION_silu], 2);
    g->values[x].data = X;
    g->values[x2].data = X;
    check_unary(y, silu);
    check_unary(y2, silu);
}
END_TEST

/* silu(g) * u as an MLP writes it, and Mamba's u * silu(z) */
START_TEST(swiglu_and_geglu_fuse) {
    fill();
    int32_t gate = input("gate"), up = input("up"), gate2 = input("gate2");
    int32_t s = op2(XF_OP_MUL, "silu", gate, op1(XF_OP_SIGMOID, "sig", gate));
    int32_t y = op2(XF_OP_MUL, "swiglu", up, s);
    int32_t y2 = op2(XF_OP_MUL, "geglu", build_gelu_erf(0, gate2, 0.5f, 1.41421356f), up);
    tu_mark_output(g, y);
    tu_mark_output(g, y2);
    ck_assert(fuse());
    ck_assert_int_eq(tu_live_nodes(g), 2);
    const xf_node *n = producer(y), *n2 = producer(y2);
    ck_assert_int_eq(n->op, XF_OP_SWIGLU);
    ck_assert_int_eq(n->in[0], gate);
    ck_assert_int_eq(n->in[1], up);
    ck_assert_int_eq(n2->op, XF_OP_GEGLU);
    ck_assert_int_eq(n2->in[0], gate2);
    ck_assert_int_eq(n2->in[1], up);
    ck_assert_int_eq(stats.fused[XF_FUSION_swiglu], 2);
    ck_assert_int_eq(stats.fused[XF_FUSION_silu], 1);
    ck_assert_int_eq(stats.fused[XF_FUSION_gelu], 1);
    g->values[gate].data = X;
    g->values[gate2].data = X;
    g->values[up].data = U;
    const float *got = run(y), *got2 = run(y2);
    for (int i = 0; i < N; i++) {
        ck_assert(fabs(got[i] - silu(X[i]) * U[i]) <= 1e-5);
        ck_assert(fabs(got2[i] - gelu(X[i]) * U[i]) <= 1e-5);
    }
}
END_TEST

/* Gemma's MLP: gelu_tanh(g) * u */
START_TEST(geglu_tanh_fuses) {
    fill();
    int32_t gate = input("gate"), up = input("up");
    int32_t y = op2(XF_OP_MUL, "geglu", up, build_gelu_tanh(0, gate, 0.044715f));
    tu_mark_output(g, y);
    ck_assert(fuse());
    ck_assert_int_eq(tu_live_nodes(g), 1);
    const xf_node *n = producer(y);
    ck_assert_int_eq(n->op, XF_OP_GEGLU_TANH);
    ck_assert_int_eq(n->in[0], gate);
    ck_assert_int_eq(n->in[1], up);
    ck_assert_int_eq(stats.fused[XF_FUSION_swiglu], 1);
    ck_assert_int_eq(stats.fused[XF_FUSION_gelu], 1);
    g->values[gate].data = X;
    g->values[up].data = U;
    const float *got = run(y);
    for (int i = 0; i < N; i++) {
        double want = gelu_tanh(X[i]) * U[i];
        ck_assert(fabs(got[i] - want) <= 1e-5);
    }
}
END_TEST

/* What must not fuse: the near misses of tests/golden/fuse_activation/. */

static Suite *suite(void) {
    Suite *s = suite_create("fuse_activation");
    TCase *t = tcase_create("fuse");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, gelu_erf_variants_fuse, 0, 9);
    tcase_add_loop_test(t, gelu_tanh_variants_fuse, 0, 6);
    tcase_add_test(t, silu_fuses_either_way_round);
    tcase_add_test(t, swiglu_and_geglu_fuse);
    tcase_add_test(t, geglu_tanh_fuses);
    suite_add_tcase(s, t);
    TCase *n = tcase_create("negative");
    tcase_add_checked_fixture(n, setup, teardown);
    suite_add_tcase(s, n);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
