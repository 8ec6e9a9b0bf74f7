/* ops_image.c — shape inference of the image and grid ops: GridSample, AffineGrid, Col2Im,
 * RoiAlign, CenterCropPad and ReverseSequence; lower/image.c lowers them.
 *
 * As elsewhere, shapes are static, so every size is settled here and the lowering passes the
 * kernels plain numbers. Inputs that decide an output's shape (AffineGrid's size, Col2Im's
 * image_shape and block_shape, CenterCropPad's shape) must be constants; a graph input there is
 * reported with the --bind suggestion. What depends on data (grid points, regions of interest,
 * sequence lengths) is handled by the kernels at run time. */
#include <string.h>

#include "ops.h"

/* Reads the constant integer input k (its values decide the output's shape) into out: exactly want
 * values (want < 0: any count up to max, returned), each in [lo, XF_DIM_MAX). Returns the count, or -1
 * after reporting. */
static int const_ints(xf_graph *g, const xf_node *n, int k, const char *what, int want, int64_t lo, int64_t *out,
                      int max, xf_diag *d) {
    if (!xf_in(g, n, k)) return xf_fail(d, g, n, "input %s is missing", what), -1;
    int count = xf_node_ints(g, n, NULL, k, out, max, d);
    if (count < 0) return -1;
    if (want >= 0 && count != want)
        return xf_fail(d, g, n, "input %s has %d values, expected %d", what, count, want), -1;
    for (int i = 0; i < count; i++)
        if (out[i] < lo || out[i] >= XF_DIM_MAX)
            return xf_fail(d, g, n, "input %s holds %lld, out of range", what, (long long)out[i]), -1;
    return count;
}

/* ---- GridSample ---- */

/* X [N, C, D1..Dr] sampled at grid [N, O1..Or, r]. Modes: linear (opset 16 calls it bilinear),
 * nearest, cubic (bicubic); padding zeros, border or reflection. */
bool xf_grid_sample_params(xf_graph *g, const xf_node *n, xf_grid_params *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *grid = xf_in(g, n, 1);
    char sx[128], sg[128];
    if (!grid) return xf_fail(d, g, n, "expects inputs X and grid");
    if (x->rank < 3) return xf_fail(d, g, n, "input X must be [N, C, spatial...], got %s", xf_shape_str(x, sx, sizeof sx));
    p->r = x->rank - 2;
    bool ok = grid->rank == x->rank && grid->shape[0] == x->shape[0] && grid->shape[x->rank - 1] == p->r;
    if (!ok)
        return xf_fail(d, g, n, "grid %s does not fit X %s: expected [N, out..., %d]", xf_shape_str(grid, sg, sizeof sg),
                       xf_shape_str(x, sx, sizeof sx), p->r);
    const char *mode = xf_attr_str(n, "mode", "linear"), *pad = xf_attr_str(n, "padding_mode", "zeros");
    p->mode = !strcmp(mode, "linear") || !strcmp(mode, "bilinear") ? 0
            : !strcmp(mode, "nearest")                            ? 1
            : !strcmp(mode, "cubic") || !strcmp(mode, "bicubic")   ? 2 : -1;
    if (p->mode < 0) return xf_fail(d, g, n, "mode '%s' is unknown (linear, nearest and cubic are)", mode);
    p->padding = !strcmp(pad, "zeros") ? 0 : !strcmp(pad, "border") ? 1 : !strcmp(pad, "reflection") ? 2 : -1;
    if (p->padding < 0)
        return xf_fail(d, g, n, "padding_mode '%s' is unknown (zeros, border and reflection are)", pad);
    p->align = xf_attr_int(n, "align_corners", 0) != 0;
    return true;
}

