/* test_lowp.c — unit tests of the narrow number formats: the conversions of runtime/lowp.c, checked
 * exhaustively where the format is small (every float16, bfloat16, float8 and float4 code) against
 * references computed another way (ldexp of the fields, nearest-neighbour search), the rounding
 * ties and the saturation rules of the ONNX Cast specification, the packing of 4-bit tensors, the
 * IR's byte counts, and one graph that computes in float16 through legalize_types and folding. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/passes.h"
#include "runtime/lowp.c"
#include "testutil.h"

static uint32_t bits_of(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static float float_of(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* Same value, or both NaN; and +0 and -0 told apart. */
static bool same(float a, float b) {
    return (isnan(a) && isnan(b)) || bits_of(a) == bits_of(b);
}

/* A minifloat's value from its fields, by ldexp: the reference the decoders are checked against. */
static double ref_decode(uint32_t code, int ebits, int mbits, int bias) {
    int sign = code >> (ebits + mbits) & 1, exp = code >> mbits & ((1 << ebits) - 1), man = code & ((1 << mbits) - 1);
    double v = exp ? ldexp(1.0 + ldexp(man, -mbits), exp - bias) : ldexp(man, 1 - bias - mbits);
    return sign ? -v : v;
}

/* ---- float16 and bfloat16 ---- */

START_TEST(test_f16_widen_all) {
    for (uint32_t h = 0; h < 65536; h++) {
        float got = xf_f16_to_f32((uint16_t)h);
        uint32_t exp = h >> 10 & 0x1f, man = h & 0x3ff;
        if (exp == 0x1f) {
            ck_assert_msg(man ? isnan(got) : isinf(got), "0x%04x", h);
            ck_assert_int_eq(signbit(got) != 0, (h >> 15) != 0);
            continue;
        }
        double want = ref_decode(h, 5, 10, 15);
        ck_assert_msg(same(got, (float)want), "0x%04x: %a, want %a", h, (double)got, want);
        ck_assert_int_eq(xf_f32_to_f16(got), h); /* and back, exactly */
    }
}
END_TEST

/* Every float16 neighbour pair: values between them round to the nearer, ties to the even code. */
START_TEST(test_f16_rounding) {
    for (uint32_t h = 0; h < 0x7bff; h++) {
        double lo = xf_f16_to_f32((uint16_t)h), hi = xf_f16_to_f32((uint16_t)(h + 1)), mid = (lo + hi) / 2;
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        ck_assert_int_eq(xf_f32_to_f16(mid), even);
        ck_assert_int_eq(xf_f32_to_f16(-mid), even | 0x8000);
        ck_assert_int_eq(xf_f32_to_f16(nextafter(mid, 0)), h);
        ck_assert_int_eq(xf_f32_to_f16(nextafter(mid, 1e9)), h + 1);
    }
    ck_assert_int_eq(xf_f32_to_f16(65504.0), 0x7bff);
    ck_assert_int_eq(xf_f32_to_f16(65519.99), 0x7bff);
    ck_assert_int_eq(xf_f32_to_f16(65520.0), 0x7c00); /* the tie above the largest value overflows */
    ck_assert_int_eq(xf_f32_to_f16(-1e30), 0xfc00);
    ck_assert_int_eq(xf_f32_to_f16(INFINITY), 0x7c00);
    ck_assert_int_eq(xf_f32_to_f16(ldexp(1, -25)), 0x0000); /* half the smallest subnormal: to even 0 */
    ck_assert_int_eq(xf_f32_to_f16(ldexp(3, -26)), 0x0001);
    ck_assert_int_eq(xf_f32_to_f16(-0.0), 0x8000);
    ck_assert(isnan(xf_f16_to_f32(xf_f32_to_f16(NAN))));
    /* a double is rounded once: 1 + 2^-11 + 2^-40 is above the tie, though as a float it is the tie */
    ck_assert_int_eq(xf_f32_to_f16(1.0 + ldexp(1, -11) + ldexp(1, -40)), 0x3c01);
}
END_TEST

