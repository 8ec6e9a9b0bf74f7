/* test_fuse_attention.c — unit tests of fuse_attention and of the Attention op it makes.
 *
 * The attention subgraph is built the ways the exporters write it (llama's dynamo export: q and k
 * each scaled, K^T through Reshape/Transpose/Reshape, K and V repeated for grouped heads, a
 * constant causal mask, the NaN guard; the TorchScript export's Transpose [0,2,3,1]; a bool mask
 * through Where) and must become one Attention node with the right
 * inputs and attributes, whose result — run through the constant evaluator, which executes the
 * kernel the generated code carries — matches a plain double-precision attention computed here.
 * A non-causal mask must stay an input (what must not fuse at all is in tests/golden/fuse_attention/).
 * The op itself is checked in its 3-D
 * layout and on the inputs it must refuse. */
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
    g = xf_graph_new("attention.onnx");
    stats = (xf_fusion_stats){.nmissed = 0};
    g->opset = 18;
}
static void teardown(void) { xf_graph_free(g); g = NULL; }

/* ---- building ---- */

/* Deterministic values in [-1, 1). */
static void fill(float *x, int n, unsigned seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static int32_t f32_scalar(const char *name, float value) {
    return xf_const_add(g, name, XF_F32, 0, NULL, &value);
}

static int32_t op(int opcode, const char *name, int32_t nin, const int32_t *in) {
    return tu_out(g, tu_node(g, opcode, name, nin, in));
}

static int32_t op2(int opcode, const char *name, int32_t a, int32_t b) {
    return op(opcode, name, 2, (int32_t[]){a, b});
}

static int32_t transpose(const char *name, int32_t x, int rank, const int64_t *perm) {
    int32_t node = tu_node(g, XF_OP_TRANSPOSE, name, 1, (int32_t[]){x});
    xf_attr *a = xf_node_add_attr(g, node, "perm", XF_ATTR_INTS);
    a->n = rank;
    a->ints = xf_alloc(g->arena, sizeof(int64_t) * (size_t)rank);
    memcpy(a->ints, perm, sizeof(int64_t) * (size_t)rank);
    return tu_out(g, node);
}

static int32_t reshape(const char *name, int32_t x, int rank, const int64_t *shape) {
    return op2(XF_OP_RESHAPE, name, x, tu_i64(g, xf_sprintf(g->arena, "%s_shape", name), rank, shape));
}

/* Softmax over `axis`, then the NaN guard Where(IsNaN(p), 0, p) when `guard`. */
static int32_t softmax(int32_t x, int64_t axis, bool guard) {
    int32_t node = tu_node(g, XF_OP_SOFTMAX, "softmax", 1, (int32_t[]){x});
    xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = axis;
    int32_t p = tu_out(g, node);
    if (!guard) return p;
    int32_t nan = op(XF_OP_ISNAN, "isnan", 1, (int32_t[]){p});
    return op(XF_OP_WHERE, "guard", 3, (int32_t[]){nan, f32_scalar("zero", 0.0f), p});
}

static void infer_all(void) {
    for (int32_t i = 0; i < g->nnodes; i++) tu_infer_ok(g, i);
}

static bool fuse(void) {
    infer_all();
    xf_diag d = {0};
    bool changed = xf_pass_fuse_attention(g, &O2, &d);
    ck_assert_msg(!d.set, "%s", d.msg);
    return changed;
}

static const xf_node *producer(int32_t v) { return &g->nodes[g->values[v].producer]; }

/* Evaluates the live nodes in order (every graph input here is a constant); returns v's data. */
static const float *run(int32_t v) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, i, &d), "%s", d.msg);
    }
    ck_assert_ptr_nonnull(g->values[v].data);
    return g->values[v].data;
}

static void assert_missed(const char *words) {
    ck_assert_msg(stats.nmissed >= 1, "no near miss was recorded");
    const xf_missed *m = &stats.missed[stats.nmissed - 1];
    ck_assert_str_eq(m->pattern, "attention");
    ck_assert_msg(strstr(m->reason, words), "miss reason '%s' does not mention '%s'", m->reason, words);
}

