/* index.c — lowering of the selection, indexing and loss ops (shape rules in ir/ops_index.c):
 * ArgMax, ArgMin, Hardmax, TopK, Tile, Compress, OneHot, ScatterElements, ScatterND,
 * TensorScatter, TfIdfVectorizer, Einsum, NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 *
 * Each node becomes one call of its kernel in runtime/index.c (Tile: strided copies of
 * runtime/data.c; SoftmaxCrossEntropyLoss with a log_prob output: a log-softmax first). The
 * geometry the shape rule checked is read again through the functions ir/ops.h shares, and every
 * size and stride is settled here, so the kernels receive plain numbers. Ops that only compare or
 * move elements take any type; those that compute say which types they take. */
#include <string.h>

#include "../ir/ops.h"
#include "lower.h"

static int64_t esize(const xf_value *v) { return (int64_t)xf_dtype_size(v->dtype); }
static bool is_index_type(int32_t dtype) { return dtype == XF_I32 || dtype == XF_I64; }

/* v must be of type a or b (a == b: of that one type). */
static bool need_type(xf_graph *g, const xf_node *n, const xf_value *v, int32_t a, int32_t b, xf_diag *d) {
    if (v->dtype == a || v->dtype == b) return true;
    if (a == b)
        return xf_fail(d, g, n, "%s on %s is not supported (%s only)", xf_ops[n->op].name, xf_dtype_name(v->dtype),
                       xf_dtype_name(a));
    return xf_fail(d, g, n, "%s on %s is not supported (%s and %s are)", xf_ops[n->op].name,
                   xf_dtype_name(v->dtype), xf_dtype_name(a), xf_dtype_name(b));
}

/* ---- ArgMax, ArgMin ---- */

int xf_lower_arg_extreme(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    if (x->shape[axis] == 0) return xf_fail(d, g, n, "the axis is empty: there is no extreme to find"), -1;
    XF_CALL(out, xf_arg_extreme, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = xf_prod(x->shape, 0, axis),
            .n = x->shape[axis], .inner = xf_prod(x->shape, axis + 1, x->rank), .is_max = n->op == XF_OP_ARG_MAX,
            .select_last = xf_attr_int(n, "select_last_index", 0) != 0, .dtype = x->dtype);
    return 0;
}

/* ---- Hardmax ---- */

/* Along one axis (default -1), x viewed as [outer, n, inner]. (Before opset 13 Hardmax flattened x
 * at the axis; the frontend rewrites such nodes into this form.) */
int xf_lower_hardmax(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    if (!need_type(g, n, x, XF_F32, XF_F32, d)) return -1;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -1), x->rank, &axis, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_hardmax, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = xf_prod(x->shape, 0, axis),
            .n = x->shape[axis], .inner = xf_prod(x->shape, axis + 1, x->rank));
    return 0;
}

/* ---- TopK ---- */

/* The kernel always sorts, which sorted = 0 (order unspecified) allows. */
int xf_lower_top_k(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    int64_t k;
    if (!xf_top_k_geometry(g, n, &axis, &k, d)) return -1;
    if (!xf_has_output(g, n, 0) && !xf_has_output(g, n, 1)) return 0;
    if (!xf_out(g, n, 0) || !xf_out(g, n, 1)) return xf_fail(d, g, n, "outputs Values and Indices are both needed"), -1;
    XF_CALL(out, xf_top_k, .values = xf_t(n->out[0]), .indices = xf_t(n->out[1]), .x = xf_t(n->in[0]),
            .outer = xf_prod(x->shape, 0, axis), .n = x->shape[axis], .inner = xf_prod(x->shape, axis + 1, x->rank),
            .k = k, .largest = xf_attr_int(n, "largest", 1) != 0, .dtype = x->dtype, .esize = esize(x));
    return 0;
}

/* ---- Tile ---- */

/* Output dim i of size reps[i] * x.shape[i] is walked as two dims, [reps[i], x.shape[i]]: y steps
 * over the repeat by a whole copy of x's dim, x does not step at all. Dims of size 1 are dropped and
 * neighbours contiguous in both tensors merged; what remains beyond the copy kernel's 8 dims is
 * peeled into separate calls. */