bool xf_shape_grid_sample(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_grid_params p;
    if (!xf_grid_sample_params(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0), *grid = xf_in(g, n, 1);
    int64_t shape[XF_MAX_RANK] = {x->shape[0], x->shape[1]};
    for (int i = 0; i < p.r; i++) shape[2 + i] = grid->shape[1 + i];
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- AffineGrid ---- */

/* theta [N, 2, 3] with size [N, C, H, W] (a constant) gives grid [N, H, W, 2]; theta [N, 3, 4] with
 * size [N, C, D, H, W] gives [N, D, H, W, 3]. */
bool xf_affine_grid_params(xf_graph *g, const xf_node *n, int *r, int64_t *size, xf_diag *d) {
    xf_value *theta = xf_in(g, n, 0);
    char s[128];
    int count = const_ints(g, n, 1, "size", -1, 0, size, XF_MAX_RANK, d);
    if (count < 0) return false;
    if (count != 4 && count != 5)
        return xf_fail(d, g, n, "size must be [N, C, H, W] or [N, C, D, H, W], not %d values", count);
    *r = count - 2;
    if (theta->rank != 3 || theta->shape[0] != size[0] || theta->shape[1] != *r || theta->shape[2] != *r + 1)
        return xf_fail(d, g, n, "theta %s must be [%lld, %d, %d] for a size of %d values", xf_shape_str(theta, s, sizeof s),
                       (long long)size[0], *r, *r + 1, count);
    return true;
}

bool xf_shape_affine_grid(xf_graph *g, xf_node *n, xf_diag *d) {
    int r;
    int64_t size[XF_MAX_RANK], shape[XF_MAX_RANK];
    if (!xf_affine_grid_params(g, n, &r, size, d)) return false;
    shape[0] = size[0];
    for (int i = 0; i < r; i++) shape[1 + i] = size[2 + i];
    shape[1 + r] = r;
    xf_set_out(g, n, 0, xf_in(g, n, 0)->dtype, r + 2, shape);
    return true;
}

/* ---- Col2Im ---- */

/* input [N, C * prod(block_shape), L], image_shape and block_shape constants of r values each.
 * Along dim d the blocks fit (image + pads - ((block - 1) * dilation + 1)) / stride + 1 times, and
 * L must be the product of those counts. */
bool xf_col2im_geometry(xf_graph *g, const xf_node *n, xf_col2im_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    if (x->rank != 3)
        return xf_fail(d, g, n, "input must be [N, C * prod(block_shape), L], got %s", xf_shape_str(x, s, sizeof s));
    p->r = const_ints(g, n, 1, "image_shape", -1, 1, p->image, XF_MAX_RANK - 2, d);
    if (p->r < 0) return false;
    if (p->r == 0) return xf_fail(d, g, n, "image_shape is empty");
    if (const_ints(g, n, 2, "block_shape", p->r, 1, p->block, XF_MAX_RANK - 2, d) < 0) return false;
    if (!xf_attr_list(g, n, "strides", p->r, 1, 1, p->strides, d) ||
        !xf_attr_list(g, n, "dilations", p->r, 1, 1, p->dilations, d) ||
        !xf_attr_list(g, n, "pads", 2 * p->r, 0, 0, p->pads, d))
        return false;
    int64_t k = 1, l = 1;
    for (int i = 0; i < p->r; i++) {
        int64_t span = (p->block[i] - 1) * p->dilations[i] + 1, room = p->image[i] + p->pads[i] + p->pads[p->r + i] - span;
        if (room < 0)
            return xf_fail(d, g, n, "a block of extent %lld does not fit the padded image (%lld) along dim %d",
                           (long long)span, (long long)(p->image[i] + p->pads[i] + p->pads[p->r + i]), i);
        p->blocks[i] = room / p->strides[i] + 1;
        if (__builtin_mul_overflow(k, p->block[i], &k) || __builtin_mul_overflow(l, p->blocks[i], &l))
            return xf_fail(d, g, n, "the block counts overflow");
    }
    if (x->shape[1] % k != 0)
        return xf_fail(d, g, n, "input dim 1 (%lld) is not a multiple of the block size %lld", (long long)x->shape[1],
                       (long long)k);
    if (x->shape[2] != l)
        return xf_fail(d, g, n, "input dim 2 is %lld, but the image holds %lld blocks", (long long)x->shape[2],
                       (long long)l);
    p->channels = x->shape[1] / k;
    return true;
}

bool xf_shape_col2im(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_col2im_geom p;
    if (!xf_col2im_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[XF_MAX_RANK] = {x->shape[0], p.channels};
    memcpy(shape + 2, p.image, sizeof *shape * (size_t)p.r);
    xf_set_out(g, n, 0, x->dtype, p.r + 2, shape);
    return true;
}

/* ---- RoiAlign ---- */

/* X [N, C, H, W], rois [R, 4], batch_indices [R] (int64, or int32) give Y [R, C, oh, ow].
 * coordinate_transformation_mode is that of opset 16 and later (default half_pixel): the frontend
 * gives older models' nodes output_half_pixel, their only mode. */
bool xf_roi_align_params(xf_graph *g, const xf_node *n, xf_roi_params *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *rois = xf_in(g, n, 1), *idx = xf_in(g, n, 2);
    char s[128];
    if (!rois || !idx) return xf_fail(d, g, n, "expects inputs X, rois and batch_indices");
    if (x->rank != 4) return xf_fail(d, g, n, "input X must be [N, C, H, W], got %s", xf_shape_str(x, s, sizeof s));
    if (rois->rank != 2 || rois->shape[1] != 4)
        return xf_fail(d, g, n, "rois must be [num_rois, 4], got %s", xf_shape_str(rois, s, sizeof s));
    if (idx->rank != 1 || idx->shape[0] != rois->shape[0] || (idx->dtype != XF_I64 && idx->dtype != XF_I32))
        return xf_fail(d, g, n, "batch_indices must be %lld int64 values, got %s%s", (long long)rois->shape[0],
                       xf_dtype_name(idx->dtype), xf_shape_str(idx, s, sizeof s));
    p->oh = xf_attr_int(n, "output_height", 1);
    p->ow = xf_attr_int(n, "output_width", 1);
    p->sampling_ratio = xf_attr_int(n, "sampling_ratio", 0);
    p->scale = xf_attr_float(n, "spatial_scale", 1.0f);
    if (p->oh < 1 || p->ow < 1 || p->oh >= XF_DIM_MAX || p->ow >= XF_DIM_MAX)
        return xf_fail(d, g, n, "output_height and output_width must be positive");
    if (p->sampling_ratio < 0 || p->sampling_ratio >= XF_DIM_MAX)
        return xf_fail(d, g, n, "sampling_ratio must be 0 (adaptive) or positive, not %lld", (long long)p->sampling_ratio);
    const char *mode = xf_attr_str(n, "mode", "avg");
    const char *ctm = xf_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    p->is_max = !strcmp(mode, "max");
    if (!p->is_max && strcmp(mode, "avg")) return xf_fail(d, g, n, "mode '%s' is unknown (avg and max are)", mode);
    p->half_pixel = !strcmp(ctm, "half_pixel");
    if (!p->half_pixel && strcmp(ctm, "output_half_pixel"))
        return xf_fail(d, g, n, "coordinate_transformation_mode '%s' is unknown (half_pixel and output_half_pixel are)",
                       ctm);
    return true;
}

bool xf_shape_roi_align(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_roi_params p;
    if (!xf_roi_align_params(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[4] = {xf_in(g, n, 1)->shape[0], x->shape[1], p.oh, p.ow};
    xf_set_out(g, n, 0, x->dtype, 4, shape);
    return true;
}

/* ---- CenterCropPad ---- */

/* The target size of every dim of x: shape (a constant) gives them for the dims in attribute axes
 * (default: all dims, in order); the others keep their size. */
bool xf_center_crop_pad_sizes(xf_graph *g, const xf_node *n, int64_t *target, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int64_t want[XF_MAX_RANK], axes[XF_MAX_RANK];
    int count = const_ints(g, n, 1, "shape", -1, 0, want, XF_MAX_RANK, d);
    if (count < 0) return false;
    int naxes = xf_node_ints(g, n, "axes", -1, axes, XF_MAX_RANK, d);
    if (naxes < 0) return false;
    if (!xf_attr_get(n, "axes")) {
        naxes = x->rank;
        for (int i = 0; i < naxes; i++) axes[i] = i;
    }
    if (count != naxes)
        return xf_fail(d, g, n, "shape has %d values for %d axes", count, naxes);
    memcpy(target, x->shape, sizeof *target * (size_t)x->rank);
    bool seen[XF_MAX_RANK] = {false};
    for (int i = 0; i < naxes; i++) {
        int axis;
        if (!xf_axis(g, n, axes[i], x->rank, &axis, d)) return false;
        if (seen[axis]) return xf_fail(d, g, n, "axis %d is given twice", axis);
        seen[axis] = true;
        target[axis] = want[i];
    }
    return true;
}

bool xf_shape_center_crop_pad(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t target[XF_MAX_RANK];
    if (!xf_center_crop_pad_sizes(g, n, target, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, target);
    return true;
}

/* ---- ReverseSequence ---- */

/* x has rank 2 or more with its time and batch dims the first two, in either order (time_axis,
 * default 0, and batch_axis, default 1); sequence_lens holds one int64 per batch entry. */
bool xf_reverse_sequence_params(xf_graph *g, const xf_node *n, int64_t *time_axis, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *lens = xf_in(g, n, 1);
    char s[128];
    if (!lens) return xf_fail(d, g, n, "expects inputs input and sequence_lens");
    if (x->rank < 2) return xf_fail(d, g, n, "the input must have rank 2 or more, got %s", xf_shape_str(x, s, sizeof s));
    int64_t batch_axis = xf_attr_int(n, "batch_axis", 1);
    *time_axis = xf_attr_int(n, "time_axis", 0);
    if (!((batch_axis == 0 && *time_axis == 1) || (batch_axis == 1 && *time_axis == 0)))
        return xf_fail(d, g, n, "batch_axis (%lld) and time_axis (%lld) must be 0 and 1, in either order",
                       (long long)batch_axis, (long long)*time_axis);
    if (lens->dtype != XF_I64 || lens->rank != 1 || lens->shape[0] != x->shape[batch_axis])
        return xf_fail(d, g, n, "sequence_lens must be %lld int64 values, got %s%s", (long long)x->shape[batch_axis],
                       xf_dtype_name(lens->dtype), xf_shape_str(lens, s, sizeof s));
    return true;
}

bool xf_shape_reverse_sequence(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t time_axis;
    if (!xf_reverse_sequence_params(g, n, &time_axis, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    return true;
}