/* ---- the independent computation ---- */

/* Attention in double precision, the textbook way: Q [B,H,S,D], K and V [B,Hkv,L,D] (dense),
 * query head h reading head h / (H/Hkv); mask (float, added) or bmask (true = attend) is [S,L];
 * a row with every key masked gives 0. */
static void reference(float *y, const float *q, const float *k, const float *v, const float *mask,
                      const uint8_t *bmask, int B, int H, int Hkv, int S, int L, int D, double scale, bool causal) {
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++) {
                int kvh = h / (H / Hkv);
                double s[64], max = -INFINITY, sum = 0;
                for (int j = 0; j < L; j++) {
                    double dot = 0;
                    for (int e = 0; e < D; e++)
                        dot += (double)q[((b * H + h) * S + i) * D + e] * k[((b * Hkv + kvh) * L + j) * D + e];
                    s[j] = scale * dot + (mask ? mask[i * L + j] : 0.0);
                    if ((bmask && !bmask[i * L + j]) || (causal && j > i)) s[j] = -INFINITY;
                    if (s[j] > max) max = s[j];
                }
                for (int j = 0; j < L; j++) sum += s[j] == -INFINITY ? 0 : exp(s[j] - max);
                for (int e = 0; e < D; e++) {
                    double acc = 0;
                    for (int j = 0; j < L; j++)
                        if (s[j] != -INFINITY) acc += exp(s[j] - max) / sum * v[((b * Hkv + kvh) * L + j) * D + e];
                    y[((b * H + h) * S + i) * D + e] = (float)acc;
                }
            }
}

static void check_close(const float *got, const float *want, int n) {
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5f, "element %d: got %g, want %g", i, (double)got[i],
                      (double)want[i]);
}

/* ---- llama's dynamo export ---- */

enum { B = 1, H = 4, HKV = 2, S = 5, D = 8 };
static float Q[B * H * S * D], K[B * HKV * S * D], V[B * HKV * S * D];

/* An [S, S] mask: 0 where j <= i, `above` elsewhere (a causal one when above is very negative). */
static int32_t causal_const(const char *name, float above, bool four_d) {
    float m[S * S];
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) m[i * S + j] = j <= i ? 0.0f : above;
    return four_d ? tu_f32_const(g, name, 4, SHAPE(1, 1, S, S), m) : tu_f32_const(g, name, 2, SHAPE(S, S), m);
}

/* Repeats heads the way Hugging Face's repeat_kv does: [B,HKV,S,D] -> [B,H,S,D]. */
static int32_t repeat_kv(const char *name, int32_t x) {
    int32_t u = op2(XF_OP_UNSQUEEZE, xf_sprintf(g->arena, "%s_unsqueeze", name), x,
                    tu_i64(g, xf_sprintf(g->arena, "%s_axes", name), 1, SHAPE(2)));
    int32_t e = op2(XF_OP_EXPAND, xf_sprintf(g->arena, "%s_expand", name), u,
                    tu_i64(g, xf_sprintf(g->arena, "%s_to", name), 5, SHAPE(B, HKV, H / HKV, S, D)));
    return reshape(xf_sprintf(g->arena, "%s_heads", name), e, 4, SHAPE(B, H, S, D));
}

