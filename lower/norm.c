/* norm.c — lowering of RMSNormalization (shape rule and geometry in ir/ops_norm.c): one call of
 * xf_rms_norm (runtime/norm.c) over X seen as [rows, cols]. The kernel computes in float32, so
 * other types, which shape inference lets through, are refused here. */
#include "../ir/ops.h"
#include "lower.h"

int xf_lower_rms_norm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_rms_norm_geom p;
    if (!xf_rms_norm_geometry(g, n, &p, d)) return -1;
    if (!xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_out(g, n, 0)) return xf_fail(d, g, n, "output Y is missing"), -1;
    if (p.rows * p.cols == 0) return 0;
    XF_CALL(out, xf_rms_norm, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .scale = xf_t(xf_in_handle(n, 1)),
            .rows = p.rows, .cols = p.cols, .period = p.period, .epsilon = xf_attr_float(n, "epsilon", 1e-5f));
    return 0;
}
