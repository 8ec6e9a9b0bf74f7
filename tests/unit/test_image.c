/* test_image.c — unit tests of the image and grid ops (ir/ops_image.c, runtime/image.c): output
 * shapes of GridSample, AffineGrid, Col2Im, RoiAlign, CenterCropPad and ReverseSequence; values
 * computed at compile time for each on inputs small enough to work out by hand from the ONNX
 * operator spec; and the inputs each must refuse, with a diagnostic naming the node (and the --bind
 * suggestion where a shape-setting input is not a constant). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) {
    g = xf_graph_new("image.onnx");
    g->opset = 22;
}
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

static int32_t f32(const char *name, int32_t rank, const int64_t *shape) {
    return tu_input(g, name, XF_F32, rank, shape);
}

/* The diagnostic of a refused node names the file and the node. */
static const char *expect_failure(int32_t node) {
    static xf_diag d;
    const char *msg = tu_infer_fails(g, node, &d);
    char want[300];
    snprintf(want, sizeof want, "node '%s'", g->nodes[node].name);
    ck_assert_msg(strstr(msg, want), "diagnostic does not name node '%s': %s", g->nodes[node].name, msg);
    return msg;
}

/* Infers and evaluates node n (all inputs constant) and returns its float output. */
static const float *eval_f32(int32_t n) { return tu_eval(g, n); }

/* Evaluation must fail (a bad index found in data known at compile time). */
static void eval_fails(int32_t n) {
    tu_infer_ok(g, n);
    xf_diag d = {0};
    ck_assert_msg(!xf_eval_node(g, n, &d), "node '%s' evaluated but should have failed", g->nodes[n].name);
    ck_assert_msg(strstr(d.msg, "out of range"), "unexpected diagnostic: %s", d.msg);
}

static void check_values(const float *y, const float *want, int count, const char *what) {
    for (int i = 0; i < count; i++)
        ck_assert_msg(y[i] >= want[i] - 1e-5f && y[i] <= want[i] + 1e-5f, "%s: y[%d] = %g, want %g", what, i,
                      (double)y[i], (double)want[i]);
}

/* ---- GridSample ---- */

START_TEST(test_grid_sample_shapes) {
    int32_t in[2] = {f32("x", 4, SHAPE(2, 3, 4, 5)), f32("grid", 4, SHAPE(2, 6, 7, 2))};
    int32_t n = tu_node(g, XF_OP_GRID_SAMPLE, "planar", 2, in);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3, 6, 7);
    int32_t vol[2] = {f32("v", 5, SHAPE(1, 2, 3, 4, 5)), f32("vgrid", 5, SHAPE(1, 2, 3, 4, 3))};
    n = tu_node(g, XF_OP_GRID_SAMPLE, "volumetric", 2, vol);
    tu_set_str(g, n, "mode", "nearest");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 2, 3, 4);
}
END_TEST

START_TEST(test_grid_sample_refused) {
    int32_t x = f32("x", 4, SHAPE(2, 3, 4, 5));
    int32_t bad_last[2] = {x, f32("g3", 4, SHAPE(2, 6, 7, 3))};
    expect_failure(tu_node(g, XF_OP_GRID_SAMPLE, "three_components", 2, bad_last));
    int32_t bad_batch[2] = {x, f32("g1", 4, SHAPE(1, 6, 7, 2))};
    expect_failure(tu_node(g, XF_OP_GRID_SAMPLE, "batch_mismatch", 2, bad_batch));
    int32_t ok[2] = {x, f32("g", 4, SHAPE(2, 6, 7, 2))};
    int32_t n = tu_node(g, XF_OP_GRID_SAMPLE, "area", 2, ok);
    tu_set_str(g, n, "mode", "area");
    expect_failure(n);
    n = tu_node(g, XF_OP_GRID_SAMPLE, "wrap", 2, ok);
    tu_set_str(g, n, "padding_mode", "wrap");
    expect_failure(n);
    int32_t flat[2] = {f32("flat", 2, SHAPE(2, 3)), f32("gflat", 2, SHAPE(2, 1))};
    expect_failure(tu_node(g, XF_OP_GRID_SAMPLE, "no_spatial_dims", 2, flat));
    expect_failure(tu_node(g, XF_OP_GRID_SAMPLE, "no_grid", 1, &x));
}
END_TEST

