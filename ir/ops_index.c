/* ops_index.c — shape inference and lowering of the selection, indexing and loss ops: ArgMax,
 * ArgMin, Hardmax, TopK, Tile, Compress, OneHot, ScatterElements (and the old Scatter), ScatterND,
 * Einsum, NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, and the ops whose output is known at
 * compile time: Size, EyeLike, NonZero. (The Reduce family's new members live with the others in
 * ir/ops_math.c.)
 *
 * As elsewhere, shapes are static, so the lower functions settle every size and stride and the
 * kernels (runtime/index.c) receive plain numbers. Ops that only compare or move elements take any
 * type; those that compute say which types they take. Tile needs no kernel of its own: it is one
 * strided copy (runtime/data.c) reading x with stride 0 along the repeats.
 *
 * Where an output's shape depends on input values (TopK's k, Tile's repeats, OneHot's depth,
 * Compress's condition, NonZero's data), those inputs must be constants; a missing one is reported
 * with the --bind suggestion. */
#include <string.h>

#include "ops.h"

/* Compile-time data larger than this is surely a bad model, not a useful constant. */
#define MAX_CONST_BYTES ((int64_t)1 << 30)

static int64_t prod(const int64_t *shape, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= shape[i];
    return p;
}

static int64_t esize(const xf_value *v) { return (int64_t)xf_dtype_size(v->dtype); }
static bool is_index_type(int32_t dtype) { return dtype == XF_I32 || dtype == XF_I64; }
static int32_t in_handle(const xf_node *n, int k) { return k < n->nin ? n->in[k] : -1; }
static int32_t out_handle(const xf_node *n, int k) { return k < n->nout ? n->out[k] : -1; }

static bool has_output(xf_graph *g, const xf_node *n, int k) {
    xf_value *y = xf_out(g, n, k);
    return y && xf_value_numel(y) > 0;
}

static bool need_type(xf_graph *g, const xf_node *n, const xf_value *v, int32_t a, int32_t b, xf_diag *d) {
    if (v->dtype == a || v->dtype == b) return true;
    if (a == b)
        return xf_fail(d, g, n, "%s on %s is not supported (%s only)", xf_ops[n->op].name, xf_dtype_name(v->dtype),
                       xf_dtype_name(a));
    return xf_fail(d, g, n, "%s on %s is not supported (%s and %s are)", xf_ops[n->op].name,
                   xf_dtype_name(v->dtype), xf_dtype_name(a), xf_dtype_name(b));
}

/* Input k, whose values decide the output's shape, must be a constant. */
static bool need_values(xf_graph *g, const xf_node *n, int k, xf_diag *d) {
    xf_value *v = xf_in(g, n, k);
    if (!v || v->data) return true;
    if (v->is_input)
        return xf_fail(d, g, n, "the output shape depends on the values of input '%s', which must be known at "
                       "compile time: bind it with --bind %s=FILE.pb", v->name, v->name);
    return xf_require_const(g, n, k, d);
}

/* Output 0 of n becomes the constant data (numel elements of es bytes, zeroed), or *data stays
 * NULL when the output is unused. */
static bool out_data(xf_graph *g, xf_node *n, int64_t numel, int64_t es, void **data, xf_diag *d) {
    *data = NULL;
    if (numel < 0 || es <= 0 || numel > MAX_CONST_BYTES / es)
        return xf_fail(d, g, n, "the result (%lld elements) is too large to compute at compile time",
                       (long long)numel);
    xf_value *y = xf_out(g, n, 0);
    if (y) y->data = *data = xf_alloc(g->arena, (size_t)(numel * es) + 1);
    return true;
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

int xf_lower_arg_extreme(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis, count = 0;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return -1;
    if (!has_output(g, n, 0)) return 0;
    if (x->shape[axis] == 0) return xf_fail(d, g, n, "the axis is empty: there is no extreme to find"), -1;
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_arg_extreme);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_i(prod(x->shape, 0, axis)));
    xf_call_arg(c, xf_i(x->shape[axis]));
    xf_call_arg(c, xf_i(prod(x->shape, axis + 1, x->rank)));
    xf_call_arg(c, xf_i(n->op == XF_OP_ARG_MAX));
    xf_call_arg(c, xf_i(xf_attr_int(n, "select_last_index", 0) != 0));
    xf_call_arg(c, xf_i(x->dtype));
    return count;
}

