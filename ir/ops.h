/* ops.h — the per-op shape rules named in ops.def, for the files implementing them (ir/shape.c,
 * ir/ops_*.c) and the dispatch in ir/ops.c; and, at the end, the geometry each op's shape rule
 * works out and its lowering (lower/, which declares the lowering functions) reads again.
 *
 * shape_fn: sets dtype/rank/shape of every output of node n (xf_set_out), reading input shapes and,
 *           where the op needs it, constant input data (Reshape's shape...). It may also set an
 *           output's data when the result is known at compile time (Shape, Range, ConstantOfShape).
 *           Inputs are guaranteed to have known shapes. Returns false after xf_fail.
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

/* ---- index (ir/ops_index.c), shared with lower/index.c ---- */
/* The checked parameters of TopK (axis, k), Tile (repeats, one per dim of x), Compress (x viewed as
 * [outer, dim, inner] around the axis, and how many positions the condition keeps), OneHot (axis in
 * the output, depth), TensorScatter (the sequence axis; circular mode) and the losses (reduction:
 * 0 none, 1 sum, 2 mean). Each returns false after xf_fail. */
bool xf_top_k_geometry(xf_graph *g, xf_node *n, int *axis, int64_t *k, xf_diag *d);
bool xf_tile_repeats(xf_graph *g, xf_node *n, int64_t *reps, xf_diag *d);
bool xf_compress_view(xf_graph *g, xf_node *n, int64_t *outer, int64_t *dim, int64_t *inner, int64_t *kept,
                      xf_diag *d);
bool xf_one_hot_geometry(xf_graph *g, xf_node *n, int *axis, int64_t *depth, xf_diag *d);
bool xf_tensor_scatter_geometry(xf_graph *g, xf_node *n, int *axis, int64_t *circular, xf_diag *d);
bool xf_loss_geometry(xf_graph *g, xf_node *n, int64_t *reduction, xf_diag *d);

/* TfIdfVectorizer's n-gram pool, reduced to what the kernel matches: the n-grams whose length is in
 * [min_gram_length, max_gram_length], back to back in pool, with their lengths and output columns;
 * an n-gram repeated later in the attributes is kept once. */
typedef struct {
    int64_t mode;      /* 1 TF, 2 IDF, 3 TFIDF, as xf_tfidf takes it */
    int64_t out_size;  /* max(ngram_indexes) + 1 */
    int64_t max_skip;
    int64_t ngrams, pool_len;
    int64_t *pool, *len, *col;
    const xf_attr *weights; /* NULL when absent or empty */
} xf_tfidf_geom;
bool xf_tfidf_geometry(xf_graph *g, const xf_node *n, xf_tfidf_geom *p, xf_diag *d);

/* An Einsum equation resolved against its operands. Labels: a-z are 0-25, A-Z 26-51, and the dims
 * an ellipsis stands for, counted from the right, 52 on. A contraction has at most
 * XF_EINSUM_MAX_SUM summed labels (the size of the kernel's index array). */
#define XF_EINSUM_LABELS (52 + XF_MAX_RANK)
#define XF_EINSUM_MAX_SUM 16
typedef struct {
    int rank[2], label[2][XF_MAX_RANK]; /* each operand's dims' labels (rank[1] 0 with one operand) */
    int nout, out[XF_MAX_RANK];         /* the labels of the output's dims */
    int nsum, sum[XF_EINSUM_MAX_SUM];   /* the labels summed over */
    int64_t dim[XF_EINSUM_LABELS];      /* each label's size; -1 for labels not used */
} xf_einsum_geom;
bool xf_einsum_geometry(xf_graph *g, const xf_node *n, xf_einsum_geom *p, xf_diag *d);

/* ---- ml (ir/ops_ml.c), shared with lower/ml.c ---- */
/* The checks of Binarizer's and ArrayFeatureExtractor's inputs; false after xf_fail. */
bool xf_binarizer_check(xf_graph *g, const xf_node *n, xf_diag *d);
bool xf_feature_extract_check(xf_graph *g, const xf_node *n, xf_diag *d);

/* A TreeEnsemble's attributes, checked (every branch leads to a node or leaf that exists, no path
 * loops) and flattened into the arrays xf_tree_ensemble walks. */
typedef struct {
    int64_t n_nodes, n_leaves, n_trees, n_targets, n_features, batch, aggregate, post;
    const int64_t *roots;    /* n_trees node indices */
    int64_t *feature, *mode, *missing_true; /* per node */
    int64_t *next;           /* per node, true then false: a node index, or -1 - leaf index */
    int64_t *member_range;   /* per node, [begin, end) in membership_values (MEMBER nodes only) */
    const int64_t *leaf_target;
    int32_t splits, weights, members; /* value handles of the tensor attributes (-1: none) */
} xf_forest;
bool xf_read_forest(xf_graph *g, const xf_node *n, xf_forest *f, xf_diag *d);