/* softmax(q*s1 @ (k*s2)^T + mask) v with GQA expansion and the NaN guard; returns the root node. */
static int32_t llama_attention(int32_t mask) {
    fill(Q, B * H * S * D, 1);
    fill(K, B * HKV * S * D, 2);
    fill(V, B * HKV * S * D, 3);
    int32_t q = tu_f32_const(g, "q", 4, SHAPE(B, H, S, D), Q);
    int32_t k = tu_f32_const(g, "k", 4, SHAPE(B, HKV, S, D), K);
    int32_t v = tu_f32_const(g, "v", 4, SHAPE(B, HKV, S, D), V);
    int32_t kr = repeat_kv("k", k), vr = repeat_kv("v", v);
    int32_t k3 = reshape("k3", kr, 3, SHAPE(B * H, S, D));
    int32_t kt3 = transpose("kt3", k3, 3, SHAPE(0, 2, 1));
    int32_t kt = reshape("kt", kt3, 4, SHAPE(B, H, D, S));
    int32_t qs = op2(XF_OP_MUL, "q_scaled", q, f32_scalar("s1", 0.5f));
    int32_t ks = op2(XF_OP_MUL, "kt_scaled", kt, f32_scalar("s2", 0.75f));
    int32_t scores = op2(XF_OP_MATMUL, "qk", qs, ks);
    int32_t masked = mask >= 0 ? op2(XF_OP_ADD, "masked", scores, mask) : scores;
    int32_t root = tu_node(g, XF_OP_MATMUL, "pv", 2, (int32_t[]){softmax(masked, -1, true), vr});
    tu_mark_output(g, tu_out(g, root));
    return root;
}

START_TEST(llama_form_fuses) {
    int32_t root = llama_attention(causal_const("causal", -INFINITY, true));
    ck_assert(fuse());
    const xf_node *n = &g->nodes[root];
    ck_assert_int_eq(n->op, XF_OP_ATTENTION);
    ck_assert_int_eq(tu_live_nodes(g), 1); /* the expansions, transposes and scales are gone */
    ck_assert_int_eq(n->nin, 3);           /* the causal mask became an attribute */
    ck_assert_str_eq(g->values[n->in[0]].name, "q");
    ck_assert_str_eq(g->values[n->in[1]].name, "k"); /* read un-expanded */
    ck_assert_str_eq(g->values[n->in[2]].name, "v");
    ck_assert_int_eq(xf_attr_int(n, "is_causal", 0), 1);
    ck_assert_int_eq(xf_attr_int(n, "kv_num_heads", 0), HKV);
    ck_assert_int_eq(xf_attr_int(n, "q_num_heads", 0), H);
    ck_assert_float_eq(xf_attr_float(n, "scale", 0), 0.375f);
    ck_assert_int_eq(stats.fused[XF_FUSION_attention], 1);
    tu_infer_ok(g, root); /* the fused node is a valid Attention */
    CHECK_SHAPE(g, n->out[0], XF_F32, B, H, S, D);
    float want[B * H * S * D];
    reference(want, Q, K, V, NULL, NULL, B, H, HKV, S, S, D, 0.375, true);
    check_close(run(n->out[0]), want, B * H * S * D);
}
END_TEST

START_TEST(very_negative_causal_mask_is_causal) {
    int32_t root = llama_attention(causal_const("causal", -3.4e38f, false)); /* [S,S], finfo.min */
    ck_assert(fuse());
    ck_assert_int_eq(g->nodes[root].nin, 3);
    ck_assert_int_eq(xf_attr_int(&g->nodes[root], "is_causal", 0), 1);
}
END_TEST

/* A constant mask that is not causal stays an input, and is applied: one row has every key masked
 * (the guard makes it 0), another row is masked off the diagonal instead of above it. */
START_TEST(non_causal_mask_is_kept) {
    float m[S * S];
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) m[i * S + j] = i == 3 ? -INFINITY : j == i ? 0.0f : j < i ? 0.5f : -INFINITY;
    m[1 * S + 0] = -INFINITY; /* not the causal pattern */
    int32_t mask = tu_f32_const(g, "mask", 4, SHAPE(1, 1, S, S), m);
    int32_t root = llama_attention(mask);
    ck_assert(fuse());
    const xf_node *n = &g->nodes[root];
    ck_assert_int_eq(n->op, XF_OP_ATTENTION);
    ck_assert_int_eq(n->nin, 4);
    ck_assert_int_eq(n->in[3], mask);
    ck_assert_int_eq(xf_attr_int(n, "is_causal", 0), 0);
    float want[B * H * S * D];
    reference(want, Q, K, V, m, NULL, B, H, HKV, S, S, D, 0.375, false);
    const float *got = run(n->out[0]);
    check_close(got, want, B * H * S * D);
    for (int e = 0; e < D; e++) ck_assert_float_eq(got[3 * D + e], 0.0f); /* the fully masked row */
}
END_TEST