/* ---- Hardmax ---- */

/* Like Softmax: along one axis (default -1) since opset 13; before, over x flattened to 2-D at axis
 * (default 1), along the whole second part. */
int xf_lower_hardmax(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!need_type(g, n, x, XF_F32, XF_F32, d)) return -1;
    bool legacy = g->opset < 13;
    int axis, count = 0;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", legacy ? 1 : -1), x->rank, &axis, d)) return -1;
    if (!has_output(g, n, 0)) return 0;
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_hardmax);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_i(prod(x->shape, 0, axis)));
    xf_call_arg(c, xf_i(legacy ? prod(x->shape, axis, x->rank) : x->shape[axis]));
    xf_call_arg(c, xf_i(legacy ? 1 : prod(x->shape, axis + 1, x->rank)));
    return count;
}

/* ---- TopK ---- */

/* k comes from input 1 (opset 10+, a constant of one element) or the attribute k (opset 1). */
static bool top_k_params(xf_graph *g, xf_node *n, int *axis, int64_t *k, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -1), x->rank, axis, d)) return false;
    if (xf_in(g, n, 1) && !need_values(g, n, 1, d)) return false;
    int nk = xf_node_ints(g, n, "k", 1, k, 1, d);
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
    if (!top_k_params(g, n, &axis, &k, d)) return false;
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = k;
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    xf_set_out(g, n, 1, XF_I64, x->rank, shape);
    return true;
}

/* The kernel always sorts, which sorted = 0 (order unspecified) allows. */
int xf_lower_top_k(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis, count = 0;
    int64_t k;
    if (!top_k_params(g, n, &axis, &k, d)) return -1;
    if (!has_output(g, n, 0) && !has_output(g, n, 1)) return 0;
    if (!xf_out(g, n, 0) || !xf_out(g, n, 1)) return xf_fail(d, g, n, "outputs Values and Indices are both needed"), -1;
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_top_k);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->out[1]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_i(prod(x->shape, 0, axis)));
    xf_call_arg(c, xf_i(x->shape[axis]));
    xf_call_arg(c, xf_i(prod(x->shape, axis + 1, x->rank)));
    xf_call_arg(c, xf_i(k));
    xf_call_arg(c, xf_i(xf_attr_int(n, "largest", 1) != 0));
    xf_call_arg(c, xf_i(x->dtype));
    xf_call_arg(c, xf_i(esize(x)));
    return count;
}

/* ---- Tile ---- */

