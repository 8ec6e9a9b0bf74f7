/* test_nn.c — unit tests of the convolutional-network ops (ir/ops_nn.c): the output sizes of
 * pooling with ceil_mode and auto_pad, of ConvTranspose with output_shape and pads, of Resize from
 * scales, sizes, axes and keep_aspect_ratio_policy, of DepthToSpace / SpaceToDepth and MaxUnpool;
 * a few values computed at compile time (average pooling's divisor, MaxPool's Indices, a
 * transposed convolution, nearest resizing); and the inputs each must refuse. Every expected
 * number was worked out by hand from the ONNX operator spec. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) {
    g = xf_graph_new("nn.onnx");
    g->opset = 19;
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

/* ---- pooling ---- */

START_TEST(test_pool_sizes) {
    int32_t x = f32("x", 4, SHAPE(1, 3, 32, 32));
    int32_t n = tu_node(g, XF_OP_MAX_POOL, "plain", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 5, 5);
    TU_SET_INTS(g, n, "strides", 3, 3);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 3, 10, 10); /* floor((32 - 5) / 3) + 1 */

    /* SAME: out = ceil(in / stride), whatever the kernel */
    n = tu_node(g, XF_OP_AVERAGE_POOL, "same", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 3, 2);
    TU_SET_INTS(g, n, "strides", 2, 5);
    tu_set_str(g, n, "auto_pad", "SAME_LOWER");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 3, 16, 7);

    /* ceil_mode rounds up, but a window starting past the end padding is dropped: in 2, kernel 1,
     * stride 2 gives ceil(1/2) + 1 = 2 windows, the second starting at 2, outside */
    int32_t small = f32("small", 4, SHAPE(1, 1, 2, 5));
    n = tu_node(g, XF_OP_MAX_POOL, "ceil", 1, &small);
    TU_SET_INTS(g, n, "kernel_shape", 1, 2);
    TU_SET_INTS(g, n, "strides", 2, 2);
    tu_set_int(g, n, "ceil_mode", 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 1, 3); /* width: ceil(3/2) + 1 = 3, starts 0 2 4 */

    /* dilations widen the window: extent (3-1)*2+1 = 5; 1-D and 3-D work alike */
    int32_t x3 = f32("x3", 5, SHAPE(2, 1, 9, 8, 7)), x1 = f32("x1", 3, SHAPE(1, 2, 9));
    n = tu_node(g, XF_OP_LP_POOL, "dilated3d", 1, &x3);
    TU_SET_INTS(g, n, "kernel_shape", 3, 3, 3);
    TU_SET_INTS(g, n, "dilations", 2, 2, 2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 1, 5, 4, 3);
    n = tu_node(g, XF_OP_MAX_POOL, "padded1d", 1, &x1);
    TU_SET_INTS(g, n, "kernel_shape", 3);
    TU_SET_INTS(g, n, "pads", 2, 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 10);

    /* global pools keep N and C */
    n = tu_node(g, XF_OP_GLOBAL_MAX_POOL, "global", 1, &x3);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 1, 1, 1, 1);
}
END_TEST

START_TEST(test_pool_refused) {
    int32_t x = f32("x", 4, SHAPE(1, 1, 4, 4)), v = f32("v", 2, SHAPE(4, 4));
    int32_t n = tu_node(g, XF_OP_MAX_POOL, "no_kernel", 1, &x);
    expect_failure(n);
    n = tu_node(g, XF_OP_MAX_POOL, "short_kernel", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 2);
    expect_failure(n);
    n = tu_node(g, XF_OP_AVERAGE_POOL, "too_big", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 5, 5);
    expect_failure(n);
    n = tu_node(g, XF_OP_AVERAGE_POOL, "zero_stride", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 2, 2);
    TU_SET_INTS(g, n, "strides", 0, 1);
    expect_failure(n);
    n = tu_node(g, XF_OP_AVERAGE_POOL, "no_channels", 1, &v);
    TU_SET_INTS(g, n, "kernel_shape", 2);
    expect_failure(n);
    n = tu_node(g, XF_OP_AVERAGE_POOL, "bad_auto_pad", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 2, 2);
    tu_set_str(g, n, "auto_pad", "SAME");
    expect_failure(n);
}
END_TEST

