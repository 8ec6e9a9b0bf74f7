/* test_fuse_ssm.c — unit tests of fuse_ssm: Mamba's unrolled selective scan and its causal
 * depthwise convolution, built by hand the way the ONNX exporters write them.
 *
 * What must fuse does, and the fused node, run through the constant evaluator (which executes the
 * kernels the generated code carries), must agree with the recurrence and the convolution computed
 * directly here. What must not fuse — a missing step, a broken chain of states — stays as it was
 * and is recorded as a near miss; a state used outside the scan and the convolution's near misses
 * are golden tests (tests/golden/fuse_ssm/). */
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
    g = xf_graph_new("ssm.onnx");
    stats = (xf_fusion_stats){.nmissed = 0};
    g->opset = 18;
}
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

static void infer_all(void) {
    xf_diag d = {0};
    for (int32_t i = 0; i < g->nnodes; i++) {
        xf_infer_node(g, i, &d);
        ck_assert_msg(!d.set, "%s", d.msg);
    }
}

static void run_pass(void) {
    xf_diag d = {0};
    xf_pass_fuse_ssm(g, &O2, &d);
    ck_assert_msg(!d.set, "fuse_ssm reported: %s", d.msg);
    xf_pass_dce(g, &O2, &d);
    ck_assert_msg(!d.set, "dce reported: %s", d.msg);
}

static int count_op(int op) {
    int n = 0;
    for (int32_t i = 0; i < g->nnodes; i++) n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

static bool missed(const char *pattern, const char *reason_part) {
    for (int32_t i = 0; i < stats.nmissed; i++)
        if (strcmp(stats.missed[i].pattern, pattern) == 0 && strstr(stats.missed[i].reason, reason_part)) return true;
    return false;
}

static const float *eval_node(int32_t node) {
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, node, &d), "%s", d.msg);
    return g->values[g->nodes[node].out[0]].data;
}

static int32_t node1(int op, const char *name, int32_t a) { return tu_node(g, op, name, 1, &a); }
static int32_t node2(int op, const char *name, int32_t a, int32_t b) {
    return tu_node(g, op, name, 2, (int32_t[]){a, b});
}
static const char *at(const char *base, int t) { return xf_sprintf(g->arena, "%s_%d", base, t); }
static int32_t out_of(int32_t node) { return tu_out(g, node); }

/* ---- the selective scan: batch 1, d = 2 channels, l = 3 steps, n = 2 states ---- */

enum { D = 2, L = 3, N = 2 };
static const float U[D * L] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};    /* [1, d, l] */
static const float DELTA[D * L] = {0.1f, 0.7f, 0.3f, 1.2f, 0.05f, 0.4f};   /* [1, d, l] */
static const float A[D * N] = {-1.0f, -0.5f, -2.0f, -0.1f};               /* [d, n] */
static const float BM[L * N] = {0.3f, -0.2f, 1.0f, 0.5f, -0.7f, 0.9f};     /* [1, l, n] */
static const float CM[L * N] = {1.1f, 0.4f, -0.3f, 0.8f, 0.6f, -1.2f};     /* [1, l, n] */
static const float DSKIP[D] = {0.9f, -0.4f};
static const float Z[D * L] = {0.2f, -1.3f, 0.8f, 2.0f, -0.1f, 0.6f};

enum gate { GATE_NONE, GATE_SIGMOID, GATE_SILU, GATE_SWIGLU };
typedef struct {
    enum gate gate;
    bool skip;          /* y + u * D */
    bool drop_step;     /* step 1 is missing: the Concat joins steps 0 and 2, which reads state 0 */
    bool break_chain;   /* all steps there, but step 2 continues from the state of step 0 */
} scan_options;

/* The recurrence as Mamba defines it, computed directly. */
static void scan_direct(const scan_options *o, float *y) {
    for (int c = 0; c < D; c++) {
        float h[N] = {0, 0};
        for (int t = 0; t < L; t++) {
            float dt = DELTA[c * L + t], acc = 0;
            for (int s = 0; s < N; s++) {
                h[s] = expf(dt * A[c * N + s]) * h[s] + dt * BM[t * N + s] * U[c * L + t];
                acc += CM[t * N + s] * h[s];
            }
            if (o->skip) acc += DSKIP[c] * U[c * L + t];
            if (o->gate != GATE_NONE) acc *= Z[c * L + t] / (1.0f + expf(-Z[c * L + t]));
            y[c * L + t] = acc;
        }
    }
}

