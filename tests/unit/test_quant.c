/* test_quant.c — unit tests of the quantization ops (ir/ops_quant.c, runtime/quant.c): rounding
 * ties to even and saturation in every integer type, per-tensor, per-axis and blocked scales (a
 * short last block included), DynamicQuantizeLinear's range, the integer products with per-row,
 * per-column and per-channel zero points and the requantization of their QLinear forms; the narrow
 * formats read and written directly (int4 / uint4 saturation and packing, float8 round trips,
 * float16 scales and outputs); and the inputs each must refuse with a diagnostic. The values are computed at compile time by the kernels
 * themselves (xf_eval_node); every expected number was worked out by hand from the ONNX spec. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "testutil.h"

static xf_graph *g;
static void setup(void) {
    g = xf_graph_new("quant.onnx");
    g->opset = 21;
}
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

/* A constant of any type; data holds its elements in that type. */
static int32_t konst(const char *name, int32_t dtype, int32_t rank, const int64_t *shape, const void *data) {
    return xf_const_add(g, name, dtype, rank, shape, data);
}
#define F32(name, shape, ...) konst(name, XF_F32, RANK_OF shape, SHAPE shape, (const float[]){__VA_ARGS__})
#define I8(name, shape, ...) konst(name, XF_I8, RANK_OF shape, SHAPE shape, (const int8_t[]){__VA_ARGS__})
#define U8(name, shape, ...) konst(name, XF_U8, RANK_OF shape, SHAPE shape, (const uint8_t[]){__VA_ARGS__})
#define I16(name, shape, ...) konst(name, XF_I16, RANK_OF shape, SHAPE shape, (const int16_t[]){__VA_ARGS__})
#define I32(name, shape, ...) konst(name, XF_I32, RANK_OF shape, SHAPE shape, (const int32_t[]){__VA_ARGS__})
/* rank-0 scalars */
static int32_t f32_scalar(const char *name, float v) { return konst(name, XF_F32, 0, NULL, &v); }
static int32_t u8_scalar(const char *name, uint8_t v) { return konst(name, XF_U8, 0, NULL, &v); }

/* Infers and evaluates node n; returns its output 0's data. */
static const void *eval(int32_t n) {
    tu_infer_ok(g, n);
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, n, &d), "evaluating '%s' failed: %s", g->nodes[n].name, d.msg);
    return g->values[tu_out(g, n)].data;
}

/* Compares the first elements of got, of the given type, with the listed values. */
#define CHECK_INTS(type, got, ...)                                                                      \
    do {                                                                                                \
        const type *got_ = (got), want_[] = {__VA_ARGS__};                                              \
        for (size_t i_ = 0; i_ < sizeof want_ / sizeof want_[0]; i_++)                                  \
            ck_assert_msg(got_[i_] == want_[i_], "element %zu: got %lld, want %lld", i_,                \
                          (long long)got_[i_], (long long)want_[i_]);                                   \
    } while (0)

/* The diagnostic of a refused node names the file and the node. */
static const char *expect_failure(int32_t node) {
    static xf_diag d;
    const char *msg = tu_infer_fails(g, node, &d);
    char want[300];
    snprintf(want, sizeof want, "node '%s'", g->nodes[node].name);
    ck_assert_msg(strstr(msg, want), "diagnostic does not name node '%s': %s", g->nodes[node].name, msg);
    ck_assert_msg(!strchr(msg, '\n'), "diagnostic is not one line: %s", msg);
    return msg;
}

/* ---- QuantizeLinear: rounding and saturation ---- */

/* x / 2 lands on .5 ties, which go to the even neighbour in both directions; 6.9999995 / 2 lies
 * just below 3.5 and goes down; ±500 saturate to int8's ends. */
START_TEST(test_round_ties) {
    int32_t in[3] = {F32("x", (9), 1, 3, 5, -1, -3, -5, 6.9999995f, 1000, -1000), f32_scalar("s", 2.0f),
                     konst("z", XF_I8, 0, NULL, (const int8_t[]){0})};
    int32_t n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "ties", 3, in);
    const int8_t *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I8, 9);
    CHECK_INTS(int8_t, y, 0, 2, 2, 0, -2, -2, 3, 127, -128);
}
END_TEST

/* The zero point is added after rounding, then the sum saturates: uint8 with zero point 250; int16
 * with -5; uint16 chosen by output_dtype alone (no zero point, so 0). */
