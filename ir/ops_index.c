/* ops_index.c — shape inference of the selection, indexing and loss ops: ArgMax,
 * ArgMin, Hardmax, TopK, Tile, Compress, OneHot, ScatterElements (and the old Scatter), ScatterND,
 * TensorScatter, TfIdfVectorizer, Einsum, NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, and
 * the ops whose output is known at compile time: Size, EyeLike, NonZero, Unique, NonMaxSuppression.
 * (The Reduce family's new members live with the others in ir/ops_math.c.)
 *
 * Their lowering is lower/index.c, which reads the geometry checked here again through the
 * functions ir/ops.h shares (xf_top_k_geometry, xf_einsum_geometry ...).
 *
 * Where an output's shape depends on input values (TopK's k, Tile's repeats, OneHot's depth,
 * Compress's condition, the data of NonZero, Unique and NonMaxSuppression), those inputs must be
 * constants; a missing one is reported with the --bind suggestion. */
#include <string.h>

#include "ops.h"

/* Compile-time data larger than this is surely a bad model, not a useful constant. */
#define MAX_CONST_BYTES ((int64_t)1 << 30)

static int64_t esize(const xf_value *v) { return (int64_t)xf_dtype_size(v->dtype); }
static bool is_index_type(int32_t dtype) { return dtype == XF_I32 || dtype == XF_I64; }

/* Input k, whose values decide the output's shape, must be a constant. */
static bool need_values(xf_graph *g, const xf_node *n, int k, xf_diag *d) {
    xf_value *v = xf_in(g, n, k);
    if (!v || v->data) return true;
    if (v->is_input)
        return xf_fail(d, g, n, "the output shape depends on the values of input '%s', which must be known at "
                       "compile time: bind it with --bind %s=FILE.pb", v->name, v->name);
    return xf_require_const(g, n, k, d);
}

/* Output k of n becomes the constant data (numel elements of es bytes, zeroed), or *data stays
 * NULL when the output is unused. */
static bool out_data_at(xf_graph *g, xf_node *n, int k, int64_t numel, int64_t es, void **data, xf_diag *d) {
    *data = NULL;
    if (numel < 0 || es <= 0 || numel > MAX_CONST_BYTES / es)
        return xf_fail(d, g, n, "the result (%lld elements) is too large to compute at compile time",
                       (long long)numel);
    xf_value *y = xf_out(g, n, k);
    if (y) y->data = *data = xf_alloc(g->arena, (size_t)(numel * es) + 1);
    return true;
}

static bool out_data(xf_graph *g, xf_node *n, int64_t numel, int64_t es, void **data, xf_diag *d) {
    return out_data_at(g, n, 0, numel, es, data, d);
}

/* Sorts idx[0..count) stably (equal keys keep their order) by cmp(ctx, a, b), which compares the
 * items a and b like strcmp; tmp is scratch of count entries. A merge sort: the compile-time ops
 * below sort whole tensors, and ties must keep the earlier item first. */
typedef int (*item_cmp)(const void *ctx, int64_t a, int64_t b);
static void merge_sort(int64_t *idx, int64_t *tmp, int64_t count, item_cmp cmp, const void *ctx) {
    if (count < 2) return;
    int64_t half = count / 2;
    merge_sort(idx, tmp, half, cmp, ctx);
    merge_sort(idx + half, tmp, count - half, cmp, ctx);
    int64_t i = 0, j = half, k = 0;
    while (i < half && j < count) tmp[k++] = cmp(ctx, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < half) tmp[k++] = idx[i++];
    while (j < count) tmp[k++] = idx[j++];
    memcpy(idx, tmp, (size_t)count * sizeof *idx);
}

static int64_t *new_i64s(xf_graph *g, int64_t count) {
    return xf_alloc(g->arena, (size_t)(count > 0 ? count : 1) * sizeof(int64_t));
}

/* ---- ArgMax, ArgMin ---- */

/* Along one axis (default 0), kept as 1 or dropped (keepdims, default 1); the result is int64. */
bool xf_shape_arg_extreme(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
    bool keep = xf_attr_int(n, "keepdims", 1) != 0;
    int64_t shape[XF_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (i != axis) shape[rank++] = x->shape[i];
        else if (keep) shape[rank++] = 1;
    xf_set_out(g, n, 0, XF_I64, rank, shape);
    return true;
}

/* ---- TopK ---- */

/* k is input 1, a constant of one element (the frontend turns opset 1's attribute k into it). */
bool xf_top_k_geometry(xf_graph *g, xf_node *n, int *axis, int64_t *k, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -1), x->rank, axis, d)) return false;
    if (xf_in(g, n, 1) && !need_values(g, n, 1, d)) return false;
    int nk = xf_node_ints(g, n, NULL, 1, k, 1, d);
    if (nk < 0) return false;
    if (nk != 1) return xf_fail(d, g, n, "k must be one integer");
    if (*k < 0 || *k > x->shape[*axis])
        return xf_fail(d, g, n, "k = %lld is out of range for an axis of size %lld", (long long)*k,
                       (long long)x->shape[*axis]);
    return true;
}

bool xf_shape_top_k(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    int64_t k, shape[XF_MAX_RANK];
    if (!xf_top_k_geometry(g, n, &axis, &k, d)) return false;
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = k;
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    xf_set_out(g, n, 1, XF_I64, x->rank, shape);
    return true;
}

/* ---- Tile ---- */