/* X = [[1, 2], [3, 4]] sampled at five points (x, y): the centre (0, 0), the corners (-1, -1) and
 * (1, -1), far outside (5, 5), and (2, -1) half a pixel-span beyond the right edge. With
 * align_corners, -1 and 1 are the outer pixels' centres: (0, 0) lands between all four pixels,
 * (5, 5) at pixel position 3 and (2, -1) at column 1.5 of row 0. */
START_TEST(test_grid_sample_values) {
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, 1, 2, 2), (const float[]){1, 2, 3, 4});
    int32_t grid = tu_f32_const(g, "grid", 4, SHAPE(1, 1, 5, 2), (const float[]){0, 0, -1, -1, 1, -1, 5, 5, 2, -1});
    struct {
        const char *mode, *padding;
        int align;
        float want[5];
    } cases[] = {
        /* (2, -1): half of pixel 2 and half of the zero beyond it */
        {"linear", "zeros", 1, {2.5f, 1, 2, 0, 1}},
        /* positions clamp to the edge pixels: (5, 5) reads 4, (2, -1) reads 2 */
        {"bilinear", "border", 1, {2.5f, 1, 2, 4, 2}},
        /* mirrored off the edge pixels' centres: 3 -> 1 (two reflections), 1.5 -> 0.5 */
        {"linear", "reflection", 1, {2.5f, 1, 2, 4, 1.5f}},
        /* without align_corners the centre is pixel position 0.5, rounded half to even to 0; the
         * corner -1 is position -0.5, rounded to 0; x = 1 is position 1.5, rounded to 2: outside */
        {"nearest", "zeros", 0, {1, 1, 0, 0, 0}},
        /* at whole pixel positions the cubic kernel's weights are 1 at the pixel, 0 elsewhere */
        {"cubic", "border", 1, {2.5f, 1, 2, 4, 0}},
    };
    for (int k = 0; k < 5; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%s_%d", cases[k].mode, cases[k].padding, cases[k].align);
        int32_t n = tu_node(g, XF_OP_GRID_SAMPLE, name, 2, (int32_t[]){x, grid});
        tu_set_str(g, n, "mode", cases[k].mode);
        tu_set_str(g, n, "padding_mode", cases[k].padding);
        tu_set_int(g, n, "align_corners", cases[k].align);
        const float *y = eval_f32(n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 1, 5);
        /* cubic at (2, -1) weighs border pixels at several distances: left unchecked */
        check_values(y, cases[k].want, k == 4 ? 4 : 5, name);
    }
}
END_TEST

/* The cost xfc report shows for GridSample: a multiply-add per tap, 2 taps per spatial dim in
 * linear mode and 4 in cubic, for every output point of every channel. */
START_TEST(test_grid_sample_cost) {
    int32_t x = f32("x", 4, SHAPE(2, 3, 8, 8)), grid = f32("grid", 4, SHAPE(2, 5, 7, 2));
    const char *modes[3] = {"nearest", "linear", "cubic"};
    const int64_t taps[3] = {1, 2 * 2, 4 * 4};
    for (int k = 0; k < 3; k++) {
        int32_t n = tu_node(g, XF_OP_GRID_SAMPLE, modes[k], 2, (int32_t[]){x, grid});
        tu_set_str(g, n, "mode", modes[k]);
        tu_infer_ok(g, n);
        xf_call call[1];
        xf_calls out = {.g = g, .at = call, .max = 1};
        xf_diag d = {0};
        ck_assert_msg(xf_lower_node(g, n, &out, &d), "%s", d.msg);
        ck_assert_int_eq(xf_call_cost(g, &call[0]).flops, 2 * 2 * 3 * 5 * 7 * taps[k]);
    }
}
END_TEST

/* Grid coordinates of NaN or enormous size must not crash or read out of bounds: they read padding
 * or an edge pixel. */
