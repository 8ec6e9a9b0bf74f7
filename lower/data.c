/* data.c — lowering of the data-movement and indexing ops (shape rules in ir/ops_data.c): the
 * gathers, the reshape family, Dropout, Transpose, Slice, Split, Concat, Expand, Pad, Trilu, and
 * xfc.Convert.
 *
 * None of these ops computes on elements, so every one becomes a handful of type-blind kernels
 * (runtime/data.c) that move bytes, given the element size. Shapes are static, so all the index
 * arithmetic — offsets, strides, clamped slice bounds — happens here at compile time; most ops end
 * as one strided copy whose contiguous dimensions have been merged, often a single memcpy. The
 * one op here that computes is xfc.Convert, the Cast of the narrow types, a call of
 * runtime/lowp.c. Shape, ConstantOfShape and Range produce their data during shape inference and
 * must never get here (xf_lower_none). */
#include "../ir/ops.h"
#include "lower.h"

static int64_t esize(const xf_value *v) { return (int64_t)xf_dtype_size(v->dtype); }

/* ---- the shared strided copy ---- */

/* One side of a copy: a tensor, an element offset into it, and its element strides. */
typedef struct {
    int32_t value;
    int64_t offset;
    int64_t strides[XF_MAX_RANK];
} side;

/* Emits y[i] = x[i] over shape as the cheapest call: nothing for an empty shape, xf_copy when both
 * sides are contiguous, xf_copy_strided otherwise. Dimensions of size 1 are dropped and neighbours
 * that are contiguous in both tensors merged, so the kernel walks as few dimensions as possible. */
static void emit_copy(xf_graph *g, xf_calls *out, const side *y, const side *x,
                      int rank, const int64_t *shape, int64_t es) {
    int64_t dims[XF_MAX_RANK], ys[XF_MAX_RANK], xs[XF_MAX_RANK];
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0) return;
        if (shape[i] == 1) continue;
        if (r > 0 && ys[r - 1] == y->strides[i] * shape[i] && xs[r - 1] == x->strides[i] * shape[i]) {
            dims[r - 1] *= shape[i];
            ys[r - 1] = y->strides[i];
            xs[r - 1] = x->strides[i];
            continue;
        }
        dims[r] = shape[i];
        ys[r] = y->strides[i];
        xs[r] = x->strides[i];
        r++;
    }
    if (r == 0 || (r == 1 && ys[0] == 1 && xs[0] == 1)) {
        XF_CALL(out, xf_copy, .y = xf_t_at(y->value, y->offset), .x = xf_t_at(x->value, x->offset),
                .nbytes = (r == 0 ? 1 : dims[0]) * es);
        return;
    }
    XF_CALL(out, xf_copy_strided, .y = xf_t_at(y->value, y->offset), .ystrides = xf_ints(g, r, ys),
            .x = xf_t_at(x->value, x->offset), .xstrides = xf_ints(g, r, xs), .rank = r,
            .shape = xf_ints(g, r, dims), .esize = es);
}

/* A side with the tensor's own row-major strides. */
static side dense(int32_t value, const xf_value *v) {
    side s = {.value = value};
    xf_strides(v->rank, v->shape, s.strides);
    return s;
}

/* ---- gathers ---- */

/* Checks constant indices now, so a mistake is reported against the model rather than found by the
 * generated code at run time. Index j addresses a dimension of size dims[j % ndims]. */
static bool check_const_indices(xf_graph *g, xf_node *n, const xf_value *idx, const int64_t *dims, int ndims,
                                xf_diag *d) {
    if (!idx->data) return true;
    for (int64_t j = 0, count = xf_value_numel(idx); j < count; j++) {
        int64_t k = xf_const_i64(idx, j), dim = dims[j % ndims];
        if (k < -dim || k >= dim)
            return xf_fail(d, g, n, "index %lld is out of range for a dimension of size %lld", (long long)k,
                           (long long)dim);
    }
    return true;
}

int xf_lower_gather(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1), *y = xf_out(g, n, 0);
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return -1;
    int64_t outer = xf_prod(x->shape, 0, axis), dim = x->shape[axis], inner = xf_prod(x->shape, axis + 1, x->rank);
    if (xf_value_numel(y) == 0) return 0;
    if (!check_const_indices(g, n, idx, &dim, 1, d)) return -1;
    if (idx->data && xf_value_numel(idx) == 1) { /* one known index: a strided copy of one slab, no index reads */
        int64_t k = xf_const_i64(idx, 0);
        side ys = {.value = n->out[0], .strides = {inner, 1}};
        side xs = {.value = n->in[0], .offset = (k < 0 ? k + dim : k) * inner, .strides = {dim * inner, 1}};
        emit_copy(g, out, &ys, &xs, 2, (int64_t[]){outer, inner}, esize(x));
        return 0;
    }
    XF_CALL(out, xf_gather, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .idx = xf_t(n->in[1]), .isize = esize(idx),
            .nidx = xf_value_numel(idx), .outer = outer, .dim = dim, .inner = inner, .esize = esize(x));
    return 0;
}

