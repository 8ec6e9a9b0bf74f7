/* ops_math.c — shape inference of the ops that compute: MatMul, Gemm, Conv, Softmax, LogSoftmax,
 * LayerNormalization, the Reduce family and CumSum.
 *
 * Shapes are static, so the geometry of each op is settled here: broadcast batch steps, convolution
 * pads and output sizes, the reduced axes. Geometry that both the shape rule and the lowering
 * (lower/math.c) need is computed once, by a helper each of them calls (declared in ops.h), so the
 * two cannot disagree. Shape rules accept every type ONNX allows; the lowering refuses the types the
 * kernels do not handle. */
#include <string.h>

#include "ops.h"

static bool same_type(xf_graph *g, const xf_node *n, const xf_value *a, const xf_value *b, xf_diag *d) {
    if (!b || a->dtype == b->dtype) return true;
    return xf_fail(d, g, n, "input types differ (%s and %s)", xf_dtype_name(a->dtype), xf_dtype_name(b->dtype));
}

/* ---- MatMul ---- */

/* numpy's matmul: the last two dims are matrices, the dims before them a batch that broadcasts.
 * A 1-D A is a row [1,k] and a 1-D B a column [k,1], and that 1 is dropped from the result. */
typedef xf_matmul_geom matmul_geom; /* declared in ops.h: the quantized products share it */

/* Batch dims of operand v (all but its last two; none for rank 1 or 2) aligned to the right of
 * brank output dims: fills dims (1 where absent) and steps (0 where the dim is 1). */
static void batch_steps(const xf_value *v, int64_t matrix, int brank, int64_t *dims, int64_t *steps) {
    int vb = v->rank > 2 ? v->rank - 2 : 0;
    int64_t s = matrix;
    for (int i = brank - 1; i >= 0; i--) {
        int vi = i - (brank - vb);
        dims[i] = vi >= 0 ? v->shape[vi] : 1;
        steps[i] = dims[i] == 1 ? 0 : s;
        s *= dims[i];
    }
}

bool xf_matmul_geometry(xf_graph *g, const xf_node *n, const xf_value *a, const xf_value *b, matmul_geom *p,
                        xf_diag *d) {
    char sa[128], sb[128];
    if (a->rank < 1 || b->rank < 1)
        return xf_fail(d, g, n, "operands must have rank 1 or more, got %s and %s", xf_shape_str(a, sa, sizeof sa),
                       xf_shape_str(b, sb, sizeof sb));
    p->m = a->rank >= 2 ? a->shape[a->rank - 2] : 1;
    p->k = a->shape[a->rank - 1];
    int64_t kb = b->rank >= 2 ? b->shape[b->rank - 2] : b->shape[0];
    p->n = b->rank >= 2 ? b->shape[b->rank - 1] : 1;
    if (p->k != kb)
        return xf_fail(d, g, n, "inner dimensions differ: A is %s and B is %s", xf_shape_str(a, sa, sizeof sa),
                       xf_shape_str(b, sb, sizeof sb));
    int ab = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
    p->brank = ab > bb ? ab : bb;
    int64_t da[XF_MAX_RANK], db[XF_MAX_RANK];
    batch_steps(a, p->m * p->k, p->brank, da, p->a_step);
    batch_steps(b, p->k * p->n, p->brank, db, p->b_step);
    for (int i = 0; i < p->brank; i++) {
        if (da[i] != db[i] && da[i] != 1 && db[i] != 1)
            return xf_fail(d, g, n, "batch dimensions of %s and %s do not broadcast", xf_shape_str(a, sa, sizeof sa),
                           xf_shape_str(b, sb, sizeof sb));
        p->batch[i] = da[i] == 1 ? db[i] : da[i];
    }
    return true;
}

bool xf_matmul_node_geometry(xf_graph *g, const xf_node *n, matmul_geom *p, xf_diag *d) {
    xf_value *a = xf_in(g, n, 0), *b = xf_in(g, n, 1);
    if (!a || !b) return xf_fail(d, g, n, "expects two inputs, A and B");
    if (!same_type(g, n, a, b, d)) return false;
    return xf_matmul_geometry(g, n, a, b, p, d);
}

