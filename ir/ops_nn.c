/* ops_nn.c — shape inference of the ops of convolutional networks: the pools (AveragePool,
 * MaxPool, LpPool, GlobalAveragePool, GlobalMaxPool) and MaxUnpool, ConvTranspose, DeformConv, the
 * normalisations (BatchNormalization, InstanceNormalization, GroupNormalization,
 * LpNormalization, MeanVarianceNormalization, LRN), DepthToSpace / SpaceToDepth, and resampling
 * (Resize, Upsample).
 *
 * As in ops_math.c, all geometry is settled here, so the lowering (lower/nn.c) hands the kernels
 * plain numbers. Windowed ops see three spatial dims: a 1-D or 2-D op gets leading dims of 1 (index
 * SP-1 is always the last, fastest dim). The geometry that a shape rule and its lowering both need
 * is computed by one function they both call (declared in ops.h), so the two cannot disagree.
 * Element types are checked by the lowering, so shape inference works for every type. */
#include <math.h>
#include <string.h>

#include "ops.h"

#define SP XF_WINDOW_DIMS

/* Floor division, for pads split from a total that may be negative (as Python's // does). */
static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Number of spatial dims of an [N, C, ...] input the windowed kernels take: 1 to 3, or 0 after
 * reporting. */
static int spatial_dims(xf_graph *g, const xf_node *n, const xf_value *x, xf_diag *d) {
    char s[128];
    if (x->rank > 5)
        return xf_fail(d, g, n, "input X of shape %s has %d spatial dims, at most 3 are supported",
                       xf_shape_str(x, s, sizeof s), x->rank - 2), 0;
    if (x->rank < 3)
        return xf_fail(d, g, n, "input X must be [N,C,L], [N,C,H,W] or [N,C,D,H,W], got %s",
                       xf_shape_str(x, s, sizeof s)), 0;
    return x->rank - 2;
}

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } pad_mode;

static bool read_auto_pad(xf_graph *g, const xf_node *n, pad_mode *mode, xf_diag *d) {
    const char *s = xf_attr_str(n, "auto_pad", "NOTSET");
    *mode = !strcmp(s, "SAME_UPPER") ? PAD_SAME_UPPER
            : !strcmp(s, "SAME_LOWER") ? PAD_SAME_LOWER
            : !strcmp(s, "VALID")      ? PAD_VALID
                                       : PAD_NOTSET;
    if (*mode == PAD_NOTSET && strcmp(s, "NOTSET") != 0)
        return xf_fail(d, g, n, "auto_pad '%s' is unknown (NOTSET, SAME_UPPER, SAME_LOWER and VALID are)", s);
    return true;
}

/* ---- AveragePool, MaxPool, LpPool ---- */

/* Output size along one dim, as ONNX (and PyTorch) define it: floor((in + pads - span) / s) + 1, or
 * with ceil_mode rounded up, except that a last window starting in the end padding is dropped. The
 * auto_pad modes pick the pads: SAME ones so that out = ceil(in / s), the odd pad at the end
 * (SAME_UPPER) or the beginning (SAME_LOWER); VALID none. ceil_mode does not apply to them. */
