/* test_fuse_rope.c — unit tests of fuse_rope and of the RotaryEmbedding op it makes.
 *
 * The rotation is written out as the exporters write it — rotate-half with Slices or a Split,
 * operands in either order; the interleaved pairs form — with cos and sin constants, and must
 * become one RotaryEmbedding whose result, run through the constant evaluator (the kernel the
 * generated code carries), is the rotation computed by hand here. Caches made from the same tables
 * are shared (tables whose halves differ and a sin that is not a constant are the near misses of
 * tests/golden/fuse_rope/). The op is also checked with position ids (and one out of range), and in its 3-D layout with
 * partial rotation. */
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
    g = xf_graph_new("rope.onnx");
    stats = (xf_fusion_stats){.nmissed = 0};
    g->opset = 18;
}
static void teardown(void) { xf_graph_free(g); g = NULL; }

enum { H = 2, S = 3, D = 8, HALF = D / 2, N = H * S * D };
static float X[N], Z[N], COS[S * D], SIN[S * D];

/* x and z; cos and sin of angle (s + 1) * (t + 1) / 4 for position s and pair t, repeated over the
 * two halves of each row or, interleaved, over each pair. */
static void tables(bool interleaved) {
    for (int i = 0; i < N; i++) {
        X[i] = 0.1f * (float)(i % 17) - 0.8f;
        Z[i] = 0.05f * (float)(i % 13) + 0.3f;
    }
    for (int s = 0; s < S; s++)
        for (int t = 0; t < HALF; t++) {
            float a = (float)((s + 1) * (t + 1)) / 4.0f;
            int e0 = interleaved ? 2 * t : t, e1 = interleaved ? 2 * t + 1 : t + HALF;
            COS[s * D + e0] = COS[s * D + e1] = cosf(a);
            SIN[s * D + e0] = SIN[s * D + e1] = sinf(a);
        }
}

/* Position ids [1, n]. */
static int32_t positions(const char *name, int32_t n, const int64_t *ids) {
    return xf_const_add(g, name, XF_I64, 2, SHAPE(1, n), ids);
}

static int32_t op2(int opcode, const char *name, int32_t a, int32_t b) {
    return tu_out(g, tu_node(g, opcode, name, 2, (int32_t[]){a, b}));
}

static int32_t neg(const char *name, int32_t a) {
    return tu_out(g, tu_node(g, XF_OP_NEG, name, 1, (int32_t[]){a}));
}

static int32_t concat(const char *name, int32_t a, int32_t b) {
    int32_t node = tu_node(g, XF_OP_CONCAT, name, 2, (int32_t[]){a, b});
    xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = -1;
    return tu_out(g, node);
}

/* Slice of the last axis: start, start + step, ... up to end. */
static int32_t slice(const char *name, int32_t x, int64_t start, int64_t end, int64_t step) {
    int32_t in[5] = {x, tu_i64(g, xf_sprintf(g->arena, "%s_starts", name), 1, SHAPE(start)),
                     tu_i64(g, xf_sprintf(g->arena, "%s_ends", name), 1, SHAPE(end)),
                     tu_i64(g, xf_sprintf(g->arena, "%s_axes", name), 1, SHAPE(-1)),
                     tu_i64(g, xf_sprintf(g->arena, "%s_steps", name), 1, SHAPE(step))};
    return tu_out(g, tu_node(g, XF_OP_SLICE, name, 5, in));
}

static bool fuse(void) {
    for (int32_t i = 0; i < g->nnodes; i++) tu_infer_ok(g, i);
    xf_diag d = {0};
    bool changed = xf_pass_fuse_rope(g, &O2, &d);
    ck_assert_msg(!d.set, "%s", d.msg);
    return changed;
}

/* Evaluates the live nodes in order (all inputs here are constants); returns v's data. */
static const float *run(int32_t v) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, i, &d), "%s", d.msg);
    }
    ck_assert_ptr_nonnull(g->values[v].data);
    return g->values[v].data;
}

