/* ops.h — declarations of the per-op functions named in ops.def, for the files implementing them
 * (ir/shape.c, ir/ops_math.c, ir/ops_data.c) and the dispatch in ir/ops.c.
 *
 * shape_fn: sets dtype/rank/shape of every output of node n (xf_set_out), reading input shapes and,
 *           where the op needs it, constant input data (Reshape's shape...). It may also set an
 *           output's data when the result is known at compile time (Shape, Range, ConstantOfShape).
 *           Inputs are guaranteed to have known shapes. Returns false after xf_fail.
 * lower_fn: appends kernel calls for n to calls[0..max) and returns their count, or -1 after xf_fail.
 */
#ifndef XF_OPS_H
#define XF_OPS_H
#include "ir.h"

#define XF_OP(id, name, cat, flags, shape_fn, lower_fn) bool shape_fn(xf_graph *g, xf_node *n, xf_diag *d);
#include "ops.def"

bool xf_op_infer(xf_graph *g, xf_node *n, xf_diag *d); /* dispatch to the op's shape rule */


/* The product of shape[from..to). */
int64_t xf_prod(const int64_t *shape, int from, int to);
/* Value handles of optional inputs and outputs, -1 when absent (the kernel then gets NULL). */
int32_t xf_in_handle(const xf_node *n, int k);
int32_t xf_out_handle(const xf_node *n, int k);
/* Whether output k exists and holds elements: otherwise there is nothing to compute. */
bool xf_has_output(xf_graph *g, const xf_node *n, int k);

/* True when v is absent or float32; otherwise reports "OP on TYPE is not supported (float32 only)". */
bool xf_need_f32(xf_graph *g, const xf_node *n, const xf_value *v, xf_diag *d);


/* Geometry of MatMul and Conv (ir/ops_math.c), shared with their quantized forms (ir/ops_quant.c),
 * which find their operands at other input positions and check types themselves. */
typedef struct {
    int64_t m, k, n;
    int brank;                   /* batch rank of the output */
    int64_t batch[XF_MAX_RANK];  /* output batch dims */
    int64_t a_step[XF_MAX_RANK]; /* element steps of A and B along each batch dim, 0 where broadcast */
    int64_t b_step[XF_MAX_RANK];
} xf_matmul_geom;
bool xf_matmul_geometry(xf_graph *g, const xf_node *n, const xf_value *a, const xf_value *b, xf_matmul_geom *p,
                        xf_diag *d);

/* A 1-D convolution is a 2-D one of height 1, so index 0 below is height and 1 is width. */
typedef struct {
    int64_t batch, c_in, c_out, groups;
    int64_t in[2], kernel[2], out[2], stride[2], dilation[2], pad[2]; /* pad: leading pad only */
} xf_conv_geom;
/* b, the bias, may be NULL. */
bool xf_conv_geometry(xf_graph *g, const xf_node *n, const xf_value *x, const xf_value *w, const xf_value *b,
                      xf_conv_geom *p, xf_diag *d);

/* ---- math (ir/ops_math.c), shared with lower/math.c ---- */
/* MatMul's operands and geometry (inputs A and B of one type). */
bool xf_matmul_node_geometry(xf_graph *g, const xf_node *n, xf_matmul_geom *p, xf_diag *d);
/* The broadcast batch of a product as runs the kernels walk: dims[i] products whose A and B lie
 * a_step[i] and b_step[i] elements apart, the last run innermost. Batch dims of 1 are dropped and
 * neighbours merged where both steps allow. Returns the number of runs, at least 1 (a lone product
 * is a run of one). */