/* The repeats, one per dimension of x: a constant input (or the attribute of opset 1's Tile). */
static bool tile_repeats(xf_graph *g, xf_node *n, int64_t *reps, xf_diag *d) {
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
    if (!tile_repeats(g, n, reps, d)) return false;
    for (int i = 0; i < x->rank; i++)
        if (__builtin_mul_overflow(x->shape[i], reps[i], &shape[i]))
            return xf_fail(d, g, n, "dimension %d overflows when repeated %lld times", i, (long long)reps[i]);
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* Output dim i of size reps[i] * x.shape[i] is walked as two dims, [reps[i], x.shape[i]]: y steps
 * over the repeat by a whole copy of x's dim, x does not step at all. Dims of size 1 are dropped and
 * neighbours contiguous in both tensors merged; what remains beyond the copy kernel's 8 dims is
 * peeled into separate calls. */
int xf_lower_tile(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int64_t reps[XF_MAX_RANK], xst[XF_MAX_RANK], yst[XF_MAX_RANK];
    if (!tile_repeats(g, n, reps, d)) return -1;
    if (!has_output(g, n, 0)) return 0;
    xf_strides(x->rank, x->shape, xst);
    xf_strides(y->rank, y->shape, yst);
    int64_t dims[2 * XF_MAX_RANK], ys[2 * XF_MAX_RANK], xs[2 * XF_MAX_RANK];
    int r = 0;
    for (int j = 0; j < 2 * x->rank; j++) {
        int i = j / 2;
        int64_t dim = j % 2 ? x->shape[i] : reps[i], ysd = j % 2 ? yst[i] : yst[i] * x->shape[i];
        int64_t xsd = j % 2 ? xst[i] : 0;
        if (dim == 1) continue;
        if (r > 0 && ys[r - 1] == ysd * dim && xs[r - 1] == xsd * dim) {
            dims[r - 1] *= dim;
            ys[r - 1] = ysd;
            xs[r - 1] = xsd;
            continue;
        }
        dims[r] = dim;
        ys[r] = ysd;
        xs[r] = xsd;
        r++;
    }
    int count = 0;
    if (r == 0 || (r == 1 && ys[0] == 1 && xs[0] == 1)) { /* nothing repeats: a plain copy */
        xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_copy);
        xf_call_arg(c, xf_t(n->out[0]));
        xf_call_arg(c, xf_t(n->in[0]));
        xf_call_arg(c, xf_i(xf_value_bytes(y)));
        return count;
    }
    int peel = r > XF_MAX_RANK ? r - XF_MAX_RANK : 0;
    int64_t ncalls = prod(dims, 0, peel), idx[2 * XF_MAX_RANK] = {0};
    if (ncalls > max)
        return xf_fail(d, g, n, "tiling needs %lld copies of %d dimensions, at most %d are supported",
                       (long long)ncalls, r, max), -1;
    for (int64_t t = 0; t < ncalls; t++) {
        int64_t yo = 0, xo = 0;
        for (int i = 0; i < peel; i++) {
            yo += idx[i] * ys[i];
            xo += idx[i] * xs[i];
        }
        xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_copy_strided);
        xf_call_arg(c, xf_t_at(n->out[0], yo));
        xf_call_arg(c, xf_ints(g, r - peel, ys + peel));
        xf_call_arg(c, xf_t_at(n->in[0], xo));
        xf_call_arg(c, xf_ints(g, r - peel, xs + peel));
        xf_call_arg(c, xf_i(r - peel));
        xf_call_arg(c, xf_ints(g, r - peel, dims + peel));
        xf_call_arg(c, xf_i(esize(x)));
        for (int i = peel - 1; i >= 0 && ++idx[i] == dims[i]; i--) idx[i] = 0;
    }
    return count;
}

/* ---- Compress ---- */

/* x seen as [outer, dim, inner] around the axis, or flattened when there is none; the condition,
 * a constant 1-D bool tensor no longer than dim, picks positions along dim. */
static bool compress_view(xf_graph *g, xf_node *n, int64_t *outer, int64_t *dim, int64_t *inner, int64_t *kept,
                          xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *cond = xf_in(g, n, 1);
    if (!cond) return xf_fail(d, g, n, "expects inputs input and condition");
    if (cond->dtype != XF_BOOL || cond->rank != 1)
        return xf_fail(d, g, n, "condition must be a 1-D bool tensor");
    if (!need_values(g, n, 1, d)) return false;
    if (xf_attr_get(n, "axis")) {
        int axis;
        if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
        *outer = prod(x->shape, 0, axis);
        *dim = x->shape[axis];
        *inner = prod(x->shape, axis + 1, x->rank);
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
    if (!compress_view(g, n, &outer, &dim, &inner, &kept, d)) return false;
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

int xf_lower_compress(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    int64_t outer, dim, inner, kept;
    int count = 0;
    if (!compress_view(g, n, &outer, &dim, &inner, &kept, d)) return -1;
    if (!has_output(g, n, 0)) return 0;
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_compress);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(n->in[1]));
    xf_call_arg(c, xf_i(xf_in(g, n, 1)->shape[0]));
    xf_call_arg(c, xf_i(outer));
    xf_call_arg(c, xf_i(dim));
    xf_call_arg(c, xf_i(inner));
    xf_call_arg(c, xf_i(esize(xf_in(g, n, 0))));
    return count;
}

/* ---- OneHot ---- */

/* The output is indices' shape with a new dim of size depth at axis (default -1, counted in the
 * output's rank); depth is a constant of one element, cast to an integer; values is [off, on]. */