/* AveragePool's divisor with and without count_include_pad, on a 1x3 row padded by 1 each side:
 * windows of 2 see [pad,1] [1,2] [2,3] [3,pad]. */
START_TEST(test_avg_pool_divisor) {
    int32_t x = tu_f32_const(g, "x", 3, SHAPE(1, 1, 3), (const float[]){1, 2, 3});
    for (int include = 0; include <= 1; include++) {
        int32_t n = tu_node(g, XF_OP_AVERAGE_POOL, include ? "include" : "exclude", 1, &x);
        TU_SET_INTS(g, n, "kernel_shape", 2);
        TU_SET_INTS(g, n, "pads", 1, 1);
        tu_set_int(g, n, "count_include_pad", include);
        tu_infer_ok(g, n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 4);
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
        const float *y = g->values[tu_out(g, n)].data;
        const float want[2][4] = {{1.0f, 1.5f, 2.5f, 3.0f}, {0.5f, 1.5f, 2.5f, 1.5f}};
        for (int i = 0; i < 4; i++) ck_assert_float_eq_tol(y[i], want[include][i], 1e-6f);
    }
}
END_TEST

/* MaxPool's optional second output holds int64 offsets of the maxima in x, row major or (with
 * storage_order 1) with the spatial dims column major. */
START_TEST(test_max_pool_indices) {
    const float data[] = {1, 9, 2, 3, /**/ 4, 5, 6, 8};
    int32_t x = tu_f32_const(g, "x", 4, SHAPE(1, 1, 2, 4), data);
    for (int order = 0; order <= 1; order++) {
        int32_t outs[2] = {tu_fresh(g, order ? "y1" : "y0"), tu_fresh(g, order ? "i1" : "i0")};
        int32_t n = xf_node_add(g, XF_OP_MAX_POOL, order ? "cols" : "rows", 1, &x, 2, outs);
        TU_SET_INTS(g, n, "kernel_shape", 2, 2);
        TU_SET_INTS(g, n, "strides", 2, 2);
        tu_set_int(g, n, "storage_order", order);
        tu_infer_ok(g, n);
        CHECK_SHAPE(g, outs[0], XF_F32, 1, 1, 1, 2);
        CHECK_SHAPE(g, outs[1], XF_I64, 1, 1, 1, 2);
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
        const float *y = g->values[outs[0]].data;
        const int64_t *idx = g->values[outs[1]].data;
        ck_assert_float_eq(y[0], 9.0f);
        ck_assert_float_eq(y[1], 8.0f);
        /* 9 is at (0,1), 8 at (1,3): row major 1 and 7, column major 0+2*1 = 2 and 1+2*3 = 7 */
        ck_assert_int_eq(idx[0], order ? 2 : 1);
        ck_assert_int_eq(idx[1], 7);
    }
}
END_TEST

/* MaxPool compares in the element type itself, in one kernel for float32, float64 and the integer
 * types: 2^53 + 1 beside 2^53 (one number as a double) and the byte 200 (-56 as int8) come out
 * exact and with the right sign. Each case pools rows of two, so the maxima are of {a, b} and
 * {c, d}. */
