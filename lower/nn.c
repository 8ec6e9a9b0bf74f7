/* nn.c — lowering of the ops of convolutional networks (shape rules and geometry: ir/ops_nn.c) to
 * the kernels of runtime/nn.c: the pools and MaxUnpool, ConvTranspose, DeformConv, the
 * normalisations, DepthToSpace / SpaceToDepth (a strided copy, runtime/data.c), the global pools
 * (reductions, runtime/math.c) and Resize / Upsample.
 *
 * The geometry comes from the functions the shape rules use, so the calls cannot disagree with
 * the shapes; this file only checks what the kernels take (element types, attribute values the
 * shape rules do not read) and names each argument. The windowed kernels get arrays of
 * XF_WINDOW_DIMS sizes, a 1-D or 2-D op with leading 1s. The kernels are float32, except that
 * MaxPool, which only compares, also takes the integer types and float64, and that the rearranging
 * ops only move bytes and take any type. */
#include <math.h>
#include <string.h>

#include "../ir/ops.h"
#include "lower.h"

#define SP XF_WINDOW_DIMS

/* ---- AveragePool, MaxPool, LpPool ---- */

/* The element types xf_max_pool compares in their own type. */
static bool max_pool_type(int32_t t) {
    switch (t) {
    case XF_F32: case XF_F64: case XF_U8: case XF_I8: case XF_U16: case XF_I16:
    case XF_I32: case XF_I64: case XF_U32: case XF_U64: return true;
    default: return false;
    }
}

