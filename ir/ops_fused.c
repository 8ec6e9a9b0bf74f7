/* ops_fused.c — shape rules of the composite ops that only fusion passes make: xfc.Linear (MatMul
 * + bias + activation; lowered in lower/fused.c) and xfc.Elementwise (a fused elementwise chain,
 * which the backends print as a loop). */
#include "ops.h"

/* xfc.Linear(x [.., K], w [K, N], bias [N] or absent) -> [.., N]; with attribute w_nk = 1, w is
 * [N, K] (a weight shared with another reader, kept in its own layout). */
bool xf_shape_linear(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1);
    int nk = xf_attr_int(n, "w_nk", 0) != 0;
    if (!w || w->rank != 2 || x->rank < 1 || x->shape[x->rank - 1] != w->shape[nk])
        return xf_fail(d, g, n, nk ? "expects x [.., K] and w [N, K]" : "expects x [.., K] and w [K, N]");
    int64_t shape[XF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) shape[i] = x->shape[i];
    shape[x->rank - 1] = w->shape[1 - nk];
    xf_set_out(g, n, 0, XF_F32, x->rank, shape);
    return true;
}

/* The output keeps the shape and type fuse_elementwise gave it; check the program is well formed. */
bool xf_shape_fused_elementwise(xf_graph *g, xf_node *n, xf_diag *d) {
    const xf_attr *p = xf_attr_get(n, "program");
    if (!p || p->n < 6 || p->n % 6) return xf_fail(d, g, n, "malformed elementwise program");
    for (int s = 0; s < p->n / 6; s++) {
        const int64_t *t = &p->ints[6 * s];
        if (t[0] < 0 || t[0] >= XF_OP_COUNT || !xf_ops[t[0]].arity)
            return xf_fail(d, g, n, "step %d is not an elementwise op", s);
        for (int k = 1; k <= 3; k++)
            if (t[k] >= n->nin + s) return xf_fail(d, g, n, "step %d reads a later step", s);
    }
    xf_value *y = xf_out(g, n, 0);
    return y && y->rank >= 0 ? true : xf_fail(d, g, n, "output shape unknown");
}