/* Builds the unrolled scan as the exporters write it; returns the node computing the final output. */
static int32_t build_scan(const scan_options *o) {
    int32_t u = tu_f32_const(g, "u", 3, SHAPE(1, D, L), U), delta = tu_f32_const(g, "delta", 3, SHAPE(1, D, L), DELTA);
    int32_t a = tu_f32_const(g, "A", 4, SHAPE(1, D, 1, N), A), bm = tu_f32_const(g, "B", 3, SHAPE(1, L, N), BM);
    int32_t cm = tu_f32_const(g, "C", 3, SHAPE(1, L, N), CM);
    float zeros[D * N] = {0};
    int32_t h = tu_f32_const(g, "zeros", 3, SHAPE(1, D, N), zeros);
    int32_t ax3 = tu_i64(g, "ax3", 1, SHAPE(3)), ax1 = tu_i64(g, "ax1", 1, SHAPE(1));
    int32_t ax2 = tu_i64(g, "ax2", 1, SHAPE(2)), axm1 = tu_i64(g, "axm1", 1, SHAPE(-1));
    int32_t dt4 = out_of(node2(XF_OP_UNSQUEEZE, "dt4", delta, ax3));
    int32_t da = out_of(node1(XF_OP_EXP, "dA", out_of(node2(XF_OP_MUL, "A_dt", a, dt4))));
    int32_t b4 = out_of(node2(XF_OP_UNSQUEEZE, "B4", bm, ax1));
    int32_t u4 = out_of(node2(XF_OP_UNSQUEEZE, "u4", u, ax3));
    int32_t dbu = out_of(node2(XF_OP_MUL, "dBu", out_of(node2(XF_OP_MUL, "dB", dt4, b4)), u4));
    int32_t ys[L], ny = 0, states[L];
    for (int t = 0; t < L; t++) {
        if (o->drop_step && t == 1) continue;
        int32_t idx = tu_i64_scalar(g, at("i", t), t);
        int32_t ga = node2(XF_OP_GATHER, at("dA", t), da, idx);
        int32_t gb = node2(XF_OP_GATHER, at("dBu", t), dbu, idx);
        int32_t gc = node2(XF_OP_GATHER, at("C", t), cm, idx);
        tu_set_int(g, ga, "axis", 2);
        tu_set_int(g, gb, "axis", 2);
        tu_set_int(g, gc, "axis", 1);
        if (o->break_chain && t == 2) h = states[0];
        int32_t decayed = node2(XF_OP_MUL, at("decay", t), out_of(ga), h);
        states[t] = h = out_of(node2(XF_OP_ADD, at("h", t), out_of(decayed), out_of(gb)));
        int32_t col = node2(XF_OP_UNSQUEEZE, at("col", t), out_of(gc), axm1);
        int32_t mm = node2(XF_OP_MATMUL, at("y4", t), h, out_of(col));
        int32_t sel = node2(XF_OP_GATHER, at("y", t), out_of(mm), tu_i64_scalar(g, at("zero", t), 0));
        tu_set_int(g, sel, "axis", 2);
        ys[ny++] = out_of(node2(XF_OP_UNSQUEEZE, at("yu", t), out_of(sel), ax2));
    }
    int32_t root = tu_node(g, XF_OP_CONCAT, "stack", ny, ys);
    tu_set_int(g, root, "axis", 2);
    if (o->skip) {
        int32_t dskip = tu_f32_const(g, "D", 3, SHAPE(1, D, 1), DSKIP);
        root = node2(XF_OP_ADD, "skip", out_of(root), out_of(node2(XF_OP_MUL, "uD", u, dskip)));
    }
    int32_t z = tu_f32_const(g, "z", 3, SHAPE(1, D, L), Z), y = out_of(root);
    switch (o->gate) {
    case GATE_NONE: break;
    case GATE_SIGMOID:
        root = node2(XF_OP_MUL, "gate", y, out_of(node2(XF_OP_MUL, "silu", z, out_of(node1(XF_OP_SIGMOID, "sig", z)))));
        break;
    case GATE_SILU: root = node2(XF_OP_MUL, "gate", out_of(node1(XF_OP_SILU, "silu", z)), y); break;
    case GATE_SWIGLU: root = node2(XF_OP_SWIGLU, "gate", z, y); break;
    }
    tu_mark_output(g, out_of(root));
    infer_all();
    return root;
}