int xf_lower_pool(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_pool_window p;
    if (!xf_pool_geometry(g, n, &p, d)) return -1;
    xf_value *x = xf_in(g, n, 0);
    if (n->op == XF_OP_MAX_POOL && !max_pool_type(x->dtype))
        return xf_fail(d, g, n, "MaxPool on %s is not supported (float32, float64 and the integer types are)",
                       xf_dtype_name(x->dtype)), -1;
    if (n->op != XF_OP_MAX_POOL && !xf_need_f32(g, n, x, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_arg in = xf_ints(g, SP, p.in), size = xf_ints(g, SP, p.out), ksize = xf_ints(g, SP, p.kernel);
    xf_arg stride = xf_ints(g, SP, p.stride), pad = xf_ints(g, SP, p.pad), dilation = xf_ints(g, SP, p.dilation);
    if (n->op == XF_OP_MAX_POOL) {
        int64_t order = xf_attr_int(n, "storage_order", 0);
        if (order != 0 && order != 1)
            return xf_fail(d, g, n, "storage_order must be 0 (row major) or 1 (column major), not %lld",
                           (long long)order), -1;
        XF_CALL(out, xf_max_pool, .y = xf_t(n->out[0]), .indices = xf_t(xf_out_handle(n, 1)), .x = xf_t(n->in[0]),
                .dtype = x->dtype, .planes = p.planes, .in = in, .out = size, .ksize = ksize, .stride = stride,
                .pad = pad, .dilation = dilation, .column_major = order);
    } else if (n->op == XF_OP_AVERAGE_POOL) {
        XF_CALL(out, xf_avg_pool, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .planes = p.planes, .in = in,
                .out = size, .ksize = ksize, .stride = stride, .pad = pad, .pad_end = xf_ints(g, SP, p.pad_end),
                .dilation = dilation, .count_pad = xf_attr_int(n, "count_include_pad", 0) != 0);
    } else {
        float p_norm = xf_attr_float(n, "p", 2.0f); /* a float in LpPool-1, an int since: both read */
        if (!(p_norm > 0.0f)) return xf_fail(d, g, n, "attribute 'p' must be positive"), -1;
        XF_CALL(out, xf_lp_pool, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .planes = p.planes, .in = in,
                .out = size, .ksize = ksize, .stride = stride, .pad = pad, .dilation = dilation, .p_norm = p_norm);
    }
    return 0;
}

/* ---- MaxUnpool ---- */

int xf_lower_max_unpool(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int64_t pooled[XF_MAX_RANK], shape_out[XF_MAX_RANK];
    xf_value *x = xf_in(g, n, 0);
    if (!xf_max_unpool_geometry(g, n, pooled, shape_out, d) || !xf_need_f32(g, n, x, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_max_unpool, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .indices = xf_t(n->in[1]),
            .count = xf_value_numel(x), .rank = x->rank, .pooled = xf_ints(g, x->rank, pooled),
            .out = xf_ints(g, x->rank, shape_out));
    return 0;
}

/* ---- GlobalAveragePool, GlobalMaxPool ---- */

/* The reductions of math.c do it: x is [N*C, spatial] reduced over its second dim. */
int xf_lower_global_pool(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (x->rank < 2) return xf_fail(d, g, n, "input X must be [N,C,...]"), -1;
    if (!xf_need_f32(g, n, x, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t planes = xf_prod(x->shape, 0, 2), spatial = xf_prod(x->shape, 2, x->rank);
    if (n->op == XF_OP_GLOBAL_AVERAGE_POOL)
        XF_CALL(out, xf_reduce_mean, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = planes, .n1 = spatial,
                .mid = 1, .n2 = 1, .inner = 1);
    else
        XF_CALL(out, xf_reduce_max, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = planes, .n1 = spatial,
                .mid = 1, .n2 = 1, .inner = 1);
    return 0;
}

/* ---- ConvTranspose, DeformConv ---- */

int xf_lower_conv_transpose(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_deconv_geom p;
    if (!xf_conv_transpose_geometry(g, n, &p, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_conv_transpose, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .weight = xf_t(n->in[1]),
            .bias = xf_t(xf_in_handle(n, 2)), .batch = p.batch, .groups = p.groups, .c_in = p.c_in,
            .c_out = p.c_out, .in = xf_ints(g, SP, p.in), .out = xf_ints(g, SP, p.out),
            .ksize = xf_ints(g, SP, p.kernel), .stride = xf_ints(g, SP, p.stride), .pad = xf_ints(g, SP, p.pad),
            .dilation = xf_ints(g, SP, p.dilation));
    return 0;
}

int xf_lower_deform_conv(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_conv_geom p;
    int64_t og;
    if (!xf_deform_conv_geometry(g, n, &p, &og, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_deform_conv, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .weight = xf_t(n->in[1]),
            .offset = xf_t(n->in[2]), .bias = xf_t(xf_in_handle(n, 3)), .mask = xf_t(xf_in_handle(n, 4)),
            .batch = p.batch, .groups = p.groups, .offset_groups = og, .c_in = p.c_in, .c_out = p.c_out,
            .in = xf_ints(g, 2, p.in), .out = xf_ints(g, 2, p.out), .ksize = xf_ints(g, 2, p.kernel),
            .stride = xf_ints(g, 2, p.stride), .pad = xf_ints(g, 2, p.pad), .dilation = xf_ints(g, 2, p.dilation));
    return 0;
}

/* ---- BatchNormalization, InstanceNormalization, GroupNormalization ---- */

int xf_lower_batch_norm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    bool train;
    if (!xf_batch_norm_geometry(g, n, &train, d)) return -1;
    for (int k = 0; k < 5; k++)
        if (!xf_need_f32(g, n, xf_in(g, n, k), d)) return -1;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t spatial = xf_prod(x->shape, 2, x->rank);
    float epsilon = xf_attr_float(n, "epsilon", 1e-5f);
    if (train)
        XF_CALL(out, xf_batch_norm_train, .y = xf_t(n->out[0]), .run_mean = xf_t(xf_out_handle(n, 1)),
                .run_var = xf_t(xf_out_handle(n, 2)), .x = xf_t(n->in[0]), .scale = xf_t(n->in[1]),
                .bias = xf_t(n->in[2]), .mean = xf_t(n->in[3]), .var = xf_t(n->in[4]), .batch = x->shape[0],
                .channels = x->shape[1], .spatial = spatial, .epsilon = epsilon,
                .momentum = xf_attr_float(n, "momentum", 0.9f));
    else
        XF_CALL(out, xf_batch_norm, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .scale = xf_t(n->in[1]),
                .bias = xf_t(n->in[2]), .mean = xf_t(n->in[3]), .var = xf_t(n->in[4]), .batch = x->shape[0],
                .channels = x->shape[1], .spatial = spatial, .epsilon = epsilon);
    return 0;
}

int xf_lower_group_norm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int64_t groups, per_scale;
    if (!xf_group_norm_geometry(g, n, &groups, &per_scale, d)) return -1;
    for (int k = 0; k < 3; k++)
        if (!xf_need_f32(g, n, xf_in(g, n, k), d)) return -1;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_group_norm, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .scale = xf_t(n->in[1]),
            .bias = xf_t(n->in[2]), .batch = x->shape[0], .groups = groups, .channels = x->shape[1],
            .spatial = xf_prod(x->shape, 2, x->rank), .per_scale = per_scale,
            .epsilon = xf_attr_float(n, "epsilon", 1e-5f));
    return 0;
}

/* ---- LpNormalization: x / ||x||_p along one axis (default -1), p 1 or 2 (default 2) ---- */

int xf_lower_lp_norm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -1), x->rank, &axis, d) || !xf_need_f32(g, n, x, d)) return -1;
    int64_t p = xf_attr_int(n, "p", 2);
    if (p != 1 && p != 2) return xf_fail(d, g, n, "p must be 1 or 2, not %lld", (long long)p), -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_lp_norm, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = xf_prod(x->shape, 0, axis),
            .n = x->shape[axis], .inner = xf_prod(x->shape, axis + 1, x->rank), .p_norm = p);
    return 0;
}

