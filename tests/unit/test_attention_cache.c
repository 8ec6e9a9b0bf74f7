/* test_attention_cache.c — unit tests of what the Attention op (ir/ops_attention.c) does beyond a
 * plain Q, K, V: a KV cache (past_key/past_value in, present_key/present_value out, the cache's
 * keys in front of the new ones), nonpad_kv_seqlen, the qk_matmul_output output in each of its four
 * modes, and the two mappings of query heads to K/V heads (ONNX's h % Hkv by default, h / (Hq/Hkv)
 * under xfc.kv_heads_grouped). Values go through the constant evaluator, which runs the kernels the
 * generated code carries, and are compared with a plain double-precision attention computed here
 * over the concatenated keys. Last, the inputs the op must refuse, each with a one-line diagnostic
 * naming the node. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) {
    g = xf_graph_new("cache.onnx");
    g->opset = 23;
}
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

enum { B = 2, HQ = 4, HK = 2, S = 3, P = 4, L = 2, T = P + L, D = 3, DV = 2 };

/* Deterministic values in [-1, 1). */
static void fill(float *x, int n, unsigned seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* An Attention node with inputs in[0..nin) and nout fresh outputs, less those present[k] leaves out. */
static int32_t attention(const char *name, int32_t nin, const int32_t *in, int32_t nout, const bool *present) {
    int32_t out[8];
    ck_assert_int_le(nout, 8);
    for (int k = 0; k < nout; k++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s_out%d", name, k);
        out[k] = present && !present[k] ? -1 : tu_fresh(g, buf);
    }
    return xf_node_add(g, XF_OP_ATTENTION, name, nin, in, nout, out);
}

static const float *eval(int32_t node, int k) {
    xf_diag d = {0};
    tu_infer_ok(g, node);
    ck_assert_msg(xf_eval_node(g, node, &d), "%s", d.msg);
    return g->values[g->nodes[node].out[k]].data;
}

/* The inputs of the tests: Q [B,HQ,S,D], the cache [B,HK,P,D|DV], the new K and V [B,HK,L,D|DV],
 * and a float mask [S,T]; kcat and vcat are the concatenations the reference attends to. */
static float q[B * HQ * S * D], pk[B * HK * P * D], pv[B * HK * P * DV], k[B * HK * L * D], v[B * HK * L * DV];
static float mask[S * T], kcat[B * HK * T * D], vcat[B * HK * T * DV];

static void make_data(void) {
    fill(q, B * HQ * S * D, 1);
    fill(pk, B * HK * P * D, 2);
    fill(pv, B * HK * P * DV, 3);
    fill(k, B * HK * L * D, 4);
    fill(v, B * HK * L * DV, 5);
    fill(mask, S * T, 6);
    for (int bh = 0; bh < B * HK; bh++)
        for (int j = 0; j < T; j++) {
            for (int e = 0; e < D; e++)
                kcat[(bh * T + j) * D + e] = j < P ? pk[(bh * P + j) * D + e] : k[(bh * L + j - P) * D + e];
            for (int e = 0; e < DV; e++)
                vcat[(bh * T + j) * DV + e] = j < P ? pv[(bh * P + j) * DV + e] : v[(bh * L + j - P) * DV + e];
        }
}

typedef struct {
    const float *mask;    /* [S, T] float, or NULL */
    bool causal, grouped;
    double softcap;
    const int64_t *nonpad; /* [B] or NULL */
} ref_opts;

/* Attention over kcat/vcat in double: y [B,HQ,S,DV] and the scores [B,HQ,S,T] at stage `mode`. */
static void reference(double *y, double *scores, int mode, ref_opts o) {
    double scale = 1.0 / sqrt((double)D);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < HQ; h++) {
            int kvh = o.grouped ? h / (HQ / HK) : h % HK;
            for (int i = 0; i < S; i++) {
                double s[T], raw[T], max = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++) {
                    double dot = 0;
                    for (int e = 0; e < D; e++)
                        dot += (double)q[((b * HQ + h) * S + i) * D + e] * kcat[((b * HK + kvh) * T + j) * D + e];
                    raw[j] = scale * dot;
                    bool masked = (o.causal && j > i) || (o.nonpad && j >= o.nonpad[b]);
                    s[j] = masked ? -INFINITY : raw[j] + (o.mask ? o.mask[i * T + j] : 0.0);
                }
                double *row = scores ? scores + ((b * HQ + h) * S + i) * T : NULL;
                for (int j = 0; j < T; j++) {
                    if (row && mode == 0) row[j] = raw[j];
                    if (row && mode == 1) row[j] = s[j];
                    if (o.softcap > 0 && s[j] != -INFINITY) s[j] = o.softcap * tanh(s[j] / o.softcap);
                    if (row && mode == 2) row[j] = s[j];
                    if (s[j] > max) max = s[j];
                }
                for (int j = 0; j < T; j++) sum += s[j] == -INFINITY ? 0 : exp(s[j] - max);
                for (int j = 0; j < T; j++)
                    if (row && mode == 3) row[j] = s[j] == -INFINITY ? 0 : exp(s[j] - max) / sum;
                for (int e = 0; e < DV; e++) {
                    double acc = 0;
                    for (int j = 0; j < T; j++)
                        if (s[j] != -INFINITY) acc += exp(s[j] - max) / sum * vcat[((b * HK + kvh) * T + j) * DV + e];
                    y[((b * HQ + h) * S + i) * DV + e] = acc;
                }
            }
        }
}

