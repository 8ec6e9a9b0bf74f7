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
#endif