/* ---- MeanVarianceNormalization: (x - mean) / (std + 1e-9) over `axes` (default [0, 2, 3]) ---- */

/* x is viewed as [outer, n1, mid, n2, inner] with n1 and n2 the normalised runs of dims, as the
 * Reduce ops do: dims of size 1 dropped, neighbours of one kind merged. */
int xf_lower_mvn(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!xf_need_f32(g, n, x, d)) return -1;
    int64_t axes[XF_MAX_RANK] = {0, 2, 3};
    int naxes = xf_node_ints(g, n, "axes", -1, axes, XF_MAX_RANK, d);
    if (naxes < 0) return -1;
    if (naxes == 0) naxes = 3;
    bool reduced[XF_MAX_RANK] = {false};
    for (int j = 0; j < naxes; j++) {
        int a;
        if (!xf_axis(g, n, axes[j], x->rank, &a, d)) return -1;
        reduced[a] = true;
    }
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t run[XF_MAX_RANK + 1] = {1}; /* run[0] kept, run[1] reduced, run[2] kept ... */
    int nrun = 1;
    for (int i = 0; i < x->rank; i++) {
        if (x->shape[i] == 1) continue;
        if (reduced[i] != (nrun % 2 == 0)) run[nrun++] = 1;
        run[nrun - 1] *= x->shape[i];
    }
    if (nrun > 5)
        return xf_fail(d, g, n, "the normalised axes form %d separate groups, at most 2 are supported", nrun / 2), -1;
    for (int i = nrun; i < 5; i++) run[i] = 1;
    XF_CALL(out, xf_mvn, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = run[0], .n1 = run[1], .mid = run[2],
            .n2 = run[3], .inner = run[4]);
    return 0;
}

/* ---- LRN: local response normalisation across channels ---- */

int xf_lower_lrn(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    if (x->rank < 2) return xf_fail(d, g, n, "input X must be [N,C,...], got %s", xf_shape_str(x, s, sizeof s)), -1;
    if (!xf_need_f32(g, n, x, d)) return -1;
    int64_t size = xf_attr_int(n, "size", 0);
    if (size < 1 || size >= XF_DIM_MAX) return xf_fail(d, g, n, "attribute 'size' must be a positive integer"), -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_lrn, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .batch = x->shape[0], .channels = x->shape[1],
            .spatial = xf_prod(x->shape, 2, x->rank), .size = size, .alpha = xf_attr_float(n, "alpha", 1e-4f),
            .beta = xf_attr_float(n, "beta", 0.75f), .bias = xf_attr_float(n, "bias", 1.0f));
    return 0;
}

/* ---- DepthToSpace, SpaceToDepth ---- */

/* One strided copy over a 6-D index. DepthToSpace walks y as [N, C', H, b, W, b] in memory order;
 * SpaceToDepth walks y as [N, b, b, C, H', W']. The x strides say where each index reads. */
int xf_lower_depth_to_space(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int64_t b = xf_depth_to_space_block(g, n, d);
    if (!b) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_value *x = xf_in(g, n, 0);
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t shape[6], xs[6], ys[6];
    if (n->op == XF_OP_DEPTH_TO_SPACE) {
        int64_t c = C / (b * b);
        bool crd = strcmp(xf_attr_str(n, "mode", "DCR"), "CRD") == 0;
        int64_t s_c = crd ? b * b * H * W : H * W;       /* x channel: c*b*b + i*b + j (CRD) */
        int64_t s_i = crd ? b * H * W : b * c * H * W;   /*            (i*b + j)*c + c (DCR) */
        int64_t s_j = crd ? H * W : c * H * W;
        int64_t sh[6] = {N, c, H, b, W, b}, sx[6] = {C * H * W, s_c, W, s_i, 1, s_j};
        memcpy(shape, sh, sizeof sh);
        memcpy(xs, sx, sizeof sx);
    } else {
        int64_t sh[6] = {N, b, b, C, H / b, W / b}, sx[6] = {C * H * W, W, 1, H * W, b * W, b};
        memcpy(shape, sh, sizeof sh);
        memcpy(xs, sx, sizeof sx);
    }
    xf_strides(6, shape, ys);
    XF_CALL(out, xf_copy_strided, .y = xf_t(n->out[0]), .ystrides = xf_ints(g, 6, ys), .x = xf_t(n->in[0]),
            .xstrides = xf_ints(g, 6, xs), .rank = 6, .shape = xf_ints(g, 6, shape),
            .esize = (int64_t)xf_dtype_size(x->dtype));
    return 0;
}

/* ---- Resize, Upsample ---- */

static double sample_at(const xf_coord_map *m, int64_t o) { return ((double)o + m->a) * m->m / m->s + m->b; }

