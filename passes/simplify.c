/* simplify.c — removes nodes that only pass data through: Identity, and a view (Reshape family)
 * or Cast whose output has exactly its input's type and shape. Their users read the input instead.
 * A node whose output is a graph output stays (the output needs its own buffer).
 * Requires: shapes inferred (fold). */
#include <string.h>

#include "passes.h"

static bool passes_through(const xf_graph *g, const xf_node *n) {
    if (n->nin < 1 || n->nout != 1 || n->in[0] < 0 || n->out[0] < 0) return false;
    const xf_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    if (y->is_output) return false;
    if (n->op == XF_OP_IDENTITY) return true;
    if (!(xf_ops[n->op].flags & XF_FLAG_VIEW) && n->op != XF_OP_CAST) return false;
    return x->dtype == y->dtype && x->rank == y->rank &&
           memcmp(x->shape, y->shape, sizeof(int64_t) * (size_t)x->rank) == 0;
}

bool xf_pass_simplify(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)o, (void)d;
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        xf_node *n = &g->nodes[i];
        if (n->dead || !passes_through(g, n)) continue;
        int32_t from = n->out[0], to = n->in[0];
        for (int32_t j = i + 1; j < g->nnodes; j++)
            for (int k = 0; k < g->nodes[j].nin; k++)
                if (g->nodes[j].in[k] == from) g->nodes[j].in[k] = to;
        n->dead = true;
        changed = true;
    }
    return changed;
}