/* The repeats, one per dimension of x: a constant input. */
bool xf_tile_repeats(xf_graph *g, xf_node *n, int64_t *reps, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!xf_in(g, n, 1)) return xf_fail(d, g, n, "expects inputs input and repeats");
    if (!need_values(g, n, 1, d)) return false;
    int count = xf_node_ints(g, n, NULL, 1, reps, XF_MAX_RANK, d);
    if (count < 0) return false;
    if (count != x->rank) return xf_fail(d, g, n, "repeats has %d entries for an input of rank %d", count, x->rank);
    for (int i = 0; i < count; i++)
        if (reps[i] < 0) return xf_fail(d, g, n, "repeat %lld of dimension %d is negative", (long long)reps[i], i);
    return true;
}

bool xf_shape_tile(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int64_t reps[XF_MAX_RANK], shape[XF_MAX_RANK];
    if (!xf_tile_repeats(g, n, reps, d)) return false;
    for (int i = 0; i < x->rank; i++)
        if (__builtin_mul_overflow(x->shape[i], reps[i], &shape[i]))
            return xf_fail(d, g, n, "dimension %d overflows when repeated %lld times", i, (long long)reps[i]);
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- Compress ---- */

/* x seen as [outer, dim, inner] around the axis, or flattened when there is none; the condition,
 * a constant 1-D bool tensor no longer than dim, picks positions along dim. */
bool xf_compress_view(xf_graph *g, xf_node *n, int64_t *outer, int64_t *dim, int64_t *inner, int64_t *kept,
                      xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *cond = xf_in(g, n, 1);
    if (!cond) return xf_fail(d, g, n, "expects inputs input and condition");
    if (cond->dtype != XF_BOOL || cond->rank != 1)
        return xf_fail(d, g, n, "condition must be a 1-D bool tensor");
    if (!need_values(g, n, 1, d)) return false;
    if (xf_attr_get(n, "axis")) {
        int axis;
        if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
        *outer = xf_prod(x->shape, 0, axis);
        *dim = x->shape[axis];
        *inner = xf_prod(x->shape, axis + 1, x->rank);
    } else {
        *outer = *inner = 1;
        *dim = xf_value_numel(x);
    }
    if (cond->shape[0] > *dim)
        return xf_fail(d, g, n, "condition has %lld entries, more than the %lld positions it selects from",
                       (long long)cond->shape[0], (long long)*dim);
    *kept = 0;
    for (int64_t j = 0; j < cond->shape[0]; j++) *kept += xf_const_i64(cond, j) != 0;
    return true;
}

bool xf_shape_compress(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int64_t outer, dim, inner, kept, shape[XF_MAX_RANK];
    if (!xf_compress_view(g, n, &outer, &dim, &inner, &kept, d)) return false;
    if (!xf_attr_get(n, "axis")) {
        xf_set_out(g, n, 0, x->dtype, 1, &kept);
        return true;
    }
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = kept;
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- OneHot ---- */

/* The output is indices' shape with a new dim of size depth at axis (default -1, counted in the
 * output's rank); depth is a constant of one element, cast to an integer; values is [off, on]. */
bool xf_one_hot_geometry(xf_graph *g, xf_node *n, int *axis, int64_t *depth, xf_diag *d) {
    xf_value *idx = xf_in(g, n, 0), *dv = xf_in(g, n, 1), *values = xf_in(g, n, 2);
    if (!dv || !values) return xf_fail(d, g, n, "expects inputs indices, depth and values");
    if (!need_values(g, n, 1, d)) return false;
    if (xf_value_numel(dv) != 1) return xf_fail(d, g, n, "depth must hold one number");
    if (xf_value_numel(values) != 2) return xf_fail(d, g, n, "values must hold two elements, [off, on]");
    *depth = xf_dtype_is_float(dv->dtype) ? (int64_t)xf_const_f64(dv, 0) : xf_const_i64(dv, 0);
    if (*depth < 0) return xf_fail(d, g, n, "depth %lld is negative", (long long)*depth);
    if (idx->rank + 1 > XF_MAX_RANK) return xf_fail(d, g, n, "output rank %d exceeds %d", idx->rank + 1, XF_MAX_RANK);
    return xf_axis(g, n, xf_attr_int(n, "axis", -1), idx->rank + 1, axis, d);
}

bool xf_shape_one_hot(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *idx = xf_in(g, n, 0);
    int axis;
    int64_t depth, shape[XF_MAX_RANK];
    if (!xf_one_hot_geometry(g, n, &axis, &depth, d)) return false;
    for (int i = 0, k = 0; i <= idx->rank; i++) shape[i] = i == axis ? depth : idx->shape[k++];
    xf_set_out(g, n, 0, xf_in(g, n, 2)->dtype, idx->rank + 1, shape);
    return true;
}

/* ---- ScatterElements, Scatter, ScatterND ---- */

static bool scatter_inputs(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1), *upd = xf_in(g, n, 2);
    if (!idx || !upd) return xf_fail(d, g, n, "expects inputs data, indices and updates");
    if (!is_index_type(idx->dtype))
        return xf_fail(d, g, n, "indices must be int32 or int64, not %s", xf_dtype_name(idx->dtype));
    if (upd->dtype != x->dtype)
        return xf_fail(d, g, n, "updates are %s but data is %s", xf_dtype_name(upd->dtype), xf_dtype_name(x->dtype));
    return true;
}

/* indices and updates have one shape, of data's rank, no larger than data outside the axis. */
bool xf_shape_scatter_elements(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1), *upd = xf_in(g, n, 2);
    int axis;
    if (!scatter_inputs(g, n, d)) return false;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
    bool ok = idx->rank == x->rank && upd->rank == idx->rank;
    for (int i = 0; ok && i < idx->rank; i++)
        ok = upd->shape[i] == idx->shape[i] && (i == axis || idx->shape[i] <= x->shape[i]);
    if (!ok) {
        char a[128], b[128], c[128];
        return xf_fail(d, g, n, "indices %s and updates %s must have one shape, of the rank of data %s and within it",
                       xf_shape_str(idx, a, sizeof a), xf_shape_str(upd, b, sizeof b), xf_shape_str(x, c, sizeof c));
    }
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    return true;
}

