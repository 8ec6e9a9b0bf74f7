/* test_rnn.c — unit tests of the recurrent layers RNN, GRU and LSTM (ir/ops_rnn.c, runtime/rnn.c).
 *
 * Output shapes in both layouts, and the state outputs the lowering adds when a model leaves them
 * out; values, run through the constant evaluator (which executes the kernel the generated code
 * carries), against the ONNX formulas written out here for one hidden unit: an RNN with a named
 * activation, a GRU with and without linear_before_reset, a reversed LSTM with peepholes and
 * sequence lengths (a finished row gives zeros); a bidirectional layer, batch-first or not, equal
 * to its two directions run alone; and the inputs and attributes each op must refuse. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) {
    g = xf_graph_new("rnn.onnx");
    g->opset = 22;
}
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

/* Deterministic values in [-1, 1). */
static void fill(float *x, int n, unsigned seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* A node of op with inputs in[0..nin) and nout outputs, those with want[k] false left out. */
static int32_t rnn_node(int op, const char *name, int32_t nin, const int32_t *in, int32_t nout, const bool *want) {
    int32_t out[3];
    for (int k = 0; k < nout; k++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s_out%d", name, k);
        out[k] = want && !want[k] ? -1 : tu_fresh(g, buf);
    }
    return xf_node_add(g, op, name, nin, in, nout, out);
}

static void set_strs(int32_t node, const char *name, int n, const char **values) {
    xf_attr *a = xf_node_add_attr(g, node, name, XF_ATTR_STRINGS);
    a->n = n;
    a->strings = values;
}

static const float *eval(int32_t node, int k) {
    xf_diag d = {0};
    tu_infer_ok(g, node);
    ck_assert_msg(xf_eval_node(g, node, &d), "%s", d.msg);
    return g->values[g->nodes[node].out[k]].data;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

#define CHECK_NEAR(got, want) \
    ck_assert_msg(fabs((double)(got) - (want)) <= 1e-5, "got %.8g, want %.8g", (double)(got), (double)(want))

/* ---- shapes ---- */

START_TEST(shapes_in_both_layouts) {
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(5, 2, 3)), w = tu_input(g, "w", XF_F32, 3, SHAPE(2, 16, 3));
    int32_t r = tu_input(g, "r", XF_F32, 3, SHAPE(2, 16, 4));
    int32_t n = rnn_node(XF_OP_LSTM, "bi", 3, (int32_t[]){x, w, r}, 3, NULL);
    tu_set_str(g, n, "direction", "bidirectional");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, g->nodes[n].out[0], XF_F32, 5, 2, 2, 4); /* [T, D, N, H], H from R */
    CHECK_SHAPE(g, g->nodes[n].out[1], XF_F32, 2, 2, 4);
    CHECK_SHAPE(g, g->nodes[n].out[2], XF_F32, 2, 2, 4);

    int32_t xb = tu_input(g, "xb", XF_F32, 3, SHAPE(2, 5, 3)); /* batch first: N = 2, T = 5 */
    int32_t wg = tu_input(g, "wg", XF_F32, 3, SHAPE(1, 12, 3)), rg = tu_input(g, "rg", XF_F32, 3, SHAPE(1, 12, 4));
    n = rnn_node(XF_OP_GRU, "batchwise", 3, (int32_t[]){xb, wg, rg}, 2, NULL);
    tu_set_int(g, n, "layout", 1);
    tu_set_int(g, n, "hidden_size", 4);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, g->nodes[n].out[0], XF_F32, 2, 5, 1, 4); /* [N, T, D, H] */
    CHECK_SHAPE(g, g->nodes[n].out[1], XF_F32, 2, 1, 4);    /* [N, D, H] */
}
END_TEST