START_TEST(test_grid_sample_wild_coordinates) {
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, 1, 2, 2), (const float[]){1, 2, 3, 4});
    int32_t grid = tu_f32_const(g, "grid", 4, SHAPE(1, 1, 3, 2), (const float[]){NAN, NAN, 1e30f, -1e30f, -INFINITY, INFINITY});
    const char *pads[3] = {"zeros", "border", "reflection"};
    for (int p = 0; p < 3; p++) {
        int32_t n = tu_node(g, XF_OP_GRID_SAMPLE, pads[p], 2, (int32_t[]){x, grid});
        tu_set_str(g, n, "padding_mode", pads[p]);
        tu_set_str(g, n, "mode", "cubic");
        const float *y = eval_f32(n);
        for (int i = 0; i < 3; i++) ck_assert_msg(y[i] == y[i], "%s: y[%d] is NaN", pads[p], i);
    }
}
END_TEST

/* ---- AffineGrid ---- */

/* An identity theta over a 2x3 image: the base grid itself. Without align_corners the points are the
 * centres of 3 (2) equal cells spanning [-1, 1]: x = -2/3, 0, 2/3 and y = -1/2, 1/2; with it they
 * span the corners: x = -1, 0, 1 and y = -1, 1. A second theta scales y by 2 and shifts x by 0.5. */
START_TEST(test_affine_grid_values) {
    int32_t theta = tu_f32_const(g, "theta", 3, SHAPE(2, 2, 3), (const float[]){1, 0, 0, 0, 1, 0, /**/ 1, 0, 0.5f, 0, 2, 0});
    int32_t size = tu_i64(g, "size", 4, SHAPE(2, 1, 2, 3));
    for (int align = 0; align <= 1; align++) {
        int32_t n = tu_node(g, XF_OP_AFFINE_GRID, align ? "corners" : "centres", 2, (int32_t[]){theta, size});
        tu_set_int(g, n, "align_corners", align);
        const float *y = eval_f32(n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 2, 3, 2);
        float xs[2][3] = {{-2.0f / 3, 0, 2.0f / 3}, {-1, 0, 1}}, ys[2][2] = {{-0.5f, 0.5f}, {-1, 1}};
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++) {
                float want[4] = {xs[align][c], ys[align][r], xs[align][c] + 0.5f, 2 * ys[align][r]};
                float got[4] = {y[(r * 3 + c) * 2], y[(r * 3 + c) * 2 + 1], y[12 + (r * 3 + c) * 2], y[12 + (r * 3 + c) * 2 + 1]};
                check_values(got, want, 4, align ? "corners" : "centres");
            }
    }
    /* 3-D: theta [1, 3, 4], size [1, 1, 2, 3, 4] gives [1, 2, 3, 4, 3] */
    int32_t theta3 = f32("theta3", 3, SHAPE(1, 3, 4));
    int32_t n = tu_node(g, XF_OP_AFFINE_GRID, "volume", 2, (int32_t[]){theta3, tu_i64(g, "size3", 5, SHAPE(1, 1, 2, 3, 4))});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 3, 4, 3);
}
END_TEST

START_TEST(test_affine_grid_refused) {
    int32_t theta = f32("theta", 3, SHAPE(2, 2, 3));
    int32_t dyn = tu_input(g, "size_in", XF_I64, 1, SHAPE(4));
    const char *msg = expect_failure(tu_node(g, XF_OP_AFFINE_GRID, "size_unknown", 2, (int32_t[]){theta, dyn}));
    ck_assert_msg(strstr(msg, "--bind size_in="), "no --bind hint: %s", msg);
    int32_t three = tu_i64(g, "three", 3, SHAPE(2, 1, 4));
    expect_failure(tu_node(g, XF_OP_AFFINE_GRID, "size_of_three", 2, (int32_t[]){theta, three}));
    int32_t vol = tu_i64(g, "vol", 5, SHAPE(2, 1, 2, 3, 4));
    expect_failure(tu_node(g, XF_OP_AFFINE_GRID, "theta_for_2d", 2, (int32_t[]){theta, vol}));
    int32_t other_batch = tu_i64(g, "other_batch", 4, SHAPE(3, 1, 2, 2));
    expect_failure(tu_node(g, XF_OP_AFFINE_GRID, "batch_mismatch", 2, (int32_t[]){theta, other_batch}));
    int32_t negative = tu_i64(g, "negative", 4, SHAPE(2, 1, -2, 2));
    expect_failure(tu_node(g, XF_OP_AFFINE_GRID, "negative_size", 2, (int32_t[]){theta, negative}));
}
END_TEST

