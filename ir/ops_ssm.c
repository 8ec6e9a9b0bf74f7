/* ops_ssm.c — shape rules of the state-space ops that fuse_ssm makes from Mamba's unrolled ONNX
 * graphs: xfc.SelectiveScan, xfc.SsdScan and xfc.CausalConv1d. Each lowers to one kernel of
 * runtime/ssm.c (lower/ssm.c), with the dims the geometry helpers here (declared in ops.h) find.
 *
 * xfc.SelectiveScan(u, delta, A, B, C, D?, z?) -> y
 *   u, delta [batch, d, l]; A [d, n]; B, C [batch, l, n]; D [d]; z [batch, d, l]; y [batch, d, l].
 *   delta is the step size after softplus. An absent D or z is an omitted input (-1). These are the
 *   layouts the exported graphs already have, so no transpose is needed around the kernel. Decode
 *   will add an initial state input (7) and a final state output (1), both [batch, d, n].
 * xfc.SsdScan(x, dt, A, B, C, D?) -> y          (Mamba-2)
 *   x, y [batch, l, heads, p]; dt [batch, l, heads] after softplus and clamp; A, D [heads];
 *   B, C [batch, l, groups, n] with groups dividing heads (head hd reads group hd / (heads/groups)).
 * xfc.CausalConv1d(x, w, bias?) -> y, attribute activation (0 none, 4 SiLU, as xfc.Linear)
 *   x, y [batch, channels, l]; w [channels, 1, k]; bias [channels].
 * All are float32 only. */
#include "ops.h"

static bool is_f32(const xf_value *v) { return v && v->dtype == XF_F32; }

/* v has exactly the given shape. */
static bool shaped(const xf_value *v, int rank, const int64_t *shape) {
    if (!v || v->rank != rank) return false;
    for (int i = 0; i < rank; i++)
        if (v->shape[i] != shape[i]) return false;
    return true;
}

/* ---- SelectiveScan ---- */

typedef xf_scan_dims scan_dims; /* declared in ops.h: the lowering reads it */

bool xf_selective_scan_geometry(xf_graph *g, const xf_node *n, scan_dims *s, xf_diag *d) {
    xf_value *u = xf_in(g, n, 0), *a = xf_in(g, n, 2);
    if (n->nin < 5 || n->nin > 7 || !u || !xf_in(g, n, 1) || !a || !xf_in(g, n, 3) || !xf_in(g, n, 4))
        return xf_fail(d, g, n, "expects inputs u, delta, A, B, C and optionally D and z");
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] >= 0 && !is_f32(xf_in(g, n, k)))
            return xf_fail(d, g, n, "input %d is %s; only float32 is supported", k,
                           xf_dtype_name(xf_in(g, n, k)->dtype));
    if (u->rank != 3 || a->rank != 2) return xf_fail(d, g, n, "expects u [batch, d, l] and A [d, n]");
    *s = (scan_dims){u->shape[0], u->shape[1], u->shape[2], a->shape[1]};
    const int64_t bdl[3] = {s->batch, s->d, s->l}, dn[2] = {s->d, s->n}, bln[3] = {s->batch, s->l, s->n};
    char buf[128];
    if (!shaped(xf_in(g, n, 1), 3, bdl))
        return xf_fail(d, g, n, "delta %s differs from u", xf_shape_str(xf_in(g, n, 1), buf, sizeof buf));
    if (!shaped(a, 2, dn))
        return xf_fail(d, g, n, "A %s is not [d, n] with d = %lld", xf_shape_str(a, buf, sizeof buf), (long long)s->d);
    for (int k = 3; k <= 4; k++)
        if (!shaped(xf_in(g, n, k), 3, bln))
            return xf_fail(d, g, n, "%s %s is not [batch, l, n] = [%lld,%lld,%lld]", k == 3 ? "B" : "C",
                           xf_shape_str(xf_in(g, n, k), buf, sizeof buf), (long long)s->batch, (long long)s->l,
                           (long long)s->n);
    xf_value *skip = xf_in(g, n, 5), *z = xf_in(g, n, 6);
    if (skip && !shaped(skip, 1, &s->d))
        return xf_fail(d, g, n, "D %s is not [d]", xf_shape_str(skip, buf, sizeof buf));
    if (z && !shaped(z, 3, bdl)) return xf_fail(d, g, n, "z %s differs from u", xf_shape_str(z, buf, sizeof buf));
    return true;
}