static void check_scan_fuses(const scan_options *o, int32_t want_inputs) {
    int32_t root = build_scan(o);
    run_pass();
    ck_assert_int_eq(stats.fused[XF_FUSION_selective_scan], 1);
    ck_assert_int_eq(tu_live_nodes(g), 1); /* everything, down to the Unsqueeze views, is gone */
    const xf_node *n = &g->nodes[root];
    ck_assert_int_eq(n->op, XF_OP_SELECTIVE_SCAN);
    ck_assert_int_eq(n->nin, want_inputs);
    CHECK_SHAPE(g, n->in[2], XF_F32, D, N); /* A as [d, n] */
    if (o->skip) CHECK_SHAPE(g, n->in[5], XF_F32, D);
    tu_infer_ok(g, root);
    CHECK_SHAPE(g, n->out[0], XF_F32, 1, D, L);
    float want[D * L];
    scan_direct(o, want);
    const float *got = eval_node(root);
    for (int i = 0; i < D * L; i++) ck_assert_float_eq_tol(got[i], want[i], 1e-5f);
}

START_TEST(scan_with_skip_and_sigmoid_gate_fuses) {
    check_scan_fuses(&(scan_options){.gate = GATE_SIGMOID, .skip = true}, 7);
}
END_TEST

START_TEST(scan_with_silu_gate_fuses) {
    check_scan_fuses(&(scan_options){.gate = GATE_SILU, .skip = true}, 7);
}
END_TEST

START_TEST(scan_with_swiglu_gate_fuses) {
    check_scan_fuses(&(scan_options){.gate = GATE_SWIGLU}, 7);
}
END_TEST

START_TEST(bare_scan_fuses) {
    check_scan_fuses(&(scan_options){.gate = GATE_NONE}, 5);
}
END_TEST

START_TEST(scan_with_skip_only_fuses) {
    check_scan_fuses(&(scan_options){.skip = true}, 6);
}
END_TEST

static void check_scan_stays(const scan_options *o, const char *reason_part) {
    build_scan(o);
    int32_t before = tu_live_nodes(g);
    run_pass();
    ck_assert_int_eq(stats.fused[XF_FUSION_selective_scan], 0);
    ck_assert_int_eq(count_op(XF_OP_SELECTIVE_SCAN), 0);
    ck_assert_int_eq(tu_live_nodes(g), before);
    ck_assert_msg(missed("selective_scan", reason_part), "no near miss mentioning '%s'", reason_part);
}

START_TEST(scan_missing_a_step_stays) {
    check_scan_stays(&(scan_options){.drop_step = true}, "step 1 does not read row 1");
}
END_TEST

START_TEST(scan_with_a_broken_chain_stays) {
    check_scan_stays(&(scan_options){.break_chain = true, .skip = true}, "the state of step 2");
}
END_TEST

START_TEST(scan_shape_rule_rejects_mismatch) {
    int32_t u = tu_input(g, "u", XF_F32, 3, SHAPE(1, D, L)), delta = tu_input(g, "delta", XF_F32, 3, SHAPE(1, D, L));
    int32_t a = tu_f32_const(g, "A", 2, SHAPE(D, N), A), bm = tu_input(g, "B", XF_F32, 3, SHAPE(1, L, N));
    int32_t cm = tu_input(g, "C", XF_F32, 3, SHAPE(1, L + 1, N)); /* one row too many */
    int32_t n = tu_node(g, XF_OP_SELECTIVE_SCAN, "scan", 5, (int32_t[]){u, delta, a, bm, cm});
    xf_diag d;
    ck_assert_ptr_nonnull(strstr(tu_infer_fails(g, n, &d), "C [1,4,2] is not [batch, l, n]"));
}
END_TEST

/* ---- causal convolution: batch 1, 3 channels, l = 7, k = 4 ---- */

enum { CH = 3, CL = 7, K = 4 };
static const float X[CH * CL] = {1, 2, -1, 0.5f, 3, -2, 1, 0, 1, 1, -1, 2, 0.5f, -0.5f, 2, -3, 1, 0.25f, 4, -1, 0};
static const float W[CH * K] = {0.1f, -0.2f, 0.3f, 1.0f, 0.5f, 0.5f, -1.0f, 2.0f, -0.3f, 0.0f, 0.7f, 0.2f};
static const float BIAS[CH] = {0.5f, -1.0f, 0.0f};

/* x -> Conv(pads k-1 both sides) -> Slice([start, start + l)) -> SiLU as written by the exporters
 * (s * Sigmoid(s)) or by fuse_activation (Silu(s)), or none */
