/* test_signal.c — unit tests of the signal-processing ops and Det (ir/ops_signal.c,
 * lower/signal.c, runtime/signal.c): output shapes of DFT (the axis input, which the frontend also
 * makes of opset 17's attribute; dft_length, onesided) and STFT; transforms, windows, a mel matrix
 * and determinants small enough to work out by hand from the ONNX operator spec; and the inputs each
 * must refuse, with a diagnostic naming the node (and the --bind suggestion where a size is not a
 * constant). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) { g = xf_graph_new("signal.onnx"); }
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

static int32_t f32(const char *name, int32_t rank, const int64_t *shape) {
    return tu_input(g, name, XF_F32, rank, shape);
}

static const char *expect_failure(int32_t node) {
    static xf_diag d;
    const char *msg = tu_infer_fails(g, node, &d);
    char want[300];
    snprintf(want, sizeof want, "node '%s'", g->nodes[node].name);
    ck_assert_msg(strstr(msg, want), "diagnostic does not name node '%s': %s", g->nodes[node].name, msg);
    return msg;
}

static void expect_bind_hint(int32_t node, const char *input) {
    const char *msg = expect_failure(node);
    char want[128];
    snprintf(want, sizeof want, "--bind %s=", input);
    ck_assert_msg(strstr(msg, want), "no --bind hint for '%s': %s", input, msg);
}

static const float *eval_f32(int32_t n) {
    tu_infer_ok(g, n);
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
    return g->values[tu_out(g, n)].data;
}

static void check_values(const float *y, const float *want, int count, const char *what) {
    for (int i = 0; i < count; i++)
        ck_assert_msg(y[i] >= want[i] - 1e-5f && y[i] <= want[i] + 1e-5f, "%s: y[%d] = %g, want %g", what, i,
                      (double)y[i], (double)want[i]);
}

/* ---- DFT ---- */

START_TEST(test_dft_shapes) {
    int32_t x = f32("x", 3, SHAPE(2, 8, 1));
    int32_t n = tu_node(g, XF_OP_DFT, "full", 1, &x);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 8, 2);
    n = tu_node(g, XF_OP_DFT, "onesided", 1, &x);
    tu_set_int(g, n, "onesided", 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 5, 2);
    n = tu_node(g, XF_OP_DFT, "padded", 2, (int32_t[]){x, tu_i64_scalar(g, "len", 11)});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 11, 2);
    /* the axis is input 2 (here the batch dim), default -2 */
    int32_t x3 = f32("x3", 3, SHAPE(3, 8, 1));
    n = tu_node(g, XF_OP_DFT, "axis0", 3, (int32_t[]){x3, -1, tu_i64_scalar(g, "zero", 0)});
    tu_set_int(g, n, "onesided", 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 8, 2);
    int32_t x4 = f32("x4", 4, SHAPE(3, 4, 6, 2));
    n = tu_node(g, XF_OP_DFT, "default_axis", 1, &x4);
    tu_set_int(g, n, "onesided", 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 4, 4, 2);
    n = tu_node(g, XF_OP_DFT, "axis_input", 3, (int32_t[]){x4, -1, tu_i64_scalar(g, "one", 1)});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 4, 6, 2);
}
END_TEST

/* [1, 2, 3, 4]: X_j = sum_k x_k e^(-2 pi i jk/4) = 10, -2+2i, -2, -2-2i. The Nyquist bin of a real
 * signal is real, and exactly so: its twiddle factors are +-1 exactly. The inverse gives back the
 * signal, as complex numbers with imaginary parts 0. */
START_TEST(test_dft_values) {
    int32_t x = tu_f32_const(g, "x", 3, SHAPE(1, 4, 1), (const float[]){1, 2, 3, 4});
    int32_t n = tu_node(g, XF_OP_DFT, "forward", 1, &x);
    const float *y = eval_f32(n);
    check_values(y, (const float[]){10, 0, -2, 2, -2, 0, -2, -2}, 8, "forward");
    ck_assert_msg(y[1] == 0.0f && y[5] == 0.0f, "DC and Nyquist bins are not exactly real: %g %g", (double)y[1],
                  (double)y[5]);
    int32_t spectrum = tu_f32_const(g, "spectrum", 3, SHAPE(1, 4, 2), y);
    n = tu_node(g, XF_OP_DFT, "inverse", 1, &spectrum);
    tu_set_int(g, n, "inverse", 1);
    check_values(eval_f32(n), (const float[]){1, 0, 2, 0, 3, 0, 4, 0}, 8, "inverse");
    /* truncated to 2 points: [1, 2] -> 3, -1 */
    n = tu_node(g, XF_OP_DFT, "truncated", 2, (int32_t[]){x, tu_i64_scalar(g, "two", 2)});
    check_values(eval_f32(n), (const float[]){3, 0, -1, 0}, 4, "truncated");
}
END_TEST

