/* ops_data.c — shape inference of the data-movement and indexing ops: the gathers, the reshape
 * family, Dropout, Transpose, Slice, Split, Concat, Expand, Pad, xfc.Convert, and the shape
 * computations Shape, ConstantOfShape and Range. (Trilu keeps its input's shape: xf_shape_same.)
 *
 * Shape, ConstantOfShape and Range produce their data here, during shape inference, and never
 * reach the generated code. The others are lowered in lower/data.c, which reads the parameters
 * worked out here (slice bounds, split sizes, pads, the permutation) through the functions that
 * ops.h declares for it. */
#include <math.h>
#include <string.h>

#include "ops.h"

/* Compile-time data larger than this is surely a bad model, not a useful constant. */
#define MAX_CONST_BYTES ((int64_t)1 << 30)
static bool is_index_type(int32_t dtype) { return dtype == XF_I32 || dtype == XF_I64; }

/* ---- gathers ---- */

bool xf_shape_gather(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    if (!x || !idx) return xf_fail(d, g, n, "expects inputs data and indices");
    if (!is_index_type(idx->dtype))
        return xf_fail(d, g, n, "indices must be int32 or int64, not %s", xf_dtype_name(idx->dtype));
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
    int rank = x->rank - 1 + idx->rank;
    if (rank > XF_MAX_RANK) return xf_fail(d, g, n, "output rank %d exceeds %d", rank, XF_MAX_RANK);
    int64_t shape[XF_MAX_RANK];
    int r = 0;
    for (int i = 0; i < axis; i++) shape[r++] = x->shape[i];
    for (int i = 0; i < idx->rank; i++) shape[r++] = idx->shape[i];
    for (int i = axis + 1; i < x->rank; i++) shape[r++] = x->shape[i];
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}


bool xf_shape_gather_elements(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    if (!x || !idx) return xf_fail(d, g, n, "expects inputs data and indices");
    if (!is_index_type(idx->dtype))
        return xf_fail(d, g, n, "indices must be int32 or int64, not %s", xf_dtype_name(idx->dtype));
    if (x->rank < 1 || idx->rank != x->rank)
        return xf_fail(d, g, n, "data and indices must have the same rank >= 1 (got %d and %d)", x->rank,
                       idx->rank);
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
    for (int i = 0; i < x->rank; i++)
        if (i != axis && idx->shape[i] > x->shape[i])
            return xf_fail(d, g, n, "indices dimension %d (%lld) exceeds the data's (%lld)", i,
                           (long long)idx->shape[i], (long long)x->shape[i]);
    xf_set_out(g, n, 0, x->dtype, idx->rank, idx->shape);
    return true;
}

/* GatherND: indices [B..., M..., q] pick slices of data [B..., D...] (B the batch_dims leading
 * dimensions shared by both); the output is indices' shape without q, then data's dims after the
 * q indexed ones. */
bool xf_shape_gather_nd(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *idx = xf_in(g, n, 1);
    if (!x || !idx) return xf_fail(d, g, n, "expects inputs data and indices");
    if (idx->dtype != XF_I64) return xf_fail(d, g, n, "indices must be int64, not %s", xf_dtype_name(idx->dtype));
    int64_t b = xf_attr_int(n, "batch_dims", 0);
    if (x->rank < 1 || idx->rank < 1) return xf_fail(d, g, n, "data and indices must have rank >= 1");
    if (b < 0 || b >= x->rank || b >= idx->rank)
        return xf_fail(d, g, n, "batch_dims %lld must be less than both ranks (%d and %d)", (long long)b, x->rank,
                       idx->rank);
    int64_t q = idx->shape[idx->rank - 1];
    if (q < 0 || b + q > x->rank)
        return xf_fail(d, g, n, "the last indices dimension (%lld) exceeds the data's rank %d minus batch_dims",
                       (long long)q, x->rank);
    for (int i = 0; i < b; i++)
        if (x->shape[i] != idx->shape[i])
            return xf_fail(d, g, n, "batch dimension %d differs between data (%lld) and indices (%lld)", i,
                           (long long)x->shape[i], (long long)idx->shape[i]);
    int rank = idx->rank - 1 + x->rank - (int)(b + q);
    if (rank > XF_MAX_RANK) return xf_fail(d, g, n, "output rank %d exceeds %d", rank, XF_MAX_RANK);
    int64_t shape[XF_MAX_RANK];
    int r = 0;
    for (int i = 0; i < idx->rank - 1; i++) shape[r++] = idx->shape[i];
    for (int i = (int)(b + q); i < x->rank; i++) shape[r++] = x->shape[i];
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}

