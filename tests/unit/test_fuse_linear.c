/* test_fuse_linear.c — unit tests of fuse_linear (MatMul/Gemm + bias + activation -> xfc.Linear)
 * and fuse_elementwise (elementwise chains -> one xfc.Elementwise loop): what must fuse (what must
 * not is in tests/golden/fuse_linear/ and fuse_elementwise/), and that the fused Linear computes what the separate ops computed (run through the constant
 * evaluator, which executes the same kernels the generated code carries). */
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
    g = xf_graph_new("fuse.onnx");
    stats = (xf_fusion_stats){.nmissed = 0};
}
static void teardown(void) { xf_graph_free(g); g = NULL; }

static void infer_all(void) {
    xf_diag d = {0};
    for (int32_t i = 0; i < g->nnodes; i++) {
        xf_infer_node(g, i, &d);
        ck_assert_msg(!d.set, "%s", d.msg);
    }
}

static int count_op(int op) {
    int n = 0;
    for (int32_t i = 0; i < g->nnodes; i++) n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

static const float W[6] = {1, -2, 0.5f, 3, -1, 2}; /* [3, 2] */
static const float BIAS[2] = {0.25f, -4};
static const float X[6] = {1, 2, 3, -1, 0.5f, 2}; /* [2, 3] */

/* x @ W + bias, then Relu, by hand */
static void expected_relu(float *want) {
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            float s = BIAS[j];
            for (int p = 0; p < 3; p++) s += X[i * 3 + p] * W[p * 2 + j];
            want[i * 2 + j] = s > 0 ? s : 0;
        }
}

/* Evaluates the single live node whose inputs are all constant and returns its output data. */
static const float *eval_root(int32_t node) {
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, node, &d), "%s", d.msg);
    return g->values[g->nodes[node].out[0]].data;
}

START_TEST(matmul_bias_relu_fuses) {
    int32_t x = tu_f32_const(g, "x", 2, SHAPE(2, 3), X); /* constant x lets the evaluator run the result */
    int32_t mm = tu_node(g, XF_OP_MATMUL, "mm", 2, (int32_t[]){x, tu_f32_const(g, "w", 2, SHAPE(3, 2), W)});
    int32_t add = tu_node(g, XF_OP_ADD, "add", 2, (int32_t[]){tu_out(g, mm), tu_f32_const(g, "b", 1, SHAPE(2), BIAS)});
    int32_t relu = tu_node(g, XF_OP_RELU, "relu", 1, (int32_t[]){tu_out(g, add)});
    tu_mark_output(g, tu_out(g, relu));
    infer_all();
    xf_diag d = {0};
    ck_assert(xf_pass_fuse_linear(g, &O2, &d));
    ck_assert_int_eq(count_op(XF_OP_LINEAR), 1);
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(g->nodes[relu].op, XF_OP_LINEAR);
    ck_assert_int_eq(xf_attr_int(&g->nodes[relu], "activation", -1), 1);
    ck_assert_int_eq(stats.fused[XF_FUSION_matmul_epilogue], 1);
    float want[4];
    expected_relu(want);
    const float *got = eval_root(relu);
    for (int k = 0; k < 4; k++) ck_assert_float_eq_tol(got[k], want[k], 1e-6f);
}
END_TEST

START_TEST(gemm_trans_b_is_folded) {
    float wt[6]; /* W transposed: [2, 3] */
    for (int p = 0; p < 3; p++)
        for (int j = 0; j < 2; j++) wt[j * 3 + p] = W[p * 2 + j];
    int32_t x = tu_f32_const(g, "x", 2, SHAPE(2, 3), X);
    int32_t gemm = tu_node(g, XF_OP_GEMM, "gemm", 3,
                           (int32_t[]){x, tu_f32_const(g, "wt", 2, SHAPE(2, 3), wt), tu_f32_const(g, "c", 1, SHAPE(2), BIAS)});
    xf_node_add_attr(g, gemm, "transB", XF_ATTR_INT)->i = 1;
    xf_node_add_attr(g, gemm, "alpha", XF_ATTR_FLOAT)->f = 2.0f;
    tu_mark_output(g, tu_out(g, gemm));
    infer_all();
    xf_diag d = {0};
    ck_assert(xf_pass_fuse_linear(g, &O2, &d));
    ck_assert_int_eq(g->nodes[gemm].op, XF_OP_LINEAR);
    const xf_value *w = &g->values[g->nodes[gemm].in[1]];
    ck_assert_int_eq(w->shape[0], 3); /* [K, N] after the compile-time transpose */
    ck_assert_int_eq(w->shape[1], 2);
    const float *got = eval_root(gemm);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            float s = 0;
            for (int p = 0; p < 3; p++) s += X[i * 3 + p] * W[p * 2 + j];
            ck_assert_float_eq_tol(got[i * 2 + j], 2.0f * s + BIAS[j], 1e-5f);
        }
}
END_TEST