START_TEST(test_dft_refused) {
    int32_t x = f32("x", 3, SHAPE(2, 8, 1));
    int32_t three = f32("three", 3, SHAPE(2, 8, 3));
    expect_failure(tu_node(g, XF_OP_DFT, "three_parts", 1, &three));
    expect_failure(tu_node(g, XF_OP_DFT, "axis_is_last", 3, (int32_t[]){x, -1, tu_i64_scalar(g, "two", 2)}));
    expect_failure(tu_node(g, XF_OP_DFT, "axis_too_negative", 3, (int32_t[]){x, -1, tu_i64_scalar(g, "m4", -4)}));
    expect_failure(tu_node(g, XF_OP_DFT, "zero_length", 2, (int32_t[]){x, tu_i64_scalar(g, "zero", 0)}));
    int32_t len = tu_input(g, "len_in", XF_I64, 0, NULL);
    expect_bind_hint(tu_node(g, XF_OP_DFT, "length_unknown", 2, (int32_t[]){x, len}), "len_in");
    int32_t axis = tu_input(g, "axis_in", XF_I64, 0, NULL);
    expect_bind_hint(tu_node(g, XF_OP_DFT, "axis_unknown", 3, (int32_t[]){x, -1, axis}), "axis_in");
    int32_t flen = tu_f32_const(g, "flen", 0, NULL, (const float[]){4});
    expect_failure(tu_node(g, XF_OP_DFT, "float_length", 2, (int32_t[]){x, flen}));
}
END_TEST

/* ---- STFT ---- */

/* Eight ones in frames of 4 every 2 samples: 3 frames of 3 onesided bins, each the DC bin 4 and
 * zeros. With the window [1, 0, 0, 0] each frame is an impulse, whose spectrum is flat: all 1. */
START_TEST(test_stft_values) {
    float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int32_t x = tu_f32_const(g, "x", 3, SHAPE(1, 8, 1), ones);
    int32_t step = tu_i64_scalar(g, "step", 2), len = tu_i64_scalar(g, "len", 4);
    int32_t n = tu_node(g, XF_OP_STFT, "plain", 4, (int32_t[]){x, step, -1, len});
    const float *y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 3, 3, 2);
    for (int f = 0; f < 3; f++) check_values(y + f * 6, (const float[]){4, 0, 0, 0, 0, 0}, 6, "plain");
    int32_t window = tu_f32_const(g, "window", 1, SHAPE(4), (const float[]){1, 0, 0, 0});
    n = tu_node(g, XF_OP_STFT, "impulse", 3, (int32_t[]){x, step, window});
    tu_set_int(g, n, "onesided", 0);
    y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 3, 4, 2);
    for (int f = 0; f < 3; f++) check_values(y + f * 8, (const float[]){1, 0, 1, 0, 1, 0, 1, 0}, 8, "impulse");
}
END_TEST

START_TEST(test_stft_refused) {
    int32_t x = f32("x", 3, SHAPE(1, 8, 1)), step = tu_i64_scalar(g, "step", 2);
    expect_failure(tu_node(g, XF_OP_STFT, "too_long", 4, (int32_t[]){x, step, -1, tu_i64_scalar(g, "nine", 9)}));
    int32_t window = f32("window", 1, SHAPE(5));
    expect_failure(tu_node(g, XF_OP_STFT, "window_mismatch", 4, (int32_t[]){x, step, window, tu_i64_scalar(g, "four", 4)}));
    expect_failure(tu_node(g, XF_OP_STFT, "zero_step", 3, (int32_t[]){x, tu_i64_scalar(g, "zero", 0), window}));
    int32_t dyn = tu_input(g, "step_in", XF_I64, 0, NULL);
    expect_bind_hint(tu_node(g, XF_OP_STFT, "step_unknown", 3, (int32_t[]){x, dyn, window}), "step_in");
    int32_t flat = f32("flat", 2, SHAPE(1, 8));
    expect_failure(tu_node(g, XF_OP_STFT, "no_complex_dim", 3, (int32_t[]){flat, step, window}));
    expect_failure(tu_node(g, XF_OP_STFT, "no_step", 1, &x));
}
END_TEST

