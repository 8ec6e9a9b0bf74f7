/* quant.c — runtime kernels of the quantization ops: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear and the integer matrix products and convolutions (MatMulInteger,
 * QLinearMatMul, ConvInteger, QLinearConv).
 *
 * Element types travel as their ONNX numbers (1 float32, 2 uint8, 3 int8, 4 uint16, 5 int16,
 * 6 int32, 10 float16, 16 bfloat16, 17 float8e4m3fn, 18 float8e4m3fnuz, 19 float8e5m2,
 * 20 float8e5m2fnuz, 21 uint4, 22 int4, 23 float4e2m1), so one kernel serves every type pair and
 * the conversions sit in a few small helpers: xf_q_int reads a quantized integer, xf_q_real any
 * element as a float, xf_q_round rounds, xf_q_put rounds, adds the zero point and saturates into
 * the target type. A narrow type is one more case in those switches, which call the conversions
 * of runtime/lowp.c: QuantizeLinear and DequantizeLinear read and write the narrow formats in
 * ONNX's bytes themselves (XF_FLAG_NARROW_IO), because a conversion to float32 or int8 around them
 * would round or wrap where ONNX saturates (int4), or could not express the result at all
 * (quantizing to float8). 4-bit elements sit two to a byte, low nibble first.
 *
 * Rounding is to nearest with ties to even and results saturate to the type's range, as ONNX
 * specifies; it is done with integer arithmetic, so it needs no rounding-mode state and no libm.
 * Scales and zero points are indexed as xfc settled at compile time: a scale step of 0 reads one
 * value for the whole tensor, 1 one per row, channel or block. Arguments follow memcpy: outputs
 * first, then inputs, then sizes; optional tensors (zero points, bias) may be NULL, meaning 0.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_q_int */
/* Element i of p, of the quantized integer type dtype (uint8, int8, uint16, int16, int32, and the
 * packed uint4 and int4: element i in the low nibble of byte i/2 when i is even, the high one when
 * odd; int4 is sign-extended from its top bit). */
XF_API int32_t xf_q_int(const void *p, int64_t i, int64_t dtype) {
    switch (dtype) {
    case 2: return ((const uint8_t *)p)[i];
    case 3: return ((const int8_t *)p)[i];
    case 4: return ((const uint16_t *)p)[i];
    case 5: return ((const int16_t *)p)[i];
    case 21: return ((const uint8_t *)p)[i >> 1] >> (4 * (i & 1)) & 0xf;
    case 22: return (int32_t)((((const uint8_t *)p)[i >> 1] >> (4 * (i & 1)) & 0xf) ^ 8) - 8;
    default: return ((const int32_t *)p)[i];
    }
}

/* @kernel xf_q_real */
/* Element i of p, of ONNX type dtype, as a float: a float32, float16 or bfloat16 scale or input, a
 * float8 or float4e2m1 code (every one of those is exactly a float32), or a quantized integer
 * (exact up to 2^24, which covers every type but int32, as the reference's cast does). */
XF_API float xf_q_real(const void *p, int64_t i, int64_t dtype) {
    switch (dtype) {
    case 1: return ((const float *)p)[i];
    case 10: return xf_f16_to_f32(((const uint16_t *)p)[i]);
    case 16: return xf_bf16_to_f32(((const uint16_t *)p)[i]);
    case 17: case 18: case 19: case 20: return xf_f8_to_f32(((const uint8_t *)p)[i], dtype);
    case 23: return xf_f4_to_f32((uint8_t)(((const uint8_t *)p)[i >> 1] >> (4 * (i & 1))));
    default: return (float)xf_q_int(p, i, dtype);
    }
}

/* @kernel xf_q_round */
/* v rounded to the nearest integer, ties to even (numpy's rint). NaN gives 0. Values far outside
 * every quantized range are clamped first, which keeps the conversion to int64 defined and the
 * subtraction below exact. */
XF_API int64_t xf_q_round(double v) {
    if (v != v) return 0;
    if (v > 1e15) v = 1e15;
    if (v < -1e15) v = -1e15;
    int64_t t = (int64_t)v; /* toward zero */
    double f = v - (double)t;
    if (f > 0.5 || (f == 0.5 && (t & 1))) t++;
    if (f < -0.5 || (f == -0.5 && (t & 1))) t--;
    return t;
}