/* Y and Y_c left out (as the ONNX tests do) come back as outputs of the node, for the state. */
START_TEST(state_outputs_are_added) {
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(3, 1, 2)), w = tu_input(g, "w", XF_F32, 3, SHAPE(1, 8, 2));
    int32_t r = tu_input(g, "r", XF_F32, 3, SHAPE(1, 8, 2));
    int32_t n = rnn_node(XF_OP_LSTM, "lstm", 3, (int32_t[]){x, w, r}, 2, (const bool[]){false, true});
    int32_t y_h = g->nodes[n].out[1];
    tu_infer_ok(g, n);
    ck_assert_int_eq(g->nodes[n].nout, 3);
    ck_assert_int_eq(g->nodes[n].out[1], y_h);
    CHECK_SHAPE(g, g->nodes[n].out[0], XF_F32, 3, 1, 1, 2);
    CHECK_SHAPE(g, g->nodes[n].out[2], XF_F32, 1, 1, 2);
    ck_assert_int_eq(g->values[g->nodes[n].out[2]].producer, n);
    /* inferring again adds nothing */
    int32_t values = g->nvalues;
    tu_infer_ok(g, n);
    ck_assert_int_eq(g->nvalues, values);
    ck_assert_int_eq(g->nodes[n].nout, 3);
}
END_TEST

/* ---- values ---- */

/* H = 2, Relu: step 0 pre = W x + Wb + Rb = [1.4, -0.4]; step 1 adds R h = [0.7, 0]: [3.1, -1.4]. */
START_TEST(rnn_relu_by_hand) {
    const float x[2] = {1, 2}, w[2] = {1, -1}, r[4] = {0.5f, 0, 0, 0.5f}, b[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    int32_t in[4] = {tu_f32_const(g, "x", 3, SHAPE(2, 1, 1), x), tu_f32_const(g, "w", 3, SHAPE(1, 2, 1), w),
                     tu_f32_const(g, "r", 3, SHAPE(1, 2, 2), r), tu_f32_const(g, "b", 2, SHAPE(1, 4), b)};
    int32_t n = rnn_node(XF_OP_RNN, "rnn", 4, in, 2, NULL);
    set_strs(n, "activations", 1, (const char *[]){"relu"}); /* names are matched without case */
    const float *y = eval(n, 0), *y_h = eval(n, 1);
    const double want[4] = {1.4, 0, 3.1, 0};
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], want[i]);
    CHECK_NEAR(y_h[0], 3.1);
    CHECK_NEAR(y_h[1], 0.0);
}
END_TEST

/* An empty sequence still has final states: zeros, written over whatever the arena held. */
START_TEST(empty_sequence_zeroes_states) {
    static const float dummy[1], w[8] = {1, 1, 1, 1, 1, 1, 1, 1}; /* W [1, 4*2, 1] */
    static const float r[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}; /* R [1, 4*2, 2] */
    int32_t in[3] = {tu_f32_const(g, "x", 3, SHAPE(0, 2, 1), dummy), tu_f32_const(g, "w", 3, SHAPE(1, 8, 1), w),
                     tu_f32_const(g, "r", 3, SHAPE(1, 8, 2), r)};
    int32_t n = rnn_node(XF_OP_LSTM, "lstm", 3, in, 3, NULL);
    tu_infer_ok(g, n);
    static float stale[2][4];
    for (int k = 1; k <= 2; k++) {
        for (int i = 0; i < 4; i++) stale[k - 1][i] = 7.0f;
        g->values[g->nodes[n].out[k]].data = stale[k - 1];
    }
    const float *y_h = eval(n, 1), *y_c = eval(n, 2);
    for (int i = 0; i < 4; i++) { /* [1 direction, 2 batch, 2 hidden] */
        CHECK_NEAR(y_h[i], 0.0);
        CHECK_NEAR(y_c[i], 0.0);
    }
}
END_TEST