/* Whether dim i is left as it is: same size, and every output index samples its own position (a
 * dim of 1 samples its only element wherever it looks, unless looking outside means extrapolating). */
static bool identity_dim(const xf_resize_geom *p, const xf_value *x, int i) {
    if (p->out[i] != x->shape[i]) return false;
    if (x->shape[i] == 1 && !p->extrapolate) return true;
    for (int64_t o = 0; o < p->out[i]; o++)
        if (fabs(sample_at(&p->map[i], o) - (double)o) > 1e-6) return false;
    return true;
}

/* Nearest: the source index of every output index along every dim is worked out here, in double
 * precision as ONNX's reference does, and the kernel gathers. */
static int lower_nearest(xf_graph *g, xf_node *n, const xf_resize_geom *p, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int64_t total = 0;
    for (int i = 0; i < x->rank; i++) total += p->out[i];
    int64_t *src = xf_alloc(g->arena, sizeof *src * (size_t)(total + 1)), k = 0;
    for (int i = 0; i < x->rank; i++)
        for (int64_t o = 0; o < p->out[i]; o++) {
            double z = sample_at(&p->map[i], o), f = floor(z), frac = z - f;
            double idx = p->rounding == XF_ROUND_PREFER_FLOOR ? (frac > 0.5 ? f + 1.0 : f)
                         : p->rounding == XF_ROUND_PREFER_CEIL ? (frac >= 0.5 ? f + 1.0 : f)
                         : p->rounding == XF_ROUND_FLOOR ? f
                         : p->rounding == XF_ROUND_CEIL ? ceil(z)
                         : p->scale[i] < 1.0 ? ceil(z) : f; /* XF_ROUND_SIMPLE */
            if (p->extrapolate && (z < 0.0 || z > (double)(x->shape[i] - 1)))
                return xf_fail(d, g, n, "tf_crop_and_resize reaches outside the input (extrapolation) in nearest "
                               "mode, which is not supported"), -1;
            src[k++] = idx < 0.0 ? 0 : idx > (double)(x->shape[i] - 1) ? x->shape[i] - 1 : (int64_t)idx;
        }
    XF_CALL(out, xf_resize_nearest, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .rank = x->rank,
            .in = xf_ints(g, x->rank, x->shape), .out = xf_ints(g, x->rank, p->out),
            .src = xf_ints(g, (int32_t)total, src));
    return 0;
}

/* Linear and cubic: the kernel resamples the last two dims of [outer, h, w]; any other dim must be
 * left as it is. A 1-D input gets a height of 1. The filter widths are 1, or when antialiasing a
 * downsampling the scale, which widens the filter. */
int xf_lower_resize(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_resize_geom p;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_resize_geometry(g, n, &p, d) || !xf_need_f32(g, n, x, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    if (p.mode == XF_RESIZE_NEAREST) return lower_nearest(g, n, &p, out, d);
    int r = x->rank;
    for (int i = 0; i < r - 2; i++)
        if (!identity_dim(&p, x, i))
            return xf_fail(d, g, n, "%s resizing of dim %d is not supported (only the last two dims)",
                           p.mode == XF_RESIZE_LINEAR ? "linear" : "cubic", i), -1;
    if (x->shape[r - 1] == 0 || (r > 1 && x->shape[r - 2] == 0))
        return xf_fail(d, g, n, "cannot interpolate an empty input"), -1;
    xf_coord_map flat = {0.0, 0.0, 1.0, 0.0}; /* the height of a 1-D input: always row 0 */
    const xf_coord_map *mh = r > 1 ? &p.map[r - 2] : &flat, *mw = &p.map[r - 1];
    double sh = r > 1 ? p.scale[r - 2] : 1.0, sw = p.scale[r - 1];
    XF_CALL(out, xf_resize, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = xf_prod(x->shape, 0, r > 2 ? r - 2 : 0),
            .ih = r > 1 ? x->shape[r - 2] : 1, .iw = x->shape[r - 1], .oh = r > 1 ? p.out[r - 2] : 1,
            .ow = p.out[r - 1], .h_pre = (float)mh->a, .h_num = (float)mh->m, .h_den = (float)mh->s,
            .h_post = (float)mh->b, .h_filter = p.antialias && sh < 1.0 ? (float)sh : 1.0f, .w_pre = (float)mw->a,
            .w_num = (float)mw->m, .w_den = (float)mw->s, .w_post = (float)mw->b,
            .w_filter = p.antialias && sw < 1.0 ? (float)sw : 1.0f, .cubic = p.mode == XF_RESIZE_CUBIC,
            .cubic_a = p.cubic_a, .exclude_outside = p.exclude_outside, .extrapolate = p.extrapolate,
            .extrapolation = p.extrapolation);
    return 0;
}