/* ---- Col2Im ---- */

/* A 3x3 image cut into the four 2x2 blocks at stride 1: with every block value 1, each pixel sums
 * as many blocks as cover it (corners 1, edges 2, centre 4). */
START_TEST(test_col2im_values) {
    float ones[16];
    for (int i = 0; i < 16; i++) ones[i] = 1;
    int32_t x = tu_f32_const(g, "x", 3, SHAPE(1, 4, 4), ones);
    int32_t n = tu_node(g, XF_OP_COL2IM, "overlap", 3,
                        (int32_t[]){x, tu_i64(g, "image", 2, SHAPE(3, 3)), tu_i64(g, "block", 2, SHAPE(2, 2))});
    const float *y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 3, 3);
    check_values(y, (const float[]){1, 2, 1, 2, 4, 2, 1, 2, 1}, 9, "overlap");

    /* strides 2, pads 1 around a 3x3 image: blocks of 2 fit (3 + 2 - 2) / 2 + 1 = 2 times per dim;
     * the block at (-1, -1) contributes only its last value, to pixel (0, 0) */
    float seq[2 * 4 * 4];
    for (int i = 0; i < 32; i++) seq[i] = (float)i;
    int32_t x2 = tu_f32_const(g, "x2", 3, SHAPE(1, 8, 4), seq); /* C = 2 channels of 4 block values */
    n = tu_node(g, XF_OP_COL2IM, "strided", 3,
                (int32_t[]){x2, tu_i64(g, "image2", 2, SHAPE(3, 3)), tu_i64(g, "block2", 2, SHAPE(2, 2))});
    TU_SET_INTS(g, n, "strides", 2, 2);
    TU_SET_INTS(g, n, "pads", 1, 1, 1, 1);
    y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 3, 3);
    /* x[k, l]: block value k (of 4) at position l (of 4) is seq[k * 4 + l]; pixel (0, 0) is value 3
     * of block 0 (12), pixel (0, 1) value 2 of block 1 (9), pixel (1, 1) value 0 of block 3 (3) */
    ck_assert_float_eq_tol(y[0], 12.0f, 1e-6f);
    ck_assert_float_eq_tol(y[1], 9.0f, 1e-6f);
    ck_assert_float_eq_tol(y[4], 3.0f, 1e-6f);
    ck_assert_float_eq_tol(y[9], 28.0f, 1e-6f); /* the second channel's pixel (0, 0): 16 + 12 */
}
END_TEST

START_TEST(test_col2im_refused) {
    int32_t x = f32("x", 3, SHAPE(1, 4, 4));
    int32_t image = tu_i64(g, "image", 2, SHAPE(3, 3)), block = tu_i64(g, "block", 2, SHAPE(2, 2));
    int32_t wrong_l = tu_i64(g, "image4", 2, SHAPE(4, 4));
    expect_failure(tu_node(g, XF_OP_COL2IM, "count_mismatch", 3, (int32_t[]){x, wrong_l, block}));
    int32_t block3 = tu_i64(g, "block3", 2, SHAPE(3, 1));
    expect_failure(tu_node(g, XF_OP_COL2IM, "not_a_multiple", 3, (int32_t[]){x, image, block3}));
    int32_t big = tu_i64(g, "big", 2, SHAPE(5, 5));
    expect_failure(tu_node(g, XF_OP_COL2IM, "block_too_big", 3, (int32_t[]){x, image, big}));
    int32_t dyn = tu_input(g, "image_in", XF_I64, 1, SHAPE(2));
    const char *msg = expect_failure(tu_node(g, XF_OP_COL2IM, "image_unknown", 3, (int32_t[]){x, dyn, block}));
    ck_assert_msg(strstr(msg, "--bind image_in="), "no --bind hint: %s", msg);
    int32_t n = tu_node(g, XF_OP_COL2IM, "zero_stride", 3, (int32_t[]){x, image, block});
    TU_SET_INTS(g, n, "strides", 0, 1);
    expect_failure(n);
    expect_failure(tu_node(g, XF_OP_COL2IM, "no_block", 2, (int32_t[]){x, image}));
}
END_TEST