/* @kernel xf_q_put */
/* y[i] = saturate(round(v) + zero point) in y's type dtype; the zero point is zp[zi] (of the same
 * type), or 0 when zp is NULL. Integer types always saturate, int4 to [-8, 7] and uint4 to
 * [0, 15]. The float formats are not rounded to an integer: v plus the zero point (a value of the
 * format, 0 in practice; added in float32 as the reference does) is rounded once into the format.
 * `saturate` is QuantizeLinear's attribute, which only the float8 types look at: overflow then
 * gives the largest finite value instead of infinity (e5m2) or NaN; float4e2m1 always saturates.
 * int32 is here for the integer products, whose accumulators it stores.
 * A 4-bit element shares its byte: an even i writes the whole byte (high nibble 0), an odd i fills
 * in the high nibble, so elements must be stored in increasing order, as every caller does. */
XF_API void xf_q_put(void *y, int64_t i, int64_t dtype, double v, const void *zp, int64_t zi, int64_t saturate) {
    int64_t code; /* the integer to store, or the float format's code */
    if ((dtype >= 17 && dtype <= 20) || dtype == 23) {
        float f = (float)v;
        if (zp) f += xf_q_real(zp, zi, dtype); /* only when given: -0 + 0 would lose the sign */
        code = dtype == 23 ? xf_f32_to_f4(f) : xf_f32_to_f8(f, dtype, saturate);
    } else {
        int64_t lo, hi;
        switch (dtype) {
        case 2: lo = 0, hi = 255; break;
        case 3: lo = -128, hi = 127; break;
        case 4: lo = 0, hi = 65535; break;
        case 5: lo = -32768, hi = 32767; break;
        case 21: lo = 0, hi = 15; break;
        case 22: lo = -8, hi = 7; break;
        default: lo = -2147483647 - 1, hi = 2147483647; break; /* int32 */
        }
        code = xf_q_round(v) + (zp ? xf_q_int(zp, zi, dtype) : 0);
        code = code < lo ? lo : code > hi ? hi : code;
    }
    switch (dtype) {
    case 2: case 17: case 18: case 19: case 20: ((uint8_t *)y)[i] = (uint8_t)code; break;
    case 3: ((int8_t *)y)[i] = (int8_t)code; break;
    case 4: ((uint16_t *)y)[i] = (uint16_t)code; break;
    case 5: ((int16_t *)y)[i] = (int16_t)code; break;
    case 21: case 22: case 23: {
        uint8_t nib = (uint8_t)(code & 0xf), *b = (uint8_t *)y + (i >> 1);
        *b = (i & 1) ? (uint8_t)((*b & 0x0f) | nib << 4) : nib;
        break;
    }
    default: ((int32_t *)y)[i] = (int32_t)code; break;
    }
}

/* @kernel xf_quantize */
/* QuantizeLinear: y = saturate(round(x / scale) + zero_point). x is viewed as [outer, dim, inner]
 * around the quantization axis; element (o, j, t) uses scale and zero point number
 * o*s_outer + (j/block)*s_mid + t*s_inner: all steps 0 per tensor; s_mid 1 per axis; for blocks of
 * `block` along the axis, the index into a scale shaped like x with dim/block (rounded up) there. The
 * division is done in float, as the reference does, not as a multiplication by 1/scale. div_type is
 * the type it is done in: 1 float32, or 10 float16 / 16 bfloat16, in which case both operands and
 * the quotient are rounded to that type (as numpy's half-precision division does: float32
 * arithmetic, rounded once). */
XF_API void xf_quantize(void *y, int64_t y_type, const void *x, int64_t x_type, const void *scale, int64_t scale_type,
                        const void *zp, int64_t outer, int64_t dim, int64_t inner, int64_t block, int64_t s_outer,
                        int64_t s_mid, int64_t s_inner, int64_t saturate, int64_t div_type) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < dim; j++)
            for (int64_t t = 0; t < inner; t++) {
                int64_t e = (o * dim + j) * inner + t, s = o * s_outer + j / block * s_mid + t * s_inner;
                float a = xf_q_real(x, e, x_type), b = xf_q_real(scale, s, scale_type), v;
                if (div_type == 10) {
                    a = xf_f16_to_f32(xf_f32_to_f16(a));
                    b = xf_f16_to_f32(xf_f32_to_f16(b));
                    v = xf_f16_to_f32(xf_f32_to_f16(a / b));
                } else if (div_type == 16) {
                    a = xf_bf16_to_f32(xf_f32_to_bf16(a));
                    b = xf_bf16_to_f32(xf_f32_to_bf16(b));
                    v = xf_bf16_to_f32(xf_f32_to_bf16(a / b));
                } else {
                    v = a / b;
                }
                xf_q_put(y, e, y_type, v, zp, s, saturate);
            }
}