START_TEST(test_bf16) {
    for (uint32_t h = 0; h < 65536; h++) {
        float got = xf_bf16_to_f32((uint16_t)h);
        ck_assert_uint_eq(bits_of(got), h << 16);
        if (!isnan(got)) ck_assert_int_eq(xf_f32_to_bf16(got), h);
        else ck_assert(isnan(xf_bf16_to_f32(xf_f32_to_bf16(got))));
    }
    ck_assert_int_eq(xf_f32_to_bf16(float_of(0x3f808000u)), 0x3f80); /* tie, to even */
    ck_assert_int_eq(xf_f32_to_bf16(float_of(0x3f818000u)), 0x3f82);
    ck_assert_int_eq(xf_f32_to_bf16(float_of(0x3f808001u)), 0x3f81);
    ck_assert_int_eq(xf_f32_to_bf16(float_of(0x7f7fffffu)), 0x7f80); /* FLT_MAX rounds to infinity */
    ck_assert(isnan(xf_bf16_to_f32(xf_f32_to_bf16(float_of(0x7f800001u))))); /* a NaN stays NaN */
}
END_TEST

/* ---- float8 ---- */

static const struct {
    int dtype, ebits, mbits, bias;
    double max;
} f8[] = {{17, 4, 3, 7, 448}, {18, 4, 3, 8, 240}, {19, 5, 2, 15, 57344}, {20, 5, 2, 16, 57344}};

static bool f8_is_nan(int dtype, uint32_t c) {
    switch (dtype) {
    case 17: return (c & 0x7f) == 0x7f;
    case 19: return (c & 0x7f) > 0x7c;
    default: return c == 0x80;
    }
}

START_TEST(test_f8_all_codes) {
    for (int f = 0; f < 4; f++) {
        int t = f8[f].dtype;
        for (uint32_t c = 0; c < 256; c++) {
            float v = xf_f8_to_f32((uint8_t)c, t);
            if (f8_is_nan(t, c)) {
                ck_assert_msg(isnan(v), "type %d code 0x%02x", t, c);
                continue;
            }
            if (t == 19 && (c & 0x7f) == 0x7c) {
                ck_assert(isinf(v) && (v < 0) == (c >> 7));
                ck_assert_int_eq(xf_f32_to_f8(v, t, 0), c); /* infinity stays, without saturation */
                ck_assert_int_eq(xf_f32_to_f8(v, t, 1), c == 0x7c ? 0x7b : 0xfb);
                continue;
            }
            double want = ref_decode(c, f8[f].ebits, f8[f].mbits, f8[f].bias);
            ck_assert_msg(v == want, "type %d code 0x%02x: %g, want %g", t, c, (double)v, want);
            ck_assert(fabs(v) <= f8[f].max);
            for (int sat = 0; sat < 2; sat++) /* every value comes back as its own code */
                ck_assert_msg(xf_f32_to_f8(v, t, sat) == c, "type %d code 0x%02x saturate %d: 0x%02x", t, c, sat,
                              xf_f32_to_f8(v, t, sat));
        }
    }
}
END_TEST

/* Between two neighbouring finite codes: the nearer wins, ties go to the even code. */
START_TEST(test_f8_rounding) {
    for (int f = 0; f < 4; f++) {
        int t = f8[f].dtype;
        for (uint32_t c = 0; c < 0x7f; c++) {
            double lo = xf_f8_to_f32((uint8_t)c, t), hi = xf_f8_to_f32((uint8_t)(c + 1), t);
            if (isnan(hi) || isinf(hi)) break;
            double mid = (lo + hi) / 2;
            ck_assert_int_eq(xf_f32_to_f8(mid, t, 1), (c & 1) ? c + 1 : c);
            ck_assert_int_eq(xf_f32_to_f8(nextafter(mid, 0), t, 1), c);
            ck_assert_int_eq(xf_f32_to_f8(nextafter(mid, 1e9), t, 1), c + 1);
        }
    }
}
END_TEST