static void check_close(const float *got, const double *want, int n, const char *what) {
    for (int i = 0; i < n; i++) {
        if (isinf(want[i])) {
            ck_assert_msg(got[i] == (float)want[i], "%s[%d]: got %g, want %g", what, i, (double)got[i], want[i]);
            continue;
        }
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-5 + 1e-4 * fabs(want[i]), "%s[%d]: got %g, want %g", what, i,
                      (double)got[i], want[i]);
    }
}

/* Q, K, V and the cache as constants: the inputs of a node with a cache. */
static void cache_inputs(int32_t *in) {
    in[0] = tu_f32_const(g, "q", 4, SHAPE(B, HQ, S, D), q);
    in[1] = tu_f32_const(g, "k", 4, SHAPE(B, HK, L, D), k);
    in[2] = tu_f32_const(g, "v", 4, SHAPE(B, HK, L, DV), v);
    in[3] = tu_f32_const(g, "mask", 2, SHAPE(S, T), mask);
    in[4] = tu_f32_const(g, "past_k", 4, SHAPE(B, HK, P, D), pk);
    in[5] = tu_f32_const(g, "past_v", 4, SHAPE(B, HK, P, DV), pv);
}

/* The new keys follow the cache's; present_* are the concatenations; the mask covers all T keys. */
START_TEST(cache_is_attended_and_handed_on) {
    make_data();
    int32_t in[6];
    cache_inputs(in);
    int32_t node = attention("attn", 6, in, 3, NULL);
    tu_infer_ok(g, node);
    CHECK_SHAPE(g, g->nodes[node].out[0], XF_F32, B, HQ, S, DV);
    CHECK_SHAPE(g, g->nodes[node].out[1], XF_F32, B, HK, T, D);
    CHECK_SHAPE(g, g->nodes[node].out[2], XF_F32, B, HK, T, DV);
    double want[B * HQ * S * DV];
    reference(want, NULL, 0, (ref_opts){.mask = mask});
    check_close(eval(node, 0), want, B * HQ * S * DV, "Y");
    ck_assert_mem_eq(eval(node, 1), kcat, sizeof kcat);
    ck_assert_mem_eq(eval(node, 2), vcat, sizeof vcat);
}
END_TEST

/* 3-D Q, K and V with a 4-D cache: the same numbers as the 4-D node, read through other strides. */
START_TEST(cache_with_three_d_layout) {
    make_data();
    float q3[B * S * HQ * D], k3[B * L * HK * D], v3[B * L * HK * DV];
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < HQ; h++)
            for (int i = 0; i < S; i++)
                for (int e = 0; e < D; e++) q3[((b * S + i) * HQ + h) * D + e] = q[((b * HQ + h) * S + i) * D + e];
        for (int h = 0; h < HK; h++)
            for (int j = 0; j < L; j++) {
                for (int e = 0; e < D; e++) k3[((b * L + j) * HK + h) * D + e] = k[((b * HK + h) * L + j) * D + e];
                for (int e = 0; e < DV; e++) v3[((b * L + j) * HK + h) * DV + e] = v[((b * HK + h) * L + j) * DV + e];
            }
    }
    int32_t in[6];
    cache_inputs(in);
    in[0] = tu_f32_const(g, "q3", 3, SHAPE(B, S, HQ * D), q3);
    in[1] = tu_f32_const(g, "k3", 3, SHAPE(B, L, HK * D), k3);
    in[2] = tu_f32_const(g, "v3", 3, SHAPE(B, L, HK * DV), v3);
    int32_t node = attention("attn", 6, in, 3, NULL);
    xf_node_add_attr(g, node, "q_num_heads", XF_ATTR_INT)->i = HQ;
    xf_node_add_attr(g, node, "kv_num_heads", XF_ATTR_INT)->i = HK;
    xf_node_add_attr(g, node, "is_causal", XF_ATTR_INT)->i = 1;
    tu_infer_ok(g, node);
    CHECK_SHAPE(g, g->nodes[node].out[0], XF_F32, B, S, HQ * DV);
    double want[B * HQ * S * DV], want3[B * S * HQ * DV];
    reference(want, NULL, 0, (ref_opts){.mask = mask, .causal = true});
    for (int b = 0; b < B; b++)
        for (int h = 0; h < HQ; h++)
            for (int i = 0; i < S; i++)
                for (int e = 0; e < DV; e++)
                    want3[((b * S + i) * HQ + h) * DV + e] = want[((b * HQ + h) * S + i) * DV + e];
    check_close(eval(node, 0), want3, B * S * HQ * DV, "Y");
    ck_assert_mem_eq(eval(node, 1), kcat, sizeof kcat);
}
END_TEST