START_TEST(test_max_pool_types) {
    const int64_t big = (int64_t)1 << 53;
    const int64_t i64[4] = {big, big + 1, -5, 7};
    const double f64[4] = {0.5, -1.0, 1e300, 2.0};
    const uint8_t bytes[4] = {200, 1, 0, 255};
    const float f32v[4] = {-3.0f, -2.0f, 4.0f, 4.0f};
    struct {
        int32_t dtype;
        const void *data;
        int64_t want[2]; /* the maxima, as integers */
        double want_f[2];
    } cases[] = {{XF_I64, i64, {big + 1, 7}, {0, 0}}, {XF_F64, f64, {0, 0}, {0.5, 1e300}},
                 {XF_U8, bytes, {200, 255}, {0, 0}},  {XF_I8, bytes, {1, 0}, {0, 0}},
                 {XF_F32, f32v, {0, 0}, {-2.0, 4.0}}};
    for (int k = 0; k < 5; k++) {
        char name[32];
        snprintf(name, sizeof name, "x_%s", xf_dtype_name(cases[k].dtype));
        int32_t x = xf_const_add(g, name, cases[k].dtype, 4, SHAPE(1, 1, 2, 2), cases[k].data);
        int32_t outs[2] = {tu_fresh(g, xf_sprintf(g->arena, "y%d", k)), tu_fresh(g, xf_sprintf(g->arena, "i%d", k))};
        int32_t n = xf_node_add(g, XF_OP_MAX_POOL, xf_sprintf(g->arena, "pool%d", k), 1, &x, 2, outs);
        TU_SET_INTS(g, n, "kernel_shape", 1, 2);
        tu_infer_ok(g, n);
        CHECK_SHAPE(g, outs[0], cases[k].dtype, 1, 1, 2, 1);
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
        const xf_value *y = &g->values[outs[0]];
        const int64_t *idx = g->values[outs[1]].data;
        for (int i = 0; i < 2; i++) {
            if (xf_dtype_is_float(cases[k].dtype))
                ck_assert_msg(xf_const_f64(y, i) == cases[k].want_f[i], "%s: y[%d] = %g", name, i, xf_const_f64(y, i));
            else
                ck_assert_msg(xf_const_i64(y, i) == cases[k].want[i], "%s: y[%d] = %lld", name, i,
                              (long long)xf_const_i64(y, i));
        }
        if (cases[k].dtype == XF_I64) ck_assert_int_eq(idx[0], 1); /* big + 1 is the second element */
        if (cases[k].dtype == XF_F32) ck_assert_int_eq(idx[1], 2); /* the first of two equal maxima */
    }
}
END_TEST

/* Lowers node n into calls, which must succeed (count returned) or fail (-1, message in d). */
static int lower(int32_t n, xf_call *calls, int max, xf_diag *d) {
    xf_calls out = {.g = g, .at = calls, .max = max};
    return xf_lower_node(g, n, &out, d) ? out.count : -1;
}

/* Element types the one MaxPool kernel does not have are refused when lowering, with the node
 * named; int4 was once taken for an 8-byte type and read past the input. */
START_TEST(test_max_pool_types_refused) {
    const int32_t types[3] = {XF_I4, XF_F16, XF_BOOL};
    for (int k = 0; k < 3; k++) {
        int32_t x = tu_input(g, xf_sprintf(g->arena, "x%d", k), types[k], 4, SHAPE(1, 1, 2, 2));
        int32_t n = tu_node(g, XF_OP_MAX_POOL, xf_sprintf(g->arena, "pool%d", k), 1, &x);
        TU_SET_INTS(g, n, "kernel_shape", 2, 2);
        tu_infer_ok(g, n);
        xf_call calls[4];
        xf_diag d = {0};
        ck_assert_int_eq(lower(n, calls, 4, &d), -1);
        ck_assert_msg(strstr(d.msg, xf_dtype_name(types[k])) && strstr(d.msg, g->nodes[n].name), "%s", d.msg);
    }
}
END_TEST

/* xfc report's figures come from the kernel table's flops expressions: MaxPool compares once per
 * tap, AveragePool adds once per tap and divides once per output, ConvTranspose does a
 * multiply-add per input element, output channel of its group and tap. */
START_TEST(test_nn_costs) {
    int32_t x = f32("x", 4, SHAPE(1, 2, 4, 4)); /* 2 planes */
    xf_call calls[4];
    xf_diag d = {0};
    int32_t n = tu_node(g, XF_OP_MAX_POOL, "max", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 2, 3);
    tu_infer_ok(g, n); /* 3x2 outputs a plane */
    ck_assert_int_eq(lower(n, calls, 4, &d), 1);
    ck_assert_int_eq(xf_call_cost(g, &calls[0]).flops, 2 * 3 * 2 * 6);
    n = tu_node(g, XF_OP_AVERAGE_POOL, "avg", 1, &x);
    TU_SET_INTS(g, n, "kernel_shape", 2, 3);
    tu_infer_ok(g, n);
    ck_assert_int_eq(lower(n, calls, 4, &d), 1);
    ck_assert_int_eq(xf_call_cost(g, &calls[0]).flops, 2 * 3 * 2 * (6 + 1));
    int32_t w = f32("w", 4, SHAPE(2, 3, 2, 2)); /* 2 in, 3 out channels, 2x2 taps */
    n = tu_node(g, XF_OP_CONV_TRANSPOSE, "deconv", 2, (int32_t[]){x, w});
    tu_infer_ok(g, n);
    ck_assert_int_eq(lower(n, calls, 4, &d), 1);
    ck_assert_int_eq(xf_call_cost(g, &calls[0]).flops, 2 * 2 * 3 * 16 * 4);
}
END_TEST

