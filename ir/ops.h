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

/* ---- nn (ir/ops_nn.c), shared with lower/nn.c ---- */
/* The windowed kernels (pools, ConvTranspose) see three spatial dims; a 1-D or 2-D op gets leading
 * dims of 1 (index XF_WINDOW_DIMS-1 is always the last, fastest dim). */
enum { XF_WINDOW_DIMS = 3 };
typedef struct {
    int64_t planes; /* batch * channels: the kernels pool each plane alike */
    int64_t in[XF_WINDOW_DIMS], out[XF_WINDOW_DIMS], kernel[XF_WINDOW_DIMS], stride[XF_WINDOW_DIMS];
    int64_t dilation[XF_WINDOW_DIMS], pad[XF_WINDOW_DIMS], pad_end[XF_WINDOW_DIMS];
} xf_pool_window;
bool xf_pool_geometry(xf_graph *g, const xf_node *n, xf_pool_window *p, xf_diag *d);
/* MaxUnpool: the shape the indices address (pooled) and the output's (out), rank of X each. */
bool xf_max_unpool_geometry(xf_graph *g, const xf_node *n, int64_t *pooled, int64_t *out, xf_diag *d);
typedef struct {
    int64_t batch, groups, c_in, c_out;
    int64_t in[XF_WINDOW_DIMS], out[XF_WINDOW_DIMS], kernel[XF_WINDOW_DIMS], stride[XF_WINDOW_DIMS];
    int64_t dilation[XF_WINDOW_DIMS], pad[XF_WINDOW_DIMS]; /* pad: leading pad only */
} xf_deconv_geom;
bool xf_conv_transpose_geometry(xf_graph *g, const xf_node *n, xf_deconv_geom *p, xf_diag *d);
bool xf_deform_conv_geometry(xf_graph *g, const xf_node *n, xf_conv_geom *p, int64_t *offset_groups, xf_diag *d);
/* *train: training_mode, which also updates the running statistics. */
bool xf_batch_norm_geometry(xf_graph *g, const xf_node *n, bool *train, xf_diag *d);
/* GroupNormalization and InstanceNormalization: the groups, and how many channels share a scale. */
bool xf_group_norm_geometry(xf_graph *g, const xf_node *n, int64_t *groups, int64_t *per_scale, xf_diag *d);
/* DepthToSpace, SpaceToDepth: the block size, or 0 after reporting. */
int64_t xf_depth_to_space_block(xf_graph *g, const xf_node *n, xf_diag *d);

/* Resize and Upsample. Output index o along a dim samples input coordinate (o + a) * m / s + b:
 * every coordinate transformation mode has this form, with the operations in the order ONNX
 * writes them. */
enum { XF_RESIZE_NEAREST, XF_RESIZE_LINEAR, XF_RESIZE_CUBIC };
enum { XF_ROUND_PREFER_FLOOR, XF_ROUND_PREFER_CEIL, XF_ROUND_FLOOR, XF_ROUND_CEIL, XF_ROUND_SIMPLE };
typedef struct {
    double a, m, s, b;
} xf_coord_map;
typedef struct {
    int mode, rounding; /* XF_RESIZE_*, XF_ROUND_* */
    bool extrapolate, exclude_outside, antialias;
    float cubic_a, extrapolation;
    int64_t out[XF_MAX_RANK];
    double scale[XF_MAX_RANK]; /* the factor the coordinate transformation uses, out/in by default */
    xf_coord_map map[XF_MAX_RANK];
} xf_resize_geom;
bool xf_resize_geometry(xf_graph *g, const xf_node *n, xf_resize_geom *p, xf_diag *d);

/* ---- rnn (ir/ops_rnn.c), shared with lower/rnn.c ---- */
enum { XF_CELL_RNN, XF_CELL_GRU, XF_CELL_LSTM };
typedef struct {
    int cell, gates, nact;          /* XF_CELL_*, gates per unit and activations per direction */
    int64_t seq, batch, input, hidden, dirs;
    bool layout, reverse;           /* layout 1 (batch first); a single direction run backwards */
    int64_t acts[2][3];             /* activation codes (runtime/rnn.c) per direction */
    float alpha[2][3], beta[2][3];
    float clip;
} xf_rnn_geom;
bool xf_rnn_geometry(xf_graph *g, const xf_node *n, xf_rnn_geom *p, xf_diag *d);

/* ---- image (ir/ops_image.c), shared with lower/image.c ---- */
typedef struct {
    int r;                           /* spatial dims */
    int64_t mode, padding, align;    /* mode 0 linear, 1 nearest, 2 cubic; padding 0 zeros, 1 border,
                                      * 2 reflection; align_corners */
} xf_grid_params;
bool xf_grid_sample_params(xf_graph *g, const xf_node *n, xf_grid_params *p, xf_diag *d);
/* r: the spatial dims (2 or 3); size: the constant input size, [N, C, spatial...]. */
bool xf_affine_grid_params(xf_graph *g, const xf_node *n, int *r, int64_t *size, xf_diag *d);
typedef struct {
    int r;
    int64_t image[XF_MAX_RANK], block[XF_MAX_RANK], blocks[XF_MAX_RANK];
    int64_t strides[XF_MAX_RANK], dilations[XF_MAX_RANK], pads[2 * XF_MAX_RANK];
    int64_t channels; /* C of the output: input dim 1 divided by the block's size */
} xf_col2im_geom;
bool xf_col2im_geometry(xf_graph *g, const xf_node *n, xf_col2im_geom *p, xf_diag *d);
typedef struct {
    int64_t oh, ow, sampling_ratio, half_pixel, is_max;
    float scale;
} xf_roi_params;
bool xf_roi_align_params(xf_graph *g, const xf_node *n, xf_roi_params *p, xf_diag *d);
/* CenterCropPad: the size each dim of x is cropped or padded to. */
bool xf_center_crop_pad_sizes(xf_graph *g, const xf_node *n, int64_t *target, xf_diag *d);
/* ReverseSequence: which of the first two dims is time (the other is batch). */
bool xf_reverse_sequence_params(xf_graph *g, const xf_node *n, int64_t *time_axis, xf_diag *d);
#endif