/* Query head h reads K/V head h % HK unless xfc.kv_heads_grouped says h / (HQ/HK); the two differ. */
START_TEST(head_mappings) {
    make_data();
    int32_t in[6];
    cache_inputs(in);
    int32_t onnx = attention("onnx", 6, in, 1, NULL), grouped = attention("grouped", 6, in, 1, NULL);
    xf_node_add_attr(g, grouped, "xfc.kv_heads_grouped", XF_ATTR_INT)->i = 1;
    double want_onnx[B * HQ * S * DV], want_grouped[B * HQ * S * DV];
    reference(want_onnx, NULL, 0, (ref_opts){.mask = mask});
    reference(want_grouped, NULL, 0, (ref_opts){.mask = mask, .grouped = true});
    const float *y_onnx = eval(onnx, 0), *y_grouped = eval(grouped, 0);
    check_close(y_onnx, want_onnx, B * HQ * S * DV, "Y (h % Hkv)");
    check_close(y_grouped, want_grouped, B * HQ * S * DV, "Y (h / group)");
    /* head 1 reads K/V head 1 in one mapping, head 0 in the other */
    ck_assert(fabsf(y_onnx[S * DV] - y_grouped[S * DV]) > 1e-4f);
    /* head 0 reads K/V head 0 in both */
    ck_assert(fabsf(y_onnx[0] - y_grouped[0]) < 1e-6f);
}
END_TEST

/* qk_matmul_output in each mode, with a mask, causal masking and a softcap all in play. */
START_TEST(qk_matmul_output_modes) {
    make_data();
    for (int mode = 0; mode < 4; mode++) {
        int32_t in[6];
        cache_inputs(in);
        char name[32];
        snprintf(name, sizeof name, "mode%d", mode);
        int32_t node = attention(name, 6, in, 4, (const bool[]){true, false, false, true});
        xf_node_add_attr(g, node, "qk_matmul_output_mode", XF_ATTR_INT)->i = mode;
        xf_node_add_attr(g, node, "is_causal", XF_ATTR_INT)->i = 1;
        xf_node_add_attr(g, node, "softcap", XF_ATTR_FLOAT)->f = 0.75f;
        tu_infer_ok(g, node);
        CHECK_SHAPE(g, g->nodes[node].out[3], XF_F32, B, HQ, S, T);
        ck_assert_ptr_null(xf_out(g, &g->nodes[node], 1));
        static double y[B * HQ * S * DV], scores[B * HQ * S * T];
        reference(y, scores, mode, (ref_opts){.mask = mask, .causal = true, .softcap = 0.75});
        check_close(eval(node, 0), y, B * HQ * S * DV, "Y");
        check_close(eval(node, 3), scores, B * HQ * S * T, name);
    }
}
END_TEST

/* nonpad_kv_seqlen: batch b attends to its first nonpad[b] keys only; 0 keys give a zero row. */
START_TEST(nonpad_kv_seqlen_masks_padding) {
    make_data();
    const int64_t nonpad[B] = {5, 0};
    int32_t in[7] = {tu_f32_const(g, "q", 4, SHAPE(B, HQ, S, D), q), tu_f32_const(g, "k", 4, SHAPE(B, HK, T, D), kcat),
                     tu_f32_const(g, "v", 4, SHAPE(B, HK, T, DV), vcat), -1, -1, -1,
                     xf_const_add(g, "nonpad", XF_I64, 1, SHAPE(B), nonpad)};
    int32_t node = attention("padded", 7, in, 1, NULL);
    double want[B * HQ * S * DV];
    reference(want, NULL, 0, (ref_opts){.nonpad = nonpad});
    const float *y = eval(node, 0);
    check_close(y, want, B * HQ * S * DV, "Y");
    for (int i = HQ * S * DV; i < B * HQ * S * DV; i++) ck_assert_float_eq(y[i], 0.0f);
}
END_TEST

