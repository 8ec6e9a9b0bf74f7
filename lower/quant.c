/* quant.c — lowering of the quantization ops: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, and the integer products MatMulInteger, QLinearMatMul, ConvInteger,
 * QLinearConv, each to a kernel of runtime/quant.c (the matrix products to one call per run of their
 * broadcast batch, as MatMul).
 *
 * The layouts and geometry come from the shape rules' helpers (ir/ops_quant.c); the kernels take
 * element types as ONNX numbers, so one kernel serves every type pair. Here the element types the
 * kernels do not handle yet are refused with a diagnostic: the integer products take 8-bit operands
 * and float32 scales. */
#include "../ir/ops.h"
#include "lower.h"

static bool need_f32_scale(xf_graph *g, const xf_node *n, const xf_value *s, xf_diag *d) {
    if (!s || s->dtype == XF_F32) return true;
    return xf_fail(d, g, n, "scale '%s' of type %s is not supported (float32 only)", s->name, xf_dtype_name(s->dtype));
}

/* ---- QuantizeLinear, DequantizeLinear ---- */

int xf_lower_quantize(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_qlayout l;
    int32_t type;
    bool quantize = n->op == XF_OP_QUANTIZE_LINEAR;
    if (!xf_quant_layout(g, n, &l, d)) return -1;
    if (!(quantize ? xf_quantize_type(g, n, &type, d) : xf_dequantize_type(g, n, &type, d))) return -1;
    xf_value *x = xf_in(g, n, 0), *s = xf_in(g, n, 1);
    if (quantize && !xf_is_scale_type(x->dtype) && x->dtype != XF_I32)
        return xf_fail(d, g, n, "quantizing %s is not supported (float32, float16, bfloat16 and int32 are)",
                       xf_dtype_name(x->dtype)), -1;
    if (!quantize && !xf_is_quant_type(x->dtype) && x->dtype != XF_I32)
        return xf_fail(d, g, n, "dequantizing %s is not supported (uint8, int8, uint16, int16, int32, uint4, int4, "
                       "the float8 types and float4e2m1 are)", xf_dtype_name(x->dtype)), -1;
    if (!quantize && !xf_is_scale_type(type))
        return xf_fail(d, g, n, "dequantizing to %s is not supported (float32, float16 and bfloat16 are)",
                       xf_dtype_name(type)), -1;
    if (!xf_is_scale_type(s->dtype))
        return xf_fail(d, g, n, "scale '%s' of type %s is not supported (float32, float16 and bfloat16 are)", s->name,
                       xf_dtype_name(s->dtype)), -1;
    /* The type QuantizeLinear divides in: `precision` (opset 23) when given; else numpy's type for
     * x / scale, as in the reference: a half type only when both are that type, float32 otherwise. */
    int64_t div_type = xf_attr_int(n, "precision", 0);
    if (quantize && div_type && !xf_is_scale_type((int32_t)div_type))
        return xf_fail(d, g, n, "precision %s is not supported (float32, float16 and bfloat16 are)",
                       xf_dtype_name((int32_t)div_type)), -1;
    if (!div_type) div_type = x->dtype == s->dtype && x->dtype != XF_F32 ? x->dtype : XF_F32;
    if (!xf_has_output(g, n, 0)) return 0;
#define XF_LAYOUT .outer = l.outer, .dim = l.dim, .inner = l.inner, .block = l.block, .s_outer = l.s_outer, \
                  .s_mid = l.s_mid, .s_inner = l.s_inner
    if (quantize)
        XF_CALL(out, xf_quantize, .y = xf_t(n->out[0]), .y_type = type, .x = xf_t(n->in[0]), .x_type = x->dtype,
                .scale = xf_t(n->in[1]), .scale_type = s->dtype, .zp = xf_t(xf_in_handle(n, 2)), XF_LAYOUT,
                .saturate = xf_attr_int(n, "saturate", 1) != 0, .div_type = div_type);
    else
        XF_CALL(out, xf_dequantize, .y = xf_t(n->out[0]), .y_type = type, .x = xf_t(n->in[0]), .x_type = x->dtype,
                .scale = xf_t(n->in[1]), .scale_type = s->dtype, .zp = xf_t(xf_in_handle(n, 2)), XF_LAYOUT);
#undef XF_LAYOUT
    return 0;
}

/* ---- DynamicQuantizeLinear ---- */

