/* ops_ml.c — shape inference of the classical machine-learning ops of domain ai.onnx.ml:
 * Binarizer, ArrayFeatureExtractor and TreeEnsemble (ai.onnx.ml opset 5).
 *
 * The frontend maps a node of that domain to the ops.def row "ai.onnx.ml.<op_type>". Their lowering
 * is lower/ml.c, which settles everything at compile time so that the kernels (runtime/ml.c) get
 * plain numbers. A tree ensemble's structure is all attributes, so it is read, checked and
 * flattened here (xf_read_forest) into arrays of node data: the kernel only walks them, and a walk
 * cannot leave them, whatever the input holds. */
#include <math.h>
#include <string.h>

#include "ops.h"

/* ---- Binarizer: y = x > threshold ? 1 : 0, in x's type ---- */

bool xf_binarizer_check(xf_graph *g, const xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects input X");
    if (x->dtype != XF_F32 && x->dtype != XF_F64 && x->dtype != XF_I32 && x->dtype != XF_I64)
        return xf_fail(d, g, n, "Binarizer on %s is not supported (float, double, int32 and int64 are)",
                       xf_dtype_name(x->dtype));
    const xf_attr *a = xf_attr_get(n, "threshold");
    if (a && a->type != XF_ATTR_FLOAT) return xf_fail(d, g, n, "attribute 'threshold' must be a float");
    return true;
}