bool xf_shape_selective_scan(xf_graph *g, xf_node *n, xf_diag *d) {
    scan_dims s;
    if (!xf_selective_scan_geometry(g, n, &s, d)) return false;
    xf_set_out(g, n, 0, XF_F32, 3, (const int64_t[]){s.batch, s.d, s.l});
    return true;
}

/* ---- SsdScan ---- */

typedef xf_ssd_dims ssd_dims; /* declared in ops.h: the lowering reads it */

bool xf_ssd_geometry(xf_graph *g, const xf_node *n, ssd_dims *s, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *b = xf_in(g, n, 3);
    if (n->nin < 5 || n->nin > 6 || !x || !xf_in(g, n, 1) || !xf_in(g, n, 2) || !b || !xf_in(g, n, 4))
        return xf_fail(d, g, n, "expects inputs x, dt, A, B, C and optionally D");
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] >= 0 && !is_f32(xf_in(g, n, k)))
            return xf_fail(d, g, n, "input %d is %s; only float32 is supported", k,
                           xf_dtype_name(xf_in(g, n, k)->dtype));
    if (x->rank != 4 || b->rank != 4) return xf_fail(d, g, n, "expects x [batch, l, heads, p] and B [batch, l, groups, n]");
    *s = (ssd_dims){x->shape[0], x->shape[1], x->shape[2], x->shape[3], b->shape[2], b->shape[3]};
    const int64_t blh[3] = {s->batch, s->l, s->heads}, blgn[4] = {s->batch, s->l, s->groups, s->n};
    char buf[128];
    if (s->groups < 1 || s->heads % s->groups != 0)
        return xf_fail(d, g, n, "%lld groups do not divide %lld heads", (long long)s->groups, (long long)s->heads);
    if (!shaped(xf_in(g, n, 1), 3, blh))
        return xf_fail(d, g, n, "dt %s is not [batch, l, heads]", xf_shape_str(xf_in(g, n, 1), buf, sizeof buf));
    if (!shaped(xf_in(g, n, 2), 1, &s->heads))
        return xf_fail(d, g, n, "A %s is not [heads]", xf_shape_str(xf_in(g, n, 2), buf, sizeof buf));
    if (!shaped(b, 4, blgn) || !shaped(xf_in(g, n, 4), 4, blgn))
        return xf_fail(d, g, n, "B and C are not both [batch, l, groups, n] = [%lld,%lld,%lld,%lld]",
                       (long long)s->batch, (long long)s->l, (long long)s->groups, (long long)s->n);
    if (xf_in(g, n, 5) && !shaped(xf_in(g, n, 5), 1, &s->heads))
        return xf_fail(d, g, n, "D %s is not [heads]", xf_shape_str(xf_in(g, n, 5), buf, sizeof buf));
    return true;
}

bool xf_shape_ssd_scan(xf_graph *g, xf_node *n, xf_diag *d) {
    ssd_dims s;
    if (!xf_ssd_geometry(g, n, &s, d)) return false;
    xf_set_out(g, n, 0, XF_F32, 4, xf_in(g, n, 0)->shape);
    return true;
}

/* ---- CausalConv1d ---- */

bool xf_causal_conv1d_geometry(xf_graph *g, const xf_node *n, int64_t *k, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1), *bias = xf_in(g, n, 2);
    char buf[128];
    if (n->nin < 2 || n->nin > 3 || !x || !w) return xf_fail(d, g, n, "expects inputs x, w and optionally bias");
    if (!is_f32(x) || !is_f32(w) || (bias && !is_f32(bias))) return xf_fail(d, g, n, "only float32 is supported");
    if (x->rank != 3) return xf_fail(d, g, n, "x %s is not [batch, channels, l]", xf_shape_str(x, buf, sizeof buf));
    if (w->rank != 3 || w->shape[0] != x->shape[1] || w->shape[1] != 1 || w->shape[2] < 1)
        return xf_fail(d, g, n, "w %s is not [channels, 1, k] with channels = %lld", xf_shape_str(w, buf, sizeof buf),
                       (long long)x->shape[1]);
    if (bias && !shaped(bias, 1, &x->shape[1]))
        return xf_fail(d, g, n, "bias %s is not [channels]", xf_shape_str(bias, buf, sizeof buf));
    int64_t act = xf_attr_int(n, "activation", 0);
    if (act != 0 && act != 4)
        return xf_fail(d, g, n, "activation %lld is not supported (0 none, 4 SiLU)", (long long)act);
    *k = w->shape[2];
    return true;
}

bool xf_shape_causal_conv1d(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t k;
    if (!xf_causal_conv1d_geometry(g, n, &k, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, XF_F32, 3, x->shape);
    return true;
}