/* The two tables of the ONNX Cast specification, saturate = 1 and 0. */
START_TEST(test_f8_saturation) {
    /* e4m3fn: largest 448 (0x7e), NaN 0x7f; 464 is the tie between 448 and 480 and rounds down */
    ck_assert_int_eq(xf_f32_to_f8(464, 17, 0), 0x7e);
    ck_assert_int_eq(xf_f32_to_f8(465, 17, 0), 0x7f);
    ck_assert_int_eq(xf_f32_to_f8(465, 17, 1), 0x7e);
    ck_assert_int_eq(xf_f32_to_f8(INFINITY, 17, 1), 0x7e);
    ck_assert_int_eq(xf_f32_to_f8(-INFINITY, 17, 1), 0xfe);
    ck_assert_int_eq(xf_f32_to_f8(INFINITY, 17, 0), 0x7f);
    ck_assert_int_eq(xf_f32_to_f8(-1e9, 17, 0), 0xff);
    ck_assert_int_eq(xf_f32_to_f8(-0.0, 17, 1), 0x80);
    ck_assert_int_eq(xf_f32_to_f8(NAN, 17, 1), 0x7f);
    /* e4m3fnuz: largest 240, one NaN 0x80, no negative zero */
    ck_assert_int_eq(xf_f32_to_f8(247, 18, 0), 0x7f);
    ck_assert_int_eq(xf_f32_to_f8(249, 18, 0), 0x80);
    ck_assert_int_eq(xf_f32_to_f8(-1e9, 18, 1), 0xff);
    ck_assert_int_eq(xf_f32_to_f8(INFINITY, 18, 0), 0x80);
    ck_assert_int_eq(xf_f32_to_f8(-0.0, 18, 1), 0x00);
    ck_assert_int_eq(xf_f32_to_f8(-1e-9, 18, 1), 0x00);
    ck_assert_int_eq(xf_f32_to_f8(NAN, 18, 0), 0x80);
    /* e5m2: largest 57344, infinity 0x7c; 61440 is the tie with 65536 and overflows */
    ck_assert_int_eq(xf_f32_to_f8(61439, 19, 0), 0x7b);
    ck_assert_int_eq(xf_f32_to_f8(61440, 19, 0), 0x7c);
    ck_assert_int_eq(xf_f32_to_f8(61440, 19, 1), 0x7b);
    ck_assert_int_eq(xf_f32_to_f8(-INFINITY, 19, 0), 0xfc);
    ck_assert_int_eq(xf_f32_to_f8(-INFINITY, 19, 1), 0xfb);
    ck_assert(f8_is_nan(19, xf_f32_to_f8(NAN, 19, 1)));
    /* e5m2fnuz */
    ck_assert_int_eq(xf_f32_to_f8(1e9, 20, 1), 0x7f);
    ck_assert_int_eq(xf_f32_to_f8(1e9, 20, 0), 0x80);
    ck_assert_int_eq(xf_f32_to_f8(-0.0, 20, 0), 0x00);
    /* the smallest subnormal of e4m3fn is 2^-9; half of it rounds to (signed) zero */
    ck_assert_int_eq(xf_f32_to_f8(ldexp(1, -9), 17, 1), 0x01);
    ck_assert_int_eq(xf_f32_to_f8(ldexp(1, -10), 17, 1), 0x00);
    ck_assert_int_eq(xf_f32_to_f8(-ldexp(3, -11), 17, 1), 0x81);
}
END_TEST

/* ---- float4e2m1 and float8e8m0 ---- */