bool xf_pool_geometry(xf_graph *g, const xf_node *n, xf_pool_window *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int sp = spatial_dims(g, n, x, d);
    if (!sp) return false;
    int64_t ks[2 * XF_MAX_RANK], strides[2 * XF_MAX_RANK], dil[2 * XF_MAX_RANK], pads[2 * XF_MAX_RANK];
    int nks = xf_node_ints(g, n, "kernel_shape", -1, ks, 2 * XF_MAX_RANK, d);
    if (nks < 0) return false;
    if (nks != sp) return xf_fail(d, g, n, "attribute 'kernel_shape' must give %d sizes, one per spatial dim", sp);
    if (!xf_attr_list(g, n, "kernel_shape", sp, 1, 1, ks, d) || !xf_attr_list(g, n, "strides", sp, 1, 1, strides, d) ||
        !xf_attr_list(g, n, "dilations", sp, 1, 1, dil, d) || !xf_attr_list(g, n, "pads", 2 * sp, 0, 0, pads, d))
        return false;
    pad_mode mode;
    if (!read_auto_pad(g, n, &mode, d)) return false;
    bool ceil_mode = xf_attr_int(n, "ceil_mode", 0) != 0;
    p->planes = x->shape[0] * x->shape[1];
    for (int j = 0; j < SP; j++) {
        p->in[j] = p->out[j] = p->kernel[j] = p->stride[j] = p->dilation[j] = 1;
        p->pad[j] = p->pad_end[j] = 0;
    }
    for (int i = 0; i < sp; i++) {
        int j = i + SP - sp;
        int64_t in = x->shape[2 + i], s = strides[i], span = (ks[i] - 1) * dil[i] + 1;
        int64_t begin = pads[i], end = pads[sp + i];
        if (mode == PAD_SAME_UPPER || mode == PAD_SAME_LOWER) {
            int64_t total = ((in + s - 1) / s - 1) * s + span - in;
            if (total < 0) total = 0;
            begin = mode == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            end = total - begin;
        } else if (mode == PAD_VALID) {
            begin = end = 0;
        }
        int64_t room = in + begin + end - span;
        if (room < 0)
            return xf_fail(d, g, n, "window of extent %lld is larger than the padded input (%lld) along dim %d",
                           (long long)span, (long long)(in + begin + end), 2 + i);
        int64_t out = room / s + 1;
        if (ceil_mode && mode == PAD_NOTSET) {
            out = (room + s - 1) / s + 1;
            if ((out - 1) * s >= in + begin) out--;
        }
        p->in[j] = in;
        p->out[j] = out;
        p->kernel[j] = ks[i];
        p->stride[j] = s;
        p->dilation[j] = dil[i];
        p->pad[j] = begin;
        p->pad_end[j] = end;
    }
    return true;
}