/* indices [M..., q] address q leading dims of data; updates are [M..., data dims from q on]. */
bool xf_shape_scatter_nd(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1), *upd = xf_in(g, n, 2);
    if (!scatter_inputs(g, n, d)) return false;
    if (x->rank < 1 || idx->rank < 1) return xf_fail(d, g, n, "data and indices must have rank >= 1");
    int64_t q = idx->shape[idx->rank - 1];
    if (q > x->rank)
        return xf_fail(d, g, n, "indices address %lld dimensions of data of rank %d", (long long)q, x->rank);
    bool ok = upd->rank == idx->rank - 1 + x->rank - (int)q;
    for (int i = 0; ok && i < upd->rank; i++)
        ok = upd->shape[i] == (i < idx->rank - 1 ? idx->shape[i] : x->shape[q + i - (idx->rank - 1)]);
    if (!ok) {
        char a[128], b[128], c[128];
        return xf_fail(d, g, n, "updates %s do not fit indices %s into data %s", xf_shape_str(upd, a, sizeof a),
                       xf_shape_str(idx, b, sizeof b), xf_shape_str(x, c, sizeof c));
    }
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    return true;
}

/* ---- TensorScatter ---- */

/* past_cache and update share a shape except along the sequence axis (default -2), where update is
 * no longer; dim 0 is the batch, which write_indices (optional, int64 [batch]) indexes, so the axis
 * cannot be 0. mode is linear or circular (*circular = 1). */
bool xf_tensor_scatter_geometry(xf_graph *g, xf_node *n, int *axis, int64_t *circular, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *upd = xf_in(g, n, 1), *wi = xf_in(g, n, 2);
    if (!upd) return xf_fail(d, g, n, "expects inputs past_cache and update");
    if (upd->dtype != x->dtype)
        return xf_fail(d, g, n, "update is %s but past_cache is %s", xf_dtype_name(upd->dtype), xf_dtype_name(x->dtype));
    if (xf_dtype_is_packed(x->dtype))
        return xf_fail(d, g, n, "%s caches are not supported", xf_dtype_name(x->dtype));
    if (x->rank < 2) return xf_fail(d, g, n, "past_cache must have a batch and a sequence dimension, not rank %d", x->rank);
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -2), x->rank, axis, d)) return false;
    if (*axis == 0) return xf_fail(d, g, n, "the sequence axis cannot be 0, the batch dimension");
    bool ok = upd->rank == x->rank;
    for (int i = 0; ok && i < x->rank; i++) ok = i == *axis ? upd->shape[i] <= x->shape[i] : upd->shape[i] == x->shape[i];
    char a[128], b[128];
    if (!ok)
        return xf_fail(d, g, n, "update %s does not fit past_cache %s: the shapes must agree except along axis %d, "
                       "where update may be shorter", xf_shape_str(upd, a, sizeof a), xf_shape_str(x, b, sizeof b), *axis);
    if (wi && (wi->dtype != XF_I64 || wi->rank != 1 || wi->shape[0] != x->shape[0]))
        return xf_fail(d, g, n, "write_indices must be int64 [%lld], one per batch, not %s %s", (long long)x->shape[0],
                       xf_dtype_name(wi->dtype), xf_shape_str(wi, a, sizeof a));
    const char *mode = xf_attr_str(n, "mode", "linear");
    if (strcmp(mode, "linear") != 0 && strcmp(mode, "circular") != 0)
        return xf_fail(d, g, n, "mode '%s' is unknown (linear and circular are)", mode);
    *circular = strcmp(mode, "circular") == 0;
    return true;
}

bool xf_shape_tensor_scatter(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    int64_t circular;
    if (!xf_tensor_scatter_geometry(g, n, &axis, &circular, d)) return false;
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    return true;
}

/* ---- TfIdfVectorizer ---- */

/* The n-grams of one length in a pool, compared by their ids (for merge_sort: items are the
 * positions of n-grams in pool). */
typedef struct {
    const int64_t *pool;
    int64_t len;
} gram_level;

static int gram_cmp(const void *ctx, int64_t a, int64_t b) {
    const gram_level *l = ctx;
    for (int64_t t = 0; t < l->len; t++)
        if (l->pool[a + t] != l->pool[b + t]) return l->pool[a + t] < l->pool[b + t] ? -1 : 1;
    return 0;
}

/* ngram_counts[i] is where the n-grams of length i + 1 start in pool_int64s; n-gram number j
 * (counted over every length, in pool order) is counted in column ngram_indexes[j]. */