START_TEST(test_f4) {
    static const float values[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    for (uint32_t c = 0; c < 16; c++) {
        float v = xf_f4_to_f32((uint8_t)c);
        ck_assert(same(v, c & 8 ? -values[c & 7] : values[c & 7]));
        ck_assert_int_eq(xf_f32_to_f4(v), c);
        ck_assert_int_eq(xf_f4_to_f32((uint8_t)(c | 0xa0)), v); /* the high nibble is ignored */
    }
    ck_assert_int_eq(xf_f32_to_f4(0.25), 0x0); /* ties to even */
    ck_assert_int_eq(xf_f32_to_f4(0.75), 0x2);
    ck_assert_int_eq(xf_f32_to_f4(2.5), 0x4);
    ck_assert_int_eq(xf_f32_to_f4(5), 0x6);
    ck_assert_int_eq(xf_f32_to_f4(-3.5), 0xe);
    ck_assert_int_eq(xf_f32_to_f4(100), 0x7); /* always saturates */
    ck_assert_int_eq(xf_f32_to_f4(-INFINITY), 0xf);
    ck_assert_int_eq(xf_f32_to_f4(NAN), 0x8);
    ck_assert_int_eq(xf_f32_to_f4(-0.0), 0x8);
}
END_TEST

START_TEST(test_e8m0) {
    for (uint32_t c = 0; c < 255; c++) {
        float v = xf_f8_to_f32((uint8_t)c, 24);
        ck_assert_msg(v == ldexp(1, (int)c - 127), "code %u", c);
        if (c == 0) continue;
        for (int mode = 0; mode < 3; mode++) ck_assert_int_eq(xf_f32_to_e8m0(v, 1, mode), c);
    }
    /* except 2^-127, code 0: a float32 subnormal, whose mantissa bit the reference (and so xfc)
     * reads as a fraction to round up in mode up */
    ck_assert_int_eq(xf_f32_to_e8m0(xf_f8_to_f32(0, 24), 1, 0), 1);
    ck_assert_int_eq(xf_f32_to_e8m0(xf_f8_to_f32(0, 24), 1, 1), 0);
    ck_assert(isnan(xf_f8_to_f32(0xff, 24)));
    ck_assert_int_eq(xf_f32_to_e8m0(1.1f, 1, 0), 128); /* up */
    ck_assert_int_eq(xf_f32_to_e8m0(1.9f, 1, 1), 127); /* down */
    ck_assert_int_eq(xf_f32_to_e8m0(1.4f, 1, 2), 127); /* nearest: from 1.5 up */
    ck_assert_int_eq(xf_f32_to_e8m0(1.5f, 1, 2), 128);
    ck_assert_int_eq(xf_f32_to_e8m0(-4.0f, 1, 0), 129); /* no sign */
    ck_assert_int_eq(xf_f32_to_e8m0(0.0f, 1, 0), 0);
    ck_assert_int_eq(xf_f32_to_e8m0(0.124f, 1, 0), 124);
    ck_assert_int_eq(xf_f32_to_e8m0(3.0e38f, 1, 0), 0xfe); /* saturate: no rounding into NaN */
    ck_assert_int_eq(xf_f32_to_e8m0(3.0e38f, 0, 0), 0xff);
    ck_assert_int_eq(xf_f32_to_e8m0(INFINITY, 1, 0), 0xff);
}
END_TEST

/* ---- the cast kernel and 4-bit packing ---- */

START_TEST(test_cast_int4_packing) {
    float x[25];
    for (int i = 0; i < 25; i++) x[i] = (float)(i - 9);
    uint8_t y[13], want[13] = {0x87, 0xa9, 0xcb, 0xed, 0x0f, 0x21, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0xed, 0x0f};
    memset(y, 0xff, sizeof y);
    xf_cast_lowp(y, XF_I4, x, XF_F32, 25, 1, 0); /* wraps like numpy: -9 -> 7, 8 -> -8 */
    ck_assert_mem_eq(y, want, 13); /* the odd count leaves the last high nibble 0 */
    int8_t back[25];
    xf_cast_lowp(back, XF_I8, y, XF_I4, 25, 1, 0);
    for (int i = 0; i < 25; i++) ck_assert_int_eq(back[i], ((i - 9) % 16 + 24) % 16 - 8);
    uint8_t u[13];
    xf_cast_lowp(u, XF_U4, x, XF_F32, 25, 1, 0); /* uint4 keeps the low four bits too */
    ck_assert_mem_eq(u, want, 13);
    float f[25];
    xf_cast_lowp(f, XF_F32, u, XF_U4, 25, 1, 0);
    ck_assert(f[0] == 7 && f[1] == 8 && f[9] == 0 && f[24] == 15);
    /* float16 to int8 through the kernel: toward zero, NaN to 0 */
    uint16_t h[3] = {xf_f32_to_f16(-2.75), xf_f32_to_f16(100.5), xf_f32_to_f16(NAN)};
    int8_t i8[3];
    xf_cast_lowp(i8, XF_I8, h, XF_F16, 3, 1, 0);
    ck_assert(i8[0] == -2 && i8[1] == 100 && i8[2] == 0);
    /* double to float16 is rounded once */
    double dd = 1.0 + ldexp(1, -11) + ldexp(1, -40);
    uint16_t hh;
    xf_cast_lowp(&hh, XF_F16, &dd, XF_F64, 1, 1, 0);
    ck_assert_int_eq(hh, 0x3c01);
}
END_TEST

START_TEST(test_dtype_bytes) {
    ck_assert_int_eq(xf_dtype_bytes(XF_I4, 25), 13);
    ck_assert_int_eq(xf_dtype_bytes(XF_F4E2M1, 0), 0);
    ck_assert_int_eq(xf_dtype_bytes(XF_U4, 1), 1);
    ck_assert_int_eq(xf_dtype_bytes(XF_F16, 3), 6);
    ck_assert_int_eq(xf_dtype_bytes(XF_F8E5M2, 3), 3);
    xf_graph *g = xf_graph_new("t.onnx");
    int32_t v = tu_input(g, "q", XF_I4, 2, SHAPE(3, 3));
    ck_assert_int_eq(xf_value_bytes(&g->values[v]), 5);
    ck_assert_str_eq(xf_dtype_name(XF_F8E4M3FNUZ), "float8e4m3fnuz");
    ck_assert_str_eq(xf_dtype_ctype(XF_BF16), "uint16_t");
    ck_assert_int_eq(xf_dtype_compute(XF_F8E8M0), XF_F32);
    ck_assert_int_eq(xf_dtype_compute(XF_I4), XF_I8);
    uint8_t packed[2] = {0x9f, 0x07}; /* int4 -1, -7, 7 */
    ck_assert(xf_dtype_real(XF_I4, packed, 0) == -1 && xf_dtype_real(XF_I4, packed, 1) == -7 &&
              xf_dtype_real(XF_I4, packed, 2) == 7);
    xf_graph_free(g);
}
END_TEST

/* ---- a float16 graph ----
 * y = x * w + (a + b), all float16, a and b constants: each op computes in float32 between
 * conversions, a + b is folded (through its conversions) into a float16 constant, and y stays a
 * float16 graph output. */
START_TEST(test_f16_graph) {
    for (int level = 0; level <= 2; level += 2) {
        xf_graph *g = xf_graph_new("f16.onnx");
        g->opset = 21;
        uint16_t wv[3] = {xf_f32_to_f16(0.1), xf_f32_to_f16(-2.5), xf_f32_to_f16(3.3)};
        uint16_t av[3] = {xf_f32_to_f16(1.5), xf_f32_to_f16(2.25), xf_f32_to_f16(-7)};
        uint16_t bv[3] = {xf_f32_to_f16(0.125), xf_f32_to_f16(1e-3), xf_f32_to_f16(3)};
        int32_t x = tu_input(g, "x", XF_F16, 2, SHAPE(2, 3));
        int32_t w = xf_const_add(g, "w", XF_F16, 1, SHAPE(3), wv);
        int32_t a = xf_const_add(g, "a", XF_F16, 1, SHAPE(3), av);
        int32_t b = xf_const_add(g, "b", XF_F16, 1, SHAPE(3), bv);
        int32_t ab = tu_node(g, XF_OP_ADD, "ab", 2, (int32_t[]){a, b});
        int32_t xw = tu_node(g, XF_OP_MUL, "xw", 2, (int32_t[]){x, w});
        int32_t y = tu_node(g, XF_OP_ADD, "y", 2, (int32_t[]){tu_out(g, xw), tu_out(g, ab)});
        int32_t yv = tu_out(g, y), abv = tu_out(g, ab);
        tu_mark_output(g, yv);
        tu_mark_output(g, abv);
        xf_diag d = {0};
        xf_options o = {.opt_level = level};
        ck_assert_msg(xf_run_pipeline(g, &o, &d), "-O%d: %s", level, d.msg);
        xf_graph_verify(g);
        CHECK_SHAPE(g, yv, XF_F16, 2, 3);
        CHECK_SHAPE(g, abv, XF_F16, 3);
        ck_assert_int_eq(g->values[x].dtype, XF_F16);
        /* a + b: folded at -O2 as float16 bits; at -O0 (no float folding) computed at run time */
        if (level == 2) {
            ck_assert_ptr_nonnull(g->values[abv].data);
            const uint16_t *s = g->values[abv].data;
            for (int i = 0; i < 3; i++)
                ck_assert_int_eq(s[i], xf_f32_to_f16((float)xf_f16_to_f32(av[i]) + xf_f16_to_f32(bv[i])));
        }
        /* nothing but conversions reads or writes float16 */
        for (int32_t i = 0; i < g->nnodes; i++) {
            const xf_node *n = &g->nodes[i];
            if (n->dead || n->op == XF_OP_CONVERT) continue;
            for (int k = 0; k < n->nin; k++)
                ck_assert_int_ne(g->values[n->in[k]].dtype, XF_F16);
            ck_assert_int_eq(g->values[n->out[0]].dtype, XF_F32);
        }
        xf_graph_free(g);
    }
}
END_TEST

/* LayerNormalization on float16: Y is float16 like X, Mean and InvStdDev stay float32 (stash_type). */
START_TEST(test_f16_layer_norm_stats) {
    xf_graph *g = xf_graph_new("ln.onnx");
    g->opset = 21;
    uint16_t one[4] = {0x3c00, 0x3c00, 0x3c00, 0x3c00};
    int32_t x = tu_input(g, "x", XF_F16, 2, SHAPE(2, 4));
    int32_t outs[3] = {tu_fresh(g, "y"), tu_fresh(g, "mean"), tu_fresh(g, "inv")};
    xf_node_add(g, XF_OP_LAYER_NORM, "ln", 2, (int32_t[]){x, xf_const_add(g, "s", XF_F16, 1, SHAPE(4), one)}, 3, outs);
    for (int k = 0; k < 3; k++) tu_mark_output(g, outs[k]);
    xf_diag d = {0};
    xf_options o = {.opt_level = 2};
    ck_assert_msg(xf_run_pipeline(g, &o, &d), "%s", d.msg);
    CHECK_SHAPE(g, outs[0], XF_F16, 2, 4);
    CHECK_SHAPE(g, outs[1], XF_F32, 2, 1);
    CHECK_SHAPE(g, outs[2], XF_F32, 2, 1);
    xf_graph_free(g);
}
END_TEST

static Suite *lowp_suite(void) {
    Suite *s = suite_create("lowp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_f16_widen_all);
    tcase_add_test(tc, test_f16_rounding);
    tcase_add_test(tc, test_bf16);
    tcase_add_test(tc, test_f8_all_codes);
    tcase_add_test(tc, test_f8_rounding);
    tcase_add_test(tc, test_f8_saturation);
    tcase_add_test(tc, test_f4);
    tcase_add_test(tc, test_e8m0);
    tcase_add_test(tc, test_cast_int4_packing);
    tcase_add_test(tc, test_dtype_bytes);
    tcase_add_test(tc, test_f16_graph);
    tcase_add_test(tc, test_f16_layer_norm_stats);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(lowp_suite()); }
