/* fold.c — shape inference and constant folding, in one walk over the nodes in topological order.
 *
 * They cannot be separate passes: a Reshape's output shape depends on the values of its shape
 * input, which the exporters compute with Shape -> Gather -> Concat chains that only folding
 * resolves. So each node first gets its output shapes, then, if all its inputs are constants, its
 * outputs are computed here (ir/eval.c) and the node is removed.
 *
 * Each node's narrow inputs and outputs (float16, float8 ...) get conversions to and from float32
 * first (passes/legalize_types.c says why it happens here).
 * Requires: a topologically sorted graph with static input shapes. Leaves: every value's shape
 * known; dead nodes marked (dce compacts them).
 * At -O0 only integer and bool results are folded (the shape arithmetic correctness needs);
 * float computations on weights stay in the generated code, which keeps -O0 a plain baseline. */
#include <string.h>

#include "match.h"
#include "passes.h"
#include "../lower/lower.h"

/* Folding trades code for weight bytes; refuse trades that blow the weights up (an Expand of a
 * scalar to a large tensor is cheaper to compute than to store). */
static bool worth_folding(xf_graph *g, const xf_node *n, const xf_options *o) {
    int64_t in_bytes = 0, out_bytes = 0;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] >= 0) in_bytes += xf_value_bytes(&g->values[n->in[k]]);
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k] < 0) continue;
        const xf_value *y = &g->values[n->out[k]];
        if (o->opt_level == 0 && xf_dtype_is_float(y->dtype)) return false;
        out_bytes += xf_value_bytes(y);
    }
    return out_bytes <= (1 << 16) || out_bytes <= 2 * in_bytes;
}

/* Transpose(W) of a 2-D weight that other nodes read too, read only as a MatMul's B: at -O2 it stays
 * for fuse_linear, which reads W in place, where folding would store the table twice (a tied
 * embedding is read by Gather as it is and by the output projection transposed). */
static bool left_for_linear(const xf_graph *g, const xf_node *n, const xf_options *o) {
    if (n->op != XF_OP_TRANSPOSE || o->opt_level < 2 || n->in[0] < 0) return false;
    for (int i = 0; i < o->ndisabled; i++)
        if (strcmp(o->disabled[i], "fuse_linear") == 0) return false;
    const xf_value *w = &g->values[n->in[0]];
    const xf_attr *perm = xf_attr_get(n, "perm"); /* fuse_linear takes [1, 0] (the default) only */
    if (w->dtype != XF_F32 || w->rank != 2 || xf_uses(g, n->in[0]) < 2 || (perm && (perm->n != 2 || perm->ints[0] != 1)))
        return false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *r = &g->nodes[i];
        for (int k = 0; !r->dead && k < r->nin; k++)
            if (r->in[k] == n->out[0] && (r->op != XF_OP_MATMUL || k != 1)) return false;
    }
    return true;
}

bool xf_pass_fold(xf_graph *g, const xf_options *o, xf_diag *d) {
    bool changed = false;
    int32_t nodes_before = g->nnodes;
    for (int32_t i = 0; i < g->nnodes; i++) {
        int32_t narrow;
        if (g->nodes[i].dead) continue;
        /* narrow storage types: conversions around the node, appended (legalize_types.c) */
        if (!xf_legalize_inputs(g, i, o, &narrow, d)) return false;
        xf_node *n = &g->nodes[i];
        if (!xf_infer_node(g, i, d)) return false;
        bool known = true, all_const = true;
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0 && !g->values[n->out[k]].data) known = false;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0 && !g->values[n->in[k]].data) all_const = false;
        if (!known && all_const && worth_folding(g, n, o) && !left_for_linear(g, n, o)) {
            if (!xf_eval_node(g, i, d)) return false;
            known = true;
        }
        if (known) { /* every output is now a constant: the node has nothing left to do */
            n->dead = true;
            changed = true;
        }
        if (narrow && !xf_legalize_outputs(g, i, narrow, o, d)) return false;
    }
    /* the conversions were appended after their readers */
    if (g->nnodes != nodes_before && !xf_graph_toposort(g, d)) return false;
    return changed || g->nnodes != nodes_before;
}
