/* ops_norm.c — shape inference of RMSNormalization (lowered in lower/norm.c), with ONNX's opset-23
 * semantics:
 *
 *     Y = X / sqrt(mean(X², over the dims [axis, rank)) + epsilon) * Scale
 *
 * attributes axis (default -1), epsilon (default 1e-5) and stash_type. The op comes from models
 * that use it directly and from passes/fuse_rms_norm.c, which recognises it written out.
 *
 * X is viewed as [rows, cols], cols being the product of the normalised dims. Scale broadcasts over
 * those dims; the kernel reads it as a block of `period` values repeated along each row, which
 * covers the usual shapes: the normalised dims' own shape, their last dims only ([D] when
 * normalising [H, D]) and a single value. A Scale that varies along a leading normalised dim but
 * not a later one is refused. Scale may also be absent: passes/flash_norm.c folds it into the
 * weights of the layers that follow, and the norm then only normalises.
 *
 * The arithmetic is float32 whatever stash_type asks for (as for LayerNormalization, the kernels
 * are float only): other input types are refused when lowering, so shape inference still works. */
#include "ops.h"

bool xf_rms_norm_geometry(xf_graph *g, const xf_node *n, xf_rms_norm_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *scale = xf_in(g, n, 1);
    if (!x) return xf_fail(d, g, n, "expects input X");
    if (!xf_dtype_is_float(x->dtype))
        return xf_fail(d, g, n, "X must hold floating-point numbers, not %s", xf_dtype_name(x->dtype));
    if (scale && scale->dtype != x->dtype)
        return xf_fail(d, g, n, "input types differ (%s and %s)", xf_dtype_name(x->dtype), xf_dtype_name(scale->dtype));
    if (!xf_axis(g, n, xf_attr_int(n, "axis", -1), x->rank, &p->axis, d)) return false;
    p->rows = xf_prod(x->shape, 0, p->axis);
    p->cols = xf_prod(x->shape, p->axis, x->rank);
    p->period = 1;
    if (!scale) return true;
    /* Right-aligned against X, from the last dim: Scale's dims equal X's (the repeated block), then
     * only 1s. A dim that is 1 in X too fits either way. */
    bool ok = scale->rank <= x->rank, in_block = true;
    for (int i = scale->rank - 1; ok && i >= 0; i--) {
        int xi = x->rank - scale->rank + i;
        int64_t s = scale->shape[i];
        if (s == 1) {
            in_block = in_block && x->shape[xi] == 1;
            continue;
        }
        ok = in_block && xi >= p->axis && s == x->shape[xi];
        p->period *= s;
    }
    if (!ok) {
        char ss[128], sx[128];
        return xf_fail(d, g, n, "Scale of shape %s does not fit X %s normalised from axis %d: it must have the shape "
                       "of the normalised dims, of their last dims, or one value", xf_shape_str(scale, ss, sizeof ss),
                       xf_shape_str(x, sx, sizeof sx), p->axis);
    }
    return true;
}

bool xf_shape_rms_norm(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_rms_norm_geom p;
    if (!xf_rms_norm_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    return true;
}