START_TEST(zero_mask_is_dropped) {
    float zeros[S * S] = {0};
    int32_t root = llama_attention(tu_f32_const(g, "zeros", 2, SHAPE(S, S), zeros));
    ck_assert(fuse());
    ck_assert_int_eq(g->nodes[root].nin, 3);
    ck_assert_int_eq(xf_attr_int(&g->nodes[root], "is_causal", 0), 0);
}
END_TEST

/* ---- other forms ---- */

/* BERT/ViT as TorchScript exports them: q, k, v are [B,S,H,D] views transposed to heads, k^T by
 * perm [0,2,3,1]; a bool mask through Where(mask, scores / sqrt(D), -inf); no guard. */
START_TEST(torchscript_transpose_and_bool_mask) {
    enum { L = 6 };
    float q[S * H * D], k[L * H * D], v[L * H * D];
    fill(q, S * H * D, 4);
    fill(k, L * H * D, 5);
    fill(v, L * H * D, 6);
    int32_t qh = transpose("qh", tu_f32_const(g, "q", 4, SHAPE(1, S, H, D), q), 4, SHAPE(0, 2, 1, 3));
    int32_t vh = transpose("vh", tu_f32_const(g, "v", 4, SHAPE(1, L, H, D), v), 4, SHAPE(0, 2, 1, 3));
    int32_t kt = transpose("kt", tu_f32_const(g, "k", 4, SHAPE(1, L, H, D), k), 4, SHAPE(0, 2, 3, 1));
    uint8_t bm[S * L];
    for (int i = 0; i < S * L; i++) bm[i] = (uint8_t)((i * 7) % 3 != 0);
    for (int j = 0; j < L; j++) bm[2 * L + j] = 0; /* row 2 sees no key */
    int32_t bmask = xf_const_add(g, "bmask", XF_BOOL, 2, SHAPE(S, L), bm);
    int32_t scores = op2(XF_OP_DIV, "scaled", op2(XF_OP_MATMUL, "qk", qh, kt), f32_scalar("sqrt_d", sqrtf((float)D)));
    int32_t masked = op(XF_OP_WHERE, "masked", 3, (int32_t[]){bmask, scores, f32_scalar("ninf", -INFINITY)});
    int32_t root = tu_node(g, XF_OP_MATMUL, "pv", 2, (int32_t[]){softmax(masked, 3, false), vh});
    tu_mark_output(g, tu_out(g, root));
    ck_assert(fuse());
    const xf_node *n = &g->nodes[root];
    ck_assert_int_eq(n->op, XF_OP_ATTENTION);
    ck_assert_int_eq(n->in[3], bmask);
    const xf_node *t = producer(n->in[1]); /* k^T's Transpose now gives K */
    ck_assert_int_eq(t->op, XF_OP_TRANSPOSE);
    const xf_attr *perm = xf_attr_get(t, "perm");
    ck_assert(perm->n == 4 && perm->ints[0] == 0 && perm->ints[1] == 2 && perm->ints[2] == 1 && perm->ints[3] == 3);
    CHECK_SHAPE(g, n->in[1], XF_F32, 1, H, L, D);
    tu_infer_ok(g, root);
    /* the reference wants dense [B,H,*,D] operands */
    float qd[H * S * D], kd[H * L * D], vd[H * L * D], want[H * S * D];
    for (int h = 0; h < H; h++)
        for (int e = 0; e < D; e++) {
            for (int i = 0; i < S; i++) qd[(h * S + i) * D + e] = q[(i * H + h) * D + e];
            for (int j = 0; j < L; j++) {
                kd[(h * L + j) * D + e] = k[(j * H + h) * D + e];
                vd[(h * L + j) * D + e] = v[(j * H + h) * D + e];
            }
        }
    reference(want, qd, kd, vd, NULL, bm, 1, H, H, S, L, D, 1.0 / sqrt((double)D), false);
    check_close(run(n->out[0]), want, H * S * D);
}
END_TEST

