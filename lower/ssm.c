/* ssm.c — lowering of the state-space ops that fuse_ssm makes: xfc.SelectiveScan, xfc.SsdScan and
 * xfc.CausalConv1d, each to one kernel of runtime/ssm.c with the dims their shape rules' geometry
 * helpers find (ir/ops_ssm.c). Absent optional inputs (D, z, bias) are passed as NULL. */
#include "../ir/ops.h"
#include "lower.h"

int xf_lower_selective_scan(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_scan_dims s;
    if (!xf_selective_scan_geometry(g, n, &s, d)) return -1;
    XF_CALL(out, xf_selective_scan, .y = xf_t(n->out[0]), .u = xf_t(n->in[0]), .delta = xf_t(n->in[1]),
            .A = xf_t(n->in[2]), .B = xf_t(n->in[3]), .C = xf_t(n->in[4]), .D = xf_t(xf_in_handle(n, 5)),
            .z = xf_t(xf_in_handle(n, 6)), .batch = s.batch, .channels = s.d, .length = s.l, .state_size = s.n);
    return 0;
}

int xf_lower_ssd_scan(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_ssd_dims s;
    if (!xf_ssd_geometry(g, n, &s, d)) return -1;
    XF_CALL(out, xf_ssd_scan, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .dt = xf_t(n->in[1]), .A = xf_t(n->in[2]),
            .B = xf_t(n->in[3]), .C = xf_t(n->in[4]), .D = xf_t(xf_in_handle(n, 5)), .batch = s.batch,
            .length = s.l, .heads = s.heads, .head_dim = s.p, .groups = s.groups, .state_size = s.n);
    return 0;
}

int xf_lower_causal_conv1d(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int64_t width;
    if (!xf_causal_conv1d_geometry(g, n, &width, d)) return -1;
    xf_value *x = xf_in(g, n, 0);
    XF_CALL(out, xf_causal_conv1d, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .w = xf_t(n->in[1]),
            .bias = xf_t(xf_in_handle(n, 2)), .batch = x->shape[0], .channels = x->shape[1], .length = x->shape[2],
            .width = width, .activation = xf_attr_int(n, "activation", 0));
    return 0;
}
