/* math.c — lowering of the ops that compute: MatMul, Gemm, Conv, Softmax, LogSoftmax,
 * LayerNormalization, the Reduce family and CumSum, each to a kernel of runtime/math.c (MatMul to
 * one call per run of its broadcast batch).
 *
 * The geometry comes from the shape rules' helpers (ir/ops_math.c), so lowering and shape inference
 * cannot disagree; here it becomes kernel arguments: transposition strides, the [outer, n, inner]
 * view of an axis, the [outer, n1, mid, n2, inner] view of reduced axes. The kernels receive plain
 * numbers and stay free of shape logic. The kernels are float32, except the Reduce family (float64
 * too; ReduceMax and ReduceMin any integer or bool type) and CumSum (float32, float64, int32, int64);
 * other types are refused here with a diagnostic, so shape inference still works for them. */
#include "../ir/ops.h"
#include "lower.h"

/* ---- MatMul ---- */

int xf_lower_matmul(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_matmul_geom p;
    if (!xf_matmul_node_geometry(g, n, &p, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t dims[XF_MAX_RANK], as[XF_MAX_RANK], bs[XF_MAX_RANK];
    int r = xf_matmul_batch_runs(&p, dims, as, bs);
    int64_t ncalls = xf_prod(dims, 0, r - 1);
    if (ncalls > out->max) {
        char sa[128], sb[128];
        xf_shape_str(xf_in(g, n, 0), sa, sizeof sa);
        xf_shape_str(xf_in(g, n, 1), sb, sizeof sb);
        return xf_fail(d, g, n, "broadcasting the batch dims of %s and %s needs %lld kernel calls, at most %d are "
                       "supported", sa, sb, (long long)ncalls, out->max), -1;
    }
    int64_t idx[XF_MAX_RANK] = {0};
    for (int64_t t = 0; t < ncalls; t++) {
        int64_t a_off = 0, b_off = 0;
        for (int i = 0; i < r - 1; i++) {
            a_off += idx[i] * as[i];
            b_off += idx[i] * bs[i];
        }
        XF_CALL(out, xf_matmul, .y = xf_t_at(n->out[0], t * dims[r - 1] * p.m * p.n), .a = xf_t_at(n->in[0], a_off),
                .b = xf_t_at(n->in[1], b_off), .batch = dims[r - 1], .m = p.m, .k = p.k, .n = p.n,
                .a_step = as[r - 1], .b_step = bs[r - 1]);
        for (int i = r - 2; i >= 0 && ++idx[i] == dims[i]; i--) idx[i] = 0;
    }
    return 0;
}

/* ---- Gemm ---- */

int xf_lower_gemm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_gemm_geom p;
    if (!xf_gemm_geometry(g, n, &p, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    bool ta = xf_attr_int(n, "transA", 0) != 0, tb = xf_attr_int(n, "transB", 0) != 0;
    float beta = xf_attr_float(n, "beta", 1.0f);
    XF_CALL(out, xf_gemm, .y = xf_t(n->out[0]), .a = xf_t(n->in[0]), .b = xf_t(n->in[1]),
            .c = xf_t(beta != 0.0f ? xf_in_handle(n, 2) : -1), /* as onnxruntime: beta 0 ignores C, inf included */
            .m = p.m, .k = p.k, .n = p.n,
            .a_stride_m = ta ? 1 : p.k, .a_stride_k = ta ? p.m : 1,  /* A is [m,k], or [k,m] transposed */
            .b_stride_k = tb ? 1 : p.n, .b_stride_n = tb ? p.k : 1,  /* B is [k,n], or [n,k] transposed */
            .alpha = xf_attr_float(n, "alpha", 1.0f), .beta = beta, .c_stride_m = p.c_sm, .c_stride_n = p.c_sn);
    return 0;
}

/* ---- Conv ---- */

int xf_lower_conv(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_conv_geom p;
    if (!xf_conv_node_geometry(g, n, &p, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_conv, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .wt = xf_t(n->in[1]),
            .bias = xf_t(xf_in_handle(n, 2)), .batch = p.batch, .groups = p.groups, .c_in = p.c_in,
            .in_h = p.in[0], .in_w = p.in[1], .c_out = p.c_out, .k_h = p.kernel[0], .k_w = p.kernel[1],
            .out_h = p.out[0], .out_w = p.out[1], .stride_h = p.stride[0], .stride_w = p.stride[1],
            .pad_h = p.pad[0], .pad_w = p.pad[1], .dilation_h = p.dilation[0], .dilation_w = p.dilation[1]);
    return 0;
}

/* ---- Softmax, LogSoftmax ---- */

/* Along one axis (default -1): x is viewed as [outer, n, inner]. (The frontend rewrites the 2-D
 * form of opsets before 13 into this one.) */
int xf_lower_softmax(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x) return xf_fail(d, g, n, "expects one input"), -1;
    if (!xf_need_f32(g, n, x, d)) return -1;
    int axis;
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -1), x->rank, &axis, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    int64_t outer = xf_prod(x->shape, 0, axis), len = x->shape[axis], inner = xf_prod(x->shape, axis + 1, x->rank);
    if (n->op == XF_OP_LOG_SOFTMAX)
        XF_CALL(out, xf_log_softmax, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = outer, .n = len, .inner = inner);
    else
        XF_CALL(out, xf_softmax, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .outer = outer, .n = len, .inner = inner);
    return 0;
}

/* ---- LayerNormalization ---- */

int xf_lower_layer_norm(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    int axis;
    if (!xf_layer_norm_geometry(g, n, &axis, d) || !xf_need_f32(g, n, xf_in(g, n, 0), d)) return -1;
    xf_value *x = xf_in(g, n, 0);
    if (!xf_out(g, n, 0)) return xf_fail(d, g, n, "output Y is missing"), -1;
    int64_t rows = xf_prod(x->shape, 0, axis), cols = xf_prod(x->shape, axis, x->rank);
    if (rows == 0) return 0;
    XF_CALL(out, xf_layer_norm, .y = xf_t(n->out[0]), .mean = xf_t(xf_out_handle(n, 1)),
            .inv_std = xf_t(xf_out_handle(n, 2)), .x = xf_t(n->in[0]), .scale = xf_t(n->in[1]),
            .bias = xf_t(xf_in_handle(n, 2)), .rows = rows, .cols = cols,
            .epsilon = xf_attr_float(n, "epsilon", 1e-5f));
    return 0;
}

/* ---- the Reduce family ---- */

/* The op code of a reduction for xf_reduce_op. */
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
 * dims; up to two reduced runs fit that view. Every reduction takes float32 and float64 (float32
 * ReduceSum, ReduceMean, ReduceMax and ReduceMin through their own kernels, the others through
 * xf_reduce_op); ReduceMax and ReduceMin also integer and bool tensors, through a kernel that
 * compares order keys (runtime/index.c). */
int xf_lower_reduce(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    bool reduced[XF_MAX_RANK];
    if (!xf_reduce_axes(g, n, reduced, d)) return -1;
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
    xf_arg y = xf_t(n->out[0]), in = xf_t(n->in[0]);
#define XF_VIEW .outer = run[0], .n1 = run[1], .mid = run[2], .n2 = run[3], .inner = run[4]
    if (integer)
        XF_CALL(out, xf_reduce_extreme, .y = y, .x = in, XF_VIEW, .is_max = n->op == XF_OP_REDUCE_MAX,
                .dtype = x->dtype, .esize = (int64_t)xf_dtype_size(x->dtype));
    else if (f64 || reduce_code(n->op) < 6)
        XF_CALL(out, xf_reduce_op, .y = y, .x = in, .dtype = x->dtype, XF_VIEW, .op = reduce_code(n->op));
    else if (n->op == XF_OP_REDUCE_SUM)
        XF_CALL(out, xf_reduce_sum, .y = y, .x = in, XF_VIEW);
    else if (n->op == XF_OP_REDUCE_MEAN)
        XF_CALL(out, xf_reduce_mean, .y = y, .x = in, XF_VIEW);
    else if (n->op == XF_OP_REDUCE_MAX)
        XF_CALL(out, xf_reduce_max, .y = y, .x = in, XF_VIEW);
    else
        XF_CALL(out, xf_reduce_min, .y = y, .x = in, XF_VIEW);
#undef XF_VIEW
    return 0;
}

/* ---- CumSum, CumProd ---- */

/* One kernel for both: running sums or products along the axis (input 1), x viewed as
 * [outer, n, inner] around it. */
int xf_lower_cumulative(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    if (!x || !xf_in(g, n, 1)) return xf_fail(d, g, n, "expects inputs x and axis"), -1;
    if (x->dtype != XF_F32 && x->dtype != XF_F64 && x->dtype != XF_I64 && x->dtype != XF_I32)
        return xf_fail(d, g, n, "%s on %s is not supported (float32, float64, int32 and int64 are)",
                       xf_ops[n->op].name, xf_dtype_name(x->dtype)), -1;
    int64_t a;
    int na = xf_node_ints(g, n, NULL, 1, &a, 1, d);
    if (na < 0) return -1;
    if (na != 1) return xf_fail(d, g, n, "input axis must hold one integer"), -1;
    int axis;
    if (!xf_axis(g, n, a, x->rank, &axis, d)) return -1;
    if (!xf_has_output(g, n, 0)) return 0;
    XF_CALL(out, xf_cumulative, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .dtype = x->dtype,
            .product = n->op == XF_OP_CUMPROD,
            .outer = xf_prod(x->shape, 0, axis), .n = x->shape[axis], .inner = xf_prod(x->shape, axis + 1, x->rank),
            .exclusive = xf_attr_int(n, "exclusive", 0) != 0, .reverse = xf_attr_int(n, "reverse", 0) != 0);
    return 0;
}