/* ---- windows ---- */

/* Periodic windows of N points are the first N of a symmetric window of N + 1. Hann of 4:
 * 0.5 - 0.5 cos(2 pi k / 4) = 0, 0.5, 1, 0.5; symmetric of 5: 0, 0.5, 1, 0.5, 0. Hamming of 2:
 * 25/46 -+ 21/46 = 4/46, 1. Blackman of 4: 0.42 - 0.5 cos + 0.08 cos(2x) = 0, 0.34, 1, 0.34. */
START_TEST(test_window_values) {
    int32_t four = tu_i64_scalar(g, "four", 4), five = tu_i64_scalar(g, "five", 5), two = tu_i64_scalar(g, "two", 2);
    int32_t n = tu_node(g, XF_OP_HANN_WINDOW, "hann", 1, &four);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4);
    check_values(g->values[tu_out(g, n)].data, (const float[]){0, 0.5f, 1, 0.5f}, 4, "hann");
    n = tu_node(g, XF_OP_HANN_WINDOW, "hann_symmetric", 1, &five);
    tu_set_int(g, n, "periodic", 0);
    tu_infer_ok(g, n);
    check_values(g->values[tu_out(g, n)].data, (const float[]){0, 0.5f, 1, 0.5f, 0}, 5, "hann_symmetric");
    n = tu_node(g, XF_OP_HAMMING_WINDOW, "hamming", 1, &two);
    tu_infer_ok(g, n);
    check_values(g->values[tu_out(g, n)].data, (const float[]){4.0f / 46, 1}, 2, "hamming");
    n = tu_node(g, XF_OP_BLACKMAN_WINDOW, "blackman", 1, &four);
    tu_set_int(g, n, "output_datatype", XF_F64);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F64, 4);
    const double *w = g->values[tu_out(g, n)].data, want[4] = {0, 0.34, 1, 0.34};
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(w[i], want[i], 1e-12);
    /* the size may be int32, and 0 gives an empty window */
    int32_t zero = xf_const_add(g, "zero", XF_I32, 0, NULL, &(int32_t){0});
    n = tu_node(g, XF_OP_HANN_WINDOW, "empty", 1, &zero);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 0);
}
END_TEST

START_TEST(test_window_refused) {
    int32_t size = tu_input(g, "size_in", XF_I64, 0, NULL);
    expect_bind_hint(tu_node(g, XF_OP_HANN_WINDOW, "unknown", 1, &size), "size_in");
    int32_t four = tu_i64_scalar(g, "four", 4);
    int32_t n = tu_node(g, XF_OP_HAMMING_WINDOW, "int_output", 1, &four);
    tu_set_int(g, n, "output_datatype", XF_I64);
    expect_failure(n);
    expect_failure(tu_node(g, XF_OP_BLACKMAN_WINDOW, "negative", 1, (int32_t[]){tu_i64_scalar(g, "neg", -3)}));
    expect_failure(tu_node(g, XF_OP_HANN_WINDOW, "two_sizes", 1, (int32_t[]){tu_i64(g, "pair", 2, SHAPE(4, 4))}));
}
END_TEST

/* ---- MelWeightMatrix ---- */

/* One mel band over a 15-point DFT (8 spectrum bins) at 1650 Hz, from 0 to 4900 Hz. The band's
 * edges are spaced 2595 log10(8) / 3 mel apart, which is 700 (10^(log10(8)/3) - 1) = 700 Hz and
 * 700 (4 - 1) = 2100 Hz; as bins, floor(16 * 700 / 1650) = 6 and floor(16 * 2100 / 1650) = 20. So
 * the band rises over bins 0..6 (j / 6) and falls from there towards bin 20 ((20 - j) / 14), of
 * which bin 7 is the last in the matrix. */
START_TEST(test_mel_weight_matrix_values) {
    int32_t in[5] = {tu_i64_scalar(g, "bins", 1), tu_i64_scalar(g, "dft", 15), tu_i64_scalar(g, "rate", 1650),
                     tu_f32_const(g, "lo", 0, NULL, (const float[]){0}), tu_f32_const(g, "hi", 0, NULL, (const float[]){4900})};
    int32_t n = tu_node(g, XF_OP_MEL_WEIGHT_MATRIX, "mel", 5, in);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 8, 1);
    check_values(g->values[tu_out(g, n)].data,
                 (const float[]){0, 1.0f / 6, 2.0f / 6, 3.0f / 6, 4.0f / 6, 5.0f / 6, 1, 13.0f / 14}, 8, "mel");
}
END_TEST

