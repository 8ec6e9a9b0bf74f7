/* signal.c — lowering of DFT, STFT and Det (shape rules in ir/ops_signal.c), each one call of its
 * float32 kernel in runtime/signal.c with the geometry the shape rule checked. The window functions
 * and MelWeightMatrix never get here: their outputs are constants computed by their shape rules. */
#include "../ir/ops.h"
#include "lower.h"

/* x viewed as [outer, n_in, inner, comps] around the axis. */
int xf_lower_dft(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_dft_geom p;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_dft_geometry(g, n, &p, d) || !xf_need_f32(g, n, x, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_dft, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = xf_prod(x->shape, 0, p.axis),
            .n_in = x->shape[p.axis], .inner = xf_prod(x->shape, p.axis + 1, x->rank - 1), .comps = p.comps,
            .n = p.len, .n_out = p.bins, .inverse = p.inverse);
    return 0;
}

int xf_lower_stft(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_stft_geom p;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_stft_geometry(g, n, &p, d) || !xf_need_f32(g, n, x, d) || !xf_need_f32(g, n, xf_in(g, n, 2), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_stft, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .window = xf_t(xf_in_handle(n, 2)),
            .batch = x->shape[0], .length = x->shape[1], .comps = x->shape[2], .frames = p.frames, .step = p.step,
            .frame_length = p.frame_length, .bins = p.bins);
    return 0;
}

/* The kernel eliminates in a local array of 16 x 16, which bounds the matrices' size. */
int xf_lower_det(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!xf_det_check(g, n, d) || !xf_need_f32(g, n, x, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t size = x->shape[x->rank - 1];
    if (size > 16)
        return xf_fail(d, g, n, "Det of %lldx%lld matrices is not supported (at most 16x16)", (long long)size,
                       (long long)size), -1;
    XF_CALL(out, xf_det, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .batch = xf_prod(x->shape, 0, x->rank - 2),
            .size = size);
    return 0;
}