bool xf_shape_matmul(xf_graph *g, xf_node *n, xf_diag *d) {
    matmul_geom p;
    if (!xf_matmul_node_geometry(g, n, &p, d)) return false;
    xf_value *a = xf_in(g, n, 0), *b = xf_in(g, n, 1);
    int64_t shape[XF_MAX_RANK]; /* brank <= XF_MAX_RANK - 2 */
    int rank = 0;
    for (int i = 0; i < p.brank; i++) shape[rank++] = p.batch[i];
    if (a->rank >= 2) shape[rank++] = p.m;
    if (b->rank >= 2) shape[rank++] = p.n;
    xf_set_out(g, n, 0, a->dtype, rank, shape);
    return true;
}

/* One kernel call covers a batch that is a single run in memory for both operands (equal batch
 * dims, or one side broadcast whole). Batch dims of 1 are dropped and neighbours merged where both
 * steps allow; what is left beyond one dim, as in [2,1,m,k] @ [1,3,k,n], becomes one call per
 * index of the leading dims. */
int xf_matmul_batch_runs(const matmul_geom *p, int64_t *dims, int64_t *a_step, int64_t *b_step) {
    int r = 0;
    for (int i = 0; i < p->brank; i++) {
        if (p->batch[i] == 1) continue;
        if (r > 0 && a_step[r - 1] == p->a_step[i] * p->batch[i] && b_step[r - 1] == p->b_step[i] * p->batch[i]) {
            dims[r - 1] *= p->batch[i];
            a_step[r - 1] = p->a_step[i];
            b_step[r - 1] = p->b_step[i];
            continue;
        }
        dims[r] = p->batch[i];
        a_step[r] = p->a_step[i];
        b_step[r] = p->b_step[i];
        r++;
    }
    if (r == 0) { /* a single product */
        dims[0] = 1;
        a_step[0] = b_step[0] = 0;
        r = 1;
    }
    return r;
}

/* ---- Gemm ---- */

/* Y[M,N] = alpha * A' @ B' + beta * C, where A' and B' are A and B transposed when transA and transB
 * say so, and the optional C broadcasts to [M,N]. */
typedef xf_gemm_geom gemm_geom; /* declared in ops.h: the lowering reads it */

bool xf_gemm_geometry(xf_graph *g, const xf_node *n, gemm_geom *p, xf_diag *d) {
    xf_value *a = xf_in(g, n, 0), *b = xf_in(g, n, 1), *c = xf_in(g, n, 2);
    char sa[128], sb[128];
    if (!a || !b) return xf_fail(d, g, n, "expects inputs A and B");
    if (!same_type(g, n, a, b, d) || !same_type(g, n, a, c, d)) return false;
    if (a->rank != 2 || b->rank != 2)
        return xf_fail(d, g, n, "A and B must be matrices, got %s and %s", xf_shape_str(a, sa, sizeof sa),
                       xf_shape_str(b, sb, sizeof sb));
    bool ta = xf_attr_int(n, "transA", 0) != 0, tb = xf_attr_int(n, "transB", 0) != 0;
    p->m = a->shape[ta ? 1 : 0];
    p->k = a->shape[ta ? 0 : 1];
    p->n = b->shape[tb ? 0 : 1];
    if (b->shape[tb ? 1 : 0] != p->k)
        return xf_fail(d, g, n, "inner dimensions differ: A%s is %s and B%s is %s", ta ? " (transposed)" : "",
                       xf_shape_str(a, sa, sizeof sa), tb ? " (transposed)" : "", xf_shape_str(b, sb, sizeof sb));
    p->c_sm = p->c_sn = 0;
    if (!c) return true;
    int64_t cm = c->rank == 2 ? c->shape[0] : 1, cn = c->rank >= 1 ? c->shape[c->rank - 1] : 1;
    if (c->rank > 2 || (cm != 1 && cm != p->m) || (cn != 1 && cn != p->n))
        return xf_fail(d, g, n, "C of shape %s does not broadcast to [%lld,%lld]", xf_shape_str(c, sa, sizeof sa),
                       (long long)p->m, (long long)p->n);
    p->c_sm = cm == 1 ? 0 : cn;
    p->c_sn = cn == 1 ? 0 : 1;
    return true;
}

bool xf_shape_gemm(xf_graph *g, xf_node *n, xf_diag *d) {
    gemm_geom p;
    if (!xf_gemm_geometry(g, n, &p, d)) return false;
    xf_set_out(g, n, 0, xf_in(g, n, 0)->dtype, 2, (int64_t[]){p.m, p.n});
    return true;
}

/* ---- Conv ---- */

/* A 1-D convolution is a 2-D one of height 1, so index 0 below is height and 1 is width. */
typedef xf_conv_geom conv_geom; /* declared in ops.h: the quantized convolutions share it */

