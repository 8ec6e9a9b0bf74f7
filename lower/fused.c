/* fused.c — lowering of xfc.Linear, the composite op fuse_linear makes (shape rule in
 * ir/ops_fused.c): one call of the kernel xf_linear (runtime/fused.c), the matrix product with its
 * bias and activation applied while each output row is in cache. xfc.Elementwise is not lowered:
 * the backends print its program as one loop. */
#include "../ir/ops.h"
#include "lower.h"

int xf_lower_linear(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    (void)d;
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1);
    int nk = xf_attr_int(n, "w_nk", 0) != 0; /* w is [N, K] */
    XF_CALL(out, xf_linear, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .w = xf_t(n->in[1]),
            .bias = xf_t(xf_in_handle(n, 2)), .m = xf_value_numel(x) / x->shape[x->rank - 1], .k = w->shape[nk],
            .n = w->shape[1 - nk], .activation = xf_attr_int(n, "activation", 0), .w_nk = nk);
    return 0;
}
