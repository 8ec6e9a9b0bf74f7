/* ops_quant.c — shape inference of the quantization ops: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, and the integer products MatMulInteger, QLinearMatMul,
 * ConvInteger, QLinearConv.
 *
 * One rule serves every opset of QuantizeLinear and DequantizeLinear (10 to 23): a scale of one
 * value quantizes per tensor; a 1-D scale, one value per index along `axis` (default 1); with
 * `block_size`, a scale shaped like x except along the axis, where it holds one value per block of
 * block_size elements (the last block may be short). The zero point, when given, has the scale's
 * shape. QuantizeLinear's output type is the zero point's, or the attribute output_dtype (opset
 * 21), or uint8.
 *
 * The integer products take the geometry of MatMul and Conv from ir/ops_math.c; their operands sit
 * at other input positions, which is why those helpers take the values as arguments. Zero points
 * and scales are per tensor, or per row of A / column of B / output channel of W where ONNX allows.
 *
 * The geometry is settled here, by helpers the lowering (lower/quant.c) calls too (declared in
 * ops.h); the kernels (runtime/quant.c) receive element type numbers and plain sizes. Shape rules
 * accept what ONNX defines; lowering refuses the element types the kernels do not handle yet, with a
 * diagnostic. QuantizeLinear and DequantizeLinear take the narrow formats
 * as they are stored (XF_FLAG_NARROW_IO: no conversions are inserted around them): float16 and
 * bfloat16 inputs, scales and outputs, and float8, int4, uint4 and float4e2m1 quantized data; the
 * integer products still take 8-bit operands and float32 scales (float16 ones are converted to
 * float32 before them). */
#include <string.h>

#include "ops.h"

/* The quantized types the quantize / dequantize kernels read and write: the integers, and the
 * float8 and 4-bit formats (float8e8m0 is a scale format, not a quantized one). */
bool xf_is_quant_type(int32_t t) {
    return t == XF_U8 || t == XF_I8 || t == XF_U16 || t == XF_I16 || t == XF_U4 || t == XF_I4 ||
           (t >= XF_F8E4M3FN && t <= XF_F8E5M2FNUZ) || t == XF_F4E2M1;
}
/* The floating types of their scales, of QuantizeLinear's input and DequantizeLinear's output. */
bool xf_is_scale_type(int32_t t) { return t == XF_F32 || t == XF_F16 || t == XF_BF16; }
/* The operand types of the integer products. */
static bool is_8bit(int32_t t) { return t == XF_U8 || t == XF_I8; }

/* ---- QuantizeLinear, DequantizeLinear ---- */

typedef xf_qlayout qlayout; /* declared in ops.h: the lowering reads it */

bool xf_quant_layout(xf_graph *g, const xf_node *n, qlayout *l, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *s = xf_in(g, n, 1), *z = xf_in(g, n, 2);
    char sx[128], ss[128], sz[128];
    if (!x || !s) return xf_fail(d, g, n, "expects inputs x and scale");
    int64_t ns = xf_value_numel(s), block = xf_attr_int(n, "block_size", 0);
    if (block < 0 || block >= XF_DIM_MAX)
        return xf_fail(d, g, n, "block_size must be positive and below 2^31, not %lld", (long long)block);
    bool same = z && z->rank == s->rank && memcmp(z->shape, s->shape, sizeof *s->shape * (size_t)s->rank) == 0;
    if (z && !same && !(ns == 1 && xf_value_numel(z) == 1))
        return xf_fail(d, g, n, "zero point of shape %s does not match scale of shape %s", xf_shape_str(z, sz, sizeof sz),
                       xf_shape_str(s, ss, sizeof ss));
    memset(l, 0, sizeof *l);
    l->block = 1;
    if (ns == 1) { /* per tensor: every step 0 */
        l->outer = l->inner = 1;
        l->dim = xf_value_numel(x);
        return true;
    }
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 1), x->rank, &axis, d)) return false;
    l->outer = xf_prod(x->shape, 0, axis);
    l->dim = x->shape[axis];
    l->inner = xf_prod(x->shape, axis + 1, x->rank);
    if (block == 0) { /* per axis */
        if (s->rank != 1 || s->shape[0] != l->dim)
            return xf_fail(d, g, n, "scale of shape %s does not fit x of shape %s: expected one value, or %lld (one per "
                           "index along axis %d), or block_size", xf_shape_str(s, ss, sizeof ss),
                           xf_shape_str(x, sx, sizeof sx), (long long)l->dim, axis);
        l->s_mid = 1;
        return true;
    }
    int64_t blocks = (l->dim + block - 1) / block;
    bool fits = s->rank == x->rank;
    for (int i = 0; fits && i < x->rank; i++) fits = s->shape[i] == (i == axis ? blocks : x->shape[i]);
    if (!fits)
        return xf_fail(d, g, n, "scale of shape %s does not fit x of shape %s in blocks of %lld along axis %d: "
                       "expected x's shape with %lld there", xf_shape_str(s, ss, sizeof ss),
                       xf_shape_str(x, sx, sizeof sx), (long long)block, axis, (long long)blocks);
    l->block = block;
    l->s_outer = blocks * l->inner;
    l->s_mid = l->inner;
    l->s_inner = 1;
    return true;
}