/* @kernel xf_dequantize */
/* DequantizeLinear: y = (x - zero_point) * scale, computed in float32 (the reference's float32
 * product, whatever the scale's type); x, its scale and zero point are laid out as in
 * xf_quantize, and the zero point has x's type. y is float32 (y_type 1), or float16 (10) or
 * bfloat16 (16), to which the float32 result is rounded once. */
XF_API void xf_dequantize(void *y, int64_t y_type, const void *x, int64_t x_type, const void *scale, int64_t scale_type,
                          const void *zp, int64_t outer, int64_t dim, int64_t inner, int64_t block, int64_t s_outer,
                          int64_t s_mid, int64_t s_inner) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < dim; j++)
            for (int64_t t = 0; t < inner; t++) {
                int64_t e = (o * dim + j) * inner + t, s = o * s_outer + j / block * s_mid + t * s_inner;
                float v = xf_q_real(x, e, x_type);
                if (zp) v -= xf_q_real(zp, s, x_type);
                v *= xf_q_real(scale, s, scale_type);
                switch (y_type) {
                case 10: ((uint16_t *)y)[e] = xf_f32_to_f16(v); break;
                case 16: ((uint16_t *)y)[e] = xf_f32_to_bf16(v); break;
                default: ((float *)y)[e] = v; break;
                }
            }
}

/* @kernel xf_dynamic_quantize */
/* DynamicQuantizeLinear: the range of x widened to include 0, [lo, hi], is mapped onto uint8:
 * scale = (hi - lo) / 255 (1/255 when x is all zeros), zero point = round(-lo / scale) clamped to
 * [0, 255], y = saturate(round(x / scale) + zero point). All in float, as the ONNX reference. Any
 * of the outputs may be NULL (unused). */
XF_API void xf_dynamic_quantize(uint8_t *restrict y, float *scale_out, uint8_t *zp_out, const float *restrict x,
                                int64_t n) {
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
    float zp = 0.0f - lo / scale;
    zp = zp < 0.0f ? 0.0f : zp > 255.0f ? 255.0f : zp;
    uint8_t z = (uint8_t)xf_q_round(zp);
    for (int64_t i = 0; y && i < n; i++) xf_q_put(y, i, 2, x[i] / scale, &z, 0, 1);
    if (scale_out) *scale_out = scale;
    if (zp_out) *zp_out = z;
}

/* @kernel xf_qmatmul */
/* MatMulInteger (y_type 6, int32: the exact sums) and QLinearMatMul (y of int8 or uint8: requantized)
 * for `batch` products, as xf_matmul: y[t] = (a[t] - a_zp) @ (b[t] - b_zp), a[t] being [m,k] at
 * element t*a_step of a and b[t] [k,n] at t*b_step of b (a step of 0 broadcasts one matrix).
 * a's zero point and scale are per tensor (a_per_row 0) or per row (1), b's per tensor or per column
 * (b_per_col 1), y's per tensor or per row (y_per_row 1). QLinearMatMul scales the sum by
 * a_scale * b_scale / y_scale, that factor in float and the product in double, as the reference
 * does; MatMulInteger's scales are NULL. Sums accumulate in int64, so they cannot overflow. */
XF_API void xf_qmatmul(void *y, int64_t y_type, const void *a, int64_t a_type, const void *a_zp,
                       const void *a_scale, int64_t a_per_row, const void *b, int64_t b_type, const void *b_zp,
                       const void *b_scale, int64_t b_per_col, const void *y_zp, const void *y_scale,
                       int64_t y_per_row, int64_t scale_type, int64_t batch, int64_t m, int64_t k, int64_t n,
                       int64_t a_step, int64_t b_step) {
    for (int64_t t = 0; t < batch; t++) {
        int64_t ao = t * a_step, bo = t * b_step;
        for (int64_t i = 0; i < m; i++) {
            int32_t za = a_zp ? xf_q_int(a_zp, i * a_per_row, a_type) : 0;
            for (int64_t j = 0; j < n; j++) {
                int32_t zb = b_zp ? xf_q_int(b_zp, j * b_per_col, b_type) : 0;
                int64_t acc = 0;
                for (int64_t p = 0; p < k; p++)
                    acc += ((int64_t)xf_q_int(a, ao + i * k + p, a_type) - za) *
                           ((int64_t)xf_q_int(b, bo + p * n + j, b_type) - zb);
                int64_t e = (t * m + i) * n + j;
                if (!y_scale) {
                    xf_q_put(y, e, y_type, (double)acc, NULL, 0, 1);
                    continue;
                }
                float f = xf_q_real(a_scale, i * a_per_row, scale_type) *
                          xf_q_real(b_scale, j * b_per_col, scale_type) / xf_q_real(y_scale, i * y_per_row, scale_type);
                xf_q_put(y, e, y_type, (double)acc * (double)f, y_zp, i * y_per_row, 1);
            }
        }
    }
}