/* ---- the reshape family: new shape, same bytes ---- */

bool xf_shape_reshape(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *s = xf_in(g, n, 1);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    if (s && !xf_require_const(g, n, 1, d)) return false;
    if (!s && !xf_attr_get(n, "shape")) return xf_fail(d, g, n, "the target shape is missing");
    int64_t shape[XF_MAX_RANK];
    int rank = xf_node_ints(g, n, "shape", 1, shape, XF_MAX_RANK, d);
    if (rank < 0) return false;
    bool allowzero = xf_attr_int(n, "allowzero", 0) != 0;
    int infer = -1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= x->rank)
                return xf_fail(d, g, n, "shape entry %d is 0 (copy the input's) but the input has rank %d", i,
                               x->rank);
            shape[i] = x->shape[i];
        } else if (shape[i] == -1) {
            if (infer >= 0) return xf_fail(d, g, n, "the shape has more than one -1");
            infer = i;
        } else if (shape[i] < 0) {
            return xf_fail(d, g, n, "shape entry %d is %lld; only -1 may be negative", i, (long long)shape[i]);
        }
    }
    int64_t numel = xf_value_numel(x), known = 1;
    for (int i = 0; i < rank; i++)
        if (i != infer) {
            if (shape[i] != 0 && known > INT64_MAX / shape[i]) return xf_fail(d, g, n, "the shape is too large");
            known *= shape[i];
        }
    if (infer >= 0) {
        if (known == 0 || numel % known != 0)
            return xf_fail(d, g, n, "cannot infer the -1 in the shape: %lld elements do not divide by %lld",
                           (long long)numel, (long long)known);
        shape[infer] = numel / known;
    } else if (known != numel) {
        char a[128];
        return xf_fail(d, g, n, "cannot reshape %s (%lld elements) to %lld elements", xf_shape_str(x, a, sizeof a),
                       (long long)numel, (long long)known);
    }
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}