/* ---- ConvTranspose ---- */

START_TEST(test_conv_transpose_sizes) {
    int32_t x = f32("x", 4, SHAPE(1, 1, 3, 3)), w = f32("w", 4, SHAPE(1, 2, 3, 3));
    int32_t xw[2] = {x, w};
    int32_t n = tu_node(g, XF_OP_CONV_TRANSPOSE, "plain", 2, xw);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 5, 5); /* (3-1)*1 + 3 */

    /* full size s*(in-1) + output_padding + k, less the pads */
    n = tu_node(g, XF_OP_CONV_TRANSPOSE, "strided", 2, xw);
    TU_SET_INTS(g, n, "strides", 3, 2);
    TU_SET_INTS(g, n, "output_padding", 1, 1);
    TU_SET_INTS(g, n, "pads", 1, 2, 1, 2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 8, 4); /* 10 - 2, 8 - 4 */

    /* output_shape larger than the full size (9 and 7): the extra goes at the end */
    n = tu_node(g, XF_OP_CONV_TRANSPOSE, "output_shape", 2, xw);
    TU_SET_INTS(g, n, "strides", 3, 2);
    TU_SET_INTS(g, n, "output_shape", 10, 8);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 10, 8);

    /* SAME asks for in * stride */
    n = tu_node(g, XF_OP_CONV_TRANSPOSE, "same", 2, xw);
    TU_SET_INTS(g, n, "strides", 2, 2);
    tu_set_str(g, n, "auto_pad", "SAME_UPPER");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 6, 6);

    /* groups: W is [C_in, C_out/group, ...] */
    int32_t x4 = f32("x4", 3, SHAPE(2, 4, 5)), w4 = f32("w4", 3, SHAPE(4, 3, 2));
    n = tu_node(g, XF_OP_CONV_TRANSPOSE, "grouped", 2, (int32_t[]){x4, w4});
    tu_set_int(g, n, "group", 2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 6, 6);
    n = tu_node(g, XF_OP_CONV_TRANSPOSE, "bad_group", 2, (int32_t[]){x4, w4});
    tu_set_int(g, n, "group", 3);
    expect_failure(n);
    n = tu_node(g, XF_OP_CONV_TRANSPOSE, "bad_weights", 2, (int32_t[]){x4, w});
    expect_failure(n);
}
END_TEST

/* Output size 10 from a full size of 9 (x of 3, stride 3, k 3): the pads are 0 and -1, so the last
 * row holds only the bias; the other rows scatter x * w. */
START_TEST(test_conv_transpose_values) {
    int32_t x = tu_f32_const(g, "x", 3, SHAPE(1, 1, 3), (const float[]){1, 2, 3});
    int32_t w = tu_f32_const(g, "w", 3, SHAPE(1, 1, 3), (const float[]){1, 10, 100});
    int32_t b = tu_f32_const(g, "b", 1, SHAPE(1), (const float[]){0.5f});
    int32_t n = tu_node(g, XF_OP_CONV_TRANSPOSE, "deconv", 3, (int32_t[]){x, w, b});
    TU_SET_INTS(g, n, "strides", 3);
    TU_SET_INTS(g, n, "output_shape", 10);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 10);
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
    const float *y = g->values[tu_out(g, n)].data;
    const float want[] = {1.5f, 10.5f, 100.5f, 2.5f, 20.5f, 200.5f, 3.5f, 30.5f, 300.5f, 0.5f};
    for (int i = 0; i < 10; i++) ck_assert_float_eq_tol(y[i], want[i], 1e-5f);
}
END_TEST