enum act { ACT_NONE, ACT_SIGMOID, ACT_SILU };
static int32_t build_conv(bool bias, int64_t start, enum act act) {
    int32_t x = tu_f32_const(g, "x", 3, SHAPE(1, CH, CL), X), w = tu_f32_const(g, "w", 3, SHAPE(CH, 1, K), W);
    int32_t conv = bias ? tu_node(g, XF_OP_CONV, "conv", 3, (int32_t[]){x, w, tu_f32_const(g, "bias", 1, SHAPE(CH), BIAS)})
                        : node2(XF_OP_CONV, "conv", x, w);
    tu_set_int(g, conv, "group", CH);
    tu_set_ints(g, conv, "pads", 2, SHAPE(K - 1, K - 1));
    tu_set_ints(g, conv, "kernel_shape", 1, SHAPE(K));
    int32_t slice = tu_node(g, XF_OP_SLICE, "slice", 5,
                            (int32_t[]){out_of(conv), tu_i64(g, "starts", 1, SHAPE(start)),
                                        tu_i64(g, "ends", 1, SHAPE(start + CL)), tu_i64(g, "axes", 1, SHAPE(2)),
                                        tu_i64(g, "steps", 1, SHAPE(1))});
    int32_t root = slice;
    if (act == ACT_SIGMOID)
        root = node2(XF_OP_MUL, "silu", out_of(slice), out_of(node1(XF_OP_SIGMOID, "sig", out_of(slice))));
    if (act == ACT_SILU) root = node1(XF_OP_SILU, "silu", out_of(slice));
    tu_mark_output(g, out_of(root));
    infer_all();
    return root;
}

static void conv_direct(bool bias, bool silu, float *y) {
    for (int c = 0; c < CH; c++)
        for (int t = 0; t < CL; t++) {
            float s = bias ? BIAS[c] : 0.0f;
            for (int j = 0; j < K; j++) {
                int src = t - (K - 1) + j;
                if (src >= 0) s += W[c * K + j] * X[c * CL + src];
            }
            y[c * CL + t] = silu ? s / (1.0f + expf(-s)) : s;
        }
}

static void check_conv_fuses(bool bias, enum act act) {
    bool silu = act != ACT_NONE;
    int32_t root = build_conv(bias, 0, act);
    run_pass();
    ck_assert_int_eq(stats.fused[XF_FUSION_causal_conv1d], 1);
    ck_assert_int_eq(tu_live_nodes(g), 1);
    const xf_node *n = &g->nodes[root];
    ck_assert_int_eq(n->op, XF_OP_CAUSAL_CONV1D);
    ck_assert_int_eq(n->nin, bias ? 3 : 2);
    ck_assert_int_eq(xf_attr_int(n, "activation", -1), silu ? 4 : 0);
    tu_infer_ok(g, root);
    float want[CH * CL];
    conv_direct(bias, silu, want);
    const float *got = eval_node(root);
    for (int i = 0; i < CH * CL; i++) ck_assert_float_eq_tol(got[i], want[i], 1e-5f);
}

START_TEST(causal_conv_with_bias_and_sigmoid_fuses) { check_conv_fuses(true, ACT_SIGMOID); }
END_TEST

START_TEST(causal_conv_with_silu_fuses) { check_conv_fuses(false, ACT_SILU); }
END_TEST

START_TEST(causal_conv_plain_fuses) { check_conv_fuses(false, ACT_NONE); }
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("fuse_ssm");
    TCase *t = tcase_create("selective_scan");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, scan_with_skip_and_sigmoid_gate_fuses);
    tcase_add_test(t, scan_with_silu_gate_fuses);
    tcase_add_test(t, scan_with_swiglu_gate_fuses);
    tcase_add_test(t, bare_scan_fuses);
    tcase_add_test(t, scan_with_skip_only_fuses);
    tcase_add_test(t, scan_missing_a_step_stays);
    tcase_add_test(t, scan_with_a_broken_chain_stays);
    tcase_add_test(t, scan_shape_rule_rejects_mismatch);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("causal_conv1d");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, causal_conv_with_bias_and_sigmoid_fuses);
    tcase_add_test(c, causal_conv_with_silu_fuses);
    tcase_add_test(c, causal_conv_plain_fuses);
    suite_add_tcase(s, c);
    return s;
}

int main(void) { return tu_run(suite()); }