bool xf_tfidf_geometry(xf_graph *g, const xf_node *n, xf_tfidf_geom *p, xf_diag *d) {
    memset(p, 0, sizeof *p);
    xf_value *x = xf_in(g, n, 0);
    if (!is_index_type(x->dtype))
        return xf_fail(d, g, n, "the input must be int32 or int64 token ids, not %s", xf_dtype_name(x->dtype));
    if (x->rank > 2) return xf_fail(d, g, n, "the input must be [C] or [N, C], not of rank %d", x->rank);
    const xf_attr *strs = xf_attr_get(n, "pool_strings");
    if (strs && strs->n > 0) return xf_fail(d, g, n, "string n-grams (pool_strings) are not supported");
    const char *mode = xf_attr_str(n, "mode", NULL);
    if (!mode) return xf_fail(d, g, n, "the mode attribute is missing");
    p->mode = !strcmp(mode, "TF") ? 1 : !strcmp(mode, "IDF") ? 2 : !strcmp(mode, "TFIDF") ? 3 : 0;
    if (!p->mode) return xf_fail(d, g, n, "mode '%s' is unknown (TF, IDF and TFIDF are)", mode);
    const xf_attr *mn = xf_attr_get(n, "min_gram_length"), *mx = xf_attr_get(n, "max_gram_length");
    const xf_attr *sk = xf_attr_get(n, "max_skip_count");
    if (!mn || !mx || !sk)
        return xf_fail(d, g, n, "attributes min_gram_length, max_gram_length and max_skip_count are required");
    if (mn->i < 1 || mx->i < mn->i)
        return xf_fail(d, g, n, "gram lengths %lld to %lld are not a range of positive lengths", (long long)mn->i,
                       (long long)mx->i);
    if (sk->i < 0) return xf_fail(d, g, n, "max_skip_count %lld is negative", (long long)sk->i);
    p->max_skip = sk->i;

    const xf_attr *pool = xf_attr_get(n, "pool_int64s"), *counts = xf_attr_get(n, "ngram_counts");
    const xf_attr *indexes = xf_attr_get(n, "ngram_indexes");
    int64_t npool = pool && pool->type == XF_ATTR_INTS ? pool->n : 0;
    int64_t nlevels = counts && counts->type == XF_ATTR_INTS ? counts->n : 0;
    int64_t nindexes = indexes && indexes->type == XF_ATTR_INTS ? indexes->n : 0;
    if (nindexes == 0) return xf_fail(d, g, n, "ngram_indexes is missing or empty");
    /* every level's n-grams, whatever their length: ngram_indexes numbers them all */
    int64_t total = 0;
    for (int64_t i = 0; i < nlevels; i++) {
        int64_t start = counts->ints[i], end = i + 1 < nlevels ? counts->ints[i + 1] : npool;
        if (start < 0 || end < start || end > npool)
            return xf_fail(d, g, n, "ngram_counts must rise from 0 to at most the %lld pool entries",
                           (long long)npool);
        if ((end - start) % (i + 1) != 0)
            return xf_fail(d, g, n, "the pool holds %lld ids of %lld-grams, not a whole number of them",
                           (long long)(end - start), (long long)(i + 1));
        total += (end - start) / (i + 1);
    }
    if (total != nindexes)
        return xf_fail(d, g, n, "ngram_indexes has %lld entries for %lld n-grams in the pool", (long long)nindexes,
                       (long long)total);
    for (int64_t j = 0; j < nindexes; j++) {
        if (indexes->ints[j] < 0)
            return xf_fail(d, g, n, "ngram_indexes[%lld] = %lld is negative", (long long)j, (long long)indexes->ints[j]);
        if (indexes->ints[j] + 1 > p->out_size) p->out_size = indexes->ints[j] + 1;
    }
    const xf_attr *w = xf_attr_get(n, "weights");
    if (w && w->type == XF_ATTR_FLOATS && w->n > 0) {
        if (w->n < p->out_size)
            return xf_fail(d, g, n, "weights has %d entries, fewer than the %lld output columns", w->n,
                           (long long)p->out_size);
        p->weights = w;
    }

    /* Keep the n-grams of the lengths looked for. Of two equal ones, the later counts (the numbering
     * of the pool gives it the later index), so an n-gram repeated later is dropped here: a stable
     * sort of each level puts equal n-grams side by side in pool order, and all but the last of
     * such a run are marked in `dropped` (indexed by position in the pool). */
    p->pool = new_i64s(g, npool);
    p->len = new_i64s(g, total);
    p->col = new_i64s(g, total);
    bool *dropped = xf_alloc(g->arena, (size_t)(npool > 0 ? npool : 1));
    int64_t *order = new_i64s(g, total), *tmp = new_i64s(g, total);
    for (int64_t i = 0; i < nlevels; i++) {
        int64_t len = i + 1, start = counts->ints[i], end = i + 1 < nlevels ? counts->ints[i + 1] : npool, k = 0;
        if (len < mn->i || len > mx->i) continue;
        gram_level level = {pool->ints, len};
        for (int64_t at = start; at < end; at += len) order[k++] = at;
        merge_sort(order, tmp, k, gram_cmp, &level);
        for (int64_t r = 0; r + 1 < k; r++) dropped[order[r]] = gram_cmp(&level, order[r], order[r + 1]) == 0;
    }
    for (int64_t i = 0, id = 0; i < nlevels; i++) {
        int64_t len = i + 1, start = counts->ints[i], end = i + 1 < nlevels ? counts->ints[i + 1] : npool;
        for (int64_t at = start; at < end; at += len, id++) {
            if (len < mn->i || len > mx->i || dropped[at]) continue;
            memcpy(p->pool + p->pool_len, pool->ints + at, (size_t)len * sizeof(int64_t));
            p->pool_len += len;
            p->len[p->ngrams] = len;
            p->col[p->ngrams++] = indexes->ints[id];
        }
    }
    return true;
}

/* A 1-D input gives one row [out_size]; [N, C] gives [N, out_size]. With IDF or TFIDF weights,
 * the weights become a constant second input, so that the kernel can read them as a tensor; xfc
 * names it after the node, which tells it apart from an input the model gave. */
bool xf_shape_tfidf(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    xf_tfidf_geom p;
    if (!xf_tfidf_geometry(g, n, &p, d)) return false;
    const char *wname = xf_sprintf(g->arena, "%s_weights", n->name);
    xf_value *w = xf_in(g, n, 1);
    if (n->nin > 2 || (w && strcmp(w->name, wname) != 0)) return xf_fail(d, g, n, "expects one input, X");
    if (!w && p.mode != 1 && p.weights) {
        int32_t *in = xf_alloc(g->arena, 2 * sizeof(int32_t));
        in[0] = n->in[0];
        in[1] = xf_const_add(g, wname, XF_F32, 1, (int64_t[]){p.out_size}, p.weights->floats);
        n->in = in;
        n->nin = 2;
    }
    if (x->rank == 2) xf_set_out(g, n, 0, XF_F32, 2, (int64_t[]){x->shape[0], p.out_size});
    else xf_set_out(g, n, 0, XF_F32, 1, &p.out_size);
    return true;
}

