/* ml.c — lowering of the classical machine-learning ops of domain ai.onnx.ml (shape rules in
 * ir/ops_ml.c): Binarizer, ArrayFeatureExtractor and TreeEnsemble, each one call of its kernel in
 * runtime/ml.c. A tree ensemble arrives here read, checked and flattened by xf_read_forest into
 * arrays of node data, which become the kernel's array arguments: the kernel only walks them. */
#include "../ir/ops.h"
#include "lower.h"

int xf_lower_binarizer(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    if (!xf_binarizer_check(g, n, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_value *x = xf_in(g, n, 0);
    XF_CALL(out, xf_binarizer, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .dtype = x->dtype, .n = xf_value_numel(x),
            .threshold = xf_attr_float(n, "threshold", 0.0f));
    return 0;
}

/* Indices known now are checked now, so that a wrong one is reported by name rather than failing
 * at run time. */
int xf_lower_feature_extract(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    if (!xf_feature_extract_check(g, n, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    int64_t cols = x->shape[x->rank - 1], k = xf_value_numel(idx);
    if (idx->data)
        for (int64_t i = 0; i < k; i++)
            if (xf_const_i64(idx, i) < 0 || xf_const_i64(idx, i) >= cols)
                return xf_fail(d, g, n, "index %lld is out of range for a last dim of %lld",
                               (long long)xf_const_i64(idx, i), (long long)cols), -1;
    XF_CALL(out, xf_array_feature_extractor, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .idx = xf_t(n->in[1]),
            .outer = cols ? xf_value_numel(x) / cols : 0, .n = cols, .k = k,
            .esize = (int64_t)xf_dtype_size(x->dtype));
    return 0;
}

int xf_lower_tree_ensemble(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_forest f;
    if (!xf_read_forest(g, n, &f, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int32_t nodes = (int32_t)f.n_nodes;
    XF_CALL(out, xf_tree_ensemble, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .splits = xf_t(f.splits),
            .weights = xf_t(f.weights), .members = xf_t(f.members), .is_double = xf_in(g, n, 0)->dtype == XF_F64,
            .batch = f.batch, .n_features = f.n_features, .n_targets = f.n_targets, .n_nodes = f.n_nodes,
            .n_trees = f.n_trees, .roots = xf_ints(g, (int32_t)f.n_trees, f.roots),
            .feature = xf_ints(g, nodes, f.feature), .mode = xf_ints(g, nodes, f.mode),
            .missing_true = xf_ints(g, nodes, f.missing_true), .next = xf_ints(g, 2 * nodes, f.next),
            .member_range = xf_ints(g, 2 * nodes, f.member_range),
            .leaf_target = xf_ints(g, (int32_t)f.n_leaves, f.leaf_target), .aggregate = f.aggregate,
            .post = f.post);
    return 0;
}