/* A tied embedding: Gather reads the table [N, K], the output projection its transpose. fold computes
 * that Transpose and notes its source; the Linear reads the table in place, so it is stored once.
 * fold does so whichever passes follow (it reads no other pass's options). */
START_TEST(shared_weight_is_read_in_place) {
    float table[6]; /* W transposed: [2, 3] */
    for (int p = 0; p < 3; p++)
        for (int j = 0; j < 2; j++) table[j * 3 + p] = W[p * 2 + j];
    int32_t t = tu_f32_const(g, "table", 2, SHAPE(2, 3), table), ids = tu_input(g, "ids", XF_I64, 1, SHAPE(1));
    int32_t emb = tu_node(g, XF_OP_GATHER, "embed", 2, (int32_t[]){t, ids});
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(2, 3)); /* an input: fold must not compute the product */
    int32_t tr = tu_node(g, XF_OP_TRANSPOSE, "lm_head_t", 1, (int32_t[]){t});
    int32_t mm = tu_node(g, XF_OP_MATMUL, "lm_head", 2, (int32_t[]){x, tu_out(g, tr)});
    int32_t add = tu_node(g, XF_OP_ADD, "add", 2, (int32_t[]){tu_out(g, mm), tu_f32_const(g, "b", 1, SHAPE(2), BIAS)});
    tu_mark_output(g, tu_out(g, emb));
    tu_mark_output(g, tu_out(g, add));
    xf_diag d = {0};
    xf_options no_linear = O2;
    no_linear.disabled[no_linear.ndisabled++] = "fuse_linear";
    ck_assert_msg(xf_pass_fold(g, &no_linear, &d) || !d.set, "%s", d.msg);
    ck_assert(g->nodes[tr].dead);
    int32_t copy = tu_out(g, tr);
    ck_assert_int_eq(g->values[copy].transpose_of, t);
    int32_t nvalues = g->nvalues;
    ck_assert(xf_pass_fuse_linear(g, &O2, &d));
    ck_assert_int_eq(g->nvalues, nvalues); /* no new weight */
    ck_assert_int_eq(xf_value_uses(g, copy), 0); /* the transposed copy is not stored */
    ck_assert_int_eq(g->nodes[add].op, XF_OP_LINEAR);
    ck_assert_int_eq(g->nodes[add].in[1], t);
    ck_assert_int_eq(xf_attr_int(&g->nodes[add], "w_nk", 0), 1);
    g->values[x].data = (void *)X; /* bound after the passes, for the evaluator */
    const float *got = eval_root(add);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            float want = BIAS[j];
            for (int p = 0; p < 3; p++) want += X[i * 3 + p] * W[p * 2 + j];
            ck_assert_float_eq_tol(got[i * 2 + j], want, 1e-6f);
        }
}
END_TEST

/* ---- elementwise chains ---- */

START_TEST(chain_becomes_one_loop) {
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(4, 8));
    int32_t w = tu_input(g, "w", XF_F32, 1, SHAPE(8));
    int32_t mul = tu_node(g, XF_OP_MUL, "mul", 2, (int32_t[]){x, w});
    int32_t sig = tu_node(g, XF_OP_SIGMOID, "sig", 1, (int32_t[]){tu_out(g, mul)});
    int32_t add = tu_node(g, XF_OP_ADD, "add", 2, (int32_t[]){tu_out(g, sig), x});
    tu_mark_output(g, tu_out(g, add));
    infer_all();
    xf_diag d = {0};
    ck_assert(xf_pass_fuse_elementwise(g, &O2, &d));
    ck_assert_int_eq(tu_live_nodes(g), 1);
    const xf_node *n = &g->nodes[add];
    ck_assert_int_eq(n->op, XF_OP_FUSED_ELEMENTWISE);
    ck_assert_int_eq(n->nin, 2); /* x is one leaf though read twice */
    const xf_attr *p = xf_attr_get(n, "program");
    ck_assert_int_eq(p->n, 3 * 6);
    ck_assert_int_eq(p->ints[0], XF_OP_MUL);
    ck_assert_int_eq(p->ints[6], XF_OP_SIGMOID);
    ck_assert_int_eq(p->ints[7], n->nin + 0); /* reads step 0 */
    ck_assert_int_eq(p->ints[12], XF_OP_ADD);
    ck_assert(xf_shape_fused_elementwise(g, &g->nodes[add], &d));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("fuse_linear");
    TCase *t = tcase_create("linear");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, matmul_bias_relu_fuses);
    tcase_add_test(t, gemm_trans_b_is_folded);
    tcase_add_test(t, shared_weight_is_read_in_place);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("elementwise");
    tcase_add_checked_fixture(e, setup, teardown);
    tcase_add_test(e, chain_becomes_one_loop);
    suite_add_tcase(s, e);
    return s;
}

int main(void) { return tu_run(suite()); }