/* QuantizeLinear's output type: the zero point's; else output_dtype; else uint8. */
bool xf_quantize_type(xf_graph *g, const xf_node *n, int32_t *type, xf_diag *d) {
    xf_value *z = xf_in(g, n, 2);
    int32_t t = (int32_t)xf_attr_int(n, "output_dtype", 0); /* 0: not given */
    if (z && t && t != z->dtype)
        return xf_fail(d, g, n, "output_dtype %s differs from the zero point's type %s", xf_dtype_name(t),
                       xf_dtype_name(z->dtype));
    *type = z ? z->dtype : t ? t : XF_U8;
    if (!xf_is_quant_type(*type))
        return xf_fail(d, g, n, "quantizing to %s is not supported (uint8, int8, uint16, int16, uint4, int4, "
                       "the float8 types and float4e2m1 are)", xf_dtype_name(*type));
    return true;
}

/* DequantizeLinear's output type: output_dtype (opset 23), else the scale's. */
bool xf_dequantize_type(xf_graph *g, const xf_node *n, int32_t *type, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *s = xf_in(g, n, 1), *z = xf_in(g, n, 2);
    if (z && z->dtype != x->dtype)
        return xf_fail(d, g, n, "zero point of type %s does not match x of type %s", xf_dtype_name(z->dtype),
                       xf_dtype_name(x->dtype));
    *type = (int32_t)xf_attr_int(n, "output_dtype", 0);
    if (!*type) *type = s->dtype;
    if (!xf_dtype_is_float(*type))
        return xf_fail(d, g, n, "the output type %s is not a floating-point type", xf_dtype_name(*type));
    return true;
}

bool xf_shape_quantize(xf_graph *g, xf_node *n, xf_diag *d) {
    qlayout l;
    int32_t type;
    bool quantize = n->op == XF_OP_QUANTIZE_LINEAR;
    if (!xf_quant_layout(g, n, &l, d)) return false;
    if (!(quantize ? xf_quantize_type(g, n, &type, d) : xf_dequantize_type(g, n, &type, d))) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, type, x->rank, x->shape);
    return true;
}

/* ---- DynamicQuantizeLinear ---- */

/* y (uint8, x's shape), y_scale (float32 scalar), y_zero_point (uint8 scalar). */
bool xf_shape_dynamic_quantize(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects input x");
    xf_set_out(g, n, 0, XF_U8, x->rank, x->shape);
    xf_set_out(g, n, 1, x->dtype, 0, NULL);
    xf_set_out(g, n, 2, XF_U8, 0, NULL);
    return true;
}

/* ---- shared by the integer products ---- */

/* Step of a scale or zero point that holds one value (0) or, where ONNX allows it, one per row,
 * column or channel: `count` values (1). A missing one reads as 0 and has step 0. */
static bool per_step(xf_graph *g, const xf_node *n, const xf_value *v, int64_t count, const char *per, int64_t *step,
                     xf_diag *d) {
    char s[128];
    int64_t k = v ? xf_value_numel(v) : 1;
    *step = k == 1 ? 0 : 1;
    if (k == 1 || k == count) return true;
    return xf_fail(d, g, n, "'%s' of shape %s must hold one value or one per %s (%lld)", v->name,
                   xf_shape_str(v, s, sizeof s), per, (long long)count);
}

