/* ops_math.c — shape inference and lowering of the ops that compute: MatMul, Gemm, Conv, Softmax,
 * LogSoftmax, LayerNormalization, the Reduce family and CumSum.
 *
 * Each op lowers to one kernel of runtime/math.c (rarely a few calls of it). Shapes are static, so
 * everything that depends on them is settled here: broadcast batch steps, transposition strides,
 * convolution pads and output sizes, the [outer, n, inner] view of an axis. The kernels receive
 * plain numbers and stay free of shape logic. Geometry that both the shape rule and the lowering
 * need is computed once, by a helper each of them calls, so the two cannot disagree.
 *
 * The kernels are float32 (the Reduce family also float64, ReduceMax and ReduceMin any integer or bool
 * type, CumSum float64, int32 and int64); other types are refused when lowering, so shape inference still works for them. */
#include <string.h>

#include "ops.h"
#include "../lower/lower.h"

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

static bool matmul_geometry(xf_graph *g, const xf_node *n, matmul_geom *p, xf_diag *d) {
    xf_value *a = xf_in(g, n, 0), *b = xf_in(g, n, 1);
    if (!a || !b) return xf_fail(d, g, n, "expects two inputs, A and B");
    if (!same_type(g, n, a, b, d)) return false;
    return xf_matmul_geometry(g, n, a, b, p, d);
}