bool xf_shape_flatten(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    int64_t axis = xf_attr_int(n, "axis", 1);
    if (axis < -x->rank || axis > x->rank)
        return xf_fail(d, g, n, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    int64_t shape[2] = {xf_prod(x->shape, 0, (int)axis), xf_prod(x->shape, (int)axis, x->rank)};
    xf_set_out(g, n, 0, x->dtype, 2, shape);
    return true;
}

/* Reads the axes of Squeeze/Unsqueeze (attribute before opset 13, input after) normalised against
 * rank, marking them in `marked`. Returns their count, or -1 after reporting. */
static int read_axes(xf_graph *g, xf_node *n, int rank, bool *marked, xf_diag *d) {
    int64_t axes[XF_MAX_RANK];
    int count = xf_node_ints(g, n, "axes", 1, axes, XF_MAX_RANK, d);
    for (int i = 0; i < count; i++) {
        int a;
        if (!xf_axis(g, n, axes[i], rank, &a, d)) return -1;
        if (marked[a]) return xf_fail(d, g, n, "axis %lld is given twice", (long long)axes[i]), -1;
        marked[a] = true;
    }
    return count;
}

bool xf_shape_squeeze(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    bool marked[XF_MAX_RANK] = {false};
    int count = read_axes(g, n, x->rank, marked, d);
    if (count < 0) return false;
    int64_t shape[XF_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (count == 0 ? x->shape[i] == 1 : marked[i]) {
            if (x->shape[i] != 1)
                return xf_fail(d, g, n, "cannot squeeze axis %d of size %lld", i, (long long)x->shape[i]);
            continue;
        }
        shape[rank++] = x->shape[i];
    }
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}

bool xf_shape_unsqueeze(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    int64_t axes[XF_MAX_RANK];
    int count = xf_node_ints(g, n, "axes", 1, axes, XF_MAX_RANK, d);
    if (count < 0) return false;
    if (count == 0) return xf_fail(d, g, n, "the axes are missing");
    int rank = x->rank + count;
    if (rank > XF_MAX_RANK) return xf_fail(d, g, n, "output rank %d exceeds %d", rank, XF_MAX_RANK);
    bool marked[XF_MAX_RANK] = {false};
    if (read_axes(g, n, rank, marked, d) < 0) return false;
    int64_t shape[XF_MAX_RANK];
    for (int i = 0, k = 0; i < rank; i++) shape[i] = marked[i] ? 1 : x->shape[k++];
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}

/* ---- Dropout ----
 * At inference Dropout is the identity (and its mask all true). In training mode with a ratio above
 * zero it draws random numbers, which compiled code cannot reproduce, so that is refused; to tell,
 * training_mode (input 2, opset 12 on) must be known at compile time (xf_require_const suggests
 * --bind when it is a graph input), and then ratio (input 1) too. Before opset 12 there is no
 * training mode: is_test and the ratio attribute only ever mattered to training. */
static bool dropout_is_identity(xf_graph *g, xf_node *n, xf_diag *d) {
    if (n->nin < 3 || n->in[2] < 0) return true;
    if (!xf_require_const(g, n, 2, d)) return false;
    if (xf_const_f64(xf_in(g, n, 2), 0) == 0.0) return true;
    double ratio = 0.5; /* the default */
    if (n->nin > 1 && n->in[1] >= 0) {
        if (!xf_require_const(g, n, 1, d)) return false;
        ratio = xf_const_f64(xf_in(g, n, 1), 0);
    }
    if (ratio != 0.0)
        return xf_fail(d, g, n, "Dropout in training mode with ratio %g draws random numbers; xfc compiles "
                       "inference (training_mode false, or ratio 0)", ratio);
    return true;
}

bool xf_shape_dropout(xf_graph *g, xf_node *n, xf_diag *d) {
    const xf_value *x = xf_in(g, n, 0);
    if (!dropout_is_identity(g, n, d)) return false;
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    if (n->nout > 1 && n->out[1] >= 0) xf_set_out(g, n, 1, XF_BOOL, x->rank, x->shape);
    return true;
}

/* ---- Transpose ---- */

/* The permutation: the perm attribute, or reversed dimensions by default. */
bool xf_transpose_perm(xf_graph *g, const xf_node *n, int rank, int *perm, xf_diag *d) {
    const xf_attr *a = xf_attr_get(n, "perm");
    if (!a) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return true;
    }
    if (a->type != XF_ATTR_INTS || a->n != rank)
        return xf_fail(d, g, n, "perm must list %d axes", rank);
    bool seen[XF_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        int64_t p = a->ints[i];
        if (p < 0 || p >= rank || seen[p]) return xf_fail(d, g, n, "perm is not a permutation of 0..%d", rank - 1);
        seen[p] = true;
        perm[i] = (int)p;
    }
    return true;
}