/* ---- RoiAlign ---- */

/* X[r][c] = c on a 4x4 image, one region (0, 0)-(3, 3), one bin, one sample per bin: the sample
 * sits at the region's middle, 1.5 without the half-pixel shift and 1.0 with it, and bilinear
 * interpolation of a linear ramp is exact. In max mode each sample is the largest of its four
 * weighted taps (weights 1/4 each at 1.5: max(1, 2) / 4), as the reference computes it. */
START_TEST(test_roi_align_values) {
    float ramp[16];
    for (int i = 0; i < 16; i++) ramp[i] = (float)(i % 4);
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, 1, 4, 4), ramp);
    int32_t rois = tu_f32_const(g, "rois", 2, SHAPE(1, 4), (const float[]){0, 0, 3, 3});
    int32_t idx = tu_i64(g, "idx", 1, SHAPE(0));
    struct {
        const char *name, *ctm, *mode;
        float want;
    } cases[] = {{"output_half", "output_half_pixel", "avg", 1.5f},
                 {"half", "half_pixel", "avg", 1.0f},
                 {"max", "output_half_pixel", "max", 0.5f}};
    for (int k = 0; k < 3; k++) {
        int32_t n = tu_node(g, XF_OP_ROI_ALIGN, cases[k].name, 3, (int32_t[]){x, rois, idx});
        tu_set_str(g, n, "coordinate_transformation_mode", cases[k].ctm);
        tu_set_str(g, n, "mode", cases[k].mode);
        tu_set_int(g, n, "sampling_ratio", 1);
        const float *y = eval_f32(n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 1, 1);
        ck_assert_msg(y[0] >= cases[k].want - 1e-6f && y[0] <= cases[k].want + 1e-6f, "%s: %g", cases[k].name,
                      (double)y[0]);
    }
    /* without the attribute the mode is half_pixel whatever the graph's opset: the frontend gives
     * nodes of older opsets their output_half_pixel explicitly */
    g->opset = 10;
    int32_t n = tu_node(g, XF_OP_ROI_ALIGN, "default", 3, (int32_t[]){x, rois, idx});
    tu_set_int(g, n, "sampling_ratio", 1);
    ck_assert_float_eq_tol(eval_f32(n)[0], 1.0f, 1e-6f);
    g->opset = 22;
    /* output 2x3 bins, adaptive sampling */
    n = tu_node(g, XF_OP_ROI_ALIGN, "bins", 3, (int32_t[]){x, rois, idx});
    tu_set_int(g, n, "output_height", 2);
    tu_set_int(g, n, "output_width", 3);
    eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 2, 3);
    /* an image index past the batch is caught, not read */
    int32_t past = tu_i64(g, "past", 1, SHAPE(1));
    eval_fails(tu_node(g, XF_OP_ROI_ALIGN, "bad_index", 3, (int32_t[]){x, rois, past}));
}
END_TEST