static bool one_hot_params(xf_graph *g, xf_node *n, int *axis, int64_t *depth, xf_diag *d) {
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
    if (!one_hot_params(g, n, &axis, &depth, d)) return false;
    for (int i = 0, k = 0; i <= idx->rank; i++) shape[i] = i == axis ? depth : idx->shape[k++];
    xf_set_out(g, n, 0, xf_in(g, n, 2)->dtype, idx->rank + 1, shape);
    return true;
}

int xf_lower_one_hot(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *idx = xf_in(g, n, 0);
    int axis, count = 0;
    int64_t depth;
    if (!one_hot_params(g, n, &axis, &depth, d)) return -1;
    if (idx->dtype != XF_F32 && idx->dtype != XF_F64 && !is_index_type(idx->dtype))
        return xf_fail(d, g, n, "indices of type %s are not supported (float32, float64, int32 and int64 are)",
                       xf_dtype_name(idx->dtype)), -1;
    if (!has_output(g, n, 0)) return 0;
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_one_hot);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(n->in[2]));
    xf_call_arg(c, xf_i(prod(idx->shape, 0, axis)));
    xf_call_arg(c, xf_i(depth));
    xf_call_arg(c, xf_i(prod(idx->shape, axis, idx->rank)));
    xf_call_arg(c, xf_i(idx->dtype));
    xf_call_arg(c, xf_i(esize(xf_out(g, n, 0))));
    return count;
}

/* ---- ScatterElements, Scatter, ScatterND ---- */

/* The reduction attribute as xf_scatter_combine's code; only replacing works on every type. */
static bool scatter_reduction(xf_graph *g, xf_node *n, int64_t *op, xf_diag *d) {
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *r = xf_attr_str(n, "reduction", "none");
    for (*op = 0; *op < 5; (*op)++)
        if (strcmp(r, names[*op]) == 0) break;
    if (*op == 5) return xf_fail(d, g, n, "reduction '%s' is unknown (none, add, mul, max and min are)", r);
    int32_t t = xf_in(g, n, 0)->dtype;
    if (*op != 0 && t != XF_F32 && t != XF_F64 && !is_index_type(t))
        return xf_fail(d, g, n, "reduction '%s' on %s is not supported (float32, float64, int32 and int64 are)", r,
                       xf_dtype_name(t));
    return true;
}

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

int xf_lower_scatter_elements(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    int axis, count = 0;
    int64_t op, xst[XF_MAX_RANK];
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d) || !scatter_reduction(g, n, &op, d)) return -1;
    if (!has_output(g, n, 0)) return 0;
    xf_strides(x->rank, x->shape, xst);
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_scatter_elements);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(n->in[1]));
    xf_call_arg(c, xf_i(esize(idx)));
    xf_call_arg(c, xf_t(n->in[2]));
    xf_call_arg(c, xf_i(idx->rank));
    xf_call_arg(c, xf_ints(g, idx->rank, idx->shape));
    xf_call_arg(c, xf_ints(g, x->rank, xst));
    xf_call_arg(c, xf_i(axis));
    xf_call_arg(c, xf_i(x->shape[axis]));
    xf_call_arg(c, xf_i(xf_value_bytes(x)));
    xf_call_arg(c, xf_i(op));
    xf_call_arg(c, xf_i(x->dtype));
    xf_call_arg(c, xf_i(esize(x)));
    return count;
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

int xf_lower_scatter_nd(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    int q = (int)idx->shape[idx->rank - 1], count = 0;
    int64_t op, xst[XF_MAX_RANK];
    if (!scatter_reduction(g, n, &op, d)) return -1;
    if (!has_output(g, n, 0)) return 0;
    xf_strides(x->rank, x->shape, xst);
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_scatter_nd);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(n->in[1]));
    xf_call_arg(c, xf_i(esize(idx)));
    xf_call_arg(c, xf_t(n->in[2]));
    xf_call_arg(c, xf_i(prod(idx->shape, 0, idx->rank - 1)));
    xf_call_arg(c, xf_i(q));
    /* q == 0 updates all of data at once; the arrays then go unread but must not be empty in C */
    xf_call_arg(c, xf_ints(g, q > 0 ? q : 1, q > 0 ? x->shape : (int64_t[]){1}));
    xf_call_arg(c, xf_ints(g, q > 0 ? q : 1, q > 0 ? xst : (int64_t[]){1}));
    xf_call_arg(c, xf_i(prod(x->shape, q, x->rank)));
    xf_call_arg(c, xf_i(xf_value_bytes(x)));
    xf_call_arg(c, xf_i(op));
    xf_call_arg(c, xf_i(x->dtype));
    xf_call_arg(c, xf_i(esize(x)));
    return count;
}