/* One GRU step of one unit from an initial state, in both forms of the candidate's reset. */
START_TEST(gru_linear_before_reset) {
    const float x = 0.7f, h0 = -0.4f, w[3] = {0.3f, -0.6f, 0.9f}, r[3] = {0.5f, 0.8f, -1.1f};
    const float b[6] = {0.05f, -0.1f, 0.2f, 0.15f, 0.25f, -0.35f};
    for (int lbr = 0; lbr < 2; lbr++) {
        char name[16];
        snprintf(name, sizeof name, "gru%d", lbr);
        int32_t in[6] = {tu_f32_const(g, "x", 3, SHAPE(1, 1, 1), &x), tu_f32_const(g, "w", 3, SHAPE(1, 3, 1), w),
                         tu_f32_const(g, "r", 3, SHAPE(1, 3, 1), r), tu_f32_const(g, "b", 2, SHAPE(1, 6), b), -1,
                         tu_f32_const(g, "h0", 3, SHAPE(1, 1, 1), &h0)};
        int32_t n = rnn_node(XF_OP_GRU, name, 6, in, 2, NULL);
        tu_set_int(g, n, "linear_before_reset", lbr);
        double z = sigmoid(w[0] * x + r[0] * h0 + b[0] + b[3]);
        double rg = sigmoid(w[1] * x + r[1] * h0 + b[1] + b[4]);
        double cand = lbr ? tanh(w[2] * x + rg * (r[2] * h0 + b[5]) + b[2]) : tanh(w[2] * x + r[2] * (rg * h0) + b[5] + b[2]);
        CHECK_NEAR(eval(n, 1)[0], (1 - z) * cand + z * h0);
    }
}
END_TEST

/* A reversed one-unit LSTM with peepholes over two rows of lengths 2 and 1: the second row runs
 * only step 0, and its Y at step 1 is 0. */
START_TEST(lstm_reverse_peepholes_lengths) {
    enum { T = 2, N = 2 };
    const float x[T * N] = {0.5f, -0.3f, 0.8f, 0.9f}; /* [t][n] */
    const float w[4] = {0.4f, -0.7f, 0.2f, 0.6f}, r[4] = {0.3f, 0.5f, -0.4f, 0.1f}; /* i, o, f, c */
    const float b[8] = {0.1f, 0.0f, -0.2f, 0.3f, 0.05f, 0.1f, 0.2f, -0.1f};
    const float p[3] = {0.2f, -0.3f, 0.4f}; /* P_i, P_o, P_f */
    const float h0[N] = {0.25f, -0.5f}, c0[N] = {0.6f, -0.2f};
    const int32_t lens[N] = {2, 1};
    int32_t in[8] = {tu_f32_const(g, "x", 3, SHAPE(T, N, 1), x), tu_f32_const(g, "w", 3, SHAPE(1, 4, 1), w),
                     tu_f32_const(g, "r", 3, SHAPE(1, 4, 1), r), tu_f32_const(g, "b", 2, SHAPE(1, 8), b),
                     xf_const_add(g, "lens", XF_I32, 1, SHAPE(N), lens), tu_f32_const(g, "h0", 3, SHAPE(1, N, 1), h0),
                     tu_f32_const(g, "c0", 3, SHAPE(1, N, 1), c0), tu_f32_const(g, "p", 2, SHAPE(1, 3), p)};
    int32_t n = rnn_node(XF_OP_LSTM, "lstm", 8, in, 3, NULL);
    tu_set_str(g, n, "direction", "reverse");
    const float *y = eval(n, 0), *y_h = eval(n, 1), *y_c = eval(n, 2);
    for (int row = 0; row < N; row++) {
        double h = h0[row], c = c0[row];
        for (int t = lens[row] - 1; t >= 0; t--) {
            double xt = x[t * N + row];
            double i = sigmoid(w[0] * xt + r[0] * h + p[0] * c + b[0] + b[4]);
            double f = sigmoid(w[2] * xt + r[2] * h + p[2] * c + b[2] + b[6]);
            double cand = tanh(w[3] * xt + r[3] * h + b[3] + b[7]);
            c = f * c + i * cand;
            double o = sigmoid(w[1] * xt + r[1] * h + p[1] * c + b[1] + b[5]);
            h = o * tanh(c);
            CHECK_NEAR(y[t * N + row], h);
        }
        CHECK_NEAR(y_h[row], h);
        CHECK_NEAR(y_c[row], c);
    }
    ck_assert_float_eq(y[1 * N + 1], 0.0f); /* past the second row's length */
}
END_TEST