/* Where(causal, scores, finfo.min) with a constant bool causal mask: is_causal; the same Where
 * with a mask that is not causal must keep -inf semantics, which a finite fill does not have. */
START_TEST(bool_causal_where_is_causal) {
    uint8_t causal[S * S], other[S * S];
    for (int i = 0; i < S * S; i++) {
        causal[i] = i % S <= i / S;
        other[i] = i % S != 1;
    }
    for (int pass = 0; pass < 2; pass++) {
        teardown();
        setup();
        int32_t q = tu_input(g, "q", XF_F32, 4, SHAPE(B, H, S, D)), k = tu_input(g, "k", XF_F32, 4, SHAPE(B, H, S, D));
        int32_t v = tu_input(g, "v", XF_F32, 4, SHAPE(B, H, S, D));
        int32_t scores = op2(XF_OP_MATMUL, "qk", q, transpose("kt", k, 4, SHAPE(0, 1, 3, 2)));
        int32_t m = xf_const_add(g, "m", XF_BOOL, 2, SHAPE(S, S), pass ? other : causal);
        int32_t masked = op(XF_OP_WHERE, "masked", 3, (int32_t[]){m, scores, f32_scalar("min", -3.4e38f)});
        int32_t root = tu_node(g, XF_OP_MATMUL, "pv", 2, (int32_t[]){softmax(masked, -1, true), v});
        tu_mark_output(g, tu_out(g, root));
        if (pass == 0) {
            ck_assert(fuse());
            ck_assert_int_eq(g->nodes[root].nin, 3);
            ck_assert_int_eq(xf_attr_int(&g->nodes[root], "is_causal", 0), 1);
            ck_assert_float_eq(xf_attr_float(&g->nodes[root], "scale", 0), 1.0f); /* no scale: 1, not 1/sqrt(D) */
        } else {
            ck_assert(!fuse());
            assert_missed("finite");
        }
    }
}
END_TEST

/* What must not fuse: the near misses of tests/golden/fuse_attention/. */

/* ---- the op ---- */

/* 3-D layout: Q [B, S, Hq*D], K and V [B, L, Hkv*D] with the head counts as attributes, and a
 * short float mask [S, Lm], Lm < L, whose missing keys count as masked. */