START_TEST(test_saturation) {
    int32_t in[3] = {F32("x8", (4), 0, 10, -300, 2.5f), f32_scalar("s", 1.0f), u8_scalar("z8", 250)};
    int32_t n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "u8", 3, in);
    CHECK_INTS(uint8_t, (const uint8_t *)eval(n), 250, 255, 0, 252);

    in[0] = F32("x16", (4), 40000, -40000, 0.5f, 1.5f);
    in[2] = konst("z16", XF_I16, 0, NULL, (const int16_t[]){-5});
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "i16", 3, in);
    CHECK_INTS(int16_t, (const int16_t *)eval(n), 32767, -32768, -5, -3);

    in[0] = F32("xu16", (3), 70000, -1, 65535.4f);
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "u16", 2, in);
    tu_set_int(g, n, "output_dtype", XF_U16);
    const uint16_t *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_U16, 3);
    CHECK_INTS(uint16_t, y, 65535, 0, 65535);

    /* without zero point or output_dtype the result is uint8 */
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "default", 2, in);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_U8, 3);
}
END_TEST

/* ---- per-axis and blocked scales ---- */

/* Quantize along axis 1 (the default): column j has scale {1,2,4}[j] and zero point {0,10,-20}[j].
 * Dequantize along axis 0: row i has scale {0.5,2}[i] and zero point {1,-1}[i]. */
START_TEST(test_per_axis) {
    int32_t in[3] = {F32("x", (2, 3), 1, 2, 4, -3, 6, -8), F32("s", (3), 1, 2, 4), I8("z", (3), 0, 10, -20)};
    int32_t n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "q", 3, in);
    CHECK_INTS(int8_t, (const int8_t *)eval(n), 1, 11, -19, -3, 13, -22);

    int32_t dq[3] = {I8("qx", (2, 3), 1, 3, 5, -1, 0, 2), F32("ds", (2), 0.5f, 2), I8("dz", (2), 1, -1)};
    n = tu_node(g, XF_OP_DEQUANTIZE_LINEAR, "dq", 3, dq);
    tu_set_int(g, n, "axis", 0);
    const float *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3);
    const float want[] = {0, 1, 2, 0, 2, 6};
    for (int i = 0; i < 6; i++) ck_assert_float_eq(y[i], want[i]);
}
END_TEST

/* Blocks of 2 along axis 1 of a [2,5] tensor: three blocks per row, the last holding one element.
 * Then blocks of 3 along axis 0 of a [4,2] tensor: rows 0-2 share the first scale row, row 3 has
 * the second to itself. */
START_TEST(test_blocked) {
    int32_t in[3] = {U8("x", (2, 5), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), F32("s", (2, 3), 1, 2, 4, 10, 20, 30),
                     U8("z", (2, 3), 0, 1, 2, 3, 4, 5)};
    int32_t n = tu_node(g, XF_OP_DEQUANTIZE_LINEAR, "dq", 3, in);
    tu_set_int(g, n, "block_size", 2);
    const float *y = eval(n);
    const float want[] = {1, 2, 4, 6, 12, 30, 40, 80, 100, 150};
    for (int i = 0; i < 10; i++) ck_assert_float_eq(y[i], want[i]);

    int32_t q[2] = {F32("qx", (4, 2), 3, 4, 6, 8, 9, -8, 16, 16), F32("qs", (2, 2), 1, 2, 4, 8)};
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "q", 2, q);
    tu_set_int(g, n, "axis", 0);
    tu_set_int(g, n, "block_size", 3);
    tu_set_int(g, n, "output_dtype", XF_I8);
    CHECK_INTS(int8_t, (const int8_t *)eval(n), 3, 2, 6, 4, 9, -4, 4, 2);
}
END_TEST

/* ---- DynamicQuantizeLinear ---- */

/* x spans [-1, 2]: scale 3/255, zero point 1/scale = 85; 2 maps to 255, -1 to 0, 0.25 to
 * round(21.25) + 85 = 106. An all-zero x gets scale 1/255 and zero point 0. */