/* ---- signal (ir/ops_signal.c), shared with lower/signal.c ---- */
/* DFT: input [batch..., signal..., 1 or 2] transformed along axis (never the last dim). */
typedef struct {
    int axis;
    int64_t comps;   /* 1: real input, 2: complex */
    int64_t len;     /* dft_length: the transform's size */
    int64_t bins;    /* output bins along the axis: len, or len / 2 + 1 when onesided */
    int64_t inverse;
} xf_dft_geom;
bool xf_dft_geometry(xf_graph *g, const xf_node *n, xf_dft_geom *p, xf_diag *d);
/* STFT: signal [batch, length, 1 or 2] cut into frames of frame_length samples, step apart. */
typedef struct {
    int64_t step, frame_length, frames, bins;
} xf_stft_geom;
bool xf_stft_geometry(xf_graph *g, const xf_node *n, xf_stft_geom *p, xf_diag *d);
/* Det: x must be square matrices [..., n, n]; false after xf_fail. */
bool xf_det_check(xf_graph *g, const xf_node *n, xf_diag *d);

/* ---- data (ir/ops_data.c), shared with lower/data.c ---- */
/* Split outputs read at once. */
#define XF_MAX_PARTS 256
/* Transpose's permutation: the perm attribute, or the dimensions reversed by default. */
bool xf_transpose_perm(xf_graph *g, const xf_node *n, int rank, int *perm, xf_diag *d);
/* Slice per dimension of x: the first element taken, the step and the count, after ONNX's
 * clamping rules. */
bool xf_slice_params(xf_graph *g, const xf_node *n, int64_t *first, int64_t *step, int64_t *len, xf_diag *d);
/* Split's part sizes along axis (at most XF_MAX_PARTS). */
bool xf_split_sizes(xf_graph *g, const xf_node *n, int axis, int64_t *sizes, xf_diag *d);
/* Pad's modes; the first three are the kernel xf_pad_edge's numbers. */
enum { XF_PAD_EDGE, XF_PAD_REFLECT, XF_PAD_WRAP, XF_PAD_CONSTANT };
/* Pad's leading and trailing pad of each dimension (negative crops) and its mode. */
bool xf_pad_params(xf_graph *g, const xf_node *n, int64_t *begin, int64_t *end, int *mode, xf_diag *d);
/* Cast's round_mode as a number: 0 up, 1 down, 2 nearest; -1 after reporting another. */
int64_t xf_cast_round_mode(xf_graph *g, const xf_node *n, xf_diag *d);

/* ---- norm (ir/ops_norm.c), shared with lower/norm.c ---- */
/* RMSNormalization's X seen as [rows, cols], cols the normalised dims, and Scale as a block of
 * `period` values repeated along each row. */
typedef struct {
    int axis;
    int64_t rows, cols, period;
} xf_rms_norm_geom;
bool xf_rms_norm_geometry(xf_graph *g, const xf_node *n, xf_rms_norm_geom *p, xf_diag *d);

/* ---- attention (ir/ops_attention.c), shared with lower/attention.c ---- */
/* Attention: sizes, and the element strides that let one kernel read either layout. */
typedef struct {
    int64_t batch, heads, kv_heads, s, l, past, d, dv;
    int64_t qs[3], ks[3], vs[3], ys[3]; /* element strides along batch, head, row */
    int64_t ms[4];                      /* mask strides along batch, head, query, key; 0 = broadcast */
    int64_t mask_len;                   /* keys the mask covers */
    int64_t mode;                       /* qk_matmul_output_mode */
    bool grouped;                       /* xfc.kv_heads_grouped: h / (Hq/Hkv) rather than h % Hkv */
} xf_attention_geom;
bool xf_attention_geometry(xf_graph *g, const xf_node *n, xf_attention_geom *p, xf_diag *d);
/* RotaryEmbedding: sizes, X's strides and how the caches are indexed. */
typedef struct {
    int64_t batch, heads, seq, d, rd;
    int64_t xs[3];   /* element strides of X (and Y) along batch, head, position */
    int64_t width;   /* values per cache row */
    int64_t cache_b; /* cache rows per batch without position ids: seq, or 0 when shared */
    int64_t pos_b;   /* position ids per batch: seq, or 0 when shared */
    int64_t rows;    /* rows in the caches */
} xf_rope_geom;
bool xf_rope_geometry(xf_graph *g, const xf_node *n, xf_rope_geom *p, xf_diag *d);

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