int xf_lower_gather_elements(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return -1;
    if (xf_value_numel(idx) == 0) return 0;
    if (!check_const_indices(g, n, idx, &x->shape[axis], 1, d)) return -1;
    int64_t xstrides[XF_MAX_RANK];
    xf_strides(x->rank, x->shape, xstrides);
    XF_CALL(out, xf_gather_elements, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .idx = xf_t(n->in[1]),
            .isize = esize(idx), .rank = idx->rank, .shape = xf_ints(g, idx->rank, idx->shape),
            .xstrides = xf_ints(g, x->rank, xstrides), .axis = axis, .dim = x->shape[axis], .esize = esize(x));
    return 0;
}

int xf_lower_gather_nd(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    int b = (int)xf_attr_int(n, "batch_dims", 0), q = (int)idx->shape[idx->rank - 1];
    if (xf_value_numel(xf_out(g, n, 0)) == 0) return 0;
    if (!check_const_indices(g, n, idx, &x->shape[b], q, d)) return -1;
    int64_t xstrides[XF_MAX_RANK], dims[XF_MAX_RANK] = {1}, strides[XF_MAX_RANK] = {1};
    xf_strides(x->rank, x->shape, xstrides);
    for (int t = 0; t < q; t++) {
        dims[t] = x->shape[b + t];
        strides[t] = xstrides[b + t];
    }
    /* q == 0 copies whole batch entries; the arrays then go unread but must not be empty in C */
    XF_CALL(out, xf_gather_nd, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .idx = xf_t(n->in[1]),
            .isize = esize(idx), .batch = xf_prod(x->shape, 0, b), .nidx = xf_prod(idx->shape, b, idx->rank - 1),
            .tuple_len = q, .xdims = xf_ints(g, q > 0 ? q : 1, dims), .xstrides = xf_ints(g, q > 0 ? q : 1, strides),
            .xbatch = xf_prod(x->shape, b, x->rank), .slice = xf_prod(x->shape, b + q, x->rank), .esize = esize(x));
    return 0;
}

/* ---- the reshape family, Dropout ---- */

/* Reshape, Flatten, Squeeze, Unsqueeze: the same bytes (usually the memory planner has the output
 * share the input's storage and no call remains). */
int xf_lower_view(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    (void)d;
    int64_t bytes = xf_value_bytes(xf_out(g, n, 0));
    if (bytes > 0) XF_CALL(out, xf_copy, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .nbytes = bytes);
    return 0;
}

/* Shape inference has refused Dropout in training mode: what remains is the identity. */
int xf_lower_dropout(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    (void)d;
    const xf_value *x = xf_in(g, n, 0);
    XF_CALL(out, xf_dropout, .y = xf_t(n->out[0]), .mask = xf_t(xf_out_handle(n, 1)), .x = xf_t(n->in[0]),
            .nbytes = xf_value_bytes(x), .n = xf_value_numel(x));
    return 0;
}

/* ---- Transpose, Slice, Split, Concat, Expand: one strided copy each ---- */

/* Walks the output in order (contiguous writes) and reads x through permuted strides. */
int xf_lower_transpose(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int perm[XF_MAX_RANK];
    if (!xf_transpose_perm(g, n, x->rank, perm, d)) return -1;
    side ys = dense(n->out[0], y), xs = {.value = n->in[0]};
    int64_t xstrides[XF_MAX_RANK];
    xf_strides(x->rank, x->shape, xstrides);
    for (int i = 0; i < x->rank; i++) xs.strides[i] = xstrides[perm[i]];
    emit_copy(g, out, &ys, &xs, y->rank, y->shape, esize(x));
    return 0;
}

int xf_lower_slice(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int64_t first[XF_MAX_RANK], step[XF_MAX_RANK], len[XF_MAX_RANK], xstrides[XF_MAX_RANK];
    if (!xf_slice_params(g, n, first, step, len, d)) return -1;
    xf_strides(x->rank, x->shape, xstrides);
    side ys = dense(n->out[0], y), xs = {.value = n->in[0]};
    for (int i = 0; i < x->rank; i++) {
        xs.offset += first[i] * xstrides[i];
        xs.strides[i] = step[i] * xstrides[i];
    }
    emit_copy(g, out, &ys, &xs, y->rank, y->shape, esize(x));
    return 0;
}

int xf_lower_split(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int axis;
    int64_t sizes[XF_MAX_PARTS], off = 0;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return -1;
    if (!xf_split_sizes(g, n, axis, sizes, d)) return -1;
    if (n->nout > out->max) {
        xf_fail(d, g, n, "Split into %d parts is not supported (at most %d)", n->nout, out->max);
        return -1;
    }
    side xs = dense(n->in[0], x);
    for (int k = 0; k < n->nout; k++) {
        xf_value *y = xf_out(g, n, k);
        xs.offset = off * xs.strides[axis];
        off += sizes[k];
        if (!y) continue; /* an unused output */
        side ys = dense(n->out[k], y);
        emit_copy(g, out, &ys, &xs, y->rank, y->shape, esize(x));
    }
    return 0;
}