START_TEST(test_dynamic) {
    for (int zeros = 0; zeros <= 1; zeros++) {
        int32_t x = zeros ? F32("x0", (2), 0, 0) : F32("x", (4), 0, 2, -1, 0.25f);
        int32_t outs[3] = {tu_fresh(g, zeros ? "y0" : "y"), tu_fresh(g, zeros ? "s0" : "s"),
                           tu_fresh(g, zeros ? "z0" : "z")};
        int32_t n = xf_node_add(g, XF_OP_DYNAMIC_QUANTIZE_LINEAR, zeros ? "zeros" : "range", 1, &x, 3, outs);
        const uint8_t *y = eval(n);
        CHECK_SCALAR(g, outs[1], XF_F32);
        CHECK_SCALAR(g, outs[2], XF_U8);
        float scale = *(const float *)g->values[outs[1]].data;
        uint8_t zp = *(const uint8_t *)g->values[outs[2]].data;
        if (zeros) {
            ck_assert_float_eq(scale, 1.0f / 255.0f);
            ck_assert_int_eq(zp, 0);
            CHECK_INTS(uint8_t, y, 0, 0);
        } else {
            ck_assert_float_eq(scale, 3.0f / 255.0f);
            ck_assert_int_eq(zp, 85);
            CHECK_INTS(uint8_t, y, 85, 255, 0, 106);
        }
    }
}
END_TEST

/* ---- MatMulInteger, QLinearMatMul ---- */

/* A's zero point per row ({1, 0}), B's per tensor (1); A has a batch of two [2,3] matrices that
 * share B. A - zp: {0,1,2 / 4,5,6} and {-1,-1,-1 / 1,1,1}; B - 1: {0,1 / 2,3 / 4,5}. */
START_TEST(test_matmul_integer) {
    int32_t in[4] = {U8("a", (2, 2, 3), 1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 1, 1), U8("b", (3, 2), 1, 2, 3, 4, 5, 6),
                     U8("za", (2), 1, 0), u8_scalar("zb", 1)};
    int32_t n = tu_node(g, XF_OP_MATMUL_INTEGER, "mm", 4, in);
    const int32_t *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I32, 2, 2, 2);
    CHECK_INTS(int32_t, y, 10, 13, 34, 49, -6, -9, 6, 9);
}
END_TEST

/* Requantization: sums of ±200 saturate to int8's ends; with a_scale 0.5 the sums 3 and 7 become
 * the ties 1.5 and 3.5, which round to 2 and 4. */
START_TEST(test_qlinear_matmul) {
    int32_t one = f32_scalar("one", 1.0f), half = f32_scalar("half", 0.5f);
    int32_t z = konst("z", XF_I8, 0, NULL, (const int8_t[]){0});
    int32_t in[8] = {I8("a", (1, 2), 100, 100), one, z, I8("b", (2, 2), 1, -1, 1, -1), one, z, one, z};
    int32_t n = tu_node(g, XF_OP_QLINEAR_MATMUL, "saturate", 8, in);
    CHECK_INTS(int8_t, (const int8_t *)eval(n), 127, -128);

    int32_t ties[8] = {I8("a2", (1, 2), 3, 2), half, z, I8("b2", (2, 2), 1, 1, 0, 2), one, z, one, z};
    n = tu_node(g, XF_OP_QLINEAR_MATMUL, "ties", 8, ties);
    CHECK_INTS(int8_t, (const int8_t *)eval(n), 2, 4);
}
END_TEST

/* ---- ConvInteger, QLinearConv ---- */

/* W's zero point per output channel ({1, 0}): channel 0's weights (all 1) vanish, channel 1's are
 * 2. x - 1 is 0..8 in a 3x3 image; the 2x2 windows sum to 8, 12, 20, 24. */
START_TEST(test_conv_integer) {
    int32_t in[4] = {U8("x", (1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9), U8("w", (2, 1, 2, 2), 1, 1, 1, 1, 2, 2, 2, 2),
                     u8_scalar("zx", 1), U8("zw", (2), 1, 0)};
    int32_t n = tu_node(g, XF_OP_CONV_INTEGER, "conv", 4, in);
    const int32_t *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I32, 1, 2, 2, 2);
    CHECK_INTS(int32_t, y, 0, 0, 0, 0, 16, 24, 40, 48);
}
END_TEST

/* 1x1 kernels {1, -1} with per-channel scales {0.5, 1}, bias {1, 0}, output zero point 10: channel
 * 0 is (x + 1) * 0.5 = 1, 1.5, 2, 2.5, rounded to even 1, 2, 2, 2; channel 1 is -x. */
START_TEST(test_qlinear_conv) {
    int32_t in[9] = {U8("x", (1, 1, 2, 2), 1, 2, 3, 4), f32_scalar("sx", 1.0f), u8_scalar("zx", 0),
                     I8("w", (2, 1, 1, 1), 1, -1), F32("sw", (2), 0.5f, 1.0f), I8("zw", (2), 0, 0),
                     f32_scalar("sy", 1.0f), u8_scalar("zy", 10), I32("b", (2), 1, 0)};
    int32_t n = tu_node(g, XF_OP_QLINEAR_CONV, "qconv", 9, in);
    const uint8_t *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_U8, 1, 2, 2, 2);
    CHECK_INTS(uint8_t, y, 11, 12, 12, 12, 9, 8, 7, 6);
}
END_TEST