bool xf_shape_transpose(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    int perm[XF_MAX_RANK];
    if (!xf_transpose_perm(g, n, x->rank, perm, d)) return false;
    int64_t shape[XF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) shape[i] = x->shape[perm[i]];
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- Slice ---- */

/* Per dimension of x: the first element taken, the step, and the count, after ONNX's rules: negative
 * starts/ends count from the end, then are clamped to the dimension ([0, dim] for positive steps,
 * [0, dim-1] and [-1, dim-1] for negative ones). The lists are inputs 1 to 4, constant; the
 * frontend moves the attributes of opsets before 10 there. */
bool xf_slice_params(xf_graph *g, const xf_node *n, int64_t *first, int64_t *step, int64_t *len, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int64_t starts[XF_MAX_RANK], ends[XF_MAX_RANK], axes[XF_MAX_RANK], steps[XF_MAX_RANK];
    if (!xf_in(g, n, 1) || !xf_in(g, n, 2)) return xf_fail(d, g, n, "expects inputs data, starts and ends");
    int ns = xf_node_ints(g, n, NULL, 1, starts, XF_MAX_RANK, d);
    int ne = ns < 0 ? -1 : xf_node_ints(g, n, NULL, 2, ends, XF_MAX_RANK, d);
    int na = ne < 0 ? -1 : xf_node_ints(g, n, NULL, 3, axes, XF_MAX_RANK, d);
    int nst = na < 0 ? -1 : xf_node_ints(g, n, NULL, 4, steps, XF_MAX_RANK, d);
    if (nst < 0) return false;
    if (ns != ne) return xf_fail(d, g, n, "starts and ends have different lengths (%d and %d)", ns, ne);
    if (na != 0 && na != ns) return xf_fail(d, g, n, "axes has %d entries but starts has %d", na, ns);
    if (nst != 0 && nst != ns) return xf_fail(d, g, n, "steps has %d entries but starts has %d", nst, ns);
    if (na == 0 && ns > x->rank) return xf_fail(d, g, n, "starts has %d entries for rank %d", ns, x->rank);
    bool seen[XF_MAX_RANK] = {false};
    for (int i = 0; i < x->rank; i++) {
        first[i] = 0;
        step[i] = 1;
        len[i] = x->shape[i];
    }
    for (int k = 0; k < ns; k++) {
        int a = k;
        if (na && !xf_axis(g, n, axes[k], x->rank, &a, d)) return false;
        if (seen[a]) return xf_fail(d, g, n, "axis %d is sliced twice", a);
        seen[a] = true;
        int64_t dim = x->shape[a], s = nst ? steps[k] : 1, b = starts[k], e = ends[k], count;
        if (s == 0) return xf_fail(d, g, n, "a step of 0 is not allowed");
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        if (s > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            count = e > b ? (e - b - 1) / s + 1 : 0;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            count = b > e ? (b - e - 1) / -(s < -dim ? -dim : s) + 1 : 0;
        }
        /* with at most one element the step is irrelevant; 1 keeps huge steps out of stride products */
        first[a] = count > 0 ? b : 0;
        step[a] = count > 1 ? s : 1;
        len[a] = count;
    }
    return true;
}

bool xf_shape_slice(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    int64_t first[XF_MAX_RANK], step[XF_MAX_RANK], len[XF_MAX_RANK];
    if (!xf_slice_params(g, n, first, step, len, d)) return false;
    xf_set_out(g, n, 0, x->dtype, x->rank, len);
    return true;
}

/* ---- Split and Concat ---- */

/* Sizes of Split's parts along axis: the split input (opset 13+) or attribute, else num_outputs
 * (opset 18) or the output count, in equal parts with a smaller last one when dim does not divide. */
bool xf_split_sizes(xf_graph *g, const xf_node *n, int axis, int64_t *sizes, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int parts = n->nout;
    if (parts > XF_MAX_PARTS)
        return xf_fail(d, g, n, "%d outputs are more than the %d supported", parts, XF_MAX_PARTS);
    int count = xf_node_ints(g, n, "split", 1, sizes, XF_MAX_PARTS, d);
    if (count < 0) return false;
    int64_t dim = x->shape[axis];
    if (count > 0) {
        if (count != parts) return xf_fail(d, g, n, "split has %d sizes for %d outputs", count, parts);
        int64_t sum = 0;
        for (int i = 0; i < parts; i++) {
            if (sizes[i] < 0 || sizes[i] > dim) return xf_fail(d, g, n, "split size %lld is invalid", (long long)sizes[i]);
            sum += sizes[i];
        }
        if (sum != dim)
            return xf_fail(d, g, n, "split sizes add up to %lld, not the axis size %lld", (long long)sum, (long long)dim);
        return true;
    }
    int64_t num = xf_attr_int(n, "num_outputs", parts);
    if (num != parts) return xf_fail(d, g, n, "num_outputs is %lld but the node has %d outputs", (long long)num, parts);
    if (parts < 1) return xf_fail(d, g, n, "has no outputs");
    int64_t chunk = (dim + parts - 1) / parts;
    for (int i = 0; i < parts; i++) {
        int64_t left = dim - chunk * i;
        sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
    }
    return true;
}

bool xf_shape_split(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    int axis;
    int64_t sizes[XF_MAX_PARTS], shape[XF_MAX_RANK];
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x->rank, &axis, d)) return false;
    if (!xf_split_sizes(g, n, axis, sizes, d)) return false;
    memcpy(shape, x->shape, sizeof shape);
    for (int k = 0; k < n->nout; k++) {
        shape[axis] = sizes[k];
        xf_set_out(g, n, k, x->dtype, x->rank, shape);
    }
    return true;
}

