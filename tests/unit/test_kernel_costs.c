/* test_kernel_costs.c — what the kernel table's cost expressions give for the calls that lowering
 * makes (the figures `xfc report` sums). Each test builds one node, lowers it, and compares the
 * call's FLOPs with the count worked out by hand from the node's shapes: a wrong parameter in a
 * lowering, or a cost row that reads the wrong one, shows up as a wrong count. Pure data movement
 * costs no FLOPs but moves bytes. */
#include <check.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) { g = xf_graph_new("costs.onnx"); }
static void teardown(void) { xf_graph_free(g); g = NULL; }

/* Infers and lowers node, which must become exactly one call of kernel; returns that call's cost. */
static xf_cost one_call(int32_t node, int kernel) {
    tu_infer_ok(g, node);
    xf_call calls[4];
    xf_calls out = {.g = g, .at = calls, .max = 4};
    xf_diag d = {0};
    ck_assert_msg(xf_lower_node(g, node, &out, &d), "%s", d.msg);
    ck_assert_int_eq(out.count, 1);
    ck_assert_str_eq(xf_kernels[calls[0].kernel].name, xf_kernels[kernel].name);
    return xf_call_cost(g, &calls[0]);
}

/* Per element of X: square and add, then two multiplies (by 1/rms, by Scale). */
START_TEST(test_rms_norm_cost) {
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(2, 3, 8));
    int32_t scale = tu_input(g, "scale", XF_F32, 1, SHAPE(8));
    int32_t node = tu_node(g, XF_OP_RMS_NORM, "norm", 2, (int32_t[]){x, scale});
    xf_cost c = one_call(node, XF_K_xf_rms_norm);
    ck_assert_int_eq(c.flops, 4 * 2 * 3 * 8);
    ck_assert_int_eq(c.bytes, 4 * (2 * 2 * 3 * 8 + 8));
}
END_TEST

/* A multiply-add per (row, k, column), and four FLOPs an output for an activation. */
START_TEST(test_linear_cost) {
    for (int act = 0; act < 2; act++) {
        int32_t x = tu_input(g, xf_sprintf(g->arena, "x%d", act), XF_F32, 3, SHAPE(2, 3, 4));
        int32_t w = tu_input(g, xf_sprintf(g->arena, "w%d", act), XF_F32, 2, SHAPE(4, 5));
        int32_t node = tu_node(g, XF_OP_LINEAR, xf_sprintf(g->arena, "linear%d", act), 2, (int32_t[]){x, w});
        if (act) tu_set_int(g, node, "activation", 4); /* SiLU */
        xf_cost c = one_call(node, XF_K_xf_linear);
        ck_assert_int_eq(c.flops, 2 * 6 * 4 * 5 + (act ? 4 * 6 * 5 : 0));
    }
}
END_TEST

/* Attention: for each query head, query and key, a dot product over d, a weighted add over dv and
 * a few FLOPs of softmax; grouped-query heads count once per query head. */
START_TEST(test_attention_cost) {
    enum { B = 2, HQ = 4, HKV = 2, S = 3, L = 5, D = 8, DV = 6 };
    int32_t q = tu_input(g, "q", XF_F32, 4, SHAPE(B, HQ, S, D));
    int32_t k = tu_input(g, "k", XF_F32, 4, SHAPE(B, HKV, L, D));
    int32_t v = tu_input(g, "v", XF_F32, 4, SHAPE(B, HKV, L, DV));
    int32_t node = tu_node(g, XF_OP_ATTENTION, "attn", 3, (int32_t[]){q, k, v});
    xf_cost c = one_call(node, XF_K_xf_attention);
    ck_assert_int_eq(c.flops, (int64_t)B * HQ * S * L * (2 * (D + DV) + 5));
}
END_TEST

/* RotaryEmbedding: six FLOPs per pair of rotated elements, the others only copied. */
START_TEST(test_rotary_cost) {
    int32_t x = tu_input(g, "x", XF_F32, 4, SHAPE(2, 3, 5, 8));
    int32_t cs = tu_input(g, "cos", XF_F32, 3, SHAPE(2, 5, 4));
    int32_t sn = tu_input(g, "sin", XF_F32, 3, SHAPE(2, 5, 4));
    int32_t node = tu_node(g, XF_OP_ROTARY_EMBEDDING, "rope", 3, (int32_t[]){x, cs, sn});
    tu_set_int(g, node, "rotary_embedding_dim", 6);
    xf_cost c = one_call(node, XF_K_xf_rotary_embedding);
    ck_assert_int_eq(c.flops, 6 * 2 * 3 * 5 * (6 / 2));
}
END_TEST

/* A cast to a narrow type rounds each element once; a transpose only moves bytes. */
START_TEST(test_convert_and_copy_costs) {
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(3, 7));
    int32_t cvt = tu_node(g, XF_OP_CONVERT, "to_f16", 1, &x);
    tu_set_int(g, cvt, "to", XF_F16);
    xf_cost c = one_call(cvt, XF_K_xf_cast_lowp);
    ck_assert_int_eq(c.flops, 21);
    ck_assert_int_eq(c.bytes, 21 * 4 + 21 * 2);
    int32_t t = tu_node(g, XF_OP_TRANSPOSE, "t", 1, &x);
    c = one_call(t, XF_K_xf_copy_strided);
    ck_assert_int_eq(c.flops, 0);
    ck_assert_int_eq(c.bytes, 2 * 21 * 4);
}
END_TEST

static Suite *costs_suite(void) {
    Suite *s = suite_create("kernel costs");
    TCase *t = tcase_create("costs");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_rms_norm_cost);
    tcase_add_test(t, test_linear_cost);
    tcase_add_test(t, test_attention_cost);
    tcase_add_test(t, test_rotary_cost);
    tcase_add_test(t, test_convert_and_copy_costs);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(costs_suite()); }