static bool one_value(xf_graph *g, const xf_node *n, const xf_value *v, xf_diag *d) {
    char s[128];
    if (!v || xf_value_numel(v) == 1) return true;
    return xf_fail(d, g, n, "'%s' of shape %s must hold one value", v->name, xf_shape_str(v, s, sizeof s));
}

/* A zero point has the type of its operand. */
static bool zp_type(xf_graph *g, const xf_node *n, const xf_value *z, const xf_value *v, xf_diag *d) {
    if (!z || z->dtype == v->dtype) return true;
    return xf_fail(d, g, n, "zero point '%s' of type %s does not match '%s' of type %s", z->name,
                   xf_dtype_name(z->dtype), v->name, xf_dtype_name(v->dtype));
}

static bool operand_8bit(xf_graph *g, const xf_node *n, const xf_value *v, xf_diag *d) {
    if (is_8bit(v->dtype)) return true;
    return xf_fail(d, g, n, "'%s' of type %s is not supported (uint8 and int8 are)", v->name, xf_dtype_name(v->dtype));
}

/* QLinear ops: the three scales share one float type. */
static bool scale_types(xf_graph *g, const xf_node *n, const xf_value *const *s, xf_diag *d) {
    for (int i = 0; i < 3; i++) {
        if (!s[i]) return xf_fail(d, g, n, "expects all three scales");
        if (!xf_dtype_is_float(s[i]->dtype) || s[i]->dtype != s[0]->dtype)
            return xf_fail(d, g, n, "scale '%s' of type %s: the scales must share one floating-point type", s[i]->name,
                           xf_dtype_name(s[i]->dtype));
    }
    return true;
}

/* ---- MatMulInteger, QLinearMatMul ---- */

typedef xf_qmatmul_geom qmatmul; /* declared in ops.h: the lowering reads it */

bool xf_qmatmul_params(xf_graph *g, const xf_node *n, qmatmul *p, xf_diag *d) {
    memset(p, 0, sizeof *p);
    bool qlinear = n->op == XF_OP_QLINEAR_MATMUL;
    p->a = xf_in(g, n, 0);
    p->b = xf_in(g, n, qlinear ? 3 : 1);
    p->a_zp = xf_in(g, n, 2);
    p->b_zp = xf_in(g, n, qlinear ? 5 : 3);
    if (qlinear) {
        p->s[0] = xf_in(g, n, 1);
        p->s[1] = xf_in(g, n, 4);
        p->s[2] = xf_in(g, n, 6);
        p->y_zp = xf_in(g, n, 7);
    }
    if (!p->a || !p->b) return xf_fail(d, g, n, "expects operands A and B");
    if (!operand_8bit(g, n, p->a, d) || !operand_8bit(g, n, p->b, d) || !zp_type(g, n, p->a_zp, p->a, d) ||
        !zp_type(g, n, p->b_zp, p->b, d) || !xf_matmul_geometry(g, n, p->a, p->b, &p->mm, d))
        return false;
    int64_t s_row, s_col, s_y;
    if (!per_step(g, n, p->a_zp, p->mm.m, "row of A", &p->a_row, d) ||
        !per_step(g, n, p->b_zp, p->mm.n, "column of B", &p->b_col, d))
        return false;
    p->y_type = XF_I32;
    if (!qlinear) return true;
    if (!scale_types(g, n, (const xf_value *const *)p->s, d)) return false;
    if (!per_step(g, n, p->s[0], p->mm.m, "row of A", &s_row, d) ||
        !per_step(g, n, p->s[1], p->mm.n, "column of B", &s_col, d) ||
        !per_step(g, n, p->s[2], p->mm.m, "row of Y", &s_y, d) || !per_step(g, n, p->y_zp, p->mm.m, "row of Y", &p->y_row, d))
        return false;
    /* a scale and its zero point go together, so one step serves both */
    if ((p->a_zp && s_row != p->a_row) || (p->b_zp && s_col != p->b_col) || (p->y_zp && s_y != p->y_row))
        return xf_fail(d, g, n, "a scale and its zero point must both be per tensor or both per row / column");
    p->a_row = s_row;
    p->b_col = s_col;
    p->y_row = s_y;
    p->y_type = p->y_zp ? p->y_zp->dtype : p->a->dtype;
    if (!is_8bit(p->y_type))
        return xf_fail(d, g, n, "the output type %s is not supported (uint8 and int8 are)", xf_dtype_name(p->y_type));
    return true;
}