/* @kernel xf_qconv */
/* ConvInteger (y_type 6, int32) and QLinearConv (y of int8 or uint8), NCHW, 2-D (a 1-D convolution
 * has height 1). geom holds, in order: batch, groups, c_in, in_h, in_w, c_out, k_h, k_w, out_h,
 * out_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, as for math.c's xf_conv: x is
 * [batch, c_in, in_h, in_w], wt [c_out, c_in/groups, k_h, k_w].
 * Each output sums (x - x_zp) * (wt - w_zp) over its window, positions in the padding adding
 * nothing, plus bias[oc] (int32, optional); x's zero point is per tensor, w's zero point and scale
 * per tensor (w_per_channel 0) or per output channel (1). QLinearConv then requantizes with
 * x_scale * w_scale / y_scale like xf_qmatmul; ConvInteger's scales are NULL. */
XF_API void xf_qconv(void *y, int64_t y_type, const void *x, int64_t x_type, const void *x_zp, const void *x_scale,
                     const void *wt, int64_t w_type, const void *w_zp, const void *w_scale, int64_t w_per_channel,
                     const void *y_zp, const void *y_scale, int64_t scale_type, const int32_t *bias,
                     const int64_t *geom) {
    int64_t batch = geom[0], groups = geom[1], c_in = geom[2], h = geom[3], w = geom[4], c_out = geom[5];
    int64_t kh = geom[6], kw = geom[7], oh = geom[8], ow = geom[9], sh = geom[10], sw = geom[11];
    int64_t ph = geom[12], pw = geom[13], dh = geom[14], dw = geom[15];
    int64_t cg_in = c_in / groups, cg_out = c_out / groups;
    int32_t zx = x_zp ? xf_q_int(x_zp, 0, x_type) : 0;
    for (int64_t bi = 0; bi < batch; bi++)
        for (int64_t oc = 0; oc < c_out; oc++) {
            int32_t zw = w_zp ? xf_q_int(w_zp, oc * w_per_channel, w_type) : 0;
            for (int64_t r = 0; r < oh; r++)
                for (int64_t c = 0; c < ow; c++) {
                    int64_t acc = bias ? bias[oc] : 0;
                    for (int64_t ic = 0; ic < cg_in; ic++) {
                        int64_t xc = (bi * c_in + oc / cg_out * cg_in + ic) * h * w, wc = (oc * cg_in + ic) * kh * kw;
                        for (int64_t ki = 0; ki < kh; ki++) {
                            int64_t ih = r * sh + ki * dh - ph;
                            if (ih < 0 || ih >= h) continue;
                            for (int64_t kj = 0; kj < kw; kj++) {
                                int64_t iw = c * sw + kj * dw - pw;
                                if (iw < 0 || iw >= w) continue;
                                acc += ((int64_t)xf_q_int(x, xc + ih * w + iw, x_type) - zx) *
                                       ((int64_t)xf_q_int(wt, wc + ki * kw + kj, w_type) - zw);
                            }
                        }
                    }
                    int64_t e = ((bi * c_out + oc) * oh + r) * ow + c;
                    if (!y_scale) {
                        xf_q_put(y, e, y_type, (double)acc, NULL, 0, 1);
                        continue;
                    }
                    float f = xf_q_real(x_scale, 0, scale_type) * xf_q_real(w_scale, oc * w_per_channel, scale_type) /
                              xf_q_real(y_scale, 0, scale_type);
                    xf_q_put(y, e, y_type, (double)acc * (double)f, y_zp, 0, 1);
                }
        }
}