/* A cache of length 0 is an empty past: present equals the new keys. */
START_TEST(present_without_past) {
    make_data();
    int32_t in[3] = {tu_f32_const(g, "q", 4, SHAPE(B, HQ, S, D), q), tu_f32_const(g, "k", 4, SHAPE(B, HK, L, D), k),
                     tu_f32_const(g, "v", 4, SHAPE(B, HK, L, DV), v)};
    int32_t node = attention("fresh", 3, in, 2, NULL);
    tu_infer_ok(g, node);
    CHECK_SHAPE(g, g->nodes[node].out[1], XF_F32, B, HK, L, D);
    ck_assert_mem_eq(eval(node, 1), k, sizeof k);
}
END_TEST

/* ---- what the op refuses ---- */

START_TEST(refuses_bad_caches_and_attributes) {
    int32_t q4 = tu_input(g, "q", XF_F32, 4, SHAPE(B, HQ, S, D)), k4 = tu_input(g, "k", XF_F32, 4, SHAPE(B, HK, L, D));
    int32_t v4 = tu_input(g, "v", XF_F32, 4, SHAPE(B, HK, L, DV));
    int32_t past_k = tu_input(g, "pk", XF_F32, 4, SHAPE(B, HK, P, D));
    int32_t past_v = tu_input(g, "pv", XF_F32, 4, SHAPE(B, HK, P, DV));
    int32_t short_v = tu_input(g, "pv_short", XF_F32, 4, SHAPE(B, HK, P - 1, DV));
    int32_t f64_k = tu_input(g, "pk_f64", XF_F64, 4, SHAPE(B, HK, P, D));
    int32_t nonpad = tu_input(g, "nonpad", XF_I64, 1, SHAPE(B));
    int32_t nonpad32 = tu_input(g, "nonpad32", XF_I32, 1, SHAPE(B));

    tu_expect_refusal(g, attention("alone", 5, (int32_t[]){q4, k4, v4, -1, past_k}, 1, NULL), "together");
    tu_expect_refusal(g, attention("lengths", 6, (int32_t[]){q4, k4, v4, -1, past_k, short_v}, 1, NULL), "past_value");
    tu_expect_refusal(g, attention("dtype", 6, (int32_t[]){q4, k4, v4, -1, f64_k, past_v}, 1, NULL), "float32");
    tu_expect_refusal(g, attention("both", 7, (int32_t[]){q4, k4, v4, -1, past_k, past_v, nonpad}, 1, NULL),
                   "cannot be combined");
    tu_expect_refusal(g, attention("nonpad32", 7, (int32_t[]){q4, k4, v4, -1, -1, -1, nonpad32}, 1, NULL), "int64");
    tu_expect_refusal(g, attention("outputs", 3, (int32_t[]){q4, k4, v4}, 5, NULL), "at most 4");
    /* the mask must cover no more than past + current keys */
    int32_t long_mask = tu_input(g, "mask", XF_F32, 2, SHAPE(S, T + 1));
    tu_expect_refusal(g, attention("mask", 6, (int32_t[]){q4, k4, v4, long_mask, past_k, past_v}, 1, NULL),
                   "does not broadcast");
    int32_t mode = attention("mode", 3, (int32_t[]){q4, k4, v4}, 1, NULL);
    xf_node_add_attr(g, mode, "qk_matmul_output_mode", XF_ATTR_INT)->i = 4;
    tu_expect_refusal(g, mode, "qk_matmul_output_mode");
    int32_t grouping = attention("grouping", 3, (int32_t[]){q4, k4, v4}, 1, NULL);
    xf_node_add_attr(g, grouping, "xfc.kv_heads_grouped", XF_ATTR_INT)->i = 2;
    tu_expect_refusal(g, grouping, "xfc.kv_heads_grouped");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("attention_cache");
    TCase *t = tcase_create("op");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, cache_is_attended_and_handed_on);
    tcase_add_test(t, cache_with_three_d_layout);
    tcase_add_test(t, head_mappings);
    tcase_add_test(t, qk_matmul_output_modes);
    tcase_add_test(t, nonpad_kv_seqlen_masks_padding);
    tcase_add_test(t, present_without_past);
    tcase_add_test(t, refuses_bad_caches_and_attributes);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(suite()); }