/* ---- Einsum ---- */

static int ein_label(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + c - 'A';
    return -1;
}

/* Parses one side's term [s, end) for an operand of rank `rank` (or, for the output, rank -1):
 * fills lab with the label of each dim and returns the dim count, or -1 after reporting. */
static int ein_term(xf_graph *g, const xf_node *n, const char *s, const char *end, int rank, int nell, int *lab,
                    xf_diag *d) {
    int letters = 0;
    bool ell = false;
    for (const char *p = s; p < end; p++) {
        if (end - p >= 3 && strncmp(p, "...", 3) == 0) {
            if (ell) return xf_fail(d, g, n, "a term of the equation has two ellipses"), -1;
            ell = true;
            p += 2;
        } else if (ein_label(*p) >= 0) {
            letters++;
        } else {
            return xf_fail(d, g, n, "unexpected character '%c' in the equation", *p), -1;
        }
    }
    int ne = rank >= 0 ? rank - letters : ell ? nell : 0;
    if (ne < 0 || (!ell && ne != 0))
        return xf_fail(d, g, n, "the term '%.*s' does not fit an operand of rank %d", (int)(end - s), s, rank), -1;
    if (letters + ne > XF_MAX_RANK) return xf_fail(d, g, n, "the output rank exceeds %d", XF_MAX_RANK), -1;
    int k = 0;
    for (const char *p = s; p < end; p++) {
        if (*p == '.') {
            for (int e = 0; e < ne; e++) lab[k++] = 52 + ne - 1 - e;
            p += 2;
        } else {
            lab[k++] = ein_label(*p);
        }
    }
    return k;
}

/* Einsum in numpy's notation: "ij,jk->ik", implicit outputs ("ij,jk": the labels used once, in
 * ASCII order, after the ellipsis dims), ellipses that broadcast, repeated labels for diagonals. */
bool xf_einsum_geometry(xf_graph *g, const xf_node *n, xf_einsum_geom *p, xf_diag *d) {
    const char *eq = xf_attr_str(n, "equation", NULL);
    if (!eq) return xf_fail(d, g, n, "the equation attribute is missing");
    if (n->nin < 1 || n->nin > 2)
        return xf_fail(d, g, n, "Einsum of %d operands is not supported (1 or 2 are)", n->nin);
    char buf[256];
    size_t len = 0;
    for (const char *c = eq; *c; c++) {
        if (*c == ' ') continue;
        if (len + 1 >= sizeof buf) return xf_fail(d, g, n, "the equation is too long");
        buf[len++] = *c;
    }
    buf[len] = 0;
    char *arrow = strstr(buf, "->"), *lhs_end = arrow ? arrow : buf + len;
    int uses[XF_EINSUM_LABELS] = {0}, nell = 0;
    for (int l = 0; l < XF_EINSUM_LABELS; l++) p->dim[l] = -1;
    p->rank[1] = 0;
    const char *t = buf;
    for (int k = 0; k < n->nin; k++) {
        xf_value *x = xf_in(g, n, k);
        if (!x) return xf_fail(d, g, n, "input %d is missing", k);
        if (x->dtype != xf_in(g, n, 0)->dtype) return xf_fail(d, g, n, "the operands' types differ");
        if (t > lhs_end) return xf_fail(d, g, n, "the equation names fewer operands than the %d inputs", n->nin);
        const char *end = t;
        while (end < lhs_end && *end != ',') end++;
        p->rank[k] = ein_term(g, n, t, end, x->rank, 0, p->label[k], d);
        if (p->rank[k] < 0) return false;
        for (int i = 0; i < p->rank[k]; i++) {
            int l = p->label[k][i];
            uses[l]++;
            if (l >= 52 && l - 51 > nell) nell = l - 51;
            int64_t s = x->shape[i];
            if (p->dim[l] == s || s == 1) {
                if (p->dim[l] < 0) p->dim[l] = s;
            } else if (p->dim[l] < 0 || p->dim[l] == 1) {
                p->dim[l] = s;
            } else {
                return xf_fail(d, g, n, "a label of the equation has sizes %lld and %lld", (long long)p->dim[l],
                               (long long)s);
            }
        }
        t = end + 1;
    }
    if (t <= lhs_end) return xf_fail(d, g, n, "the equation names more operands than the %d inputs", n->nin);
    bool in_out[XF_EINSUM_LABELS] = {false};
    if (arrow) {
        p->nout = ein_term(g, n, arrow + 2, buf + len, -1, nell, p->out, d);
        if (p->nout < 0) return false;
        for (int i = 0; i < p->nout; i++) {
            int l = p->out[i];
            if (p->dim[l] < 0) return xf_fail(d, g, n, "output label '%c' is in no operand", l < 26 ? 'a' + l : 'A' + l - 26);
            if (in_out[l]) return xf_fail(d, g, n, "output label '%c' is repeated", l < 26 ? 'a' + l : 'A' + l - 26);
            in_out[l] = true;
        }
    } else {
        p->nout = 0;
        for (int e = nell - 1; e >= 0; e--) p->out[p->nout++] = 52 + e;
        for (int c = 'A'; c <= 'z'; c++) {
            int l = ein_label((char)c);
            if (l < 0 || uses[l] != 1) continue;
            if (p->nout == XF_MAX_RANK) return xf_fail(d, g, n, "the output rank exceeds %d", XF_MAX_RANK);
            p->out[p->nout++] = l;
        }
        for (int i = 0; i < p->nout; i++) in_out[p->out[i]] = true;
    }
    p->nsum = 0;
    for (int l = 0; l < XF_EINSUM_LABELS; l++) {
        if (p->dim[l] < 0 || in_out[l]) continue;
        if (p->nsum == XF_EINSUM_MAX_SUM)
            return xf_fail(d, g, n, "the equation sums over more than %d labels", XF_EINSUM_MAX_SUM);
        p->sum[p->nsum++] = l;
    }
    return true;
}

