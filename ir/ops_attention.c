/* ops_attention.c — not written yet: these ops are rejected. */
#include "ops.h"

bool xf_shape_attention(xf_graph *g, xf_node *n, xf_diag *d) {
    (void)g;
    return xf_fail(d, g, n, "not supported yet");
}

int xf_lower_attention(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    (void)calls, (void)max;
    return xf_fail(d, g, n, "not supported yet"), -1;
}

bool xf_shape_rotary_embedding(xf_graph *g, xf_node *n, xf_diag *d) {
    (void)g;
    return xf_fail(d, g, n, "not supported yet");
}

int xf_lower_rotary_embedding(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    (void)calls, (void)max;
    return xf_fail(d, g, n, "not supported yet"), -1;
}