START_TEST(test_roi_align_refused) {
    int32_t x = f32("x", 4, SHAPE(1, 3, 8, 8)), rois = f32("rois", 2, SHAPE(2, 4));
    int32_t idx = tu_input(g, "idx", XF_I64, 1, SHAPE(2));
    int32_t n = tu_node(g, XF_OP_ROI_ALIGN, "ok", 3, (int32_t[]){x, rois, idx});
    tu_set_int(g, n, "output_height", 7);
    tu_set_int(g, n, "output_width", 5);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3, 7, 5);
    int32_t rois5 = f32("rois5", 2, SHAPE(2, 5));
    expect_failure(tu_node(g, XF_OP_ROI_ALIGN, "five_coords", 3, (int32_t[]){x, rois5, idx}));
    int32_t idx3 = tu_input(g, "idx3", XF_I64, 1, SHAPE(3));
    expect_failure(tu_node(g, XF_OP_ROI_ALIGN, "index_count", 3, (int32_t[]){x, rois, idx3}));
    int32_t fidx = f32("fidx", 1, SHAPE(2));
    expect_failure(tu_node(g, XF_OP_ROI_ALIGN, "float_index", 3, (int32_t[]){x, rois, fidx}));
    n = tu_node(g, XF_OP_ROI_ALIGN, "min_mode", 3, (int32_t[]){x, rois, idx});
    tu_set_str(g, n, "mode", "min");
    expect_failure(n);
    n = tu_node(g, XF_OP_ROI_ALIGN, "bad_ctm", 3, (int32_t[]){x, rois, idx});
    tu_set_str(g, n, "coordinate_transformation_mode", "asymmetric");
    expect_failure(n);
    n = tu_node(g, XF_OP_ROI_ALIGN, "zero_height", 3, (int32_t[]){x, rois, idx});
    tu_set_int(g, n, "output_height", 0);
    expect_failure(n);
    expect_failure(tu_node(g, XF_OP_ROI_ALIGN, "no_indices", 2, (int32_t[]){x, rois}));
}
END_TEST

/* ---- CenterCropPad ---- */

/* x = 0..11 as [4, 3]. To [2, 5]: rows lose (4 - 2) / 2 = 1 at the start, columns gain
 * (5 - 3) / 2 = 1 zero each side. Along the last axis only, to 1: the middle column. */
START_TEST(test_center_crop_pad_values) {
    float seq[12];
    for (int i = 0; i < 12; i++) seq[i] = (float)i;
    int32_t x = tu_f32_const(g, "x", 2, SHAPE(4, 3), seq);
    int32_t n = tu_node(g, XF_OP_CENTER_CROP_PAD, "both", 2, (int32_t[]){x, tu_i64(g, "to", 2, SHAPE(2, 5))});
    const float *y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 5);
    check_values(y, (const float[]){0, 3, 4, 5, 0, 0, 6, 7, 8, 0}, 10, "both");
    n = tu_node(g, XF_OP_CENTER_CROP_PAD, "last_axis", 2, (int32_t[]){x, tu_i64(g, "one", 1, SHAPE(1))});
    TU_SET_INTS(g, n, "axes", -1);
    y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 1);
    check_values(y, (const float[]){1, 4, 7, 10}, 4, "last_axis");
    /* an odd pad puts the extra zero at the end: 3 -> 6 is 1 before, 2 after */
    n = tu_node(g, XF_OP_CENTER_CROP_PAD, "odd_pad", 2, (int32_t[]){x, tu_i64(g, "six", 1, SHAPE(6))});
    TU_SET_INTS(g, n, "axes", 1);
    y = eval_f32(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 4, 6);
    check_values(y, (const float[]){0, 0, 1, 2, 0, 0}, 6, "odd_pad");
}
END_TEST

START_TEST(test_center_crop_pad_refused) {
    int32_t x = f32("x", 3, SHAPE(4, 3, 2));
    expect_failure(tu_node(g, XF_OP_CENTER_CROP_PAD, "too_few", 2, (int32_t[]){x, tu_i64(g, "two", 2, SHAPE(2, 2))}));
    int32_t n = tu_node(g, XF_OP_CENTER_CROP_PAD, "twice", 2, (int32_t[]){x, tu_i64(g, "pair", 2, SHAPE(2, 2))});
    TU_SET_INTS(g, n, "axes", 0, -3);
    expect_failure(n);
    n = tu_node(g, XF_OP_CENTER_CROP_PAD, "bad_axis", 2, (int32_t[]){x, tu_i64(g, "single", 1, SHAPE(2))});
    TU_SET_INTS(g, n, "axes", 3);
    expect_failure(n);
    expect_failure(tu_node(g, XF_OP_CENTER_CROP_PAD, "negative", 2, (int32_t[]){x, tu_i64(g, "neg", 3, SHAPE(2, -1, 2))}));
    int32_t dyn = tu_input(g, "shape_in", XF_I64, 1, SHAPE(3));
    const char *msg = expect_failure(tu_node(g, XF_OP_CENTER_CROP_PAD, "unknown", 2, (int32_t[]){x, dyn}));
    ck_assert_msg(strstr(msg, "--bind shape_in="), "no --bind hint: %s", msg);
}
END_TEST