/* A bidirectional GRU (batch-first or not) is its forward and reverse directions run alone. */
static void bidirectional_is_two_directions(int layout) {
    enum { T = 4, N = 3, I = 2, H = 3, G = 3 };
    float x[T * N * I], w[2 * G * H * I], r[2 * G * H * H], b[2 * 2 * G * H], h0[2 * N * H];
    fill(x, T * N * I, 11);
    fill(w, 2 * G * H * I, 12);
    fill(r, 2 * G * H * H, 13);
    fill(b, 2 * 2 * G * H, 14);
    fill(h0, 2 * N * H, 15);
    const int32_t lens[N] = {4, 2, 3};
    const int64_t *xs = layout ? SHAPE(N, T, I) : SHAPE(T, N, I), *hs = layout ? SHAPE(N, 2, H) : SHAPE(2, N, H);
    int32_t xv = tu_f32_const(g, "x", 3, xs, x), lv = xf_const_add(g, "lens", XF_I32, 1, SHAPE(N), lens);
    int32_t bi = rnn_node(XF_OP_GRU, "bi", 6,
                          (int32_t[]){xv, tu_f32_const(g, "w", 3, SHAPE(2, G * H, I), w), tu_f32_const(g, "r", 3, SHAPE(2, G * H, H), r),
                                      tu_f32_const(g, "b", 2, SHAPE(2, 2 * G * H), b), lv, tu_f32_const(g, "h0", 3, hs, h0)},
                          2, NULL);
    tu_set_str(g, bi, "direction", "bidirectional");
    tu_set_int(g, bi, "layout", layout);
    const float *y = eval(bi, 0), *y_h = eval(bi, 1);
    for (int dir = 0; dir < 2; dir++) {
        float h1[N * H];
        for (int nn = 0; nn < N; nn++)
            for (int j = 0; j < H; j++) h1[nn * H + j] = h0[layout ? (nn * 2 + dir) * H + j : (dir * N + nn) * H + j];
        char name[16];
        snprintf(name, sizeof name, "dir%d", dir);
        int32_t one = rnn_node(XF_OP_GRU, name, 6,
                               (int32_t[]){xv, tu_f32_const(g, "w1", 3, SHAPE(1, G * H, I), w + dir * G * H * I),
                                           tu_f32_const(g, "r1", 3, SHAPE(1, G * H, H), r + dir * G * H * H),
                                           tu_f32_const(g, "b1", 2, SHAPE(1, 2 * G * H), b + dir * 2 * G * H), lv,
                                           tu_f32_const(g, "h1", 3, layout ? SHAPE(N, 1, H) : SHAPE(1, N, H), h1)},
                               2, NULL);
        tu_set_str(g, one, "direction", dir ? "reverse" : "forward");
        tu_set_int(g, one, "layout", layout);
        const float *y1 = eval(one, 0), *y1_h = eval(one, 1);
        for (int t = 0; t < T; t++)
            for (int nn = 0; nn < N; nn++)
                for (int j = 0; j < H; j++) {
                    float got = y[layout ? ((nn * T + t) * 2 + dir) * H + j : ((t * 2 + dir) * N + nn) * H + j];
                    ck_assert_float_eq(got, y1[layout ? (nn * T + t) * H + j : (t * N + nn) * H + j]);
                }
        for (int nn = 0; nn < N; nn++)
            for (int j = 0; j < H; j++)
                ck_assert_float_eq(y_h[layout ? (nn * 2 + dir) * H + j : (dir * N + nn) * H + j], y1_h[nn * H + j]);
    }
}

START_TEST(bidirectional_time_major) { bidirectional_is_two_directions(0); }
END_TEST

START_TEST(bidirectional_batch_first) { bidirectional_is_two_directions(1); }
END_TEST

/* ---- what the ops refuse ---- */