/* The rotation of x [1, H, S, D] by the tables, by hand. */
static void expected(float *y, const float *x, bool interleaved) {
    for (int h = 0; h < H; h++)
        for (int s = 0; s < S; s++)
            for (int t = 0; t < HALF; t++) {
                const float *r = x + (h * S + s) * D;
                int e0 = interleaved ? 2 * t : t, e1 = interleaved ? 2 * t + 1 : t + HALF;
                float c = COS[s * D + e0], sn = SIN[s * D + e0];
                y[(h * S + s) * D + e0] = r[e0] * c - r[e1] * sn;
                y[(h * S + s) * D + e1] = r[e1] * c + r[e0] * sn;
            }
}

static void check_rotation(int32_t v, const float *x, bool interleaved) {
    float want[N];
    expected(want, x, interleaved);
    const float *got = run(v);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-6f, "element %d: got %g, want %g", i, (double)got[i], (double)want[i]);
}

/* x * cos + Concat(-x2, x1) * sin, the Add's and the second Mul's operands swapped when `swapped`. */
static int32_t rotate_half(const char *name, int32_t x, int32_t cos, int32_t sin, bool swapped) {
    int32_t x1 = slice(xf_sprintf(g->arena, "%s_x1", name), x, 0, HALF, 1);
    int32_t x2 = slice(xf_sprintf(g->arena, "%s_x2", name), x, HALF, INT64_MAX, 1);
    int32_t rot = concat(xf_sprintf(g->arena, "%s_rot", name), neg(xf_sprintf(g->arena, "%s_neg", name), x2), x1);
    int32_t a = op2(XF_OP_MUL, xf_sprintf(g->arena, "%s_cos", name), x, cos);
    int32_t b = swapped ? op2(XF_OP_MUL, xf_sprintf(g->arena, "%s_sin", name), sin, rot)
                        : op2(XF_OP_MUL, xf_sprintf(g->arena, "%s_sin", name), rot, sin);
    int32_t y = swapped ? op2(XF_OP_ADD, name, b, a) : op2(XF_OP_ADD, name, a, b);
    tu_mark_output(g, y);
    return g->values[y].producer;
}

START_TEST(rotate_half_fuses) {
    tables(false);
    int32_t cos = tu_f32_const(g, "cos", 4, SHAPE(1, 1, S, D), COS), sin = tu_f32_const(g, "sin", 4, SHAPE(1, 1, S, D), SIN);
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, H, S, D), X), z = tu_f32_const(g, "z", 4, SHAPE(1, H, S, D), Z);
    int32_t rq = rotate_half("q", x, cos, sin, false), rk = rotate_half("k", z, cos, sin, true);
    ck_assert(fuse());
    ck_assert_int_eq(stats.fused[XF_FUSION_rope], 2);
    ck_assert_int_eq(tu_live_nodes(g), 2);
    const xf_node *n = &g->nodes[rq];
    ck_assert_int_eq(n->op, XF_OP_ROTARY_EMBEDDING);
    ck_assert_int_eq(n->nin, 3);
    ck_assert_int_eq(n->in[0], x);
    ck_assert_int_eq(xf_attr_int(n, "interleaved", 0), 0);
    CHECK_SHAPE(g, n->in[1], XF_F32, 1, S, HALF);
    ck_assert_int_eq(g->nodes[rk].in[1], n->in[1]); /* one cache serves both */
    ck_assert_int_eq(g->nodes[rk].in[2], n->in[2]);
    for (int s = 0; s < S; s++)
        for (int t = 0; t < HALF; t++)
            ck_assert_float_eq(((const float *)g->values[n->in[2]].data)[s * HALF + t], SIN[s * D + t]);
    tu_infer_ok(g, rq);
    check_rotation(n->out[0], X, false);
    check_rotation(g->nodes[rk].out[0], Z, false);
}
END_TEST