bool xf_conv_geometry(xf_graph *g, const xf_node *n, const xf_value *x, const xf_value *w, const xf_value *b,
                      conv_geom *p, xf_diag *d) {
    char sx[128], sw[128];
    if (x->rank == 5) return xf_fail(d, g, n, "3-D convolution is not supported (1-D and 2-D are)");
    if (x->rank != 3 && x->rank != 4)
        return xf_fail(d, g, n, "input X must be [N,C,L] or [N,C,H,W], got %s", xf_shape_str(x, sx, sizeof sx));
    if (w->rank != x->rank)
        return xf_fail(d, g, n, "weights W of shape %s do not match input X of shape %s",
                       xf_shape_str(w, sw, sizeof sw), xf_shape_str(x, sx, sizeof sx));
    int sp = x->rank - 2;
    p->batch = x->shape[0];
    p->c_in = x->shape[1];
    p->c_out = w->shape[0];
    p->groups = xf_attr_int(n, "group", 1);
    if (p->groups < 1 || p->c_in % p->groups || p->c_out % p->groups || w->shape[1] * p->groups != p->c_in)
        return xf_fail(d, g, n, "group %lld does not fit input X %s and weights W %s", (long long)p->groups,
                       xf_shape_str(x, sx, sizeof sx), xf_shape_str(w, sw, sizeof sw));
    if (b && (b->rank != 1 || b->shape[0] != p->c_out))
        return xf_fail(d, g, n, "bias B of shape %s should be [%lld]", xf_shape_str(b, sx, sizeof sx),
                       (long long)p->c_out);
    int64_t ks[2 * XF_MAX_RANK], strides[2 * XF_MAX_RANK], dil[2 * XF_MAX_RANK], pads[2 * XF_MAX_RANK];
    int nks = xf_node_ints(g, n, "kernel_shape", -1, ks, 2 * XF_MAX_RANK, d);
    if (nks < 0) return false;
    for (int i = 0; i < nks; i++)
        if (nks != sp || ks[i] != w->shape[2 + i])
            return xf_fail(d, g, n, "kernel_shape does not match weights W of shape %s",
                           xf_shape_str(w, sw, sizeof sw));
    if (!xf_attr_list(g, n, "strides", sp, 1, 1, strides, d) || !xf_attr_list(g, n, "dilations", sp, 1, 1, dil, d) ||
        !xf_attr_list(g, n, "pads", 2 * sp, 0, 0, pads, d))
        return false;
    const char *auto_pad = xf_attr_str(n, "auto_pad", "NOTSET");
    bool same_upper = strcmp(auto_pad, "SAME_UPPER") == 0, same_lower = strcmp(auto_pad, "SAME_LOWER") == 0;
    bool valid = strcmp(auto_pad, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(auto_pad, "NOTSET") != 0)
        return xf_fail(d, g, n, "auto_pad '%s' is unknown (NOTSET, SAME_UPPER, SAME_LOWER and VALID are)", auto_pad);
    for (int i = 0; i < 2; i++) { /* a 1-D convolution gets a height of 1 */
        p->in[i] = p->kernel[i] = p->out[i] = p->stride[i] = p->dilation[i] = 1;
        p->pad[i] = 0;
    }
    for (int i = 0; i < sp; i++) {
        int j = i + 2 - sp;
        int64_t in = x->shape[2 + i], k = w->shape[2 + i], s = strides[i];
        int64_t span = (k - 1) * dil[i] + 1; /* extent of the dilated kernel */
        int64_t begin = pads[i], end = pads[sp + i];
        if (same_upper || same_lower) {
            int64_t out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + span - in;
            if (total < 0) total = 0;
            begin = same_upper ? total / 2 : total - total / 2;
            end = total - begin;
        } else if (valid) {
            begin = end = 0;
        }
        if (in + begin + end < span)
            return xf_fail(d, g, n, "kernel of extent %lld is larger than the padded input (%lld) along dim %d",
                           (long long)span, (long long)(in + begin + end), 2 + i);
        p->in[j] = in;
        p->kernel[j] = k;
        p->out[j] = (in + begin + end - span) / s + 1;
        p->stride[j] = s;
        p->dilation[j] = dil[i];
        p->pad[j] = begin;
    }
    return true;
}

bool xf_conv_node_geometry(xf_graph *g, const xf_node *n, conv_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1), *b = xf_in(g, n, 2);
    if (!x || !w) return xf_fail(d, g, n, "expects inputs X and W");
    if (!same_type(g, n, x, w, d) || !same_type(g, n, x, b, d)) return false;
    return xf_conv_geometry(g, n, x, w, b, p, d);
}