bool xf_shape_einsum(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_einsum_geom p;
    if (!xf_einsum_geometry(g, n, &p, d)) return false;
    int64_t shape[XF_MAX_RANK];
    for (int i = 0; i < p.nout; i++) shape[i] = p.dim[p.out[i]];
    xf_set_out(g, n, 0, xf_in(g, n, 0)->dtype, p.nout, shape);
    return true;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ---- */

/* input [N, C, d...], target [N, d...] (int32 or int64), optional weight [C]. reduction (default
 * mean) is 0 none, 1 sum, 2 mean, as xf_nll_loss takes it. */
bool xf_loss_geometry(xf_graph *g, xf_node *n, int64_t *reduction, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *t = xf_in(g, n, 1), *w = xf_in(g, n, 2);
    if (!t) return xf_fail(d, g, n, "expects inputs scores (or log-probabilities) and labels");
    if (!is_index_type(t->dtype))
        return xf_fail(d, g, n, "the labels must be int32 or int64, not %s", xf_dtype_name(t->dtype));
    bool ok = x->rank >= 2 && t->rank == x->rank - 1 && t->shape[0] == x->shape[0];
    for (int i = 1; ok && i < t->rank; i++) ok = t->shape[i] == x->shape[i + 1];
    char a[128], b[128];
    if (!ok)
        return xf_fail(d, g, n, "labels %s do not fit input %s: expected [N, C, d...] and [N, d...]",
                       xf_shape_str(t, a, sizeof a), xf_shape_str(x, b, sizeof b));
    if (w && (w->rank != 1 || w->shape[0] != x->shape[1] || w->dtype != x->dtype))
        return xf_fail(d, g, n, "weights %s must be one %s per class (%lld)", xf_shape_str(w, a, sizeof a),
                       xf_dtype_name(x->dtype), (long long)x->shape[1]);
    const char *r = xf_attr_str(n, "reduction", "mean");
    *reduction = !strcmp(r, "none") ? 0 : !strcmp(r, "sum") ? 1 : !strcmp(r, "mean") ? 2 : -1;
    if (*reduction < 0) return xf_fail(d, g, n, "reduction '%s' is unknown (none, sum and mean are)", r);
    return true;
}

bool xf_shape_loss(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *t = xf_in(g, n, 1);
    int64_t reduction;
    if (!xf_loss_geometry(g, n, &reduction, d)) return false;
    if (reduction == 0) xf_set_out(g, n, 0, x->dtype, t->rank, t->shape);
    else xf_set_out(g, n, 0, x->dtype, 0, NULL);
    if (n->op == XF_OP_SCE_LOSS) xf_set_out(g, n, 1, x->dtype, x->rank, x->shape); /* log_prob */
    return true;
}

/* ---- Size, EyeLike, NonZero: computed here, at compile time ---- */

bool xf_shape_size(xf_graph *g, xf_node *n, xf_diag *d) {
    void *data;
    xf_set_out(g, n, 0, XF_I64, 0, NULL);
    if (!out_data(g, n, 1, 8, &data, d)) return false;
    if (data) *(int64_t *)data = xf_value_numel(xf_in(g, n, 0));
    return true;
}

/* Element i of data (of type dtype) set to one. */
static void set_one(void *data, int64_t i, int32_t dtype) {
    switch (xf_dtype_is_float(dtype) ? dtype : (int32_t)xf_dtype_size(dtype)) {
    case XF_F32: ((float *)data)[i] = 1.0f; break;
    case XF_F64: ((double *)data)[i] = 1.0; break;
    case 8: ((uint64_t *)data)[i] = 1; break; /* integers and bool, by width */
    case 4: ((uint32_t *)data)[i] = 1; break;
    case 2: ((uint16_t *)data)[i] = 1; break;
    default: ((uint8_t *)data)[i] = 1; break;
    }
}

/* EyeLike's output depends on the input's shape only: ones on diagonal k of a matrix of that shape,
 * of type dtype (default: the input's). */
bool xf_shape_eye_like(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (x->rank != 2) return xf_fail(d, g, n, "the input must be a matrix, not of rank %d", x->rank);
    int32_t dtype = (int32_t)xf_attr_int(n, "dtype", x->dtype);
    if (!xf_dtype_ctype(dtype)) return xf_fail(d, g, n, "dtype %s is not supported", xf_dtype_name(dtype));
    int64_t rows = x->shape[0], cols = x->shape[1], k = xf_attr_int(n, "k", 0);
    xf_set_out(g, n, 0, dtype, 2, x->shape);
    void *data;
    if (!out_data(g, n, rows * cols, (int64_t)xf_dtype_size(dtype), &data, d)) return false;
    for (int64_t r = 0; data && r < rows; r++)
        if (k > -cols && k < cols && r + k >= 0 && r + k < cols) set_one(data, r * cols + r + k, dtype);
    return true;
}

/* NonZero: the indices of the nonzero elements, [rank, count], column j holding the index of the
 * j-th in row-major order. A scalar counts as a tensor of one element, as numpy does. */
bool xf_shape_non_zero(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!need_values(g, n, 0, d)) return false;
    int rank = x->rank > 0 ? x->rank : 1;
    int64_t total = xf_value_numel(x), nz = 0, shape[XF_MAX_RANK] = {1};
    if (x->rank > 0) memcpy(shape, x->shape, sizeof shape);
    for (int64_t e = 0; e < total; e++) nz += xf_const_f64(x, e) != 0;
    xf_set_out(g, n, 0, XF_I64, 2, (int64_t[]){rank, nz});
    void *data;
    if (!out_data(g, n, rank * nz, 8, &data, d)) return false;
    int64_t idx[XF_MAX_RANK] = {0}, j = 0;
    for (int64_t e = 0; data && e < total; e++) {
        if (xf_const_f64(x, e) != 0) {
            for (int i = 0; i < rank; i++) ((int64_t *)data)[i * nz + j] = idx[i];
            j++;
        }
        for (int i = rank - 1; i >= 0 && ++idx[i] == shape[i]; i--) idx[i] = 0;
    }
    return true;
}