/* ---- normalisation ---- */

START_TEST(test_norm_shapes) {
    int32_t x = f32("x", 4, SHAPE(2, 6, 3, 3)), c6 = f32("c6", 1, SHAPE(6)), c3 = f32("c3", 1, SHAPE(3));
    int32_t outs[3] = {tu_fresh(g, "y"), tu_fresh(g, "run_mean"), tu_fresh(g, "run_var")};
    int32_t n = xf_node_add(g, XF_OP_BATCH_NORM, "bn_train", 5, (int32_t[]){x, c6, c6, c6, c6}, 3, outs);
    tu_set_int(g, n, "training_mode", 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, outs[0], XF_F32, 2, 6, 3, 3);
    CHECK_SHAPE(g, outs[1], XF_F32, 6);
    /* extra outputs without training_mode are refused, not ignored */
    int32_t outs2[2] = {tu_fresh(g, "y2"), tu_fresh(g, "mean2")};
    n = xf_node_add(g, XF_OP_BATCH_NORM, "bn_outputs", 5, (int32_t[]){x, c6, c6, c6, c6}, 2, outs2);
    expect_failure(n);
    n = tu_node(g, XF_OP_BATCH_NORM, "bn_short", 5, (int32_t[]){x, c3, c6, c6, c6});
    expect_failure(n);

    n = tu_node(g, XF_OP_GROUP_NORM, "gn", 3, (int32_t[]){x, c6, c6});
    tu_set_int(g, n, "num_groups", 3);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 6, 3, 3);
    /* opset 18's one scale per group is accepted */
    n = tu_node(g, XF_OP_GROUP_NORM, "gn_per_group", 3, (int32_t[]){x, c3, c3});
    tu_set_int(g, n, "num_groups", 3);
    tu_infer_ok(g, n);
    n = tu_node(g, XF_OP_GROUP_NORM, "gn_indivisible", 3, (int32_t[]){x, c6, c6});
    tu_set_int(g, n, "num_groups", 4);
    expect_failure(n);
    n = tu_node(g, XF_OP_INSTANCE_NORM, "in_wrong_scale", 3, (int32_t[]){x, c3, c3});
    expect_failure(n);
}
END_TEST

/* ---- DepthToSpace, SpaceToDepth, MaxUnpool ---- */

START_TEST(test_rearrange_shapes) {
    int32_t x = f32("x", 4, SHAPE(1, 8, 2, 3));
    int32_t n = tu_node(g, XF_OP_DEPTH_TO_SPACE, "d2s", 1, &x);
    tu_set_int(g, n, "blocksize", 2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 2, 4, 6);
    n = tu_node(g, XF_OP_DEPTH_TO_SPACE, "d2s_indivisible", 1, &x);
    tu_set_int(g, n, "blocksize", 3);
    expect_failure(n);
    n = tu_node(g, XF_OP_SPACE_TO_DEPTH, "s2d", 1, &x);
    tu_set_int(g, n, "blocksize", 2);
    expect_failure(n); /* width 3 does not split into 2s */
    int32_t z = f32("z", 4, SHAPE(1, 1, 4, 6));
    n = tu_node(g, XF_OP_SPACE_TO_DEPTH, "s2d_ok", 1, &z);
    tu_set_int(g, n, "blocksize", 2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 4, 2, 3);

    /* MaxUnpool inverts the pool's size: (2-1)*2 + 2 */
    int32_t v = f32("v", 4, SHAPE(1, 1, 2, 2)), idx = tu_input(g, "idx", XF_I64, 4, SHAPE(1, 1, 2, 2));
    n = tu_node(g, XF_OP_MAX_UNPOOL, "unpool", 2, (int32_t[]){v, idx});
    TU_SET_INTS(g, n, "kernel_shape", 2, 2);
    TU_SET_INTS(g, n, "strides", 2, 2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 4, 4);
    int32_t small = tu_i64(g, "small", 4, SHAPE(1, 1, 3, 5));
    n = tu_node(g, XF_OP_MAX_UNPOOL, "unpool_small", 3, (int32_t[]){v, idx, small});
    TU_SET_INTS(g, n, "kernel_shape", 2, 2);
    TU_SET_INTS(g, n, "strides", 2, 2);
    expect_failure(n); /* an output_shape smaller than the unpooled data */
}
END_TEST