/* One copy per input into its band of the output. */
int xf_lower_concat(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *y = xf_out(g, n, 0);
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), y->rank, &axis, d)) return -1;
    if (n->nin > out->max) {
        xf_fail(d, g, n, "Concat of %d inputs is not supported (at most %d)", n->nin, out->max);
        return -1;
    }
    side ys = dense(n->out[0], y);
    int64_t off = 0;
    for (int k = 0; k < n->nin; k++) {
        xf_value *x = xf_in(g, n, k);
        side xs = dense(n->in[k], x);
        ys.offset = off * ys.strides[axis];
        off += x->shape[axis];
        emit_copy(g, out, &ys, &xs, x->rank, x->shape, esize(x));
    }
    return 0;
}

int xf_lower_expand(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    (void)d;
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int64_t xstrides[XF_MAX_RANK];
    int lead = y->rank - x->rank;
    xf_strides(x->rank, x->shape, xstrides);
    side ys = dense(n->out[0], y), xs = {.value = n->in[0]};
    for (int i = 0; i < y->rank; i++) /* stride 0 repeats x along stretched or missing dims */
        xs.strides[i] = i < lead || x->shape[i - lead] == 1 ? 0 : xstrides[i - lead];
    emit_copy(g, out, &ys, &xs, y->rank, y->shape, esize(x));
    return 0;
}

/* ---- Pad, Trilu ---- */

/* Edge, reflect and wrap are one kernel. Constant mode fills the output, then copies the part of x
 * that survives cropping into place. */
int xf_lower_pad(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int64_t begin[XF_MAX_RANK], end[XF_MAX_RANK];
    int mode;
    if (!xf_pad_params(g, n, begin, end, &mode, d)) return -1;
    int64_t total = xf_value_numel(y);
    if (total == 0) return 0;
    if (mode != XF_PAD_CONSTANT && x->rank > 0) { /* a scalar has nothing to pad: the copy below */
        XF_CALL(out, xf_pad_edge, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .rank = x->rank,
                .yshape = xf_ints(g, y->rank, y->shape), .xshape = xf_ints(g, x->rank, x->shape),
                .pads = xf_ints(g, x->rank, begin), .mode = mode, .esize = esize(x));
        return 0;
    }
    /* without a constant_value input the fill is zero bytes */
    XF_CALL(out, xf_fill, .y = xf_t(n->out[0]), .value = xf_t(xf_in_handle(n, 2)), .n = total, .esize = esize(x));
    side ys = dense(n->out[0], y), xs = dense(n->in[0], x);
    int64_t shape[XF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        int64_t crop_begin = begin[i] < 0 ? -begin[i] : 0, crop_end = end[i] < 0 ? -end[i] : 0;
        shape[i] = x->shape[i] - crop_begin - crop_end;
        if (shape[i] <= 0) return 0; /* all padding */
        xs.offset += crop_begin * xs.strides[i];
        ys.offset += (begin[i] > 0 ? begin[i] : 0) * ys.strides[i];
    }
    emit_copy(g, out, &ys, &xs, x->rank, shape, esize(x));
    return 0;
}

int xf_lower_trilu(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *kv = xf_in(g, n, 1);
    if (x->rank < 2) {
        xf_fail(d, g, n, "input must have rank >= 2, not %d", x->rank);
        return -1;
    }
    if (kv && !xf_require_const(g, n, 1, d)) return -1;
    if (kv && (xf_value_numel(kv) != 1 || kv->dtype != XF_I64)) {
        xf_fail(d, g, n, "k must be one int64 known at compile time");
        return -1;
    }
    if (xf_value_numel(x) == 0) return 0;
    int64_t rows = x->shape[x->rank - 2], cols = x->shape[x->rank - 1], k = kv ? xf_const_i64(kv, 0) : 0;
    /* beyond the matrix a diagonal changes nothing; clamping keeps c - r < k free of overflow */
    k = k < -rows ? -rows : k > cols ? cols : k;
    XF_CALL(out, xf_trilu, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .batch = xf_prod(x->shape, 0, x->rank - 2),
            .rows = rows, .cols = cols, .diagonal = k, .upper = xf_attr_int(n, "upper", 1) != 0, .esize = esize(x));
    return 0;
}

/* ---- ops computed at compile time ---- */

int xf_lower_none(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    (void)out;
    xf_fail(d, g, n, "internal: op should have been folded");
    return -1;
}

/* ---- xfc.Convert: Cast and CastLike of the narrow types ---- */

int xf_lower_convert(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
    int64_t mode = xf_cast_round_mode(g, n, d);
    if (mode < 0) return -1;
    if (xf_value_numel(y) == 0) return 0;
    /* saturate came with opset 19 and the float8 types; its default 1 is what a Cast without it does */
    XF_CALL(out, xf_cast_lowp, .y = xf_t(n->out[0]), .ytype = y->dtype, .x = xf_t(n->in[0]), .xtype = x->dtype,
            .n = xf_value_numel(y), .saturate = xf_attr_int(n, "saturate", 1) != 0, .round_mode = mode);
    return 0;
}