/* ---- Unique ---- */

/* x viewed as [outer, m, inner] around the axis ([1, numel, 1] without one): Unique compares the m
 * slices x[:, i, :], each read in row-major order, lexicographically. */
typedef struct {
    const xf_value *x;
    int64_t outer, m, inner;
} unique_view;

/* Compares elements a and b of constant x like strcmp. A NaN sorts after every number and equals
 * another NaN, so all NaNs make one unique value, as numpy's unique has it. */
static int elem_cmp(const xf_value *x, int64_t a, int64_t b) {
    if (xf_dtype_is_float(x->dtype)) {
        double u = xf_const_f64(x, a), v = xf_const_f64(x, b);
        if (u != u || v != v) return (u != u) - (v != v);
        return (u > v) - (u < v);
    }
    if (x->dtype == XF_U64) { /* beyond int64's range: compare as unsigned */
        uint64_t u = ((const uint64_t *)x->data)[a], v = ((const uint64_t *)x->data)[b];
        return (u > v) - (u < v);
    }
    int64_t u = xf_const_i64(x, a), v = xf_const_i64(x, b);
    return (u > v) - (u < v);
}

static int slice_cmp(const void *ctx, int64_t i, int64_t j) {
    const unique_view *s = ctx;
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t k = 0; k < s->inner; k++) {
            int c = elem_cmp(s->x, (o * s->m + i) * s->inner + k, (o * s->m + j) * s->inner + k);
            if (c) return c;
        }
    return 0;
}

/* The unique slices along the axis attribute (or the unique elements of x flattened), in ascending
 * order (sorted, default 1) or in the order they first occur, and the optional outputs: indices (the
 * first occurrence of each), inverse_indices (which unique slice each slice of x is) and counts.
 * Equal slices are grouped by a stable sort, so each group's first member is the first occurrence. */
bool xf_shape_unique(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!need_values(g, n, 0, d)) return false;
    if (xf_dtype_is_packed(x->dtype) || xf_dtype_size(x->dtype) == 0)
        return xf_fail(d, g, n, "Unique on %s is not supported", xf_dtype_name(x->dtype));
    unique_view s = {x, 1, xf_value_numel(x), 1};
    int axis = -1;
    if (xf_attr_get(n, "axis")) {
        if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
        s.outer = xf_prod(x->shape, 0, axis);
        s.m = x->shape[axis];
        s.inner = xf_prod(x->shape, axis + 1, x->rank);
    }
    int64_t m = s.m, *order = new_i64s(g, m), *tmp = new_i64s(g, m), *first = new_i64s(g, m), *pos = new_i64s(g, m);
    for (int64_t i = 0; i < m; i++) order[i] = i;
    merge_sort(order, tmp, m, slice_cmp, &s);
    /* first[i]: the first occurrence of slice i's value; pos[f] for such a first: its output row */
    int64_t u = 0;
    bool sorted = xf_attr_int(n, "sorted", 1) != 0;
    for (int64_t r = 0; r < m; r++) {
        int64_t i = order[r];
        bool starts = r == 0 || slice_cmp(&s, order[r - 1], i) != 0;
        first[i] = starts ? i : first[order[r - 1]];
        if (starts && sorted) pos[i] = u++;
    }
    if (!sorted)
        for (int64_t i = 0; i < m; i++)
            if (first[i] == i) pos[i] = u++;

    int64_t shape[XF_MAX_RANK];
    if (axis >= 0) {
        memcpy(shape, x->shape, sizeof shape);
        shape[axis] = u;
        xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    } else {
        xf_set_out(g, n, 0, x->dtype, 1, &u);
    }
    xf_set_out(g, n, 1, XF_I64, 1, &u);
    xf_set_out(g, n, 2, XF_I64, 1, &m);
    xf_set_out(g, n, 3, XF_I64, 1, &u);
    void *y;
    int64_t *indices, *inverse, *counts, es = esize(x);
    if (!out_data_at(g, n, 0, s.outer * u * s.inner, es, &y, d) ||
        !out_data_at(g, n, 1, u, 8, (void **)&indices, d) || !out_data_at(g, n, 2, m, 8, (void **)&inverse, d) ||
        !out_data_at(g, n, 3, u, 8, (void **)&counts, d))
        return false;
    for (int64_t i = 0; i < m; i++) {
        int64_t p = pos[first[i]];
        if (first[i] == i) {
            if (indices) indices[p] = i;
            for (int64_t o = 0; y && o < s.outer; o++)
                memcpy((char *)y + (o * u + p) * s.inner * es, (const char *)x->data + (o * m + i) * s.inner * es,
                       (size_t)(s.inner * es));
        }
        if (inverse) inverse[i] = p;
        if (counts) counts[p]++;
    }
    return true;
}

/* ---- NonMaxSuppression ---- */

/* Whether box b suppresses box a: their intersection over union exceeds thr. Boxes are [y1, x1, y2,
 * x2] with either corner first, or [x_center, y_center, width, height] when center is set. Computed
 * in float, as onnxruntime does, so the borderline cases of the tests come out the same. Boxes that
 * do not overlap, and degenerate ones, suppress nothing. */