/* ---- ReverseSequence ---- */

/* x [time 3, batch 2] = [[0, 1], [2, 3], [4, 5]]: sequence 0 (length 3) reversed whole, sequence 1
 * (length 1) unchanged. With batch_axis 0 the same data reads as [batch 3, time 2]. */
START_TEST(test_reverse_sequence_values) {
    int32_t x = tu_f32_const(g, "x", 2, SHAPE(3, 2), (const float[]){0, 1, 2, 3, 4, 5});
    int32_t n = tu_node(g, XF_OP_REVERSE_SEQUENCE, "time_major", 2, (int32_t[]){x, tu_i64(g, "lens", 2, SHAPE(3, 1))});
    const float *y = eval_f32(n);
    check_values(y, (const float[]){4, 1, 2, 3, 0, 5}, 6, "time_major");
    n = tu_node(g, XF_OP_REVERSE_SEQUENCE, "batch_major", 2, (int32_t[]){x, tu_i64(g, "lens3", 3, SHAPE(2, 0, 1))});
    tu_set_int(g, n, "batch_axis", 0);
    tu_set_int(g, n, "time_axis", 1);
    y = eval_f32(n);
    check_values(y, (const float[]){1, 0, 2, 3, 4, 5}, 6, "batch_major");
    /* a length longer than the time axis is caught */
    eval_fails(tu_node(g, XF_OP_REVERSE_SEQUENCE, "too_long", 2, (int32_t[]){x, tu_i64(g, "long", 2, SHAPE(4, 1))}));
}
END_TEST

START_TEST(test_reverse_sequence_refused) {
    int32_t x = f32("x", 3, SHAPE(3, 2, 4));
    int32_t lens = tu_input(g, "lens", XF_I64, 1, SHAPE(2));
    int32_t n = tu_node(g, XF_OP_REVERSE_SEQUENCE, "ok", 2, (int32_t[]){x, lens});
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 3, 2, 4);
    n = tu_node(g, XF_OP_REVERSE_SEQUENCE, "same_axes", 2, (int32_t[]){x, lens});
    tu_set_int(g, n, "batch_axis", 0);
    expect_failure(n);
    n = tu_node(g, XF_OP_REVERSE_SEQUENCE, "axis_two", 2, (int32_t[]){x, lens});
    tu_set_int(g, n, "batch_axis", 2);
    expect_failure(n);
    int32_t lens32 = tu_input(g, "lens32", XF_I32, 1, SHAPE(2));
    expect_failure(tu_node(g, XF_OP_REVERSE_SEQUENCE, "int32_lens", 2, (int32_t[]){x, lens32}));
    int32_t lens3 = tu_input(g, "lens3", XF_I64, 1, SHAPE(3));
    expect_failure(tu_node(g, XF_OP_REVERSE_SEQUENCE, "lens_count", 2, (int32_t[]){x, lens3}));
    int32_t v = f32("v", 1, SHAPE(3));
    expect_failure(tu_node(g, XF_OP_REVERSE_SEQUENCE, "rank_one", 2, (int32_t[]){v, lens}));
}
END_TEST

static Suite *image_suite(void) {
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_grid_sample_shapes);
    tcase_add_test(tc, test_grid_sample_refused);
    tcase_add_test(tc, test_grid_sample_values);
    tcase_add_test(tc, test_grid_sample_cost);
    tcase_add_test(tc, test_grid_sample_wild_coordinates);
    tcase_add_test(tc, test_affine_grid_values);
    tcase_add_test(tc, test_affine_grid_refused);
    tcase_add_test(tc, test_col2im_values);
    tcase_add_test(tc, test_col2im_refused);
    tcase_add_test(tc, test_roi_align_values);
    tcase_add_test(tc, test_roi_align_refused);
    tcase_add_test(tc, test_center_crop_pad_values);
    tcase_add_test(tc, test_center_crop_pad_refused);
    tcase_add_test(tc, test_reverse_sequence_values);
    tcase_add_test(tc, test_reverse_sequence_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(image_suite()); }