START_TEST(split_form_fuses) {
    tables(false);
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, H, S, D), X);
    int32_t halves[2] = {tu_fresh(g, "x1"), tu_fresh(g, "x2")};
    int32_t split = xf_node_add(g, XF_OP_SPLIT, "split", 1, (int32_t[]){x}, 2, halves);
    xf_node_add_attr(g, split, "axis", XF_ATTR_INT)->i = 3;
    xf_node_add_attr(g, split, "num_outputs", XF_ATTR_INT)->i = 2;
    int32_t rot = concat("rot", neg("neg", halves[1]), halves[0]);
    int32_t y = op2(XF_OP_ADD, "y", op2(XF_OP_MUL, "xc", tu_f32_const(g, "cos", 3, SHAPE(1, S, D), COS), x),
                    op2(XF_OP_MUL, "rs", rot, tu_f32_const(g, "sin", 2, SHAPE(S, D), SIN)));
    tu_mark_output(g, y);
    ck_assert(fuse());
    ck_assert_int_eq(tu_live_nodes(g), 1);
    ck_assert_int_eq(g->nodes[g->values[y].producer].op, XF_OP_ROTARY_EMBEDDING);
    check_rotation(y, X, false);
}
END_TEST

START_TEST(interleaved_fuses) {
    tables(true);
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, H, S, D), X);
    int32_t even = slice("even", x, 0, D, 2), odd = slice("odd", x, 1, D, 2);
    int32_t axes = tu_i64(g, "last", 1, SHAPE(-1));
    int32_t up_odd = op2(XF_OP_UNSQUEEZE, "up_odd", neg("neg", odd), axes);
    int32_t up_even = op2(XF_OP_UNSQUEEZE, "up_even", even, axes);
    int32_t pairs = concat("pairs", up_odd, up_even); /* [1, H, S, D/2, 2] */
    int32_t rot = op2(XF_OP_RESHAPE, "rot", pairs, tu_i64(g, "shape", 4, SHAPE(1, H, S, D)));
    int32_t y = op2(XF_OP_ADD, "y", op2(XF_OP_MUL, "xc", x, tu_f32_const(g, "cos", 4, SHAPE(1, 1, S, D), COS)),
                    op2(XF_OP_MUL, "rs", rot, tu_f32_const(g, "sin", 4, SHAPE(1, 1, S, D), SIN)));
    tu_mark_output(g, y);
    ck_assert(fuse());
    const xf_node *n = &g->nodes[g->values[y].producer];
    ck_assert_int_eq(n->op, XF_OP_ROTARY_EMBEDDING);
    ck_assert_int_eq(xf_attr_int(n, "interleaved", 0), 1);
    ck_assert_int_eq(tu_live_nodes(g), 1);
    check_rotation(y, X, true);
}
END_TEST

/* ---- the op ---- */

/* Position ids pick rows of [positions, D/2] tables; a position past the table is an error. */
START_TEST(op_with_position_ids) {
    tables(false);
    float cos[10 * HALF], sin[10 * HALF];
    for (int i = 0; i < 10 * HALF; i++) {
        cos[i] = cosf(0.3f * (float)i);
        sin[i] = sinf(0.3f * (float)i);
    }
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, H, S, D), X);
    int32_t cs = tu_f32_const(g, "cos", 2, SHAPE(10, HALF), cos), sn = tu_f32_const(g, "sin", 2, SHAPE(10, HALF), sin);
    const int64_t pos[S] = {7, 2, 9};
    int32_t node = tu_node(g, XF_OP_ROTARY_EMBEDDING, "rope", 4, (int32_t[]){x, cs, sn, positions("pos", S, pos)});
    tu_infer_ok(g, node);
    for (int s = 0; s < S; s++)
        for (int t = 0; t < HALF; t++) { /* the rows the positions pick, laid out as expected() reads them */
            COS[s * D + t] = COS[s * D + t + HALF] = cos[pos[s] * HALF + t];
            SIN[s * D + t] = SIN[s * D + t + HALF] = sin[pos[s] * HALF + t];
        }
    check_rotation(tu_out(g, node), X, false);

    int32_t bad = tu_node(g, XF_OP_ROTARY_EMBEDDING, "bad", 4, (int32_t[]){x, cs, sn, positions("two", 2, SHAPE(0, 1))});
    xf_diag d = {0};
    ck_assert(!xf_infer_node(g, bad, &d)); /* S = 3 positions, not 2 */
    ck_assert(strstr(d.msg, "position_ids"));
}
END_TEST