bool xf_shape_concat(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x0 = xf_in(g, n, 0);
    if (!x0) return xf_fail(d, g, n, "expects at least one input");
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", 0), x0->rank, &axis, d)) return false;
    int64_t shape[XF_MAX_RANK];
    memcpy(shape, x0->shape, sizeof shape);
    shape[axis] = 0;
    for (int k = 0; k < n->nin; k++) {
        xf_value *x = xf_in(g, n, k);
        if (!x) return xf_fail(d, g, n, "input %d is missing", k);
        if (x->dtype != x0->dtype)
            return xf_fail(d, g, n, "input types differ (%s and %s)", xf_dtype_name(x0->dtype), xf_dtype_name(x->dtype));
        if (x->rank != x0->rank) return xf_fail(d, g, n, "input ranks differ (%d and %d)", x0->rank, x->rank);
        for (int i = 0; i < x->rank; i++)
            if (i != axis && x->shape[i] != x0->shape[i]) {
                char a[128], b[128];
                return xf_fail(d, g, n, "shapes %s and %s differ outside axis %d", xf_shape_str(x0, a, sizeof a),
                               xf_shape_str(x, b, sizeof b), axis);
            }
        if (__builtin_add_overflow(shape[axis], x->shape[axis], &shape[axis]))
            return xf_fail(d, g, n, "the output is too large: dimension %d overflows", axis);
    }
    xf_set_out(g, n, 0, x0->dtype, x0->rank, shape);
    return true;
}

/* ---- Expand ---- */

bool xf_shape_expand(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *s = xf_in(g, n, 1);
    if (!x || !s) return xf_fail(d, g, n, "expects inputs data and shape");
    if (!xf_require_const(g, n, 1, d)) return false;
    int64_t want[XF_MAX_RANK], shape[XF_MAX_RANK];
    int count = xf_node_ints(g, n, NULL, 1, want, XF_MAX_RANK, d);
    if (count < 0) return false;
    int rank = count > x->rank ? count : x->rank;
    /* bidirectional broadcasting: dims align on the right and a 1 on either side stretches */
    for (int i = 0; i < rank; i++) {
        int xi = i - (rank - x->rank), si = i - (rank - count);
        int64_t a = xi >= 0 ? x->shape[xi] : 1, b = si >= 0 ? want[si] : 1;
        if (a != b && a != 1 && b != 1) {
            char str[128];
            return xf_fail(d, g, n, "cannot expand %s: dimension %d is %lld, the shape asks %lld",
                           xf_shape_str(x, str, sizeof str), i, (long long)a, (long long)b);
        }
        if (b < 0) return xf_fail(d, g, n, "the shape has a negative dimension %lld", (long long)b);
        shape[i] = a == 1 ? b : a;
    }
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}

/* ---- Pad ---- */

/* Leading and trailing pad of each dimension (negative crops) and the mode. Pads and axes come from
 * inputs (opset 11+, axes from 18) or the pads attribute. */
bool xf_pad_params(xf_graph *g, const xf_node *n, int64_t *begin, int64_t *end, int *mode, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int64_t pads[2 * XF_MAX_RANK], axes[XF_MAX_RANK];
    int np = xf_node_ints(g, n, "pads", 1, pads, 2 * XF_MAX_RANK, d);
    int na = np < 0 ? -1 : xf_node_ints(g, n, NULL, 3, axes, XF_MAX_RANK, d);
    if (na < 0) return false;
    if (na == 0) {
        for (int i = 0; i < x->rank; i++) axes[i] = i;
        na = x->rank;
    }
    if (np != 2 * na) return xf_fail(d, g, n, "pads has %d entries; %d expected", np, 2 * na);
    for (int i = 0; i < x->rank; i++) begin[i] = end[i] = 0;
    for (int k = 0; k < na; k++) {
        int a;
        if (!xf_axis(g, n, axes[k], x->rank, &a, d)) return false;
        begin[a] = pads[k];
        end[a] = pads[k + na];
        if (begin[a] < -INT32_MAX || begin[a] > INT32_MAX || end[a] < -INT32_MAX || end[a] > INT32_MAX)
            return xf_fail(d, g, n, "pads of dimension %d are out of range", a);
        if (x->shape[a] + begin[a] + end[a] < 0)
            return xf_fail(d, g, n, "pads crop more than dimension %d holds", a);
    }
    const char *m = xf_attr_str(n, "mode", "constant");
    if (strcmp(m, "constant") == 0) *mode = XF_PAD_CONSTANT;
    else if (strcmp(m, "edge") == 0) *mode = XF_PAD_EDGE;
    else if (strcmp(m, "reflect") == 0) *mode = XF_PAD_REFLECT;
    else if (strcmp(m, "wrap") == 0) *mode = XF_PAD_WRAP;
    else return xf_fail(d, g, n, "mode '%s' is not supported (constant, edge, reflect, wrap are)", m);
    return true;
}

