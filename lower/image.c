/* image.c — lowering of the image and grid ops (shape rules and geometry: ir/ops_image.c) to the
 * kernels of runtime/image.c: GridSample, AffineGrid, Col2Im, RoiAlign and ReverseSequence, each
 * one call; and CenterCropPad, which needs no kernel of its own.
 *
 * The computing ops are float32; CenterCropPad and ReverseSequence only move elements and take any
 * type (their kernels get the element size). CenterCropPad is an ONNX function (Pad, then Slice),
 * but the frontend does not expand standard function ops, so it is lowered directly: a zero fill
 * where it pads and one strided copy of the part of x that survives the crop (runtime/data.c). */
#include "../ir/ops.h"
#include "lower.h"

static int64_t esize(const xf_value *v) { return (int64_t)xf_dtype_size(v->dtype); }

int xf_lower_grid_sample(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_grid_params p;
    xf_value *x = xf_in(g, n, 0), *grid = xf_in(g, n, 1);
    if (!xf_grid_sample_params(g, n, &p, d) || !xf_need_f32(g, n, x, d) || !xf_need_f32(g, n, grid, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_grid_sample, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .grid = xf_t(n->in[1]),
            .batch = x->shape[0], .channels = x->shape[1], .dims = p.r, .in = xf_ints(g, p.r, x->shape + 2),
            .out = xf_ints(g, p.r, grid->shape + 1), .mode = p.mode, .padding = p.padding, .align_corners = p.align);
    return 0;
}

int xf_lower_affine_grid(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int r;
    int64_t size[XF_MAX_RANK];
    if (!xf_affine_grid_params(g, n, &r, size, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_affine_grid, .grid = xf_t(n->out[0]), .theta = xf_t(n->in[0]), .batch = size[0], .dims = r,
            .size = xf_ints(g, r, size + 2), .align_corners = xf_attr_int(n, "align_corners", 0) != 0);
    return 0;
}

int xf_lower_col2im(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_col2im_geom p;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_col2im_geometry(g, n, &p, d) || !xf_need_f32(g, n, x, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    /* the leading pads; the trailing ones only bound the block count */
    XF_CALL(out, xf_col2im, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .planes = x->shape[0] * p.channels,
            .dims = p.r, .image = xf_ints(g, p.r, p.image), .block = xf_ints(g, p.r, p.block),
            .blocks = xf_ints(g, p.r, p.blocks), .strides = xf_ints(g, p.r, p.strides),
            .pads = xf_ints(g, p.r, p.pads), .dilations = xf_ints(g, p.r, p.dilations));
    return 0;
}

int xf_lower_roi_align(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_roi_params p;
    xf_value *x = xf_in(g, n, 0), *rois = xf_in(g, n, 1);
    if (!xf_roi_align_params(g, n, &p, d) || !xf_need_f32(g, n, x, d) || !xf_need_f32(g, n, rois, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    if (x->shape[2] == 0 || x->shape[3] == 0) return xf_fail(d, g, n, "the input image is empty"), -1;
    XF_CALL(out, xf_roi_align, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .rois = xf_t(n->in[1]),
            .batch_indices = xf_t(n->in[2]), .index_size = esize(xf_in(g, n, 2)), .nrois = rois->shape[0],
            .batch = x->shape[0], .channels = x->shape[1], .height = x->shape[2], .width = x->shape[3],
            .out_height = p.oh, .out_width = p.ow, .sampling_ratio = p.sampling_ratio, .scale = p.scale,
            .half_pixel = p.half_pixel, .is_max = p.is_max);
    return 0;
}

/* Along each dim the part of x kept is centred in y: a dim that shrinks loses (size - target) / 2
 * elements at its start (the odd one at the end), one that grows gains (target - size) / 2 zeros at
 * its start. So y is zeros where anything grows, plus one strided copy of the overlap. */
int xf_lower_center_crop_pad(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int64_t target[XF_MAX_RANK];
    if (!xf_center_crop_pad_sizes(g, n, target, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int64_t xst[XF_MAX_RANK], yst[XF_MAX_RANK], overlap[XF_MAX_RANK], xo = 0, yo = 0;
    bool pads = false, empty = false;
    xf_strides(x->rank, x->shape, xst);
    xf_strides(y->rank, y->shape, yst);
    for (int i = 0; i < x->rank; i++) {
        int64_t size = x->shape[i], want = target[i];
        overlap[i] = size < want ? size : want;
        if (size > want) xo += (size - want) / 2 * xst[i];
        if (want > size) yo += (want - size) / 2 * yst[i];
        pads |= want > size;
        empty |= overlap[i] == 0;
    }
    if (pads) /* no value: zeros */
        XF_CALL(out, xf_fill, .y = xf_t(n->out[0]), .value = xf_none(), .n = xf_value_numel(y), .esize = esize(x));
    if (empty) return 0;
    if (x->rank == 0) /* a scalar has nothing to crop or pad */
        XF_CALL(out, xf_copy, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .nbytes = esize(x));
    else
        XF_CALL(out, xf_copy_strided, .y = xf_t_at(n->out[0], yo), .ystrides = xf_ints(g, y->rank, yst),
                .x = xf_t_at(n->in[0], xo), .xstrides = xf_ints(g, x->rank, xst), .rank = x->rank,
                .shape = xf_ints(g, x->rank, overlap), .esize = esize(x));
    return 0;
}

int xf_lower_reverse_sequence(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int64_t time_axis;
    if (!xf_reverse_sequence_params(g, n, &time_axis, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_value *x = xf_in(g, n, 0);
    int64_t inner = xf_prod(x->shape, 2, x->rank), time = x->shape[time_axis], batch = x->shape[1 - time_axis];
    XF_CALL(out, xf_reverse_sequence, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .lens = xf_t(xf_in_handle(n, 1)),
            .time = time, .batch = batch, .time_stride = time_axis == 0 ? batch * inner : inner,
            .batch_stride = time_axis == 0 ? inner : time * inner, .inner = inner, .esize = esize(x));
    return 0;
}
