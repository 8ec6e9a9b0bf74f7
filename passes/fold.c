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
#include "passes.h"
#include "../lower/lower.h"

/* The one folding policy (passes.h). Folding trades code for weight bytes. A result no larger than
 * twice its inputs is a fair trade; a larger one (an Expand of a scalar, a ConstantOfShape, a Range)
 * is cheaper to compute than to store, unless it is small: up to 64 KiB, which covers the shape
 * tensors, index tables and masks that shape arithmetic and control flow need, and which the
 * firmware targets can spare in flash. */
#define FOLD_SMALL_BYTES (64 * 1024)

bool xf_fold_worth(const xf_graph *g, const xf_node *n) {
    int64_t in_bytes = 0, out_bytes = 0;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] >= 0) in_bytes += xf_value_bytes(&g->values[n->in[k]]);
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k] < 0) continue;
        int64_t bytes = xf_value_bytes(&g->values[n->out[k]]);
        if (bytes < 0) return false; /* a shape not known yet */
        out_bytes += bytes;
    }
    return out_bytes <= FOLD_SMALL_BYTES || out_bytes <= 2 * in_bytes;
}

/* At -O0 only integer and bool results are folded (see the header). */
static bool worth_folding(const xf_graph *g, const xf_node *n, const xf_options *o) {
    for (int k = 0; o->opt_level == 0 && k < n->nout; k++)
        if (n->out[k] >= 0 && xf_dtype_is_float(g->values[n->out[k]].dtype)) return false;
    return xf_fold_worth(g, n);
}

/* Folded node n is a Transpose of a 2-D constant: its result says so (xf_value.transpose_of), so
 * that a pass may read the source in place where storing both would duplicate a table (a tied
 * embedding is read by Gather as it is and by the output projection transposed). */
static void note_transpose(xf_graph *g, const xf_node *n) {
    if (n->op != XF_OP_TRANSPOSE || n->nin < 1 || n->in[0] < 0 || n->out[0] < 0) return;
    const xf_attr *perm = xf_attr_get(n, "perm"); /* absent: reversed, [1, 0] */
    if (g->values[n->in[0]].rank == 2 && (!perm || (perm->n == 2 && perm->ints[0] == 1)))
        g->values[n->out[0]].transpose_of = n->in[0];
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
        if (!known && all_const && worth_folding(g, n, o)) {
            if (!xf_eval_node(g, i, d)) return false;
            note_transpose(g, n);
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