int xf_lower_dynamic_quantize(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects input x"), -1;
    if (x->dtype != XF_F32)
        return xf_fail(d, g, n, "DynamicQuantizeLinear of %s is not supported (float32 only)", xf_dtype_name(x->dtype)), -1;
    if (!xf_out(g, n, 0) && !xf_out(g, n, 1) && !xf_out(g, n, 2)) return 0;
    XF_CALL(out, xf_dynamic_quantize, .y = xf_t(xf_out_handle(n, 0)), .scale_out = xf_t(xf_out_handle(n, 1)),
            .zp_out = xf_t(xf_out_handle(n, 2)), .x = xf_t(n->in[0]), .n = xf_value_numel(x));
    return 0;
}

/* ---- MatMulInteger, QLinearMatMul ---- */

int xf_lower_qmatmul(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_qmatmul_geom p;
    if (!xf_qmatmul_params(g, n, &p, d) || !need_f32_scale(g, n, p.s[0], d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    bool qlinear = n->op == XF_OP_QLINEAR_MATMUL;
    int64_t dims[XF_MAX_RANK], as[XF_MAX_RANK], bs[XF_MAX_RANK];
    int r = xf_matmul_batch_runs(&p.mm, dims, as, bs);
    int64_t ncalls = xf_prod(dims, 0, r - 1);
    if (ncalls > out->max)
        return xf_fail(d, g, n, "broadcasting the batch dims of '%s' and '%s' needs %lld kernel calls, at most %d "
                       "are supported", p.a->name, p.b->name, (long long)ncalls, out->max), -1;
    int64_t idx[XF_MAX_RANK] = {0}, m = p.mm.m, k = p.mm.k, nn = p.mm.n;
    for (int64_t t = 0; t < ncalls; t++) {
        int64_t a_off = 0, b_off = 0;
        for (int i = 0; i < r - 1; i++) {
            a_off += idx[i] * as[i];
            b_off += idx[i] * bs[i];
        }
        XF_CALL(out, xf_qmatmul, .y = xf_t_at(n->out[0], t * dims[r - 1] * m * nn), .y_type = p.y_type,
                .a = xf_t_at(n->in[0], a_off), .a_type = p.a->dtype, .a_zp = xf_t(xf_in_handle(n, 2)),
                .a_scale = xf_t(qlinear ? n->in[1] : -1), .a_per_row = p.a_row,
                .b = xf_t_at(n->in[qlinear ? 3 : 1], b_off), .b_type = p.b->dtype,
                .b_zp = xf_t(xf_in_handle(n, qlinear ? 5 : 3)), .b_scale = xf_t(qlinear ? n->in[4] : -1),
                .b_per_col = p.b_col, .y_zp = xf_t(qlinear ? xf_in_handle(n, 7) : -1),
                .y_scale = xf_t(qlinear ? n->in[6] : -1), .y_per_row = p.y_row,
                .scale_type = qlinear ? p.s[0]->dtype : XF_F32, .batch = dims[r - 1], .m = m, .k = k, .n = nn,
                .a_step = as[r - 1], .b_step = bs[r - 1]);
        for (int i = r - 2; i >= 0 && ++idx[i] == dims[i]; i--) idx[i] = 0;
    }
    return 0;
}

/* ---- ConvInteger, QLinearConv ---- */

int xf_lower_qconv(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_qconv_geom p;
    if (!xf_qconv_params(g, n, &p, d) || !need_f32_scale(g, n, p.s[0], d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    bool qlinear = n->op == XF_OP_QLINEAR_CONV;
    const xf_conv_geom *v = &p.cv;
    int64_t geom[] = {v->batch, v->groups, v->c_in, v->in[0], v->in[1], v->c_out, v->kernel[0], v->kernel[1],
                      v->out[0], v->out[1], v->stride[0], v->stride[1], v->pad[0], v->pad[1], v->dilation[0],
                      v->dilation[1]};
    XF_CALL(out, xf_qconv, .y = xf_t(n->out[0]), .y_type = p.y_type, .x = xf_t(n->in[0]), .x_type = p.x->dtype,
            .x_zp = xf_t(xf_in_handle(n, 2)), .x_scale = xf_t(qlinear ? n->in[1] : -1),
            .wt = xf_t(n->in[qlinear ? 3 : 1]), .w_type = p.w->dtype, .w_zp = xf_t(xf_in_handle(n, qlinear ? 5 : 3)),
            .w_scale = xf_t(qlinear ? n->in[4] : -1), .w_per_channel = p.w_chan,
            .y_zp = xf_t(qlinear ? xf_in_handle(n, 7) : -1), .y_scale = xf_t(qlinear ? n->in[6] : -1),
            .scale_type = qlinear ? p.s[0]->dtype : XF_F32, .bias = xf_t(qlinear ? xf_in_handle(n, 8) : -1),
            .geom = xf_ints(g, (int32_t)(sizeof geom / sizeof geom[0]), geom));
    return 0;
}