/* ---- Resize ---- */

static int32_t resize(const char *name, int32_t x, int32_t scales, int32_t sizes) {
    return tu_node(g, XF_OP_RESIZE, name, 4, (int32_t[]){x, -1, scales, sizes});
}

START_TEST(test_resize_sizes) {
    int32_t x = f32("x", 4, SHAPE(1, 1, 2, 4));
    /* scales: out = floor(in * scale) */
    int32_t s = tu_f32_const(g, "s", 1, SHAPE(4), (const float[]){1, 1, 0.6f, 2.9f});
    int32_t n = resize("scales", x, s, -1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 1, 11);

    /* sizes for the listed axes only, in their order */
    int32_t sz = tu_i64(g, "sz", 2, SHAPE(7, 3));
    n = resize("axes", x, -1, sz);
    TU_SET_INTS(g, n, "axes", 3, -2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 3, 7);

    /* keep_aspect_ratio_policy: one scale for both axes, min(7/2, 8/4) = 2 or max = 3.5; sizes are
     * then rounded half up */
    int32_t sz2 = tu_i64(g, "sz2", 2, SHAPE(7, 8));
    n = resize("not_larger", x, -1, sz2);
    TU_SET_INTS(g, n, "axes", 2, 3);
    tu_set_str(g, n, "keep_aspect_ratio_policy", "not_larger");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 4, 8);
    n = resize("not_smaller", x, -1, sz2);
    TU_SET_INTS(g, n, "axes", 2, 3);
    tu_set_str(g, n, "keep_aspect_ratio_policy", "not_smaller");
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 7, 14);

    /* refused: both scales and sizes, neither, a count that does not match, scales only known
     * at run time (the message points at --bind) */
    int32_t full = tu_i64(g, "full", 4, SHAPE(1, 1, 4, 4));
    expect_failure(resize("both", x, s, full));
    expect_failure(resize("neither", x, -1, -1));
    expect_failure(resize("short_sizes", x, -1, sz));
    int32_t dyn = f32("dyn", 1, SHAPE(4));
    const char *msg = expect_failure(resize("dynamic", x, dyn, -1));
    ck_assert_msg(strstr(msg, "--bind dyn="), "no --bind hint: %s", msg);
    n = resize("bad_mode", x, s, -1);
    tu_set_str(g, n, "mode", "bicubic");
    expect_failure(n);
}
END_TEST

/* Nearest resizing picks its sources at compile time: half_pixel with scale 3 maps outputs 0..5 to
 * (o + 0.5) / 3 - 0.5 = -1/3, 0, 1/3, 2/3, 1, 4/3, which round_prefer_floor takes to 0 0 0 1 1 1;
 * asymmetric with floor takes o / 3 to 0 0 0 1 1 1 as well, and with ceil to 0 1 1 1 1 1. */
START_TEST(test_resize_nearest_values) {
    int32_t x = tu_f32_const(g, "x", 1, SHAPE(2), (const float[]){10, 20});
    int32_t s = tu_f32_const(g, "s", 1, SHAPE(1), (const float[]){3});
    const char *modes[3][2] = {{"half_pixel", "round_prefer_floor"}, {"asymmetric", "floor"}, {"asymmetric", "ceil"}};
    const float want[3][6] = {{10, 10, 10, 20, 20, 20}, {10, 10, 10, 20, 20, 20}, {10, 20, 20, 20, 20, 20}};
    for (int m = 0; m < 3; m++) {
        int32_t n = resize(modes[m][1], x, s, -1);
        tu_set_str(g, n, "coordinate_transformation_mode", modes[m][0]);
        tu_set_str(g, n, "nearest_mode", modes[m][1]);
        tu_infer_ok(g, n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F32, 6);
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
        const float *y = g->values[tu_out(g, n)].data;
        for (int i = 0; i < 6; i++) ck_assert_msg(y[i] == want[m][i], "%s: y[%d] = %g", modes[m][1], i, (double)y[i]);
    }
}
END_TEST

