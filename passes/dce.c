/* dce.c — dead-code elimination: removes nodes none of whose outputs is used by a live node or
 * is a graph output, then compacts the node list.
 * Requires: topological order. Invalidates: node handles (compaction renumbers nodes). */
#include <stdlib.h>

#include "passes.h"

bool xf_pass_dce(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)o, (void)d;
    bool *live = calloc((size_t)g->nvalues + 1, sizeof *live);
    if (!live) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int32_t i = 0; i < g->noutputs; i++) live[g->outputs[i]] = true;
    bool changed = false;
    /* reverse topological order: a node's users are decided before the node */
    for (int32_t i = g->nnodes - 1; i >= 0; i--) {
        xf_node *n = &g->nodes[i];
        if (n->dead) {
            changed = true;
            continue;
        }
        bool used = false;
        for (int k = 0; k < n->nout; k++) used |= n->out[k] >= 0 && live[n->out[k]];
        if (!used) {
            n->dead = true;
            changed = true;
            continue;
        }
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) live[n->in[k]] = true;
    }
    free(live);
    if (changed) xf_graph_compact(g);
    return changed;
}