int xf_lower_tile(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int64_t reps[XF_MAX_RANK], xst[XF_MAX_RANK], yst[XF_MAX_RANK];
    if (!xf_tile_repeats(g, n, reps, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
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
    if (r == 0 || (r == 1 && ys[0] == 1 && xs[0] == 1)) { /* nothing repeats: a plain copy */
        XF_CALL(out, xf_copy, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .nbytes = xf_value_bytes(y));
        return 0;
    }
    int peel = r > XF_MAX_RANK ? r - XF_MAX_RANK : 0, rank = r - peel;
    int64_t ncalls = xf_prod(dims, 0, peel), idx[2 * XF_MAX_RANK] = {0};
    if (ncalls > out->max)
        return xf_fail(d, g, n, "tiling needs %lld copies of %d dimensions, at most %d are supported",
                       (long long)ncalls, r, out->max), -1;
    for (int64_t t = 0; t < ncalls; t++) {
        int64_t yo = 0, xo = 0;
        for (int i = 0; i < peel; i++) {
            yo += idx[i] * ys[i];
            xo += idx[i] * xs[i];
        }
        XF_CALL(out, xf_copy_strided, .y = xf_t_at(n->out[0], yo), .ystrides = xf_ints(g, rank, ys + peel),
                .x = xf_t_at(n->in[0], xo), .xstrides = xf_ints(g, rank, xs + peel), .rank = rank,
                .shape = xf_ints(g, rank, dims + peel), .esize = esize(x));
        for (int i = peel - 1; i >= 0 && ++idx[i] == dims[i]; i--) idx[i] = 0;
    }
    return 0;
}

/* ---- Compress ---- */

int xf_lower_compress(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int64_t outer, dim, inner, kept;
    if (!xf_compress_view(g, n, &outer, &dim, &inner, &kept, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_compress, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .cond = xf_t(n->in[1]),
            .ncond = xf_in(g, n, 1)->shape[0], .outer = outer, .dim = dim, .inner = inner,
            .esize = esize(xf_in(g, n, 0)));
    return 0;
}

/* ---- OneHot ---- */

int xf_lower_one_hot(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *idx = xf_in(g, n, 0);
    int axis;
    int64_t depth;
    if (!xf_one_hot_geometry(g, n, &axis, &depth, d)) return -1;
    if (idx->dtype != XF_F32 && idx->dtype != XF_F64 && !is_index_type(idx->dtype))
        return xf_fail(d, g, n, "indices of type %s are not supported (float32, float64, int32 and int64 are)",
                       xf_dtype_name(idx->dtype)), -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_one_hot, .y = xf_t(n->out[0]), .indices = xf_t(n->in[0]), .values = xf_t(n->in[2]),
            .outer = xf_prod(idx->shape, 0, axis), .depth = depth, .inner = xf_prod(idx->shape, axis, idx->rank),
            .idx_dtype = idx->dtype, .esize = esize(xf_out(g, n, 0)));
    return 0;
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

int xf_lower_scatter_elements(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    int axis;
    int64_t op, xst[XF_MAX_RANK];
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d) || !scatter_reduction(g, n, &op, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_strides(x->rank, x->shape, xst);
    XF_CALL(out, xf_scatter_elements, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .idx = xf_t(n->in[1]),
            .isize = esize(idx), .updates = xf_t(n->in[2]), .rank = idx->rank,
            .shape = xf_ints(g, idx->rank, idx->shape), .ystrides = xf_ints(g, x->rank, xst), .axis = axis,
            .dim = x->shape[axis], .nbytes = xf_value_bytes(x), .op = op, .dtype = x->dtype, .esize = esize(x));
    return 0;
}

int xf_lower_scatter_nd(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    int q = (int)idx->shape[idx->rank - 1];
    int64_t op, xst[XF_MAX_RANK];
    if (!scatter_reduction(g, n, &op, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    xf_strides(x->rank, x->shape, xst);
    /* q == 0 updates all of data at once; the arrays then go unread but must not be empty in C */
    XF_CALL(out, xf_scatter_nd, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .idx = xf_t(n->in[1]),
            .isize = esize(idx), .updates = xf_t(n->in[2]), .tuples = xf_prod(idx->shape, 0, idx->rank - 1),
            .tuple_len = q, .ydims = xf_ints(g, q > 0 ? q : 1, q > 0 ? x->shape : (int64_t[]){1}),
            .ystrides = xf_ints(g, q > 0 ? q : 1, q > 0 ? xst : (int64_t[]){1}),
            .slice = xf_prod(x->shape, q, x->rank), .nbytes = xf_value_bytes(x), .op = op, .dtype = x->dtype,
            .esize = esize(x));
    return 0;
}

/* ---- TensorScatter ---- */

int xf_lower_tensor_scatter(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *upd = xf_in(g, n, 1);
    int axis;
    int64_t circular;
    if (!xf_tensor_scatter_geometry(g, n, &axis, &circular, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_tensor_scatter, .y = xf_t(n->out[0]), .cache = xf_t(n->in[0]), .update = xf_t(n->in[1]),
            .write_idx = xf_t(xf_in_handle(n, 2)), .batch = x->shape[0], .rows = xf_prod(x->shape, 1, axis),
            .max_len = x->shape[axis], .len = upd->shape[axis], .inner = xf_prod(x->shape, axis + 1, x->rank),
            .circular = circular, .esize = esize(x));
    return 0;
}

/* ---- TfIdfVectorizer ---- */

int xf_lower_tfidf(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    xf_tfidf_geom p;
    if (!xf_tfidf_geometry(g, n, &p, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    /* arrays are never empty in C: with no n-gram to match, one unread entry stands in */
    int32_t pool_len = p.pool_len > 0 ? (int32_t)p.pool_len : 1, ngrams = p.ngrams > 0 ? (int32_t)p.ngrams : 1;
    XF_CALL(out, xf_tfidf, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .isize = esize(x),
            .rows = x->rank == 2 ? x->shape[0] : 1, .cols = x->rank == 0 ? 1 : x->shape[x->rank - 1],
            .pool = xf_ints(g, pool_len, p.pool), .gram_len = xf_ints(g, ngrams, p.len),
            .gram_col = xf_ints(g, ngrams, p.col), .ngrams = p.ngrams, .max_skip = p.max_skip,
            .out_size = p.out_size, .mode = p.mode, .weights = xf_t(xf_in_handle(n, 1)));
    return 0;
}

/* ---- Einsum ---- */

/* Each operand reaches a label through the sum of its strides along the dims that carry it: 0 where
 * it lacks the label or has it as 1 (broadcast), both strides for a repeated label (a diagonal). */
static void einsum_strides(xf_graph *g, const xf_node *n, const xf_einsum_geom *p, int k, int64_t *stride) {
    memset(stride, 0, sizeof(int64_t) * XF_EINSUM_LABELS);
    xf_value *x = xf_in(g, n, k);
    if (!x) return;
    int64_t xst[XF_MAX_RANK];
    xf_strides(x->rank, x->shape, xst);
    for (int i = 0; i < p->rank[k]; i++)
        if (x->shape[i] != 1) stride[p->label[k][i]] += xst[i];
}

int xf_lower_einsum(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_einsum_geom p;
    xf_value *a = xf_in(g, n, 0);
    if (!xf_einsum_geometry(g, n, &p, d) || !need_type(g, n, a, XF_F32, XF_F64, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t stride[2][XF_EINSUM_LABELS];
    einsum_strides(g, n, &p, 0, stride[0]);
    einsum_strides(g, n, &p, 1, stride[1]);
    /* [0] along the output dims, [1] along the summed ones */
    int64_t dims[2][XF_EINSUM_MAX_SUM], a_step[2][XF_EINSUM_MAX_SUM], b_step[2][XF_EINSUM_MAX_SUM];
    for (int i = 0; i < p.nout; i++) {
        dims[0][i] = p.dim[p.out[i]];
        a_step[0][i] = stride[0][p.out[i]];
        b_step[0][i] = stride[1][p.out[i]];
    }
    for (int i = 0; i < p.nsum; i++) {
        dims[1][i] = p.dim[p.sum[i]];
        a_step[1][i] = stride[0][p.sum[i]];
        b_step[1][i] = stride[1][p.sum[i]];
    }
    XF_CALL(out, xf_einsum, .y = xf_t(n->out[0]), .a = xf_t(n->in[0]), .b = xf_t(xf_in_handle(n, 1)),
            .dtype = a->dtype, .nout = p.nout, .out_dims = xf_ints(g, p.nout, dims[0]),
            .a_out = xf_ints(g, p.nout, a_step[0]), .b_out = xf_ints(g, p.nout, b_step[0]), .nsum = p.nsum,
            .sum_dims = xf_ints(g, p.nsum, dims[1]), .a_sum = xf_ints(g, p.nsum, a_step[1]),
            .b_sum = xf_ints(g, p.nsum, b_step[1]));
    return 0;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ---- */

/* SoftmaxCrossEntropyLoss writes its log_prob output, when there is one, with xf_log_softmax and
 * takes the loss from it; without, the loss kernel computes the log-probabilities it needs. */
int xf_lower_loss(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *t = xf_in(g, n, 1);
    int64_t reduction;
    if (!xf_loss_geometry(g, n, &reduction, d) || !need_type(g, n, x, XF_F32, XF_F32, d)) return -1;
    int64_t batch = x->shape[0], classes = x->shape[1], inner = xf_prod(x->shape, 2, x->rank);
    int32_t log_prob = n->op == XF_OP_SCE_LOSS ? xf_out_handle(n, 1) : -1;
    if (log_prob >= 0 && xf_value_numel(x) > 0)
        XF_CALL(out, xf_log_softmax, .y = xf_t(log_prob), .x = xf_t(n->in[0]), .outer = batch, .n = classes,
                .inner = inner);
    if (!xf_has_output(g, n, 0)) return 0;
    const xf_attr *ii = xf_attr_get(n, "ignore_index");
    /* without ignore_index no label is ignored: INT64_MIN is never a valid one */
    XF_CALL(out, xf_nll_loss, .y = xf_t(n->out[0]), .x = xf_t(log_prob >= 0 ? log_prob : n->in[0]),
            .target = xf_t(n->in[1]), .isize = esize(t), .weight = xf_t(xf_in_handle(n, 2)), .batch = batch,
            .classes = classes, .inner = inner, .ignore_index = ii ? ii->i : INT64_MIN, .reduction = reduction,
            .from_scores = n->op == XF_OP_SCE_LOSS && log_prob < 0);
    return 0;
}