bool xf_shape_pad(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *value = xf_in(g, n, 2);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    int64_t begin[XF_MAX_RANK], end[XF_MAX_RANK], shape[XF_MAX_RANK];
    int mode;
    if (!xf_pad_params(g, n, begin, end, &mode, d)) return false;
    if (value && (value->dtype != x->dtype || xf_value_numel(value) != 1))
        return xf_fail(d, g, n, "constant_value must be one %s", xf_dtype_name(x->dtype));
    if (!value && xf_attr_float(n, "value", 0.0f) != 0.0f)
        return xf_fail(d, g, n, "a nonzero 'value' attribute (opset < 11) is not supported");
    for (int i = 0; i < x->rank; i++) {
        shape[i] = x->shape[i] + begin[i] + end[i];
        if (mode != XF_PAD_CONSTANT && x->shape[i] == 0 && shape[i] > 0)
            return xf_fail(d, g, n, "cannot pad the empty dimension %d in this mode", i);
    }
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- shape computations, evaluated here since every shape is static ---- */

/* Gives output 0 of n room for numel elements of es bytes (*data stays NULL when the output is
 * unused). Refuses absurd sizes: they come from bad models and would exhaust memory. */
static bool out_data(xf_graph *g, xf_node *n, int64_t numel, int64_t es, void **data, xf_diag *d) {
    *data = NULL;
    if (numel < 0 || numel > MAX_CONST_BYTES / es)
        return xf_fail(d, g, n, "the result (%lld elements) is too large to compute at compile time",
                       (long long)numel);
    xf_value *y = xf_out(g, n, 0);
    if (y) y->data = *data = xf_alloc(g->arena, (size_t)(numel * es) + 1);
    return true;
}

bool xf_shape_shape(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects a data input");
    int64_t r = x->rank, start = xf_attr_int(n, "start", 0), end = xf_attr_int(n, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    xf_set_out(g, n, 0, XF_I64, 1, &len);
    void *data;
    if (!out_data(g, n, len, 8, &data, d)) return false;
    for (int64_t i = 0; data && i < len; i++) ((int64_t *)data)[i] = x->shape[start + i];
    return true;
}

bool xf_shape_constant_of_shape(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *s = xf_in(g, n, 0);
    if (!s) return xf_fail(d, g, n, "expects a shape input");
    if (!xf_require_const(g, n, 0, d)) return false;
    int64_t shape[XF_MAX_RANK];
    int rank = xf_node_ints(g, n, NULL, 0, shape, XF_MAX_RANK, d);
    if (rank < 0) return false;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) return xf_fail(d, g, n, "the shape has a negative dimension %lld", (long long)shape[i]);
        if (shape[i] > 0 && numel > MAX_CONST_BYTES / shape[i])
            return xf_fail(d, g, n, "the result is too large to compute at compile time");
        numel *= shape[i];
    }
    /* the value attribute is a one-element tensor that also gives the type; float 0 by default */
    const xf_attr *a = xf_attr_get(n, "value");
    const xf_value *v = a && a->type == XF_ATTR_TENSOR && a->tensor >= 0 ? &g->values[a->tensor] : NULL;
    if (a && (!v || !v->data || xf_value_numel(v) != 1))
        return xf_fail(d, g, n, "the value attribute must be a tensor of one element");
    int32_t dtype = v ? v->dtype : XF_F32;
    int64_t es = (int64_t)xf_dtype_size(dtype);
    if (es == 0 || xf_dtype_is_packed(dtype)) /* packed: one element is half a byte */
        return xf_fail(d, g, n, "value type %s is not supported", xf_dtype_name(dtype));
    xf_set_out(g, n, 0, dtype, rank, shape);
    void *data;
    if (!out_data(g, n, numel, es, &data, d)) return false;
    if (data && v) /* without a value the zeroed allocation already holds float 0 */
        for (int64_t i = 0; i < numel; i++) memcpy((char *)data + i * es, v->data, (size_t)es);
    return true;
}

/* Range: max(ceil((limit - start) / delta), 0) values start, start + delta, ... Floats accumulate
 * in the element type (v += delta), as onnxruntime and ONNX's own function body do; start + i * delta
 * would differ from their results in the last bits. */