bool xf_shape_binarizer(xf_graph *g, xf_node *n, xf_diag *d) {
    if (!xf_binarizer_check(g, n, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    return true;
}

/* ---- ArrayFeatureExtractor: picks entries of X's last dim ----
 * X [..., n] and int64 indices of any shape (k of them) give [..., k]: row after row, the entries
 * the indices name, in their order. A 1-D X gives [1, k], as onnxruntime (and ONNX's reference,
 * which follows it) have it. Indices outside [0, n) are an error, checked at compile time when the
 * indices are constants, else at run time. */

bool xf_feature_extract_check(xf_graph *g, const xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    if (!x || !idx) return xf_fail(d, g, n, "expects inputs X and Y (the indices)");
    if (x->rank < 1) return xf_fail(d, g, n, "input X must have at least one dim");
    if (x->dtype == XF_STRING || xf_dtype_size(x->dtype) == 0 || xf_dtype_is_packed(x->dtype))
        return xf_fail(d, g, n, "ArrayFeatureExtractor on %s is not supported", xf_dtype_name(x->dtype));
    if (idx->dtype != XF_I64) return xf_fail(d, g, n, "indices Y must be int64, not %s", xf_dtype_name(idx->dtype));
    return true;
}

bool xf_shape_feature_extract(xf_graph *g, xf_node *n, xf_diag *d) {
    if (!xf_feature_extract_check(g, n, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[XF_MAX_RANK] = {1};
    int rank = x->rank == 1 ? 2 : x->rank;
    for (int i = 0; i + 1 < x->rank; i++) shape[i] = x->shape[i];
    shape[rank - 1] = xf_value_numel(xf_in(g, n, 1));
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}

/* ---- TreeEnsemble ----
 * Interior nodes are the tuples (nodes_featureids[i], nodes_modes[i], nodes_splits[i],
 * nodes_truenodeids[i], nodes_falsenodeids[i], ...); a branch goes to the leaf of that index when
 * nodes_trueleafs[i] (nodes_falseleafs[i]) is set, else to the node. Leaves are the pairs
 * (leaf_targetids[j], leaf_weights[j]). Each tree, from its root in tree_roots, adds its leaf's
 * weight to its target; the trees' contributions are aggregated per target by SUM, AVERAGE, MIN or
 * MAX. The members of BRANCH_MEMBER nodes are listed in membership_values, one run per such node
 * in node order, each run ended by a NaN. */

enum { MODE_LEQ, MODE_LT, MODE_GTE, MODE_GT, MODE_EQ, MODE_NEQ, MODE_MEMBER };
enum { AGG_AVERAGE, AGG_SUM, AGG_MIN, AGG_MAX };
enum { POST_NONE, POST_SOFTMAX, POST_LOGISTIC, POST_SOFTMAX_ZERO, POST_PROBIT };

/* An INTS attribute into *v, its length into *count (0 and NULL when absent). */
static bool ints_attr(xf_graph *g, const xf_node *n, const char *name, const int64_t **v, int64_t *count,
                      xf_diag *d) {
    const xf_attr *a = xf_attr_get(n, name);
    *v = NULL;
    *count = 0;
    if (!a) return true;
    if (a->type != XF_ATTR_INTS) return xf_fail(d, g, n, "attribute '%s' must be a list of ints", name);
    *v = a->ints;
    *count = a->n;
    return true;
}

/* A TENSOR attribute as its constant value; *handle -1 when absent. */
static bool tensor_attr(xf_graph *g, const xf_node *n, const char *name, int32_t *handle, xf_diag *d) {
    const xf_attr *a = xf_attr_get(n, name);
    *handle = -1;
    if (!a) return true;
    if (a->type != XF_ATTR_TENSOR || a->tensor < 0) return xf_fail(d, g, n, "attribute '%s' must be a tensor", name);
    *handle = a->tensor;
    return true;
}

/* The attribute must hold `want` elements of the type of X (the kernel reads it as such). */
static bool real_table(xf_graph *g, const xf_node *n, const char *name, int32_t v, int64_t want, int32_t dtype,
                       xf_diag *d) {
    const xf_value *t = &g->values[v];
    if (t->dtype != dtype)
        return xf_fail(d, g, n, "attribute '%s' is %s, but X is %s (they must have one type)", name,
                       xf_dtype_name(t->dtype), xf_dtype_name(dtype));
    if (want >= 0 && xf_value_numel(t) != want)
        return xf_fail(d, g, n, "attribute '%s' has %lld values, expected %lld", name, (long long)xf_value_numel(t),
                       (long long)want);
    return true;
}

/* Whether some path from the root loops back on itself: the kernel's walk would never reach a
 * leaf. Depth-first with an explicit stack (a tree may be as deep as it has nodes); state 1 marks
 * the nodes on the current path, 2 those fully explored. */
static bool has_cycle(const xf_forest *f, int64_t root, uint8_t *state, int64_t *stack, uint8_t *branch) {
    int64_t depth = 0; /* stack[depth]: the path's nodes; branch[depth]: the next branch to take there */
    if (state[root] == 2) return false;
    stack[0] = root;
    branch[0] = 0;
    state[root] = 1;
    while (depth >= 0) {
        int64_t at = stack[depth];
        if (branch[depth] == 2) {
            state[at] = 2;
            depth--;
            continue;
        }
        int64_t to = f->next[2 * at + branch[depth]++];
        if (to < 0 || state[to] == 2) continue; /* a leaf, or explored already */
        if (state[to] == 1) return true;
        state[to] = 1;
        stack[++depth] = to;
        branch[depth] = 0;
    }
    return false;
}

bool xf_read_forest(xf_graph *g, const xf_node *n, xf_forest *f, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    memset(f, 0, sizeof *f);
    if (!x) return xf_fail(d, g, n, "expects input X");
    if (x->dtype != XF_F32 && x->dtype != XF_F64)
        return xf_fail(d, g, n, "TreeEnsemble on %s is not supported (float and double are)", xf_dtype_name(x->dtype));
    if (x->rank != 2) return xf_fail(d, g, n, "input X must be [N, F], got %s", xf_shape_str(x, s, sizeof s));
    f->batch = x->shape[0];
    f->n_features = x->shape[1];

    int64_t nf, nt, nfalse, ntl, nfl, nmiss, nlt, ntrees;
    const int64_t *features, *trues, *falses, *true_leafs, *false_leafs, *missing;
    int32_t modes;
    if (!ints_attr(g, n, "nodes_featureids", &features, &nf, d) ||
        !ints_attr(g, n, "nodes_truenodeids", &trues, &nt, d) ||
        !ints_attr(g, n, "nodes_falsenodeids", &falses, &nfalse, d) ||
        !ints_attr(g, n, "nodes_trueleafs", &true_leafs, &ntl, d) ||
        !ints_attr(g, n, "nodes_falseleafs", &false_leafs, &nfl, d) ||
        !ints_attr(g, n, "nodes_missing_value_tracks_true", &missing, &nmiss, d) ||
        !ints_attr(g, n, "leaf_targetids", &f->leaf_target, &nlt, d) ||
        !ints_attr(g, n, "tree_roots", &f->roots, &ntrees, d) || !tensor_attr(g, n, "nodes_modes", &modes, d) ||
        !tensor_attr(g, n, "nodes_splits", &f->splits, d) || !tensor_attr(g, n, "leaf_weights", &f->weights, d) ||
        !tensor_attr(g, n, "membership_values", &f->members, d))
        return false;
    if (!nf || !nt || !nfalse || !ntl || !nfl || modes < 0 || f->splits < 0)
        return xf_fail(d, g, n, "needs the attributes nodes_featureids, nodes_modes, nodes_splits, "
                       "nodes_truenodeids, nodes_falsenodeids, nodes_trueleafs and nodes_falseleafs");
    if (!nlt || f->weights < 0) return xf_fail(d, g, n, "needs the attributes leaf_targetids and leaf_weights");
    if (!ntrees) return xf_fail(d, g, n, "needs the attribute tree_roots");
    if (nf >= XF_DIM_MAX / 2) return xf_fail(d, g, n, "too many nodes (%lld)", (long long)nf);
    f->n_nodes = nf;
    f->n_leaves = nlt;
    f->n_trees = ntrees;
    if (nt != nf || nfalse != nf || ntl != nf || nfl != nf || (nmiss && nmiss != nf) ||
        xf_value_numel(&g->values[modes]) != nf)
        return xf_fail(d, g, n, "the nodes_* attributes must all have %lld values, one per node", (long long)nf);
    if (!real_table(g, n, "nodes_splits", f->splits, nf, x->dtype, d) ||
        !real_table(g, n, "leaf_weights", f->weights, nlt, x->dtype, d) ||
        (f->members >= 0 && !real_table(g, n, "membership_values", f->members, -1, x->dtype, d)))
        return false;
    if (xf_dtype_is_float(g->values[modes].dtype)) return xf_fail(d, g, n, "attribute 'nodes_modes' must be integers");

    /* targets: n_targets, or as many as the leaves name */
    int64_t top = -1;
    for (int64_t j = 0; j < nlt; j++) top = f->leaf_target[j] > top ? f->leaf_target[j] : top;
    f->n_targets = xf_attr_int(n, "n_targets", top + 1);
    if (f->n_targets < 1 || f->n_targets >= XF_DIM_MAX)
        return xf_fail(d, g, n, "n_targets %lld is out of range", (long long)f->n_targets);
    for (int64_t j = 0; j < nlt; j++)
        if (f->leaf_target[j] < 0 || f->leaf_target[j] >= f->n_targets)
            return xf_fail(d, g, n, "leaf %lld names target %lld, outside [0, %lld)", (long long)j,
                           (long long)f->leaf_target[j], (long long)f->n_targets);

    f->aggregate = xf_attr_int(n, "aggregate_function", AGG_SUM);
    if (f->aggregate < AGG_AVERAGE || f->aggregate > AGG_MAX)
        return xf_fail(d, g, n, "aggregate_function %lld is unknown (0 AVERAGE, 1 SUM, 2 MIN, 3 MAX)",
                       (long long)f->aggregate);
    f->post = xf_attr_int(n, "post_transform", POST_NONE);
    if (f->post == POST_SOFTMAX_ZERO || f->post == POST_PROBIT)
        return xf_fail(d, g, n, "post_transform %s is not supported (NONE, SOFTMAX and LOGISTIC are)",
                       f->post == POST_PROBIT ? "PROBIT" : "SOFTMAX_ZERO");
    if (f->post < POST_NONE || f->post > POST_PROBIT)
        return xf_fail(d, g, n, "post_transform %lld is unknown", (long long)f->post);

    f->feature = xf_alloc(g->arena, sizeof(int64_t) * (size_t)nf);
    f->mode = xf_alloc(g->arena, sizeof(int64_t) * (size_t)nf);
    f->missing_true = xf_alloc(g->arena, sizeof(int64_t) * (size_t)nf);
    f->next = xf_alloc(g->arena, sizeof(int64_t) * 2 * (size_t)nf);
    f->member_range = xf_alloc(g->arena, sizeof(int64_t) * 2 * (size_t)nf);
    const xf_value *members = f->members >= 0 ? &g->values[f->members] : NULL;
    int64_t n_members = members ? xf_value_numel(members) : 0, at = 0; /* the next run starts at `at` */
    for (int64_t i = 0; i < nf; i++) {
        f->feature[i] = features[i];
        f->mode[i] = xf_const_i64(&g->values[modes], i);
        f->missing_true[i] = missing ? missing[i] != 0 : 0;
        if (features[i] < 0 || features[i] >= f->n_features)
            return xf_fail(d, g, n, "node %lld reads feature %lld, but X has %lld", (long long)i,
                           (long long)features[i], (long long)f->n_features);
        if (f->mode[i] < MODE_LEQ || f->mode[i] > MODE_MEMBER)
            return xf_fail(d, g, n, "node %lld has mode %lld, which is unknown", (long long)i, (long long)f->mode[i]);
        const int64_t to[2] = {trues[i], falses[i]}, leaf[2] = {true_leafs[i], false_leafs[i]};
        for (int k = 0; k < 2; k++) {
            int64_t limit = leaf[k] ? f->n_leaves : f->n_nodes;
            if (to[k] < 0 || to[k] >= limit)
                return xf_fail(d, g, n, "node %lld branches to %s %lld, outside [0, %lld)", (long long)i,
                               leaf[k] ? "leaf" : "node", (long long)to[k], (long long)limit);
            f->next[2 * i + k] = leaf[k] ? -1 - to[k] : to[k];
        }
        if (f->mode[i] == MODE_MEMBER) {
            int64_t end = at;
            while (end < n_members && !isnan(xf_const_f64(members, end))) end++;
            if (end >= n_members)
                return xf_fail(d, g, n, "membership_values holds no NaN-terminated run for member node %lld",
                               (long long)i);
            f->member_range[2 * i] = at;
            f->member_range[2 * i + 1] = end;
            at = end + 1;
        }
    }
    if (at != n_members)
        return xf_fail(d, g, n, "membership_values holds %lld values beyond the runs of the member nodes",
                       (long long)(n_members - at));
    uint8_t *state = xf_alloc(g->arena, (size_t)nf), *branch = xf_alloc(g->arena, (size_t)nf);
    int64_t *stack = xf_alloc(g->arena, sizeof *stack * (size_t)nf);
    for (int64_t t = 0; t < ntrees; t++) {
        if (f->roots[t] < 0 || f->roots[t] >= nf)
            return xf_fail(d, g, n, "tree root %lld is outside [0, %lld)", (long long)f->roots[t], (long long)nf);
        if (has_cycle(f, f->roots[t], state, stack, branch))
            return xf_fail(d, g, n, "the tree rooted at node %lld loops back on itself", (long long)f->roots[t]);
    }
    return true;
}

bool xf_shape_tree_ensemble(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_forest f;
    if (!xf_read_forest(g, n, &f, d)) return false;
    xf_set_out(g, n, 0, xf_in(g, n, 0)->dtype, 2, (const int64_t[]){f.batch, f.n_targets});
    return true;
}