START_TEST(refuses_bad_inputs_and_attributes) {
    int32_t x = tu_input(g, "x", XF_F32, 3, SHAPE(3, 2, 4)), w = tu_input(g, "w", XF_F32, 3, SHAPE(1, 5, 4));
    int32_t r = tu_input(g, "r", XF_F32, 3, SHAPE(1, 5, 5));
    const int32_t in[3] = {x, w, r};
    int32_t n = rnn_node(XF_OP_RNN, "direction", 3, in, 2, NULL);
    tu_set_str(g, n, "direction", "sideways");
    tu_expect_refusal(g, n, "direction");
    n = rnn_node(XF_OP_RNN, "layout", 3, in, 2, NULL);
    tu_set_int(g, n, "layout", 2);
    tu_expect_refusal(g, n, "layout");
    n = rnn_node(XF_OP_RNN, "count", 3, in, 2, NULL);
    set_strs(n, "activations", 2, (const char *[]){"Tanh", "Tanh"});
    tu_expect_refusal(g, n, "activations must list 1");
    n = rnn_node(XF_OP_RNN, "unknown", 3, in, 2, NULL);
    set_strs(n, "activations", 1, (const char *[]){"Gelu"});
    tu_expect_refusal(g, n, "'Gelu'");
    n = rnn_node(XF_OP_RNN, "hidden", 3, in, 2, NULL);
    tu_set_int(g, n, "hidden_size", 0);
    tu_expect_refusal(g, n, "hidden_size");
    n = rnn_node(XF_OP_RNN, "clip", 3, in, 2, NULL);
    xf_node_add_attr(g, n, "clip", XF_ATTR_FLOAT)->f = -1.0f;
    tu_expect_refusal(g, n, "clip");
    /* W must have G * hidden rows: a GRU of hidden 5 needs 15 */
    tu_expect_refusal(g, rnn_node(XF_OP_GRU, "gates", 3, in, 2, NULL), "W is [1,5,4], expected [1,15,4]");
    n = rnn_node(XF_OP_GRU, "reset", 3, (int32_t[]){x, tu_input(g, "w3", XF_F32, 3, SHAPE(1, 15, 4)),
                                                    tu_input(g, "r3", XF_F32, 3, SHAPE(1, 15, 5))}, 2, NULL);
    tu_set_int(g, n, "linear_before_reset", 2);
    tu_expect_refusal(g, n, "linear_before_reset");
    int32_t lens64 = tu_input(g, "lens64", XF_I64, 1, SHAPE(2));
    tu_expect_refusal(g, rnn_node(XF_OP_RNN, "lens", 5, (int32_t[]){x, w, r, -1, lens64}, 2, NULL), "int32");
    int32_t h0 = tu_input(g, "h0", XF_F32, 3, SHAPE(2, 1, 5)); /* batch-first shape for a layout-0 node */
    tu_expect_refusal(g, rnn_node(XF_OP_RNN, "initial", 6, (int32_t[]){x, w, r, -1, -1, h0}, 2, NULL), "initial_h");
    int32_t x64 = tu_input(g, "x64", XF_F64, 3, SHAPE(3, 2, 4));
    tu_expect_refusal(g, rnn_node(XF_OP_RNN, "double", 3, (int32_t[]){x64, w, r}, 2, NULL), "float32");
    int32_t x2 = tu_input(g, "x2", XF_F32, 2, SHAPE(3, 4));
    tu_expect_refusal(g, rnn_node(XF_OP_RNN, "rank", 3, (int32_t[]){x2, w, r}, 2, NULL), "3-D");
    tu_expect_refusal(g, rnn_node(XF_OP_RNN, "missing", 2, (int32_t[]){x, w}, 2, NULL), "X, W and R");
    tu_expect_refusal(g, rnn_node(XF_OP_RNN, "outputs", 3, in, 3, NULL), "at most 2 outputs");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("rnn");
    TCase *t = tcase_create("rnn");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, shapes_in_both_layouts);
    tcase_add_test(t, state_outputs_are_added);
    tcase_add_test(t, rnn_relu_by_hand);
    tcase_add_test(t, empty_sequence_zeroes_states);
    tcase_add_test(t, gru_linear_before_reset);
    tcase_add_test(t, lstm_reverse_peepholes_lengths);
    tcase_add_test(t, bidirectional_time_major);
    tcase_add_test(t, bidirectional_batch_first);
    tcase_add_test(t, refuses_bad_inputs_and_attributes);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(suite()); }