int xf_matmul_batch_runs(const xf_matmul_geom *p, int64_t *dims, int64_t *a_step, int64_t *b_step);
/* Gemm: Y[m,n] = alpha * A' @ B' + beta * C, C read with steps c_sm, c_sn (0 where it broadcasts). */
typedef struct {
    int64_t m, k, n;
    int64_t c_sm, c_sn;
} xf_gemm_geom;
bool xf_gemm_geometry(xf_graph *g, const xf_node *n, xf_gemm_geom *p, xf_diag *d);
/* Conv's operands (X, W, optional B of one type) and geometry. */
bool xf_conv_node_geometry(xf_graph *g, const xf_node *n, xf_conv_geom *p, xf_diag *d);
/* LayerNormalization's inputs checked; *axis is where the normalised dims begin. */
bool xf_layer_norm_geometry(xf_graph *g, const xf_node *n, int *axis, xf_diag *d);
/* The dims of input 0 a Reduce op reduces: reduced[i] for each of them. */
bool xf_reduce_axes(xf_graph *g, const xf_node *n, bool *reduced, xf_diag *d);

/* ---- quant (ir/ops_quant.c), shared with lower/quant.c ---- */
/* The quantized types QuantizeLinear writes and DequantizeLinear reads: the integers, the float8
 * and 4-bit formats. */
bool xf_is_quant_type(int32_t t);
/* The floating types of their scales, of QuantizeLinear's input and DequantizeLinear's output. */
bool xf_is_scale_type(int32_t t);
/* How x, viewed as [outer, dim, inner] around the axis, finds its scale and zero point: element
 * (o, j, t) uses number o*s_outer + (j/block)*s_mid + t*s_inner (see xf_quantize). */
typedef struct {
    int64_t outer, dim, inner, block, s_outer, s_mid, s_inner;
} xf_qlayout;
bool xf_quant_layout(xf_graph *g, const xf_node *n, xf_qlayout *l, xf_diag *d);
/* QuantizeLinear's output type (the zero point's; else output_dtype; else uint8) and
 * DequantizeLinear's (output_dtype, else the scale's). */
bool xf_quantize_type(xf_graph *g, const xf_node *n, int32_t *type, xf_diag *d);
bool xf_dequantize_type(xf_graph *g, const xf_node *n, int32_t *type, xf_diag *d);
/* MatMulInteger and QLinearMatMul: the inputs by role (the QLinear form has scales, NULL for
 * MatMulInteger), the product's geometry, and whether zero points and scales are per row of A /
 * column of B / row of Y (1) or per tensor (0). */
typedef struct {
    xf_value *a, *b, *a_zp, *b_zp, *y_zp, *s[3]; /* s: a_scale, b_scale, y_scale */
    xf_matmul_geom mm;
    int64_t a_row, b_col, y_row;
    int32_t y_type;
} xf_qmatmul_geom;
bool xf_qmatmul_params(xf_graph *g, const xf_node *n, xf_qmatmul_geom *p, xf_diag *d);
/* ConvInteger and QLinearConv likewise; w_chan: W's zero point and scale per output channel (1). */
typedef struct {
    xf_value *x, *w, *x_zp, *w_zp, *y_zp, *bias, *s[3]; /* s: x_scale, w_scale, y_scale */
    xf_conv_geom cv;
    int64_t w_chan;
    int32_t y_type;
} xf_qconv_geom;
bool xf_qconv_params(xf_graph *g, const xf_node *n, xf_qconv_geom *p, xf_diag *d);

/* ---- ssm (ir/ops_ssm.c), shared with lower/ssm.c ---- */
/* The dims of xfc.SelectiveScan (u [batch, d, l], A [d, n]) and xfc.SsdScan (x [batch, l, heads, p],
 * B [batch, l, groups, n]), and the kernel width k of xfc.CausalConv1d, once the inputs are checked. */
typedef struct { int64_t batch, d, l, n; } xf_scan_dims;
bool xf_selective_scan_geometry(xf_graph *g, const xf_node *n, xf_scan_dims *s, xf_diag *d);
typedef struct { int64_t batch, l, heads, p, groups, n; } xf_ssd_dims;
bool xf_ssd_geometry(xf_graph *g, const xf_node *n, xf_ssd_dims *s, xf_diag *d);
bool xf_causal_conv1d_geometry(xf_graph *g, const xf_node *n, int64_t *k, xf_diag *d);
#endif