bool xf_shape_range(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *in[3];
    for (int k = 0; k < 3; k++) {
        in[k] = xf_in(g, n, k);
        if (!in[k]) return xf_fail(d, g, n, "expects inputs start, limit and delta");
        if (!xf_require_const(g, n, k, d)) return false;
        if (xf_value_numel(in[k]) != 1) return xf_fail(d, g, n, "start, limit and delta must be scalars");
        if (in[k]->dtype != in[0]->dtype) return xf_fail(d, g, n, "start, limit and delta must have one type");
    }
    int32_t dtype = in[0]->dtype;
    if (dtype != XF_F32 && dtype != XF_F64 && dtype != XF_I16 && dtype != XF_I32 && dtype != XF_I64)
        return xf_fail(d, g, n, "type %s is not supported (float32, float64, int16, int32, int64 are)",
                       xf_dtype_name(dtype));
    bool is_float = xf_dtype_is_float(dtype);
    double fstart = xf_const_f64(in[0], 0), flimit = xf_const_f64(in[1], 0), fdelta = xf_const_f64(in[2], 0);
    int64_t start = 0, limit = 0, delta = 0; /* not read from floats: 1e30 has no int64 */
    if (!is_float) {
        start = xf_const_i64(in[0], 0);
        limit = xf_const_i64(in[1], 0);
        delta = xf_const_i64(in[2], 0);
    }
    if (is_float ? fdelta == 0 : delta == 0) return xf_fail(d, g, n, "delta must not be 0");
    uint64_t count;
    if (is_float) {
        if (!isfinite(fstart) || !isfinite(flimit) || !isfinite(fdelta))
            return xf_fail(d, g, n, "start, limit and delta must be finite");
        double span = dtype == XF_F32 ? (double)((float)flimit - (float)fstart) : flimit - fstart;
        double c = ceil(span / fdelta);
        count = c <= 0 ? 0 : c < (double)MAX_CONST_BYTES ? (uint64_t)c : UINT64_MAX;
    } else { /* exact: the unsigned distance cannot overflow */
        uint64_t span = delta > 0 ? (limit > start ? (uint64_t)limit - (uint64_t)start : 0)
                                  : (start > limit ? (uint64_t)start - (uint64_t)limit : 0);
        uint64_t step = delta > 0 ? (uint64_t)delta : 0 - (uint64_t)delta;
        count = span ? (span - 1) / step + 1 : 0;
    }
    if (count > (uint64_t)MAX_CONST_BYTES) return xf_fail(d, g, n, "Range has too many elements");
    int64_t len = (int64_t)count;
    xf_set_out(g, n, 0, dtype, 1, &len);
    void *data;
    if (!out_data(g, n, len, (int64_t)xf_dtype_size(dtype), &data, d)) return false;
    float f32 = (float)fstart;
    double f64 = fstart;
    uint64_t v = (uint64_t)start; /* modulo 2^64, so even the last step past limit is defined */
    for (int64_t i = 0; data && i < len; i++) {
        switch (dtype) {
        case XF_F32: ((float *)data)[i] = f32; f32 += (float)fdelta; break;
        case XF_F64: ((double *)data)[i] = f64; f64 += fdelta; break;
        case XF_I64: ((int64_t *)data)[i] = (int64_t)v; break;
        case XF_I32: ((int32_t *)data)[i] = (int32_t)v; break;
        default: ((int16_t *)data)[i] = (int16_t)v; break;
        }
        v += (uint64_t)delta;
    }
    return true;
}

/* ---- xfc.Convert: Cast and CastLike of the narrow types ---- */

/* Cast's round_mode (opset 24, float8e8m0 targets only) as the kernel's number. */
int64_t xf_cast_round_mode(xf_graph *g, const xf_node *n, xf_diag *d) {
    const char *s = xf_attr_str(n, "round_mode", "up");
    if (strcmp(s, "up") == 0) return 0;
    if (strcmp(s, "down") == 0) return 1;
    if (strcmp(s, "nearest") == 0) return 2;
    xf_fail(d, g, n, "round_mode must be up, down or nearest, not '%s'", s);
    return -1;
}

bool xf_shape_convert(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    int32_t to = (int32_t)xf_attr_int(n, "to", 0);
    if (!xf_dtype_ctype(to)) return xf_fail(d, g, n, "cast to %s is not supported", xf_dtype_name(to));
    if (!xf_dtype_ctype(x->dtype))
        return xf_fail(d, g, n, "cast from %s is not supported", xf_dtype_name(x->dtype));
    if (xf_cast_round_mode(g, n, d) < 0) return false;
    xf_set_out(g, n, 0, to, x->rank, x->shape);
    return true;
}