START_TEST(test_mel_weight_matrix_refused) {
    int32_t bins = tu_i64_scalar(g, "bins", 8), dft = tu_i64_scalar(g, "dft", 16), rate = tu_i64_scalar(g, "rate", 8000);
    int32_t lo = tu_f32_const(g, "lo", 0, NULL, (const float[]){0}), hi = tu_f32_const(g, "hi", 0, NULL, (const float[]){4000});
    int32_t n = tu_node(g, XF_OP_MEL_WEIGHT_MATRIX, "upside_down", 5, (int32_t[]){bins, dft, rate, hi, lo});
    expect_failure(n);
    n = tu_node(g, XF_OP_MEL_WEIGHT_MATRIX, "no_rate", 5, (int32_t[]){bins, dft, tu_i64_scalar(g, "zero", 0), lo, hi});
    expect_failure(n);
    int32_t dyn = tu_input(g, "hi_in", XF_F32, 0, NULL);
    expect_bind_hint(tu_node(g, XF_OP_MEL_WEIGHT_MATRIX, "unknown", 5, (int32_t[]){bins, dft, rate, lo, dyn}), "hi_in");
    expect_failure(tu_node(g, XF_OP_MEL_WEIGHT_MATRIX, "missing", 3, (int32_t[]){bins, dft, rate}));
    int32_t ilo = tu_i64_scalar(g, "ilo", 0);
    expect_failure(tu_node(g, XF_OP_MEL_WEIGHT_MATRIX, "integer_edge", 5, (int32_t[]){bins, dft, rate, ilo, hi}));
}
END_TEST

/* ---- Det ---- */

/* det [[1, 2], [3, 4]] = -2; det [[0, 1, 2], [1, 0, 3], [4, -3, 8]] = -2 (its first column needs a
 * row swap); a singular matrix gives 0. */
START_TEST(test_det_values) {
    int32_t a = tu_f32_const(g, "a", 3, SHAPE(2, 2, 2), (const float[]){1, 2, 3, 4, /**/ 1, 2, 2, 4});
    int32_t n = tu_node(g, XF_OP_DET, "pair", 1, &a);
    const float *y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2);
    check_values(y, (const float[]){-2, 0}, 2, "pair");
    int32_t b = tu_f32_const(g, "b", 2, SHAPE(3, 3), (const float[]){0, 1, 2, 1, 0, 3, 4, -3, 8});
    n = tu_node(g, XF_OP_DET, "pivoted", 1, &b);
    y = eval_f32(n);
    CHECK_SCALAR(g, tu_out(g, n), XF_F32);
    check_values(y, (const float[]){-2}, 1, "pivoted");
}
END_TEST

START_TEST(test_det_refused) {
    int32_t x = f32("x", 2, SHAPE(2, 3));
    expect_failure(tu_node(g, XF_OP_DET, "not_square", 1, &x));
    int32_t v = f32("v", 1, SHAPE(3));
    expect_failure(tu_node(g, XF_OP_DET, "vector", 1, &v));
    /* larger than the kernel's local array: shape inference works, lowering refuses */
    float big[17 * 17] = {0};
    int32_t m = tu_f32_const(g, "m", 2, SHAPE(17, 17), big);
    int32_t n = tu_node(g, XF_OP_DET, "too_big", 1, &m);
    tu_infer_ok(g, n);
    xf_diag d = {0};
    ck_assert(!xf_eval_node(g, n, &d));
    ck_assert_msg(strstr(d.msg, "16x16"), "unexpected diagnostic: %s", d.msg);
}
END_TEST

static Suite *signal_suite(void) {
    Suite *s = suite_create("signal");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_dft_shapes);
    tcase_add_test(tc, test_dft_values);
    tcase_add_test(tc, test_dft_refused);
    tcase_add_test(tc, test_stft_values);
    tcase_add_test(tc, test_stft_refused);
    tcase_add_test(tc, test_window_values);
    tcase_add_test(tc, test_window_refused);
    tcase_add_test(tc, test_mel_weight_matrix_values);
    tcase_add_test(tc, test_mel_weight_matrix_refused);
    tcase_add_test(tc, test_det_values);
    tcase_add_test(tc, test_det_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(signal_suite()); }