/* ---- Einsum ---- */

/* Labels: a-z are 0-25, A-Z 26-51, and the dims an ellipsis stands for, counted from the right,
 * 52 on. An operand of one or two; a contraction has at most this many summed labels. */
#define EIN_LABELS (52 + XF_MAX_RANK)
#define EIN_MAX_SUM 16

typedef struct {
    int nout, out[XF_MAX_RANK];   /* the labels of the output's dims */
    int nsum, sum[EIN_MAX_SUM];   /* the labels summed over */
    int64_t dim[EIN_LABELS];      /* each label's size; -1 for labels not used */
    int64_t stride[2][EIN_LABELS];/* each operand's element stride along each label (see xf_einsum_f32) */
} einsum_geom;

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
static bool einsum_geometry(xf_graph *g, const xf_node *n, einsum_geom *p, xf_diag *d) {
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
    int lab[2][XF_MAX_RANK], rank[2], uses[EIN_LABELS] = {0}, nell = 0;
    for (int l = 0; l < EIN_LABELS; l++) p->dim[l] = -1;
    memset(p->stride, 0, sizeof p->stride);
    const char *t = buf;
    for (int k = 0; k < n->nin; k++) {
        xf_value *x = xf_in(g, n, k);
        if (!x) return xf_fail(d, g, n, "input %d is missing", k);
        if (x->dtype != xf_in(g, n, 0)->dtype) return xf_fail(d, g, n, "the operands' types differ");
        if (t > lhs_end) return xf_fail(d, g, n, "the equation names fewer operands than the %d inputs", n->nin);
        const char *end = t;
        while (end < lhs_end && *end != ',') end++;
        rank[k] = ein_term(g, n, t, end, x->rank, 0, lab[k], d);
        if (rank[k] < 0) return false;
        for (int i = 0; i < rank[k]; i++) {
            int l = lab[k][i];
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
    for (int k = 0; k < n->nin; k++) { /* a dim of 1 against a larger label broadcasts: stride 0 */
        xf_value *x = xf_in(g, n, k);
        int64_t xst[XF_MAX_RANK];
        xf_strides(x->rank, x->shape, xst);
        for (int i = 0; i < rank[k]; i++)
            if (x->shape[i] != 1) p->stride[k][lab[k][i]] += xst[i];
    }
    bool in_out[EIN_LABELS] = {false};
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
    for (int l = 0; l < EIN_LABELS; l++) {
        if (p->dim[l] < 0 || in_out[l]) continue;
        if (p->nsum == EIN_MAX_SUM)
            return xf_fail(d, g, n, "the equation sums over more than %d labels", EIN_MAX_SUM);
        p->sum[p->nsum++] = l;
    }
    return true;
}

bool xf_shape_einsum(xf_graph *g, xf_node *n, xf_diag *d) {
    einsum_geom p;
    if (!einsum_geometry(g, n, &p, d)) return false;
    int64_t shape[XF_MAX_RANK];
    for (int i = 0; i < p.nout; i++) shape[i] = p.dim[p.out[i]];
    xf_set_out(g, n, 0, xf_in(g, n, 0)->dtype, p.nout, shape);
    return true;
}

int xf_lower_einsum(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    einsum_geom p;
    if (!einsum_geometry(g, n, &p, d) || !need_type(g, n, xf_in(g, n, 0), XF_F32, XF_F64, d)) return -1;
    if (!has_output(g, n, 0)) return 0;
    int64_t dims[2][EIN_MAX_SUM], a[2][EIN_MAX_SUM], b[2][EIN_MAX_SUM]; /* [0] output dims, [1] summed */
    for (int i = 0; i < p.nout; i++) {
        dims[0][i] = p.dim[p.out[i]];
        a[0][i] = p.stride[0][p.out[i]];
        b[0][i] = p.stride[1][p.out[i]];
    }
    for (int i = 0; i < p.nsum; i++) {
        dims[1][i] = p.dim[p.sum[i]];
        a[1][i] = p.stride[0][p.sum[i]];
        b[1][i] = p.stride[1][p.sum[i]];
    }
    int count = 0;
    xf_call *c = xf_call_add(calls, &count, max,
                             xf_in(g, n, 0)->dtype == XF_F32 ? XF_K_xf_einsum_f32 : XF_K_xf_einsum_f64);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(in_handle(n, 1)));
    xf_call_arg(c, xf_i(p.nout));
    xf_call_arg(c, xf_ints(g, p.nout, dims[0]));
    xf_call_arg(c, xf_ints(g, p.nout, a[0]));
    xf_call_arg(c, xf_ints(g, p.nout, b[0]));
    xf_call_arg(c, xf_i(p.nsum));
    xf_call_arg(c, xf_ints(g, p.nsum, dims[1]));
    xf_call_arg(c, xf_ints(g, p.nsum, a[1]));
    xf_call_arg(c, xf_ints(g, p.nsum, b[1]));
    return count;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ---- */

/* input [N, C, d...], target [N, d...] (int32 or int64), optional weight [C]. reduction (default
 * mean) is 0 none, 1 sum, 2 mean, as xf_nll_loss takes it. */
static bool loss_params(xf_graph *g, xf_node *n, int64_t *reduction, xf_diag *d) {
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
    if (!loss_params(g, n, &reduction, d)) return false;
    if (reduction == 0) xf_set_out(g, n, 0, x->dtype, t->rank, t->shape);
    else xf_set_out(g, n, 0, x->dtype, 0, NULL);
    if (n->op == XF_OP_SCE_LOSS) xf_set_out(g, n, 1, x->dtype, x->rank, x->shape); /* log_prob */
    return true;
}

/* SoftmaxCrossEntropyLoss writes its log_prob output, when there is one, with xf_log_softmax and
 * takes the loss from it; without, the loss kernel computes the log-probabilities it needs. */
int xf_lower_loss(xf_graph *g, xf_node *n, xf_call *calls, int max, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *t = xf_in(g, n, 1);
    int64_t reduction;
    if (!loss_params(g, n, &reduction, d) || !need_type(g, n, x, XF_F32, XF_F32, d)) return -1;
    int64_t batch = x->shape[0], classes = x->shape[1], inner = prod(x->shape, 2, x->rank);
    int32_t log_prob = n->op == XF_OP_SCE_LOSS ? out_handle(n, 1) : -1;
    int count = 0;
    if (log_prob >= 0 && xf_value_numel(x) > 0) {
        xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_log_softmax);
        xf_call_arg(c, xf_t(log_prob));
        xf_call_arg(c, xf_t(n->in[0]));
        xf_call_arg(c, xf_i(batch));
        xf_call_arg(c, xf_i(classes));
        xf_call_arg(c, xf_i(inner));
    }
    if (!has_output(g, n, 0)) return count;
    const xf_attr *ii = xf_attr_get(n, "ignore_index");
    xf_call *c = xf_call_add(calls, &count, max, XF_K_xf_nll_loss);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(log_prob >= 0 ? log_prob : n->in[0]));
    xf_call_arg(c, xf_t(n->in[1]));
    xf_call_arg(c, xf_i(esize(t)));
    xf_call_arg(c, xf_t(in_handle(n, 2)));
    xf_call_arg(c, xf_i(batch));
    xf_call_arg(c, xf_i(classes));
    xf_call_arg(c, xf_i(inner));
    /* without ignore_index no label is ignored: INT64_MIN is never a valid one */
    xf_call_arg(c, xf_i(ii ? ii->i : INT64_MIN));
    xf_call_arg(c, xf_i(reduction));
    xf_call_arg(c, xf_i(n->op == XF_OP_SCE_LOSS && log_prob < 0));
    return count;
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