START_TEST(op_position_out_of_range) {
    float cos[4 * HALF] = {0}, sin[4 * HALF] = {0};
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, 1, 2, D), X);
    int32_t node = tu_node(g, XF_OP_ROTARY_EMBEDDING, "rope", 4,
                           (int32_t[]){x, tu_f32_const(g, "cos", 2, SHAPE(4, HALF), cos), tu_f32_const(g, "sin", 2, SHAPE(4, HALF), sin),
                                       positions("pos", 2, SHAPE(1, 4))});
    tu_infer_ok(g, node);
    xf_diag d = {0};
    ck_assert(!xf_eval_node(g, node, &d));
    ck_assert_msg(strstr(d.msg, "position id 4 is out of range"), "%s", d.msg);
}
END_TEST

/* [B, S, H*D] with num_heads; only the first 4 of each head's 8 elements rotate. */
START_TEST(op_three_d_partial) {
    enum { RD = 4 };
    float x[S * H * D], cos[S * RD / 2], sin[S * RD / 2];
    for (int i = 0; i < S * H * D; i++) x[i] = 0.1f * (float)i;
    for (int i = 0; i < S * RD / 2; i++) {
        cos[i] = cosf((float)i);
        sin[i] = sinf((float)i);
    }
    int32_t node = tu_node(g, XF_OP_ROTARY_EMBEDDING, "rope", 3,
                           (int32_t[]){tu_f32_const(g, "x", 3, SHAPE(1, S, H * D), x), tu_f32_const(g, "cos", 3, SHAPE(1, S, RD / 2), cos),
                                       tu_f32_const(g, "sin", 3, SHAPE(1, S, RD / 2), sin)});
    xf_node_add_attr(g, node, "num_heads", XF_ATTR_INT)->i = H;
    xf_node_add_attr(g, node, "rotary_embedding_dim", XF_ATTR_INT)->i = RD;
    tu_infer_ok(g, node);
    CHECK_SHAPE(g, tu_out(g, node), XF_F32, 1, S, H * D);
    const float *y = run(tu_out(g, node));
    for (int s = 0; s < S; s++)
        for (int h = 0; h < H; h++) {
            const float *r = x + (s * H + h) * D, *o = y + (s * H + h) * D;
            for (int t = 0; t < RD / 2; t++) {
                float c = cos[s * RD / 2 + t], sn = sin[s * RD / 2 + t];
                ck_assert_float_eq_tol(o[t], r[t] * c - r[t + RD / 2] * sn, 1e-6f);
                ck_assert_float_eq_tol(o[t + RD / 2], r[t + RD / 2] * c + r[t] * sn, 1e-6f);
            }
            for (int e = RD; e < D; e++) ck_assert_float_eq(o[e], r[e]);
        }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("fuse_rope");
    TCase *t = tcase_create("fuse");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, rotate_half_fuses);
    tcase_add_test(t, split_form_fuses);
    tcase_add_test(t, interleaved_fuses);
    suite_add_tcase(s, t);
    TCase *o = tcase_create("op");
    tcase_add_checked_fixture(o, setup, teardown);
    tcase_add_test(o, op_with_position_ids);
    tcase_add_test(o, op_position_out_of_range);
    tcase_add_test(o, op_three_d_partial);
    suite_add_tcase(s, o);
    return s;
}

int main(void) { return tu_run(suite()); }
