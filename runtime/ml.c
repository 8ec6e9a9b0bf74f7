/* ml.c — runtime kernels of the classical machine-learning ops of domain ai.onnx.ml: Binarizer,
 * ArrayFeatureExtractor and TreeEnsemble.
 *
 * As in nn.c, xfc settles everything at compile time: a tree ensemble arrives as flat arrays of
 * node data that xfc has checked (every branch leads to a node or leaf that exists, no path loops),
 * so walking a tree is a loop over those arrays. Arguments follow memcpy: outputs first, then
 * inputs, then sizes. dtype arguments are ONNX type numbers (1 float, 6 int32, 7 int64, 11 double).
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_binarizer */
/* Binarizer: y = 1 where x > threshold, else 0, in x's type (float, double, int32 or int64). The
 * threshold is a float attribute; comparing in double keeps an integer x exact. */
XF_API void xf_binarizer(void *restrict y, const void *restrict x, int64_t dtype, int64_t n, float threshold) {
    double t = (double)threshold;
    for (int64_t i = 0; i < n; i++) {
        switch (dtype) {
        case 1: ((float *)y)[i] = ((const float *)x)[i] > threshold ? 1.0f : 0.0f; break;
        case 11: ((double *)y)[i] = ((const double *)x)[i] > t ? 1.0 : 0.0; break;
        case 6: ((int32_t *)y)[i] = (double)((const int32_t *)x)[i] > t; break;
        default: ((int64_t *)y)[i] = (double)((const int64_t *)x)[i] > t; break; /* 7 */
        }
    }
}

/* @kernel xf_array_feature_extractor */
/* ArrayFeatureExtractor: x is [outer, n] (elements of esize bytes), idx holds k indices into its
 * last dim, and y [outer, k] gets, row after row, the entries they name. An index outside [0, n)
 * is an error, found before anything is written. */
XF_API int xf_array_feature_extractor(void *restrict y, const void *restrict x, const int64_t *restrict idx,
                                      int64_t outer, int64_t n, int64_t k, int64_t esize) {
    for (int64_t j = 0; j < k; j++)
        if (idx[j] < 0 || idx[j] >= n) return XFC_ERR_INDEX;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < k; j++)
            memcpy((char *)y + (o * k + j) * esize, (const char *)x + (o * n + idx[j]) * esize, (size_t)esize);
    return XFC_OK;
}

/* @kernel xf_tree_ensemble */
/* Element i of a float or double array, as a double (exact either way). */
static double xf_ml_load(const void *p, int64_t is_double, int64_t i) {
    return is_double ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static void xf_ml_store(void *p, int64_t is_double, int64_t i, double v) {
    if (is_double) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
}

/* Whether sample value v takes the true branch of node i. A NaN fails every comparison but NEQ,
 * unless the node sends missing values (NaN) to the true branch. */
static int xf_tree_branch(double v, int64_t i, const void *splits, const void *members, int64_t is_double,
                          const int64_t *mode, const int64_t *missing_true, const int64_t *member_range) {
    if (missing_true[i] && v != v) return 1;
    double s = mode[i] == 6 ? 0.0 : xf_ml_load(splits, is_double, i);
    switch (mode[i]) {
    case 0: return v <= s;
    case 1: return v < s;
    case 2: return v >= s;
    case 3: return v > s;
    case 4: return v == s;
    case 5: return v != s;
    default: /* 6, BRANCH_MEMBER: v is one of the node's run of membership_values */
        for (int64_t m = member_range[2 * i]; m < member_range[2 * i + 1]; m++)
            if (v == xf_ml_load(members, is_double, m)) return 1;
        return 0;
    }
}

/* TreeEnsemble of ai.onnx.ml: x is [batch, n_features] and y [batch, n_targets], both float
 * (is_double 0) or double. Node i compares x[feature[i]] with splits[i] by mode[i] (0 <=, 1 <,
 * 2 >=, 3 >, 4 ==, 5 !=, 6 member of members[member_range[2i] .. member_range[2i+1])) and goes to
 * next[2i] when true, next[2i+1] when false: a node index, or -1 - j for leaf j, which adds
 * weights[j] to target leaf_target[j]. Each tree starts at its root. aggregate: 0 AVERAGE (each
 * tree adds weight / n_trees), 1 SUM, 2 MIN, 3 MAX; as ONNX's reference does, the sums are kept in
 * y's type, and MIN / MAX start from the type's largest / smallest finite value, which a target no
 * leaf names keeps. post: 0 none, 1 softmax over the targets, 2 logistic. A walk takes at most
 * n_nodes steps, so even tables that loop could not hang it. */
XF_API void xf_tree_ensemble(void *restrict y, const void *restrict x, const void *restrict splits,
                             const void *restrict weights, const void *restrict members, int64_t is_double,
                             int64_t batch, int64_t n_features, int64_t n_targets, int64_t n_nodes, int64_t n_trees,
                             const int64_t *roots, const int64_t *feature, const int64_t *mode,
                             const int64_t *missing_true, const int64_t *next, const int64_t *member_range,
                             const int64_t *leaf_target, int64_t aggregate, int64_t post) {
    double largest = is_double ? 1.7976931348623157e308 : 3.4028234663852886e38;
    for (int64_t b = 0; b < batch; b++) {
        int64_t row = b * n_targets;
        for (int64_t t = 0; t < n_targets; t++)
            xf_ml_store(y, is_double, row + t, aggregate == 2 ? largest : aggregate == 3 ? -largest : 0.0);
        for (int64_t tree = 0; tree < n_trees; tree++) {
            int64_t at = roots[tree];
            for (int64_t step = 0; at >= 0 && step < n_nodes; step++) {
                double v = xf_ml_load(x, is_double, b * n_features + feature[at]);
                at = next[2 * at + !xf_tree_branch(v, at, splits, members, is_double, mode, missing_true,
                                                   member_range)];
            }
            if (at >= 0) continue; /* no leaf reached: cannot happen with the tables xfc makes */
            int64_t leaf = -1 - at, e = row + leaf_target[leaf];
            double w = xf_ml_load(weights, is_double, leaf), cur = xf_ml_load(y, is_double, e);
            switch (aggregate) {
            case 0: cur += w / (double)n_trees; break;
            case 1: cur += w; break;
            case 2: cur = w < cur ? w : cur; break;
            default: cur = w > cur ? w : cur; break;
            }
            xf_ml_store(y, is_double, e, cur);
        }
        /* The transforms use expf, which freestanding builds have (runtime/libm.c), even for double. */
        if (post == 1) { /* softmax: subtracting the maximum keeps expf from overflowing */
            double top = -INFINITY, sum = 0.0;
            for (int64_t t = 0; t < n_targets; t++) {
                double v = xf_ml_load(y, is_double, row + t);
                top = v > top ? v : top;
            }
            for (int64_t t = 0; t < n_targets; t++) sum += expf((float)(xf_ml_load(y, is_double, row + t) - top));
            for (int64_t t = 0; t < n_targets; t++)
                xf_ml_store(y, is_double, row + t, expf((float)(xf_ml_load(y, is_double, row + t) - top)) / sum);
        } else if (post == 2) {
            for (int64_t t = 0; t < n_targets; t++)
                xf_ml_store(y, is_double, row + t, 1.0 / (1.0 + expf(-(float)xf_ml_load(y, is_double, row + t))));
        }
    }
}