/* nearest_mode "simple" (Resize-10's and Upsample's rounding, which the frontend gives Resize-10
 * nodes) rounds down when enlarging and up when shrinking: scale 0.6 on 5 values samples
 * asymmetric coordinates 0, 1.67, 3.33, taken to 0 2 4 (floor would give 0 1 3); scale 3 on 2
 * values samples 0, 1/3, 2/3, 1, 4/3, 5/3, taken to 0 0 0 1 1 1. Upsample agrees. */
START_TEST(test_resize_simple_rounding) {
    int32_t x5 = tu_f32_const(g, "x5", 1, SHAPE(5), (const float[]){10, 20, 30, 40, 50});
    int32_t x2 = tu_f32_const(g, "x2", 1, SHAPE(2), (const float[]){10, 20});
    int32_t shrink = tu_f32_const(g, "shrink", 1, SHAPE(1), (const float[]){0.6f});
    int32_t grow = tu_f32_const(g, "grow", 1, SHAPE(1), (const float[]){3});
    const float want_shrink[3] = {10, 30, 50}, want_grow[6] = {10, 10, 10, 20, 20, 20};
    for (int k = 0; k < 4; k++) {
        bool upsample = k >= 2, shrinking = k % 2 == 0;
        int32_t x = shrinking ? x5 : x2, s = shrinking ? shrink : grow;
        const char *name = xf_sprintf(g->arena, "%s_%s", upsample ? "upsample" : "resize", shrinking ? "shrink" : "grow");
        int32_t n = upsample ? tu_node(g, XF_OP_UPSAMPLE, name, 2, (int32_t[]){x, s}) : resize(name, x, s, -1);
        if (!upsample) {
            tu_set_str(g, n, "coordinate_transformation_mode", "asymmetric");
            tu_set_str(g, n, "nearest_mode", "simple");
        }
        tu_infer_ok(g, n);
        xf_diag d = {0};
        ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
        const float *y = g->values[tu_out(g, n)].data, *want = shrinking ? want_shrink : want_grow;
        for (int i = 0; i < (shrinking ? 3 : 6); i++)
            ck_assert_msg(y[i] == want[i], "%s: y[%d] = %g", name, i, (double)y[i]);
    }
}
END_TEST

/* ---- DeformConv ---- */

/* X 0..8 as 3x3, W a 2x2 of ones, bias 1, so each output is 1 + its four taps. Tap (0,0) of output
 * (0,0) moves down half a row (between 0 and 3: 1.5); tap (0,1) of (0,1) has a NaN offset and tap
 * (1,0) of (1,0) one of 1e30: both read nothing; the mask scales tap (1,1) of (1,1) (8) by 0.2. */
START_TEST(test_deform_conv_values) {
    float x[9], w[4] = {1, 1, 1, 1}, offset[32] = {0}, mask[16];
    for (int i = 0; i < 9; i++) x[i] = (float)i;
    for (int i = 0; i < 16; i++) mask[i] = 1.0f;
    offset[0] = 0.5f;       /* channel 0 (tap 0, dy), output (0,0) */
    offset[2 * 4 + 1] = NAN; /* channel 2 (tap 1, dy), output (0,1) */
    offset[5 * 4 + 2] = 1e30f; /* channel 5 (tap 2, dx), output (1,0) */
    mask[3 * 4 + 3] = 0.2f; /* tap 3, output (1,1) */
    int32_t in[5] = {tu_f32_const(g, "x", 4, SHAPE(1, 1, 3, 3), x), tu_f32_const(g, "w", 4, SHAPE(1, 1, 2, 2), w),
                     tu_f32_const(g, "off", 4, SHAPE(1, 8, 2, 2), offset), tu_f32_const(g, "b", 1, SHAPE(1), (const float[]){1}),
                     tu_f32_const(g, "mask", 4, SHAPE(1, 4, 2, 2), mask)};
    int32_t n = tu_node(g, XF_OP_DEFORM_CONV, "deform", 5, in);
    TU_SET_INTS(g, n, "kernel_shape", 2, 2);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 2, 2);
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
    const float *y = g->values[tu_out(g, n)].data;
    const float want[] = {10.5f, 11.0f, 15.0f, 18.6f};
    for (int i = 0; i < 4; i++) ck_assert_float_eq_tol(y[i], want[i], 1e-5f);

    /* zero offsets without mask or bias are a plain convolution, padding included */
    int32_t zeros = tu_f32_const(g, "zeros", 4, SHAPE(1, 8, 4, 4), (const float[128]){0});
    n = tu_node(g, XF_OP_DEFORM_CONV, "deform_pad", 3, (int32_t[]){in[0], in[1], zeros});
    TU_SET_INTS(g, n, "pads", 1, 1, 1, 1);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 1, 1, 4, 4);
    ck_assert_msg(xf_eval_node(g, n, &d), "%s", d.msg);
    y = g->values[tu_out(g, n)].data;
    const float plain[] = {0, 1, 3, 2, 3, 8, 12, 7, 9, 20, 24, 13, 6, 13, 15, 8};
    for (int i = 0; i < 16; i++) ck_assert_float_eq_tol(y[i], plain[i], 1e-5f);
}
END_TEST

