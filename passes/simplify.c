/* simplify.c — removes nodes that only pass data through: Identity, a Transpose by the identity
 * permutation, and a view (Reshape family) or Cast whose output has exactly its input's type and
 * shape. Their users read the input instead. A node whose output is a graph output stays (the output
 * needs its own buffer). Also merges Transpose(Transpose(x)) into one Transpose, which then often
 * is the identity and goes too (exporters emit such pairs around layout changes).
 * Requires: shapes inferred (fold). Leaves dead nodes for dce. */
#include <string.h>

#include "match.h"

/* The permutation of Transpose node n (default: reversed axes). */
static void perm_of(const xf_graph *g, const xf_node *n, int64_t *perm) {
    int rank = g->values[n->in[0]].rank;
    const xf_attr *a = xf_attr_get(n, "perm");
    for (int i = 0; i < rank; i++) perm[i] = a && a->type == XF_ATTR_INTS && a->n == rank ? a->ints[i] : rank - 1 - i;
}

static bool passes_through(const xf_graph *g, const xf_node *n) {
    if (n->nin < 1 || n->nout != 1 || n->in[0] < 0 || n->out[0] < 0) return false;
    const xf_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    if (y->is_output) return false;
    if (n->op == XF_OP_IDENTITY) return true;
    if (n->op == XF_OP_TRANSPOSE) {
        int64_t perm[XF_MAX_RANK];
        perm_of(g, n, perm);
        for (int i = 0; i < x->rank; i++)
            if (perm[i] != i) return false;
        return true;
    }
    if (!(xf_ops[n->op].flags & XF_FLAG_VIEW) && n->op != XF_OP_CAST) return false;
    return x->dtype == y->dtype && x->rank == y->rank &&
           memcmp(x->shape, y->shape, sizeof(int64_t) * (size_t)x->rank) == 0;
}

/* Transpose(Transpose(x, p1), p2) reads x[p1[p2[i]]]: node i becomes one Transpose of x. The inner
 * one stays for its other users, if any (dce removes it otherwise). */
static bool merge_transposes(xf_graph *g, int32_t i) {
    xf_node *outer = &g->nodes[i];
    int32_t inner = g->values[outer->in[0]].producer;
    if (inner < 0 || g->nodes[inner].dead || g->nodes[inner].op != XF_OP_TRANSPOSE) return false;
    int rank = g->values[outer->in[0]].rank;
    int64_t p1[XF_MAX_RANK], p2[XF_MAX_RANK], *merged = xf_alloc(g->arena, sizeof(int64_t) * XF_MAX_RANK);
    perm_of(g, &g->nodes[inner], p1);
    perm_of(g, outer, p2);
    for (int k = 0; k < rank; k++) merged[k] = p1[p2[k]];
    int32_t x = g->nodes[inner].in[0];
    xf_node_rewrite(g, i, XF_OP_TRANSPOSE, 1, &x);
    xf_attr *perm = xf_node_add_attr(g, i, "perm", XF_ATTR_INTS);
    perm->ints = merged;
    perm->n = rank;
    return true;
}

bool xf_pass_simplify(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)o, (void)d;
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (!g->nodes[i].dead && g->nodes[i].op == XF_OP_TRANSPOSE) changed |= merge_transposes(g, i);
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