bool xf_shape_conv(xf_graph *g, xf_node *n, xf_diag *d) {
    conv_geom p;
    if (!xf_conv_node_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[4] = {p.batch, p.c_out, p.out[0], p.out[1]};
    if (x->rank == 3) shape[2] = p.out[1];
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- LayerNormalization ---- */

/* Normalises over the dims [axis, rank) (axis default -1). Scale and B must have the shape of those
 * dims (leading 1s allowed): broadcasting them within the dims is not supported. The optional
 * outputs Mean and InvStdDev have x's shape with the normalised dims set to 1. */
bool xf_layer_norm_geometry(xf_graph *g, const xf_node *n, int *axis, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *scale = xf_in(g, n, 1), *b = xf_in(g, n, 2);
    if (!x || !scale) return xf_fail(d, g, n, "expects inputs X and Scale");
    if (!same_type(g, n, x, scale, d) || !same_type(g, n, x, b, d)) return false;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -1), x->rank, axis, d)) return false;
    int64_t cols = xf_prod(x->shape, *axis, x->rank);
    for (int k = 1; k <= 2; k++) {
        xf_value *v = xf_in(g, n, k);
        if (!v) continue;
        bool ok = xf_value_numel(v) == cols;
        for (int i = 0; ok && i < v->rank; i++) { /* right-aligned against x; 1s before the normalised dims */
            int xi = x->rank - v->rank + i;
            ok = xi < *axis ? v->shape[i] == 1 : v->shape[i] == x->shape[xi];
        }
        if (!ok) {
            char sv[128], sx[128];
            return xf_fail(d, g, n, "%s of shape %s must have the shape of the normalised dims of X %s from axis %d",
                           k == 1 ? "Scale" : "B", xf_shape_str(v, sv, sizeof sv), xf_shape_str(x, sx, sizeof sx),
                           *axis);
        }
    }
    if ((xf_out_handle(n, 1) >= 0 || xf_out_handle(n, 2) >= 0) && xf_attr_int(n, "stash_type", 1) != 1)
        return xf_fail(d, g, n, "outputs Mean and InvStdDev are supported for stash_type 1 (float32) only");
    return true;
}

bool xf_shape_layer_norm(xf_graph *g, xf_node *n, xf_diag *d) {
    int axis;
    if (!xf_layer_norm_geometry(g, n, &axis, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    int64_t stats[XF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) stats[i] = i < axis ? x->shape[i] : 1;
    xf_set_out(g, n, 1, XF_F32, x->rank, stats);
    xf_set_out(g, n, 2, XF_F32, x->rank, stats);
    return true;
}

/* ---- the Reduce family: ReduceMean, ReduceSum, ReduceMax, ReduceMin, and ReduceL1, ReduceL2,
 * ReduceSumSquare, ReduceProd, ReduceLogSum, ReduceLogSumExp (rows in ops.def's "more reductions") ---- */

/* Marks the reduced dims of input 0. The axes are the optional input 1 (the frontend turns the
 * attribute of older opsets into it). No axes means all of them, or none with noop_with_empty_axes,
 * in which case the op passes x through. */
bool xf_reduce_axes(xf_graph *g, const xf_node *n, bool *reduced, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects an input");
    int64_t axes[XF_MAX_RANK];
    int count = xf_node_ints(g, n, NULL, 1, axes, XF_MAX_RANK, d);
    if (count < 0) return false;
    bool noop = xf_attr_int(n, "noop_with_empty_axes", 0) != 0;
    for (int i = 0; i < x->rank; i++) reduced[i] = count == 0 && !noop;
    for (int j = 0; j < count; j++) {
        int a;
        if (!xf_axis(g, n, axes[j], x->rank, &a, d)) return false;
        if (reduced[a]) return xf_fail(d, g, n, "axis %lld is listed twice", (long long)axes[j]);
        reduced[a] = true;
    }
    return true;
}

bool xf_shape_reduce(xf_graph *g, xf_node *n, xf_diag *d) {
    bool reduced[XF_MAX_RANK];
    if (!xf_reduce_axes(g, n, reduced, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    bool keep = xf_attr_int(n, "keepdims", 1) != 0;
    int64_t shape[XF_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!reduced[i]) shape[rank++] = x->shape[i];
        else if (keep) shape[rank++] = 1;
    }
    xf_set_out(g, n, 0, x->dtype, rank, shape);
    return true;
}
