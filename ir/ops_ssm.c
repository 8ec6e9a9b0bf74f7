/* ops_ssm.c — not written yet: these ops are rejected. */
#include "ops.h"

bool xf_shape_selective_scan(xf_graph *g, xf_node *n, xf_diag *d) {
    (void)g;
    return xf_fail(d, g, n, "not supported yet");
}

int xf_lower_selective_scan(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    (void)calls, (void)max;
    return xf_fail(d, g, n, "not supported yet"), -1;
}

bool xf_shape_causal_conv1d(xf_graph *g, xf_node *n, xf_diag *d) {
    (void)g;
    return xf_fail(d, g, n, "not supported yet");
}

int xf_lower_causal_conv1d(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    (void)calls, (void)max;
    return xf_fail(d, g, n, "not supported yet"), -1;
}