bool xf_shape_qmatmul(xf_graph *g, xf_node *n, xf_diag *d) {
    qmatmul p;
    if (!xf_qmatmul_params(g, n, &p, d)) return false;
    int64_t shape[XF_MAX_RANK]; /* brank <= XF_MAX_RANK - 2 */
    int rank = 0;
    for (int i = 0; i < p.mm.brank; i++) shape[rank++] = p.mm.batch[i];
    if (p.a->rank >= 2) shape[rank++] = p.mm.m;
    if (p.b->rank >= 2) shape[rank++] = p.mm.n;
    xf_set_out(g, n, 0, p.y_type, rank, shape);
    return true;
}

/* ---- ConvInteger, QLinearConv ---- */

typedef xf_qconv_geom qconv; /* declared in ops.h: the lowering reads it */

bool xf_qconv_params(xf_graph *g, const xf_node *n, qconv *p, xf_diag *d) {
    memset(p, 0, sizeof *p);
    bool qlinear = n->op == XF_OP_QLINEAR_CONV;
    p->x = xf_in(g, n, 0);
    p->w = xf_in(g, n, qlinear ? 3 : 1);
    p->x_zp = xf_in(g, n, 2);
    p->w_zp = xf_in(g, n, qlinear ? 5 : 3);
    if (qlinear) {
        p->s[0] = xf_in(g, n, 1);
        p->s[1] = xf_in(g, n, 4);
        p->s[2] = xf_in(g, n, 6);
        p->y_zp = xf_in(g, n, 7);
        p->bias = xf_in(g, n, 8);
    }
    if (!p->x || !p->w) return xf_fail(d, g, n, "expects inputs X and W");
    if (!operand_8bit(g, n, p->x, d) || !operand_8bit(g, n, p->w, d) || !zp_type(g, n, p->x_zp, p->x, d) ||
        !zp_type(g, n, p->w_zp, p->w, d))
        return false;
    if (p->bias && p->bias->dtype != XF_I32)
        return xf_fail(d, g, n, "bias B must be int32, not %s", xf_dtype_name(p->bias->dtype));
    if (!xf_conv_geometry(g, n, p->x, p->w, p->bias, &p->cv, d)) return false;
    int64_t s_step;
    if (!one_value(g, n, p->x_zp, d) || !per_step(g, n, p->w_zp, p->cv.c_out, "output channel", &p->w_chan, d))
        return false;
    p->y_type = XF_I32;
    if (!qlinear) return true;
    if (!scale_types(g, n, (const xf_value *const *)p->s, d)) return false;
    if (!one_value(g, n, p->s[0], d) || !per_step(g, n, p->s[1], p->cv.c_out, "output channel", &s_step, d) ||
        !one_value(g, n, p->s[2], d) || !one_value(g, n, p->y_zp, d))
        return false;
    if (p->w_zp && s_step != p->w_chan)
        return xf_fail(d, g, n, "w_scale and w_zero_point must both be per tensor or both per output channel");
    p->w_chan = s_step;
    p->y_type = p->y_zp ? p->y_zp->dtype : p->x->dtype;
    if (!is_8bit(p->y_type))
        return xf_fail(d, g, n, "the output type %s is not supported (uint8 and int8 are)", xf_dtype_name(p->y_type));
    return true;
}

bool xf_shape_qconv(xf_graph *g, xf_node *n, xf_diag *d) {
    qconv p;
    if (!xf_qconv_params(g, n, &p, d)) return false;
    int64_t shape[4] = {p.cv.batch, p.cv.c_out, p.cv.out[0], p.cv.out[1]};
    if (p.x->rank == 3) shape[2] = p.cv.out[1];
    xf_set_out(g, n, 0, p.y_type, p.x->rank, shape);
    return true;
}