/* ---- narrow formats, read and written directly ---- */

/* int4 saturates to [-8, 7] after the zero point (1) is added, where a conversion through int8
 * would wrap: 20 -> 7, -20 -> -8, 100 -> 7. Seven elements pack into four bytes, low nibble first,
 * the last high nibble left 0: (1, 6) (7, -8) (-2, 3) (7, 0). uint4 clamps to [0, 15]. Then the int4
 * values dequantize back: (q - 1) * 0.5. */
START_TEST(test_int4) {
    int32_t in[3] = {F32("x", (7), 0, 5, 20, -20, -3, 1.5f, 100), f32_scalar("s", 1.0f),
                     konst("z", XF_I4, 0, NULL, (const uint8_t[]){0x01})};
    int32_t n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "i4", 3, in);
    const uint8_t *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I4, 7);
    CHECK_INTS(uint8_t, y, 0x61, 0x87, 0x3e, 0x07);

    int32_t dq[3] = {tu_out(g, n), f32_scalar("half", 0.5f), in[2]};
    n = tu_node(g, XF_OP_DEQUANTIZE_LINEAR, "dq4", 3, dq);
    const float *back = eval(n);
    const float want[] = {0, 2.5f, 3, -4.5f, -1.5f, 1, 3};
    for (int i = 0; i < 7; i++) ck_assert_float_eq(back[i], want[i]);

    int32_t u[2] = {F32("xu", (3), -1, 16, 7.5f), in[1]};
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "u4", 2, u);
    tu_set_int(g, n, "output_dtype", XF_U4);
    y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_U4, 3);
    CHECK_INTS(uint8_t, y, 0xf0, 0x08);
}
END_TEST

/* x / 2 into float8e4m3fn: 0.5 is 0x30, 1.25 0x3a, 0.15 rounds to 0.15625 (0x22), and +-500
 * saturate to +-448 (0x7e, 0xfe); without saturation they become NaN (0x7f, 0xff). Dequantizing
 * with the same scale gives the values back as float8 holds them; with a float16 scale the result
 * is float16. e5m2 rounds 500 to 512 (0x60). */
START_TEST(test_float8_round_trip) {
    int32_t x = F32("x", (6), 0, 1, 2.5f, 1000, -1000, 0.3f), two = f32_scalar("two", 2.0f);
    int32_t z = konst("z", XF_F8E4M3FN, 0, NULL, (const uint8_t[]){0});
    int32_t n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "e4m3", 3, (int32_t[]){x, two, z});
    const uint8_t *q = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F8E4M3FN, 6);
    CHECK_INTS(uint8_t, q, 0x00, 0x30, 0x3a, 0x7e, 0xfe, 0x22);
    int32_t code = tu_out(g, n);

    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "nan", 3, (int32_t[]){x, two, z});
    tu_set_int(g, n, "saturate", 0);
    CHECK_INTS(uint8_t, (const uint8_t *)eval(n), 0x00, 0x30, 0x3a, 0x7f, 0xff, 0x22);

    n = tu_node(g, XF_OP_DEQUANTIZE_LINEAR, "back", 3, (int32_t[]){code, two, z});
    const float *y = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 6);
    const float want[] = {0, 1, 2.5f, 896, -896, 0.3125f};
    for (int i = 0; i < 6; i++) ck_assert_float_eq(y[i], want[i]);

    int32_t two_h = konst("two_h", XF_F16, 0, NULL, (const uint16_t[]){0x4000});
    n = tu_node(g, XF_OP_DEQUANTIZE_LINEAR, "back_f16", 2, (int32_t[]){code, two_h});
    const uint16_t *h = eval(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F16, 6);
    CHECK_INTS(uint16_t, h, 0x0000, 0x3c00, 0x4100, 0x6300, 0xe300, 0x3500);

    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "e5m2", 2, (int32_t[]){x, two});
    tu_set_int(g, n, "output_dtype", XF_F8E5M2);
    CHECK_INTS(uint8_t, (const uint8_t *)eval(n), 0x00, 0x38, 0x3d, 0x60, 0xe0, 0x31);
}
END_TEST

/* ---- refused ---- */