bool xf_shape_matmul(xf_graph *g, xf_node *n, xf_diag *d) {
    matmul_geom p;
    if (!matmul_geometry(g, n, &p, d)) return false;
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
int xf_lower_matmul(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    matmul_geom p;
    if (!matmul_geometry(g, n, &p, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t dims[XF_MAX_RANK], as[XF_MAX_RANK], bs[XF_MAX_RANK];
    int r = 0;
    for (int i = 0; i < p.brank; i++) {
        if (p.batch[i] == 1) continue;
        if (r > 0 && as[r - 1] == p.a_step[i] * p.batch[i] && bs[r - 1] == p.b_step[i] * p.batch[i]) {
            dims[r - 1] *= p.batch[i];
            as[r - 1] = p.a_step[i];
            bs[r - 1] = p.b_step[i];
            continue;
        }
        dims[r] = p.batch[i];
        as[r] = p.a_step[i];
        bs[r] = p.b_step[i];
        r++;
    }
    if (r == 0) { /* a single product */
        dims[0] = 1;
        as[0] = bs[0] = 0;
        r = 1;
    }
    int64_t ncalls = xf_prod(dims, 0, r - 1);
    if (ncalls > out->max) {
        char sa[128], sb[128];
        xf_shape_str(xf_in(g, n, 0), sa, sizeof sa);
        xf_shape_str(xf_in(g, n, 1), sb, sizeof sb);
        return xf_fail(d, g, n, "broadcasting the batch dims of %s and %s needs %lld kernel calls, at most %d are "
                       "supported", sa, sb, (long long)ncalls, out->max), -1;
    }
    int64_t idx[XF_MAX_RANK] = {0};
    int count = 0;
    for (int64_t t = 0; t < ncalls; t++) {
        int64_t a_off = 0, b_off = 0;
        for (int i = 0; i < r - 1; i++) {
            a_off += idx[i] * as[i];
            b_off += idx[i] * bs[i];
        }
        xf_call *c = xf_calls_add(out, XF_K_xf_matmul);
        xf_call_arg(c, xf_t_at(n->out[0], t * dims[r - 1] * p.m * p.n));
        xf_call_arg(c, xf_t_at(n->in[0], a_off));
        xf_call_arg(c, xf_t_at(n->in[1], b_off));
        xf_call_arg(c, xf_i(dims[r - 1]));
        xf_call_arg(c, xf_i(p.m));
        xf_call_arg(c, xf_i(p.k));
        xf_call_arg(c, xf_i(p.n));
        xf_call_arg(c, xf_i(as[r - 1]));
        xf_call_arg(c, xf_i(bs[r - 1]));
        for (int i = r - 2; i >= 0 && ++idx[i] == dims[i]; i--) idx[i] = 0;
    }
    return count;
}

/* ---- Gemm ---- */

/* Y[M,N] = alpha * A' @ B' + beta * C, where A' and B' are A and B transposed when transA and transB
 * say so, and the optional C broadcasts to [M,N]. */
typedef struct {
    int64_t m, k, n;
    int64_t c_si, c_sj; /* C's steps along M and N, 0 where it broadcasts */
} gemm_geom;

static bool gemm_geometry(xf_graph *g, const xf_node *n, gemm_geom *p, xf_diag *d) {
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
    p->c_si = p->c_sj = 0;
    if (!c) return true;
    int64_t cm = c->rank == 2 ? c->shape[0] : 1, cn = c->rank >= 1 ? c->shape[c->rank - 1] : 1;
    if (c->rank > 2 || (cm != 1 && cm != p->m) || (cn != 1 && cn != p->n))
        return xf_fail(d, g, n, "C of shape %s does not broadcast to [%lld,%lld]", xf_shape_str(c, sa, sizeof sa),
                       (long long)p->m, (long long)p->n);
    p->c_si = cm == 1 ? 0 : cn;
    p->c_sj = cn == 1 ? 0 : 1;
    return true;
}

bool xf_shape_gemm(xf_graph *g, xf_node *n, xf_diag *d) {
    gemm_geom p;
    if (!gemm_geometry(g, n, &p, d)) return false;
    xf_set_out(g, n, 0, xf_in(g, n, 0)->dtype, 2, (int64_t[]){p.m, p.n});
    return true;
}

int xf_lower_gemm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    gemm_geom p;
    if (!gemm_geometry(g, n, &p, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    bool ta = xf_attr_int(n, "transA", 0) != 0, tb = xf_attr_int(n, "transB", 0) != 0;
    float alpha = xf_attr_float(n, "alpha", 1.0f), beta = xf_attr_float(n, "beta", 1.0f);
    int count = 0;
    xf_call *c = xf_calls_add(out, XF_K_xf_gemm);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(n->in[1]));
    xf_call_arg(c, xf_t(beta != 0.0f ? xf_in_handle(n, 2) : -1)); /* as onnxruntime: beta 0 ignores C, inf included */
    xf_call_arg(c, xf_i(p.m));
    xf_call_arg(c, xf_i(p.k));
    xf_call_arg(c, xf_i(p.n));
    xf_call_arg(c, xf_i(ta ? 1 : p.k)); /* A is [m,k], or [k,m] transposed */
    xf_call_arg(c, xf_i(ta ? p.m : 1));
    xf_call_arg(c, xf_i(tb ? 1 : p.n)); /* B is [k,n], or [n,k] transposed */
    xf_call_arg(c, xf_i(tb ? p.k : 1));
    xf_call_arg(c, xf_f(alpha));
    xf_call_arg(c, xf_f(beta));
    xf_call_arg(c, xf_i(p.c_si));
    xf_call_arg(c, xf_i(p.c_sj));
    return count;
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

static bool conv_geometry(xf_graph *g, const xf_node *n, conv_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1), *b = xf_in(g, n, 2);
    if (!x || !w) return xf_fail(d, g, n, "expects inputs X and W");
    if (!same_type(g, n, x, w, d) || !same_type(g, n, x, b, d)) return false;
    return xf_conv_geometry(g, n, x, w, b, p, d);
}

bool xf_shape_conv(xf_graph *g, xf_node *n, xf_diag *d) {
    conv_geom p;
    if (!conv_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[4] = {p.batch, p.c_out, p.out[0], p.out[1]};
    if (x->rank == 3) shape[2] = p.out[1];
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

int xf_lower_conv(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    conv_geom p;
    if (!conv_geometry(g, n, &p, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int count = 0;
    xf_call *c = xf_calls_add(out, XF_K_xf_conv);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(n->in[1]));
    xf_call_arg(c, xf_t(xf_in_handle(n, 2)));
    int64_t args[] = {p.batch, p.groups, p.c_in, p.in[0], p.in[1], p.c_out, p.kernel[0], p.kernel[1],
                      p.out[0], p.out[1], p.stride[0], p.stride[1], p.pad[0], p.pad[1], p.dilation[0],
                      p.dilation[1]};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) xf_call_arg(c, xf_i(args[i]));
    return count;
}

/* ---- Softmax, LogSoftmax ---- */

/* Since opset 13 the op works along one axis (default -1): x is viewed as [outer, n, inner].
 * Before, it flattened x to 2-D at axis (default 1) and worked along the whole second part. */
int xf_lower_softmax(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects one input"), -1;
    if (!xf_need_f32(g, n, x, d)) return -1;
    bool legacy = g->opset < 13;
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", legacy ? 1 : -1), x->rank, &axis, d)) return -1;
    int64_t outer = xf_prod(x->shape, 0, axis);
    int64_t len = legacy ? xf_prod(x->shape, axis, x->rank) : x->shape[axis];
    int64_t inner = legacy ? 1 : xf_prod(x->shape, axis + 1, x->rank);
    if (!xf_has_output(g, n, 0)) return 0;
    int count = 0;
    xf_call *c = xf_calls_add(out, n->op == XF_OP_LOG_SOFTMAX ? XF_K_xf_log_softmax : XF_K_xf_softmax);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_i(outer));
    xf_call_arg(c, xf_i(len));
    xf_call_arg(c, xf_i(inner));
    return count;
}

/* ---- LayerNormalization ---- */

/* Normalises over the dims [axis, rank) (axis default -1). Scale and B must have the shape of those
 * dims (leading 1s allowed): broadcasting them within the dims is not supported. The optional
 * outputs Mean and InvStdDev have x's shape with the normalised dims set to 1. */
static bool layer_norm_geometry(xf_graph *g, const xf_node *n, int *axis, xf_diag *d) {
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
    if (!layer_norm_geometry(g, n, &axis, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    int64_t stats[XF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) stats[i] = i < axis ? x->shape[i] : 1;
    xf_set_out(g, n, 1, XF_F32, x->rank, stats);
    xf_set_out(g, n, 2, XF_F32, x->rank, stats);
    return true;
}

int xf_lower_layer_norm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int axis;
    if (!layer_norm_geometry(g, n, &axis, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_out(g, n, 0)) return xf_fail(d, g, n, "output Y is missing"), -1;
    int64_t rows = xf_prod(x->shape, 0, axis), cols = xf_prod(x->shape, axis, x->rank);
    if (rows == 0) return 0;
    int count = 0;
    xf_call *c = xf_calls_add(out, XF_K_xf_layer_norm);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(xf_out_handle(n, 1)));
    xf_call_arg(c, xf_t(xf_out_handle(n, 2)));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_t(n->in[1]));
    xf_call_arg(c, xf_t(xf_in_handle(n, 2)));
    xf_call_arg(c, xf_i(rows));
    xf_call_arg(c, xf_i(cols));
    xf_call_arg(c, xf_f(xf_attr_float(n, "epsilon", 1e-5f)));
    return count;
}

/* ---- the Reduce family: ReduceMean, ReduceSum, ReduceMax, ReduceMin, and ReduceL1, ReduceL2,
 * ReduceSumSquare, ReduceProd, ReduceLogSum, ReduceLogSumExp (rows in ops.def's "more reductions") ---- */

/* Marks the reduced dims of input 0. The axes are an attribute before opset 18 (13 for ReduceSum)
 * and an optional input after; xf_node_ints reads either. No axes means all of them, or none with
 * noop_with_empty_axes, in which case the op passes x through. */
static bool reduce_axes(xf_graph *g, const xf_node *n, bool *reduced, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects an input");
    int64_t axes[XF_MAX_RANK];
    int count = xf_node_ints(g, n, "axes", 1, axes, XF_MAX_RANK, d);
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
    if (!reduce_axes(g, n, reduced, d)) return false;
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

/* The op code of a reduction for xf_reduce_op (0 to 5) and xf_reduce_op_f64 (all of them). */
static int reduce_code(int op) {
    static const int ops[] = {XF_OP_REDUCE_L1, XF_OP_REDUCE_L2, XF_OP_REDUCE_SUM_SQUARE, XF_OP_REDUCE_PROD,
                              XF_OP_REDUCE_LOG_SUM, XF_OP_REDUCE_LOG_SUM_EXP, XF_OP_REDUCE_SUM,
                              XF_OP_REDUCE_MEAN, XF_OP_REDUCE_MAX, XF_OP_REDUCE_MIN};
    int code = 0;
    while (code < (int)(sizeof ops / sizeof ops[0]) && ops[code] != op) code++;
    XF_ASSERT(code < (int)(sizeof ops / sizeof ops[0]));
    return code;
}

/* The kernels view x as [outer, n1, mid, n2, inner] and reduce n1 and n2. Dims of size 1 are
 * dropped and neighbours of the same kind merged, leaving alternating runs of kept and reduced
 * dims; up to two reduced runs fit that view. Every reduction takes float32 and float64; ReduceMax
 * and ReduceMin also integer and bool tensors, through a kernel that compares order keys
 * (runtime/index.c). */
int xf_lower_reduce(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    bool reduced[XF_MAX_RANK];
    if (!reduce_axes(g, n, reduced, d)) return -1;
    xf_value *x = xf_in(g, n, 0);
    bool extreme = n->op == XF_OP_REDUCE_MAX || n->op == XF_OP_REDUCE_MIN;
    bool integer = extreme && !xf_dtype_is_float(x->dtype), f64 = x->dtype == XF_F64;
    if (!integer && !f64 && x->dtype != XF_F32)
        return xf_fail(d, g, n, "%s on %s is not supported (float32 and float64 are)", xf_ops[n->op].name,
                       xf_dtype_name(x->dtype)), -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t run[XF_MAX_RANK + 1] = {1}; /* run[0] kept, run[1] reduced, run[2] kept ... */
    int nrun = 1;
    for (int i = 0; i < x->rank; i++) {
        if (x->shape[i] == 1) continue;
        if (reduced[i] != (nrun % 2 == 0)) run[nrun++] = 1; /* the kind changes: start a run */
        run[nrun - 1] *= x->shape[i];
    }
    if (nrun > 5)
        return xf_fail(d, g, n, "the reduced axes form %d separate groups, at most 2 are supported", nrun / 2), -1;
    for (int i = nrun; i < 5; i++) run[i] = 1;
    if (integer && run[1] * run[3] == 0)
        return xf_fail(d, g, n, "%s of %s over an empty set is not supported", xf_ops[n->op].name,
                       xf_dtype_name(x->dtype)), -1;
    int code = reduce_code(n->op), count = 0;
    int kernel = integer ? XF_K_xf_reduce_extreme : f64 ? XF_K_xf_reduce_op_f64 : code < 6 ? XF_K_xf_reduce_op
               : n->op == XF_OP_REDUCE_SUM ? XF_K_xf_reduce_sum : n->op == XF_OP_REDUCE_MEAN ? XF_K_xf_reduce_mean
               : n->op == XF_OP_REDUCE_MAX ? XF_K_xf_reduce_max : XF_K_xf_reduce_min;
    xf_call *c = xf_calls_add(out, kernel);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    for (int i = 0; i < 5; i++) xf_call_arg(c, xf_i(run[i]));
    if (integer) {
        xf_call_arg(c, xf_i(n->op == XF_OP_REDUCE_MAX));
        xf_call_arg(c, xf_i(x->dtype));
        xf_call_arg(c, xf_i((int64_t)xf_dtype_size(x->dtype)));
    } else if (kernel == XF_K_xf_reduce_op || kernel == XF_K_xf_reduce_op_f64) {
        xf_call_arg(c, xf_i(code));
    }
    return count;
}

/* ---- CumSum ---- */

/* The axis is a constant input (a scalar or one-element tensor); x is viewed as [outer, n, inner]. */
int xf_lower_cumsum(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x || !xf_in(g, n, 1)) return xf_fail(d, g, n, "expects inputs x and axis"), -1;
    int kernel = x->dtype == XF_F32 ? XF_K_xf_cumsum_f32 : x->dtype == XF_F64 ? XF_K_xf_cumsum_f64
               : x->dtype == XF_I64 ? XF_K_xf_cumsum_i64 : x->dtype == XF_I32 ? XF_K_xf_cumsum_i32 : -1;
    if (kernel < 0)
        return xf_fail(d, g, n, "CumSum on %s is not supported (float32, float64, int32 and int64 are)",
                       xf_dtype_name(x->dtype)), -1;
    int64_t a;
    int na = xf_node_ints(g, n, NULL, 1, &a, 1, d);
    if (na < 0) return -1;
    if (na != 1) return xf_fail(d, g, n, "input axis must hold one integer"), -1;
    int axis;
    if (!xf_axis(g, n, a, x->rank, &axis, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int count = 0;
    xf_call *c = xf_calls_add(out, kernel);
    xf_call_arg(c, xf_t(n->out[0]));
    xf_call_arg(c, xf_t(n->in[0]));
    xf_call_arg(c, xf_i(xf_prod(x->shape, 0, axis)));
    xf_call_arg(c, xf_i(x->shape[axis]));
    xf_call_arg(c, xf_i(xf_prod(x->shape, axis + 1, x->rank)));
    xf_call_arg(c, xf_i(xf_attr_int(n, "exclusive", 0) != 0));
    xf_call_arg(c, xf_i(xf_attr_int(n, "reverse", 0) != 0));
    return count;
}
