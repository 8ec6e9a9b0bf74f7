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
#endif