START_TEST(op_three_d_layout) {
    enum { L = 7, LM = 5, HQ = 4, HK = 2, DH = 3 };
    float q[S * HQ * DH], k[L * HK * DH], v[L * HK * DH], m[S * LM];
    fill(q, S * HQ * DH, 7);
    fill(k, L * HK * DH, 8);
    fill(v, L * HK * DH, 9);
    fill(m, S * LM, 10);
    int32_t node = tu_node(g, XF_OP_ATTENTION, "attn", 4,
                           (int32_t[]){tu_f32_const(g, "q", 3, SHAPE(1, S, HQ * DH), q), tu_f32_const(g, "k", 3, SHAPE(1, L, HK * DH), k),
                                       tu_f32_const(g, "v", 3, SHAPE(1, L, HK * DH), v), tu_f32_const(g, "m", 2, SHAPE(S, LM), m)});
    xf_node_add_attr(g, node, "q_num_heads", XF_ATTR_INT)->i = HQ;
    xf_node_add_attr(g, node, "kv_num_heads", XF_ATTR_INT)->i = HK;
    xf_node_add_attr(g, node, "scale", XF_ATTR_FLOAT)->f = 0.5f;
    xf_node_add_attr(g, node, "xfc.kv_heads_grouped", XF_ATTR_INT)->i = 1; /* as fusion makes it */
    tu_infer_ok(g, node);
    CHECK_SHAPE(g, tu_out(g, node), XF_F32, 1, S, HQ * DH);
    float qd[HQ * S * DH], kd[HK * L * DH], vd[HK * L * DH], md[S * L], want[HQ * S * DH];
    for (int e = 0; e < DH; e++) {
        for (int h = 0; h < HQ; h++)
            for (int i = 0; i < S; i++) qd[(h * S + i) * DH + e] = q[(i * HQ + h) * DH + e];
        for (int h = 0; h < HK; h++)
            for (int j = 0; j < L; j++) {
                kd[(h * L + j) * DH + e] = k[(j * HK + h) * DH + e];
                vd[(h * L + j) * DH + e] = v[(j * HK + h) * DH + e];
            }
    }
    for (int i = 0; i < S; i++)
        for (int j = 0; j < L; j++) md[i * L + j] = j < LM ? m[i * LM + j] : -INFINITY;
    reference(want, qd, kd, vd, md, NULL, 1, HQ, HK, S, L, DH, 0.5, false);
    const float *y = run(tu_out(g, node));
    for (int h = 0; h < HQ; h++)
        for (int i = 0; i < S; i++)
            for (int e = 0; e < DH; e++)
                ck_assert_msg(fabsf(y[(i * HQ + h) * DH + e] - want[(h * S + i) * DH + e]) <= 1e-5f, "head %d row %d", h, i);
}
END_TEST

START_TEST(op_refuses_what_it_cannot_do) {
    xf_diag d;
    int32_t q = tu_input(g, "q", XF_F32, 4, SHAPE(1, 3, S, D)), k = tu_input(g, "k", XF_F32, 4, SHAPE(1, 2, S, D));
    int32_t v = tu_input(g, "v", XF_F32, 4, SHAPE(1, 2, S, D)), k4 = tu_input(g, "k4", XF_F32, 4, SHAPE(1, 1, S, D));
    int32_t heads = tu_node(g, XF_OP_ATTENTION, "heads", 3, (int32_t[]){q, k, v});
    ck_assert(strstr(tu_infer_fails(g, heads, &d), "3 query heads cannot share 2"));
    int32_t past = tu_node(g, XF_OP_ATTENTION, "past", 5, (int32_t[]){q, k4, k4, -1, k4});
    ck_assert(strstr(tu_infer_fails(g, past, &d), "past_key"));
    int32_t m = tu_input(g, "m", XF_F32, 2, SHAPE(2, S));
    int32_t mask = tu_node(g, XF_OP_ATTENTION, "mask", 4, (int32_t[]){q, k4, k4, m});
    ck_assert(strstr(tu_infer_fails(g, mask, &d), "does not broadcast"));
    int32_t q3 = tu_input(g, "q3", XF_F32, 3, SHAPE(1, S, 12));
    int32_t three = tu_node(g, XF_OP_ATTENTION, "three", 3, (int32_t[]){q3, q3, q3});
    ck_assert(strstr(tu_infer_fails(g, three, &d), "q_num_heads"));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("fuse_attention");
    TCase *t = tcase_create("fuse");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, llama_form_fuses);
    tcase_add_test(t, very_negative_causal_mask_is_causal);
    tcase_add_test(t, non_causal_mask_is_kept);
    tcase_add_test(t, zero_mask_is_dropped);
    tcase_add_test(t, torchscript_transpose_and_bool_mask);
    tcase_add_test(t, bool_causal_where_is_causal);
    suite_add_tcase(s, t);
    TCase *o = tcase_create("op");
    tcase_add_checked_fixture(o, setup, teardown);
    tcase_add_test(o, op_three_d_layout);
    tcase_add_test(o, op_refuses_what_it_cannot_do);
    suite_add_tcase(s, o);
    return s;
}

int main(void) { return tu_run(suite()); }