bool xf_shape_pool(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_pool_window p;
    if (!xf_pool_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[XF_MAX_RANK] = {x->shape[0], x->shape[1]};
    for (int i = 2; i < x->rank; i++) shape[i] = p.out[i - x->rank + SP];
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    if (n->op == XF_OP_MAX_POOL) xf_set_out(g, n, 1, XF_I64, x->rank, shape); /* Indices */
    return true;
}

/* ---- MaxUnpool: scatters values back to where MaxPool's Indices say they came from ---- */

/* The pooled input's size along each spatial dim is (in - 1) * s - pads + k; the Indices address a
 * tensor of that shape. The optional output_shape input (constant) may make the output larger, for
 * a pool whose input size its output does not determine; the unpooled data sits at its start. */
bool xf_max_unpool_geometry(xf_graph *g, const xf_node *n, int64_t *pooled, int64_t *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    char sx[128], si[128];
    if (!idx) return xf_fail(d, g, n, "expects inputs X and I");
    int sp = spatial_dims(g, n, x, d);
    if (!sp) return false;
    if (idx->dtype != XF_I64 || idx->rank != x->rank || memcmp(idx->shape, x->shape, sizeof *x->shape * x->rank))
        return xf_fail(d, g, n, "indices I (%s %s) must be int64 of the shape of X %s", xf_dtype_name(idx->dtype),
                       xf_shape_str(idx, si, sizeof si), xf_shape_str(x, sx, sizeof sx));
    int64_t ks[2 * XF_MAX_RANK], strides[2 * XF_MAX_RANK], pads[2 * XF_MAX_RANK];
    int nks = xf_node_ints(g, n, "kernel_shape", -1, ks, 2 * XF_MAX_RANK, d);
    if (nks < 0) return false;
    if (nks != sp) return xf_fail(d, g, n, "attribute 'kernel_shape' must give %d sizes, one per spatial dim", sp);
    if (!xf_attr_list(g, n, "kernel_shape", sp, 1, 1, ks, d) || !xf_attr_list(g, n, "strides", sp, 1, 1, strides, d) ||
        !xf_attr_list(g, n, "pads", 2 * sp, 0, 0, pads, d))
        return false;
    pooled[0] = x->shape[0];
    pooled[1] = x->shape[1];
    for (int i = 0; i < sp; i++) {
        pooled[2 + i] = (x->shape[2 + i] - 1) * strides[i] - pads[i] - pads[sp + i] + ks[i];
        if (pooled[2 + i] < 0) return xf_fail(d, g, n, "the pads leave nothing along dim %d", 2 + i);
    }
    memcpy(out, pooled, sizeof *out * x->rank);
    int count = xf_node_ints(g, n, NULL, 2, out, XF_MAX_RANK, d);
    if (count < 0) return false;
    if (count != 0 && count != x->rank)
        return xf_fail(d, g, n, "output_shape has %d values, expected %d", count, x->rank);
    for (int i = 0; count && i < x->rank; i++)
        if (out[i] < pooled[i] || out[i] >= XF_DIM_MAX || (i < 2 && out[i] != pooled[i]))
            return xf_fail(d, g, n, "output_shape %lld along dim %d cannot hold the unpooled %lld", (long long)out[i],
                           i, (long long)pooled[i]);
    return true;
}

bool xf_shape_max_unpool(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t pooled[XF_MAX_RANK], out[XF_MAX_RANK];
    if (!xf_max_unpool_geometry(g, n, pooled, out, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, out);
    return true;
}

/* ---- GlobalAveragePool, GlobalMaxPool: a mean or maximum over all spatial dims ---- */

bool xf_shape_global_pool(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    if (x->rank < 2) return xf_fail(d, g, n, "input X must be [N,C,...], got %s", xf_shape_str(x, s, sizeof s));
    int64_t shape[XF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) shape[i] = i < 2 ? x->shape[i] : 1;
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- ConvTranspose ---- */

/* X is [N, C_in, in...], W [C_in, C_out/group, k...]. Along each dim the full output is
 * s*(in-1) + output_padding + (k-1)*dil + 1 long; pads crop it. When output_shape is given (or
 * auto_pad is SAME, which asks for in*s) and pads are not, the pads are what it takes to get that
 * size: the total split evenly, the odd one at the beginning, or at the end for SAME_UPPER. A
 * negative total makes the output longer than the full one; those positions hold the bias. */
bool xf_conv_transpose_geometry(xf_graph *g, const xf_node *n, xf_deconv_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1), *b = xf_in(g, n, 2);
    char sx[128], sw[128];
    if (!x || !w) return xf_fail(d, g, n, "expects inputs X and W");
    int sp = spatial_dims(g, n, x, d);
    if (!sp) return false;
    if ((w->dtype != x->dtype) || (b && b->dtype != x->dtype))
        return xf_fail(d, g, n, "input types differ (%s and %s)", xf_dtype_name(x->dtype),
                       xf_dtype_name(w->dtype != x->dtype ? w->dtype : b->dtype));
    p->batch = x->shape[0];
    p->c_in = x->shape[1];
    p->groups = xf_attr_int(n, "group", 1);
    if (w->rank != x->rank || w->shape[0] != p->c_in || p->groups < 1 || p->c_in % p->groups)
        return xf_fail(d, g, n, "weights W of shape %s do not fit input X of shape %s and group %lld",
                       xf_shape_str(w, sw, sizeof sw), xf_shape_str(x, sx, sizeof sx), (long long)p->groups);
    p->c_out = w->shape[1] * p->groups;
    if (b && (b->rank != 1 || b->shape[0] != p->c_out))
        return xf_fail(d, g, n, "bias B of shape %s should be [%lld]", xf_shape_str(b, sx, sizeof sx),
                       (long long)p->c_out);
    int64_t ks[2 * XF_MAX_RANK], strides[2 * XF_MAX_RANK], dil[2 * XF_MAX_RANK], pads[2 * XF_MAX_RANK];
    int64_t opad[2 * XF_MAX_RANK], oshape[2 * XF_MAX_RANK];
    int nks = xf_node_ints(g, n, "kernel_shape", -1, ks, 2 * XF_MAX_RANK, d);
    if (nks < 0) return false;
    for (int i = 0; i < nks; i++)
        if (nks != sp || ks[i] != w->shape[2 + i])
            return xf_fail(d, g, n, "kernel_shape does not match weights W of shape %s",
                           xf_shape_str(w, sw, sizeof sw));
    if (!xf_attr_list(g, n, "strides", sp, 1, 1, strides, d) || !xf_attr_list(g, n, "dilations", sp, 1, 1, dil, d) ||
        !xf_attr_list(g, n, "pads", 2 * sp, 0, 0, pads, d) || !xf_attr_list(g, n, "output_padding", sp, 0, 0, opad, d))
        return false;
    int nos = xf_node_ints(g, n, "output_shape", -1, oshape, 2 * XF_MAX_RANK, d);
    if (nos < 0) return false;
    if (nos != 0 && nos != sp && nos != sp + 2)
        return xf_fail(d, g, n, "attribute 'output_shape' has %d values, expected %d", nos, sp);
    const int64_t *target = nos ? oshape + (nos - sp) : NULL; /* the spatial part of a full shape too */
    pad_mode mode;
    if (!read_auto_pad(g, n, &mode, d)) return false;
    bool explicit_pads = xf_attr_get(n, "pads") && mode == PAD_NOTSET;
    for (int j = 0; j < SP; j++) {
        p->in[j] = p->out[j] = p->kernel[j] = p->stride[j] = p->dilation[j] = 1;
        p->pad[j] = 0;
    }
    for (int i = 0; i < sp; i++) {
        int j = i + SP - sp;
        int64_t in = x->shape[2 + i], s = strides[i], k = w->shape[2 + i];
        if (k < 1 || k >= XF_DIM_MAX)
            return xf_fail(d, g, n, "weights W of shape %s are empty", xf_shape_str(w, sw, sizeof sw));
        int64_t full = s * (in - 1) + opad[i] + (k - 1) * dil[i] + 1, begin = 0, out = full;
        if (explicit_pads) {
            begin = pads[i];
            out = target ? target[i] : full - pads[i] - pads[sp + i];
        } else if (target || mode == PAD_SAME_UPPER || mode == PAD_SAME_LOWER) {
            out = target ? target[i] : in * s;
            int64_t total = full - out;
            begin = mode == PAD_SAME_UPPER ? floor_div(total, 2) : total - floor_div(total, 2);
        }
        if (out < 0 || out >= XF_DIM_MAX)
            return xf_fail(d, g, n, "output size %lld along dim %d is out of range", (long long)out, 2 + i);
        p->in[j] = in;
        p->out[j] = out;
        p->kernel[j] = k;
        p->stride[j] = s;
        p->dilation[j] = dil[i];
        p->pad[j] = begin;
    }
    return true;
}

bool xf_shape_conv_transpose(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_deconv_geom p;
    if (!xf_conv_transpose_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[XF_MAX_RANK] = {p.batch, p.c_out};
    for (int i = 2; i < x->rank; i++) shape[i] = p.out[i - x->rank + SP];
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- DeformConv ---- */

/* DeformConv is a 2-D Conv whose taps are moved: each tap of each output position reads the input
 * at its usual place plus a learnt (dy, dx), bilinearly interpolated, optionally scaled by a mask.
 * X [N, C_in, H, W], W [C_out, C_in/group, kh, kw] and B [C_out] are Conv's, so Conv's geometry
 * (ops_math.c) gives the output size; offset is [N, offset_group*kh*kw*2, oh, ow] with the (dy, dx)
 * pairs of one tap next to each other, and mask [N, offset_group*kh*kw, oh, ow]. The input
 * channels are split into offset_group consecutive sets, each moved by its own offsets. */
bool xf_deform_conv_geometry(xf_graph *g, const xf_node *n, xf_conv_geom *p, int64_t *offset_groups, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1), *off = xf_in(g, n, 2), *b = xf_in(g, n, 3),
             *mask = xf_in(g, n, 4);
    char s1[128], s2[128];
    if (!x || !w || !off) return xf_fail(d, g, n, "expects inputs X, W and offset");
    if (x->rank != 4)
        return xf_fail(d, g, n, "input X must be [N,C,H,W] (only 2-D DeformConv is supported), got %s",
                       xf_shape_str(x, s1, sizeof s1));
    const xf_value *others[4] = {w, off, b, mask};
    for (int i = 0; i < 4; i++)
        if (others[i] && others[i]->dtype != x->dtype)
            return xf_fail(d, g, n, "input types differ (%s and %s)", xf_dtype_name(x->dtype),
                           xf_dtype_name(others[i]->dtype));
    if (!xf_conv_geometry(g, n, x, w, b, p, d)) return false;
    int64_t og = xf_attr_int(n, "offset_group", 1);
    if (og < 1 || p->c_in % og)
        return xf_fail(d, g, n, "offset_group %lld does not divide the %lld input channels", (long long)og,
                       (long long)p->c_in);
    int64_t taps = p->kernel[0] * p->kernel[1];
    const int64_t want_off[4] = {p->batch, og * taps * 2, p->out[0], p->out[1]};
    const int64_t want_mask[4] = {p->batch, og * taps, p->out[0], p->out[1]};
    if (off->rank != 4 || memcmp(off->shape, want_off, sizeof want_off))
        return xf_fail(d, g, n, "offset of shape %s should be [%lld,%lld,%lld,%lld]", xf_shape_str(off, s2, sizeof s2),
                       (long long)want_off[0], (long long)want_off[1], (long long)want_off[2], (long long)want_off[3]);
    if (mask && (mask->rank != 4 || memcmp(mask->shape, want_mask, sizeof want_mask)))
        return xf_fail(d, g, n, "mask of shape %s should be [%lld,%lld,%lld,%lld]", xf_shape_str(mask, s2, sizeof s2),
                       (long long)want_mask[0], (long long)want_mask[1], (long long)want_mask[2],
                       (long long)want_mask[3]);
    *offset_groups = og;
    return true;
}

bool xf_shape_deform_conv(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_conv_geom p;
    int64_t og;
    if (!xf_deform_conv_geometry(g, n, &p, &og, d)) return false;
    int64_t shape[4] = {p.batch, p.c_out, p.out[0], p.out[1]};
    xf_set_out(g, n, 0, xf_in(g, n, 0)->dtype, 4, shape);
    return true;
}

/* ---- BatchNormalization ---- */

/* Checks that inputs from..to of n are vectors of `len` elements of type float32 (their type may
 * differ from X's since opset 15; the kernels want float32 throughout). */
static bool per_channel(xf_graph *g, const xf_node *n, int from, int to, int64_t len, xf_diag *d) {
    static const char *const names[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int k = from; k <= to; k++) {
        xf_value *v = xf_in(g, n, k);
        char s[128];
        if (!v) return xf_fail(d, g, n, "input %s is missing", names[k]);
        if (xf_value_numel(v) != len || v->rank != 1)
            return xf_fail(d, g, n, "input %s of shape %s should be [%lld]", names[k], xf_shape_str(v, s, sizeof s),
                           (long long)len);
    }
    return true;
}

/* X is [N, C, ...]; scale, B, mean and var are [C]. In training mode (opset 14's training_mode)
 * the op normalises with the batch's own statistics and outputs the updated running ones; before
 * opset 14 extra outputs also meant training, which is refused rather than silently ignored. */
bool xf_batch_norm_geometry(xf_graph *g, const xf_node *n, bool *train, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    if (x->rank < 2) return xf_fail(d, g, n, "input X must be [N,C,...], got %s", xf_shape_str(x, s, sizeof s));
    if (!per_channel(g, n, 1, 4, x->shape[1], d)) return false;
    if (xf_attr_int(n, "spatial", 1) == 0)
        return xf_fail(d, g, n, "spatial=0 (statistics per element, opset 7 and older) is not supported");
    *train = xf_attr_int(n, "training_mode", 0) != 0;
    for (int k = *train ? 3 : 1; k < n->nout; k++)
        if (n->out[k] >= 0)
            return xf_fail(d, g, n, *train ? "outputs saved_mean and saved_var are not supported"
                                           : "outputs beyond Y need training_mode=1 (opset 14 and newer)");
    return true;
}

bool xf_shape_batch_norm(xf_graph *g, xf_node *n, xf_diag *d) {
    bool train;
    if (!xf_batch_norm_geometry(g, n, &train, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    xf_set_out(g, n, 1, xf_in(g, n, 3)->dtype, 1, &x->shape[1]);
    xf_set_out(g, n, 2, xf_in(g, n, 4)->dtype, 1, &x->shape[1]);
    return true;
}

/* ---- InstanceNormalization, GroupNormalization ---- */

/* X is [N, C, ...]. GroupNormalization normalises each of num_groups runs of C/num_groups channels
 * together; InstanceNormalization is the case of one channel per group. Scale and B hold one value
 * per channel, or (GroupNormalization-18) one per group. */
bool xf_group_norm_geometry(xf_graph *g, const xf_node *n, int64_t *groups, int64_t *per_scale, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *scale = xf_in(g, n, 1), *bias = xf_in(g, n, 2);
    char s[128], sx[128];
    if (x->rank < 2) return xf_fail(d, g, n, "input X must be [N,C,...], got %s", xf_shape_str(x, s, sizeof s));
    if (!scale || !bias) return xf_fail(d, g, n, "expects inputs X, scale and B");
    int64_t c = x->shape[1];
    *groups = n->op == XF_OP_INSTANCE_NORM ? c : xf_attr_int(n, "num_groups", 0);
    if (*groups < 1 || c % *groups)
        return xf_fail(d, g, n, "num_groups %lld does not divide the %lld channels of X", (long long)*groups,
                       (long long)c);
    for (int k = 1; k <= 2; k++) {
        xf_value *v = xf_in(g, n, k);
        int64_t len = xf_value_numel(v);
        if (v->rank != 1 || (len != c && len != *groups))
            return xf_fail(d, g, n, "%s of shape %s should hold one value per channel of X %s",
                           k == 1 ? "scale" : "B", xf_shape_str(v, s, sizeof s), xf_shape_str(x, sx, sizeof sx));
    }
    if (xf_value_numel(scale) != xf_value_numel(bias))
        return xf_fail(d, g, n, "scale and B differ in length");
    *per_scale = xf_value_numel(scale) == c ? 1 : c / *groups;
    return true;
}

bool xf_shape_group_norm(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t groups, per_scale;
    if (!xf_group_norm_geometry(g, n, &groups, &per_scale, d)) return false;
    return xf_shape_same(g, n, d);
}

/* ---- DepthToSpace, SpaceToDepth ---- */

/* Both rearrange [N, C, H, W] by blocks of b x b. DepthToSpace gives [N, C/b², H*b, W*b], taking
 * the block offset from the channel: its leading part in DCR mode (the default), its trailing part
 * in CRD mode. SpaceToDepth is the inverse of DCR, giving [N, C*b², H/b, W/b]. */
int64_t xf_depth_to_space_block(xf_graph *g, const xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    if (x->rank != 4) return xf_fail(d, g, n, "input must be [N,C,H,W], got %s", xf_shape_str(x, s, sizeof s)), 0;
    int64_t b = xf_attr_int(n, "blocksize", 0);
    if (b < 1 || b >= XF_DIM_MAX) return xf_fail(d, g, n, "attribute 'blocksize' must be a positive integer"), 0;
    if (n->op == XF_OP_DEPTH_TO_SPACE) {
        const char *mode = xf_attr_str(n, "mode", "DCR");
        if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
            return xf_fail(d, g, n, "mode '%s' is unknown (DCR and CRD are)", mode), 0;
        if (x->shape[1] % (b * b))
            return xf_fail(d, g, n, "the %lld channels do not split into blocks of %lld x %lld",
                           (long long)x->shape[1], (long long)b, (long long)b), 0;
    } else if (x->shape[2] % b || x->shape[3] % b) {
        return xf_fail(d, g, n, "blocks of %lld x %lld do not tile the input %s", (long long)b, (long long)b,
                       xf_shape_str(x, s, sizeof s)), 0;
    }
    return b;
}

bool xf_shape_depth_to_space(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t b = xf_depth_to_space_block(g, n, d);
    if (!b) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[4] = {x->shape[0], x->shape[1] / (b * b), x->shape[2] * b, x->shape[3] * b};
    if (n->op == XF_OP_SPACE_TO_DEPTH) {
        shape[1] = x->shape[1] * b * b;
        shape[2] = x->shape[2] / b;
        shape[3] = x->shape[3] / b;
    }
    xf_set_out(g, n, 0, x->dtype, 4, shape);
    return true;
}

/* ---- Resize, Upsample ---- */

/* Where the sampling rule and the sizes come from depends on the op:
 *   Upsample: scales attribute (opset 7) or input 1 (opset 9). It samples with asymmetric
 *     coordinates and rounds nearest "simply": down when enlarging, up when shrinking.
 *   Resize: roi, scales and sizes inputs 1-3 (an empty scales stands for none), the
 *     coordinate_transformation_mode and nearest_mode attributes; opset 18 adds axes,
 *     keep_aspect_ratio_policy and antialias. Resize-10, which is Upsample-9 by another name,
 *     reaches the IR in this form (frontend/onnx.c): an empty roi, asymmetric coordinates and
 *     nearest_mode "simple" (a name onnxruntime also accepts). */
static bool resize_sizes(xf_graph *g, const xf_node *n, xf_resize_geom *p, double *roi, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int r = x->rank;
    bool modern = n->op == XF_OP_RESIZE;
    int64_t axes[XF_MAX_RANK];
    int naxes = xf_node_ints(g, n, "axes", -1, axes, XF_MAX_RANK, d);
    if (naxes < 0) return false;
    bool listed[XF_MAX_RANK] = {false};
    for (int i = 0; i < naxes; i++) {
        int a;
        if (!xf_axis(g, n, axes[i], r, &a, d)) return false;
        if (listed[a]) return xf_fail(d, g, n, "axis %lld is listed twice", (long long)axes[i]);
        listed[a] = true;
        axes[i] = a;
    }
    if (naxes == 0)
        for (int i = 0; i < r; i++) axes[naxes++] = i;

    double scales[XF_MAX_RANK];
    int nscales = 0;
    const xf_attr *sa = xf_attr_get(n, "scales");
    int si = modern ? 2 : 1;
    xf_value *sv = xf_in(g, n, si);
    if (sa && sa->type == XF_ATTR_FLOATS && n->op == XF_OP_UPSAMPLE) {
        nscales = sa->n;
        for (int i = 0; i < sa->n && i < XF_MAX_RANK; i++) scales[i] = sa->floats[i];
    } else if (sv && xf_value_numel(sv) > 0) {
        if (!xf_require_const(g, n, si, d)) return false;
        if (!xf_dtype_is_float(sv->dtype)) return xf_fail(d, g, n, "scales must be floats");
        nscales = (int)xf_value_numel(sv);
        for (int i = 0; i < nscales && i < XF_MAX_RANK; i++) scales[i] = xf_const_f64(sv, i);
    }
    int64_t sizes[XF_MAX_RANK];
    int nsizes = 0;
    if (modern && xf_in(g, n, 3) && xf_value_numel(xf_in(g, n, 3)) > 0) {
        nsizes = xf_node_ints(g, n, NULL, 3, sizes, XF_MAX_RANK, d);
        if (nsizes < 0) return false;
    }
    if (nscales && nsizes) return xf_fail(d, g, n, "give scales or sizes, not both");
    if (!nscales && !nsizes) return xf_fail(d, g, n, "expects scales or sizes");
    if ((nscales ? nscales : nsizes) != naxes)
        return xf_fail(d, g, n, "%s has %d values for %d axes", nscales ? "scales" : "sizes",
                       nscales ? nscales : nsizes, naxes);

    for (int i = 0; i < r; i++) {
        p->out[i] = x->shape[i];
        p->scale[i] = 1.0;
        roi[i] = 0.0;
        roi[r + i] = 1.0;
    }
    for (int i = 0; i < naxes; i++) {
        int a = (int)axes[i];
        if (nscales) {
            if (!(scales[i] > 0.0) || scales[i] * (double)x->shape[a] >= (double)XF_DIM_MAX)
                return xf_fail(d, g, n, "scale %g along dim %d is out of range", scales[i], a);
            p->scale[a] = scales[i];
            p->out[a] = (int64_t)(scales[i] * (double)x->shape[a]);
        } else {
            if (sizes[i] < 0 || sizes[i] >= XF_DIM_MAX)
                return xf_fail(d, g, n, "size %lld along dim %d is out of range", (long long)sizes[i], a);
            if (x->shape[a] == 0) return xf_fail(d, g, n, "cannot resize the empty dim %d", a);
            p->out[a] = sizes[i];
            p->scale[a] = (double)sizes[i] / (double)x->shape[a];
        }
    }
    /* keep_aspect_ratio_policy: one scale for all the axes, the smallest or the largest of theirs */
    const char *policy = xf_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    bool not_larger = !strcmp(policy, "not_larger"), not_smaller = !strcmp(policy, "not_smaller");
    if (!not_larger && !not_smaller && strcmp(policy, "stretch") != 0)
        return xf_fail(d, g, n, "keep_aspect_ratio_policy '%s' is unknown", policy);
    if (nsizes && (not_larger || not_smaller)) {
        double s = p->scale[axes[0]];
        for (int i = 1; i < naxes; i++)
            s = not_larger ? fmin(s, p->scale[axes[i]]) : fmax(s, p->scale[axes[i]]);
        for (int i = 0; i < naxes; i++) {
            p->scale[axes[i]] = s;
            p->out[axes[i]] = (int64_t)(s * (double)x->shape[axes[i]] + 0.5);
        }
    }
    /* roi: starts then ends, for the listed axes */
    const char *ct = xf_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    if (modern && !strcmp(ct, "tf_crop_and_resize")) {
        xf_value *rv = xf_in(g, n, 1);
        if (!rv) return xf_fail(d, g, n, "tf_crop_and_resize needs input roi");
        if (!xf_require_const(g, n, 1, d)) return false;
        if (xf_value_numel(rv) != 2 * naxes)
            return xf_fail(d, g, n, "roi has %lld values, expected %d", (long long)xf_value_numel(rv), 2 * naxes);
        for (int i = 0; i < naxes; i++) {
            roi[axes[i]] = xf_const_f64(rv, i);
            roi[r + axes[i]] = xf_const_f64(rv, naxes + i);
        }
    }
    return true;
}

bool xf_resize_geometry(xf_graph *g, const xf_node *n, xf_resize_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int r = x->rank;
    double roi[2 * XF_MAX_RANK];
    if (r < 1) return xf_fail(d, g, n, "cannot resize a scalar");
    if (!resize_sizes(g, n, p, roi, d)) return false;
    bool modern = n->op == XF_OP_RESIZE;

    const char *mode = xf_attr_str(n, "mode", "nearest");
    p->mode = !strcmp(mode, "nearest") ? XF_RESIZE_NEAREST
              : !strcmp(mode, "linear") || !strcmp(mode, "bilinear") ? XF_RESIZE_LINEAR
              : !strcmp(mode, "cubic") ? XF_RESIZE_CUBIC
                                       : -1;
    if (p->mode < 0) return xf_fail(d, g, n, "mode '%s' is unknown (nearest, linear and cubic are)", mode);
    const char *nearest = xf_attr_str(n, "nearest_mode", "round_prefer_floor");
    p->rounding = !modern ? XF_ROUND_SIMPLE
                  : !strcmp(nearest, "round_prefer_floor") ? XF_ROUND_PREFER_FLOOR
                  : !strcmp(nearest, "round_prefer_ceil")  ? XF_ROUND_PREFER_CEIL
                  : !strcmp(nearest, "floor")              ? XF_ROUND_FLOOR
                  : !strcmp(nearest, "ceil")               ? XF_ROUND_CEIL
                  : !strcmp(nearest, "simple")             ? XF_ROUND_SIMPLE
                                                           : -1;
    if (p->rounding < 0) return xf_fail(d, g, n, "nearest_mode '%s' is unknown", nearest);
    p->cubic_a = xf_attr_float(n, "cubic_coeff_a", -0.75f);
    p->exclude_outside = xf_attr_int(n, "exclude_outside", 0) != 0;
    p->antialias = xf_attr_int(n, "antialias", 0) != 0;
    p->extrapolation = xf_attr_float(n, "extrapolation_value", 0.0f);
    if (p->antialias && p->mode == XF_RESIZE_NEAREST)
        return xf_fail(d, g, n, "antialias applies to linear and cubic modes only");

    const char *ct = modern ? xf_attr_str(n, "coordinate_transformation_mode", "half_pixel") : "asymmetric";
    p->extrapolate = !strcmp(ct, "tf_crop_and_resize");
    for (int i = 0; i < r; i++) {
        double in = (double)x->shape[i], s = p->scale[i], out = s * in; /* out: the size before rounding */
        xf_coord_map *m = &p->map[i];
        *m = (xf_coord_map){0.5, 1.0, s, -0.5}; /* half_pixel */
        if (!strcmp(ct, "half_pixel")) {
        } else if (!strcmp(ct, "pytorch_half_pixel")) {
            if (out == 1.0) *m = (xf_coord_map){0.0, 0.0, 1.0, -0.5};
        } else if (!strcmp(ct, "half_pixel_symmetric")) {
            /* moves the centre of the sampled region to the centre of the output */
            m->b = in / 2.0 * (1.0 - (double)p->out[i] / out) - 0.5;
        } else if (!strcmp(ct, "asymmetric")) {
            *m = (xf_coord_map){0.0, 1.0, s, 0.0};
        } else if (!strcmp(ct, "tf_half_pixel_for_nn")) {
            *m = (xf_coord_map){0.5, 1.0, s, 0.0};
        } else if (!strcmp(ct, "align_corners")) {
            *m = out == 1.0 ? (xf_coord_map){0.0, 0.0, 1.0, 0.0} : (xf_coord_map){0.0, in - 1.0, out - 1.0, 0.0};
        } else if (p->extrapolate) {
            double start = roi[i], end = roi[r + i];
            *m = out == 1.0 ? (xf_coord_map){0.0, 0.0, 1.0, (end - start) * (in - 1.0) / 2.0 + start * (in - 1.0)}
                            : (xf_coord_map){0.0, (end - start) * (in - 1.0), out - 1.0, start * (in - 1.0)};
        } else {
            return xf_fail(d, g, n, "coordinate_transformation_mode '%s' is unknown", ct);
        }
    }
    return true;
}

bool xf_shape_resize(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_resize_geom p;
    if (!xf_resize_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, p.out);
    return true;
}