START_TEST(test_refused) {
    int32_t x = F32("x", (2, 3), 0, 0, 0, 0, 0, 0), s2 = F32("s2", (2), 1, 1), s3 = F32("s3", (3), 1, 1, 1);
    /* a per-axis scale must have the axis' length */
    int32_t n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "scale_len", 2, (int32_t[]){x, s2});
    ck_assert(strstr(expect_failure(n), "does not fit"));
    /* the zero point has the scale's shape */
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "zp_shape", 3, (int32_t[]){x, s3, U8("z2", (2), 0, 0)});
    ck_assert(strstr(expect_failure(n), "does not match"));
    /* blocks of 2 along a dim of 3 need 2 scales there, not 3 */
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "blocks", 2, (int32_t[]){x, F32("sb", (2, 3), 1, 1, 1, 1, 1, 1)});
    tu_set_int(g, n, "block_size", 2);
    expect_failure(n);
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "negative_block", 2, (int32_t[]){x, s3});
    tu_set_int(g, n, "block_size", -1);
    expect_failure(n);
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "bad_axis", 2, (int32_t[]){x, s3});
    tu_set_int(g, n, "axis", 2);
    expect_failure(n);
    /* output_dtype must agree with the zero point, and name a quantized type */
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "dtype_clash", 3, (int32_t[]){x, s3, U8("z3", (3), 0, 0, 0)});
    tu_set_int(g, n, "output_dtype", XF_I8);
    expect_failure(n);
    n = tu_node(g, XF_OP_QUANTIZE_LINEAR, "to_float", 2, (int32_t[]){x, s3});
    tu_set_int(g, n, "output_dtype", XF_F32);
    expect_failure(n);
    /* DequantizeLinear's zero point has x's type */
    int32_t q = I8("q", (3), 1, 2, 3);
    n = tu_node(g, XF_OP_DEQUANTIZE_LINEAR, "zp_type", 3, (int32_t[]){q, s3, U8("zu", (3), 0, 0, 0)});
    expect_failure(n);
    /* the integer products take 8-bit operands, and zero points per row / channel of the right count */
    int32_t a = U8("a", (2, 3), 0, 0, 0, 0, 0, 0), b = U8("b", (3, 2), 0, 0, 0, 0, 0, 0);
    n = tu_node(g, XF_OP_MATMUL_INTEGER, "float_operand", 2, (int32_t[]){x, b});
    expect_failure(n);
    n = tu_node(g, XF_OP_MATMUL_INTEGER, "zp_rows", 3, (int32_t[]){a, b, U8("za", (3), 0, 0, 0)});
    ck_assert(strstr(expect_failure(n), "one per row"));
    int32_t img = U8("img", (1, 1, 3, 3), 0, 0, 0, 0, 0, 0, 0, 0, 0), w = U8("w", (2, 1, 2, 2), 0, 0, 0, 0, 0, 0, 0, 0);
    n = tu_node(g, XF_OP_CONV_INTEGER, "zp_channels", 4, (int32_t[]){img, w, u8_scalar("zx", 0), U8("zw", (3), 0, 0, 0)});
    ck_assert(strstr(expect_failure(n), "output channel"));
}
END_TEST

/* Types that shape inference accepts but the kernels do not handle yet are refused when lowering,
 * with a diagnostic, not a crash. */
START_TEST(test_refused_when_lowering) {
    int32_t in[2] = {I8("q", (2), 1, 2), f32_scalar("s", 1.0f)};
    int32_t n = tu_node(g, XF_OP_DEQUANTIZE_LINEAR, "to_f64", 2, in);
    tu_set_int(g, n, "output_dtype", XF_F64);
    tu_infer_ok(g, n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F64, 2);
    xf_diag d = {0};
    ck_assert(!xf_eval_node(g, n, &d));
    ck_assert_msg(strstr(d.msg, "not supported"), "%s", d.msg);
}
END_TEST

static Suite *quant_suite(void) {
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_ties);
    tcase_add_test(tc, test_saturation);
    tcase_add_test(tc, test_per_axis);
    tcase_add_test(tc, test_blocked);
    tcase_add_test(tc, test_dynamic);
    tcase_add_test(tc, test_matmul_integer);
    tcase_add_test(tc, test_qlinear_matmul);
    tcase_add_test(tc, test_conv_integer);
    tcase_add_test(tc, test_qlinear_conv);
    tcase_add_test(tc, test_int4);
    tcase_add_test(tc, test_float8_round_trip);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_refused_when_lowering);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(quant_suite()); }