START_TEST(test_deform_conv_refused) {
    int32_t x = f32("x", 4, SHAPE(1, 2, 3, 3)), w = f32("w", 4, SHAPE(4, 2, 2, 2));
    int32_t n = tu_node(g, XF_OP_DEFORM_CONV, "short_offset", 3, (int32_t[]){x, w, f32("o6", 4, SHAPE(1, 6, 2, 2))});
    ck_assert_ptr_nonnull(strstr(expect_failure(n), "offset of shape [1,6,2,2] should be [1,8,2,2]"));

    int32_t off = f32("off", 4, SHAPE(1, 8, 2, 2));
    n = tu_node(g, XF_OP_DEFORM_CONV, "bad_mask", 5, (int32_t[]){x, w, off, -1, f32("m", 4, SHAPE(1, 4, 3, 2))});
    ck_assert_ptr_nonnull(strstr(expect_failure(n), "mask"));

    n = tu_node(g, XF_OP_DEFORM_CONV, "offset_groups", 3, (int32_t[]){x, w, off});
    tu_set_int(g, n, "offset_group", 3);
    ck_assert_ptr_nonnull(strstr(expect_failure(n), "offset_group 3"));

    int32_t x1 = f32("x1", 3, SHAPE(1, 2, 3)), w1 = f32("w1", 3, SHAPE(4, 2, 2));
    n = tu_node(g, XF_OP_DEFORM_CONV, "one_d", 3, (int32_t[]){x1, w1, f32("o1", 3, SHAPE(1, 4, 2))});
    ck_assert_ptr_nonnull(strstr(expect_failure(n), "2-D"));

    n = tu_node(g, XF_OP_DEFORM_CONV, "no_offset", 2, (int32_t[]){x, w});
    ck_assert_ptr_nonnull(strstr(expect_failure(n), "offset"));

    int32_t od = tu_input(g, "od", XF_F64, 4, SHAPE(1, 8, 2, 2));
    n = tu_node(g, XF_OP_DEFORM_CONV, "mixed", 3, (int32_t[]){x, w, od});
    ck_assert_ptr_nonnull(strstr(expect_failure(n), "types differ"));
}
END_TEST

static Suite *nn_suite(void) {
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pool_sizes);
    tcase_add_test(tc, test_pool_refused);
    tcase_add_test(tc, test_avg_pool_divisor);
    tcase_add_test(tc, test_max_pool_indices);
    tcase_add_test(tc, test_max_pool_types);
    tcase_add_test(tc, test_max_pool_types_refused);
    tcase_add_test(tc, test_nn_costs);
    tcase_add_test(tc, test_conv_transpose_sizes);
    tcase_add_test(tc, test_conv_transpose_values);
    tcase_add_test(tc, test_norm_shapes);
    tcase_add_test(tc, test_rearrange_shapes);
    tcase_add_test(tc, test_resize_sizes);
    tcase_add_test(tc, test_resize_nearest_values);
    tcase_add_test(tc, test_resize_simple_rounding);
    tcase_add_test(tc, test_deform_conv_values);
    tcase_add_test(tc, test_deform_conv_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(nn_suite()); }