static bool iou_suppresses(const float *a, const float *b, bool center, float thr) {
    float lo[2][2], hi[2][2]; /* [box][axis]: axis 0 is x, 1 is y */
    const float *box[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        const float *p = box[k];
        if (center) {
            for (int ax = 0; ax < 2; ax++) {
                lo[k][ax] = p[ax] - p[ax + 2] / 2;
                hi[k][ax] = p[ax] + p[ax + 2] / 2;
            }
        } else {
            for (int ax = 0; ax < 2; ax++) { /* x is at 1 and 3, y at 0 and 2 */
                float u = p[1 - ax], v = p[3 - ax];
                lo[k][ax] = u < v ? u : v;
                hi[k][ax] = u < v ? v : u;
            }
        }
    }
    float side[2];
    for (int ax = 0; ax < 2; ax++) {
        float l = lo[0][ax] > lo[1][ax] ? lo[0][ax] : lo[1][ax], h = hi[0][ax] < hi[1][ax] ? hi[0][ax] : hi[1][ax];
        if (h <= l) return false;
        side[ax] = h - l;
    }
    float inter = side[0] * side[1];
    float area_a = (hi[0][0] - lo[0][0]) * (hi[0][1] - lo[0][1]), area_b = (hi[1][0] - lo[1][0]) * (hi[1][1] - lo[1][1]);
    float uni = area_a + area_b - inter;
    if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0) return false;
    return inter / uni > thr;
}

/* Orders box indices by descending score, ties by lower index (the merge sort is stable). */
static int score_cmp(const void *ctx, int64_t a, int64_t b) {
    const float *s = ctx;
    return (s[a] < s[b]) - (s[a] > s[b]);
}

/* boxes [B, N, 4] and scores [B, C, N], float32; max_output_boxes_per_class (default 0: nothing is
 * selected), iou_threshold (default 0) and score_threshold (scores must exceed it; no filter when
 * absent) are optional one-element inputs. Per batch and class, boxes are taken best score first
 * unless one already taken suppresses them. The output lists [batch, class, box] triples. */
bool xf_shape_non_max_suppression(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *boxes = xf_in(g, n, 0), *scores = xf_in(g, n, 1);
    if (!scores) return xf_fail(d, g, n, "expects inputs boxes and scores");
    char a[128], b[128];
    if (boxes->dtype != XF_F32 || scores->dtype != XF_F32 || boxes->rank != 3 || boxes->shape[2] != 4 ||
        scores->rank != 3 || scores->shape[0] != boxes->shape[0] || scores->shape[2] != boxes->shape[1])
        return xf_fail(d, g, n, "boxes %s and scores %s must be float32 [B, N, 4] and [B, C, N]",
                       xf_shape_str(boxes, a, sizeof a), xf_shape_str(scores, b, sizeof b));
    for (int k = 2; k < 5; k++) {
        xf_value *v = xf_in(g, n, k);
        if (v && xf_value_numel(v) > 1) return xf_fail(d, g, n, "input %d must hold at most one number", k);
    }
    for (int k = 0; k < 5; k++)
        if (!need_values(g, n, k, d)) return false;
    int64_t center = xf_attr_int(n, "center_point_box", 0);
    if (center != 0 && center != 1) return xf_fail(d, g, n, "center_point_box must be 0 or 1, not %lld", (long long)center);
    xf_value *mo = xf_in(g, n, 2), *iou = xf_in(g, n, 3), *st = xf_in(g, n, 4);
    int64_t max_out = mo && xf_value_numel(mo) == 1 ? xf_const_i64(mo, 0) : 0;
    float iou_thr = iou && xf_value_numel(iou) == 1 ? (float)xf_const_f64(iou, 0) : 0.0f;
    bool filter = st && xf_value_numel(st) == 1;
    float score_thr = filter ? (float)xf_const_f64(st, 0) : 0.0f;
    int64_t nb = boxes->shape[0], nbox = boxes->shape[1], ncls = scores->shape[1];
    if (max_out > nbox) max_out = nbox;
    if (max_out < 0) max_out = 0;

    const float *bx = boxes->data, *sc = scores->data;
    int64_t *cand = new_i64s(g, nbox), *tmp = new_i64s(g, nbox), *taken = new_i64s(g, max_out);
    int64_t *sel = new_i64s(g, nb * ncls * max_out * 3), nsel = 0;
    for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t c = 0; c < ncls; c++) {
            const float *s = sc + (bi * ncls + c) * nbox, *bb = bx + bi * nbox * 4;
            int64_t ncand = 0, ntaken = 0;
            for (int64_t i = 0; i < nbox; i++)
                if (!filter || s[i] > score_thr) cand[ncand++] = i;
            merge_sort(cand, tmp, ncand, score_cmp, s);
            for (int64_t r = 0; r < ncand && ntaken < max_out; r++) {
                bool keep = true;
                for (int64_t t = 0; t < ntaken && keep; t++)
                    keep = !iou_suppresses(bb + cand[r] * 4, bb + taken[t] * 4, center, iou_thr);
                if (!keep) continue;
                taken[ntaken++] = cand[r];
                sel[nsel * 3] = bi;
                sel[nsel * 3 + 1] = c;
                sel[nsel * 3 + 2] = cand[r];
                nsel++;
            }
        }
    xf_set_out(g, n, 0, XF_I64, 2, (int64_t[]){nsel, 3});
    void *data;
    if (!out_data(g, n, nsel * 3, 8, &data, d)) return false;
    if (data) memcpy(data, sel, (size_t)(nsel * 3) * sizeof(int64_t));
    return true;
}
