/* fuse_ssm.c — Mamba's selective scan and causal depthwise convolution, as the ONNX exporters
 * write them, become xfc.SelectiveScan and xfc.CausalConv1d (ir/ops_ssm.c, runtime/ssm.c).
 *
 * The exporters trace Hugging Face's reference Mamba code, which loops over time in Python, so the
 * scan arrives unrolled: one group of nodes per time step, each reading its slice of two
 * [batch, d, l, n] tensors that the fused kernel never builds. The causal convolution arrives as a
 * Conv padded on both sides whose extra outputs a Slice drops.
 *
 * Both exports of the reference model (PyTorch's dynamo exporter at opset 18, TorchScript's at 17)
 * produce the same subgraphs once fold and simplify have run. The TorchScript one differs by
 * float-to-float Casts around every state and projection (simplify removes them; the matchers look
 * through them anyway), Constant nodes (folded), a plain Softplus where the dynamo export writes
 * Where(x > 20, x, Softplus(x)) (either way delta's producer, which stays outside the fused node),
 * u read straight from the SiLU where dynamo reads it through two Transposes that cancel, and a
 * bias on the Conv (dynamo drops the reference model's, which is zero).
 * Fusions that ran before may have rewritten x * Sigmoid(x) as Silu(x) and Silu(z) * y as SwiGlu(z, y);
 * both forms are accepted.
 *
 * Requires: shapes (fold). Invalidates nothing: absorbed nodes are left dead for dce. */
#include <math.h>
#include <string.h>

#include "match.h"

/* ---- helpers ---- */

/* v is a float32 constant whose shape, aligned to the right against `rank` dims, is `want` (the
 * dims it lacks count as 1): its bytes are then laid out as `want` with the 1s dropped. */
static bool const_shaped(const xf_graph *g, int32_t v, int rank, const int64_t *want) {
    const xf_value *x = &g->values[v];
    if (!x->data || x->dtype != XF_F32 || x->rank > rank) return false;
    for (int i = 0; i < rank; i++) {
        int xi = i - (rank - x->rank);
        if ((xi >= 0 ? x->shape[xi] : 1) != want[i]) return false;
    }
    return true;
}

/* v = Gather(src, index, axis) with a constant scalar index equal to `index` (or index - dim). Returns
 * src and adds the Gather to p, or returns -1. */
static int32_t gather_at(const xf_graph *g, int32_t v, int axis, int64_t index, xf_match *p) {
    int32_t gi = xf_producer(g, v, XF_OP_GATHER);
    if (gi < 0) return -1;
    const xf_node *n = &g->nodes[gi];
    if (n->nin != 2 || n->in[0] < 0 || n->in[1] < 0) return -1;
    const xf_value *x = &g->values[n->in[0]];
    double idx;
    if (axis < 0 || axis >= x->rank || g->values[v].rank != x->rank - 1 || !xf_const_scalar(g, n->in[1], &idx))
        return -1;
    if (xf_axis_from_front(xf_attr_int(n, "axis", 0), x->rank) != axis) return -1;
    if ((int64_t)idx != index && (int64_t)idx != index - x->shape[axis]) return -1;
    xf_match_take(p, gi);
    return n->in[0];
}

/* Looks back from v through nodes that keep a tensor's bytes and only relabel its shape: the
 * reshape family, Identity, a Cast to the same type and, when `unit` is set, a Gather of index 0
 * along a dimension of 1 (how the exporters write `x[:, :, 0]`). Adds them to p (when given) and
 * returns the value they start from. */
static int32_t unview(const xf_graph *g, int32_t v, bool unit, xf_match *p) {
    for (;;) {
        int32_t pi = xf_producer(g, v, -1);
        if (pi < 0) return v;
        const xf_node *n = &g->nodes[pi];
        if (n->nin < 1 || n->in[0] < 0 || g->values[n->in[0]].dtype != g->values[v].dtype) return v;
        const xf_value *x = &g->values[n->in[0]];
        bool keeps = (xf_ops[n->op].flags & XF_FLAG_VIEW) || n->op == XF_OP_IDENTITY || n->op == XF_OP_CAST;
        if (!keeps && unit && n->op == XF_OP_GATHER) {
            int axis = xf_axis_from_front(xf_attr_int(n, "axis", 0), x->rank);
            keeps = axis >= 0 && axis < x->rank && x->shape[axis] == 1 && gather_at(g, v, axis, 0, NULL) >= 0;
        }
        if (!keeps) return v;
        xf_match_take(p, pi);
        v = n->in[0];
    }
}

/* ---- selective scan ----
 *
 * The unrolled scan, for u, delta [b, d, l] (delta after softplus), B, C [b, l, n] and the
 * constant A [d, n] (as [1, d, 1, n]; the exporters fold -exp(A_log)):
 *
 *     dt4 = view(delta) [b,d,l,1]      dA  = Exp(Mul(A, dt4))                         [b,d,l,n]
 *     u4  = view(u)     [b,d,l,1]      dBu = Mul(Mul(dt4, view(B) [b,1,l,n]), u4)      [b,d,l,n]
 *     for t in 0..l-1:
 *         h_t = Add(Mul(Gather(dA, t, axis 2), h_{t-1}), Gather(dBu, t, axis 2))      [b,d,n]
 *         y_t = view(MatMul(h_t, view(Gather(C, t, axis 1)) [b,n,1]))                 [b,d,1]
 *     y = Concat(y_0 .. y_{l-1}, axis 2)                                               [b,d,l]
 *
 * with h_{-1} a constant of zeros. Then, each optional, the skip and the gate:
 *
 *     y = Add(y, Mul(u, D))       D a constant [d] (as [1, d, 1])
 *     y = Mul(y, Silu(z)) | Mul(y, Mul(z, Sigmoid(z))) | SwiGlu(z, y)
 *
 * "view" is any chain of nodes unview looks through: the exports use Unsqueeze, Gather of index 0
 * for y_t, and (TorchScript, before simplify) Casts around h_t. Mul and Add take their operands in
 * either order; the three factors of dBu may be grouped either way. Any index t may also be written
 * t - l. The Concat is where matching starts: when its first input reads like a step (a view of a
 * MatMul with a view of a Gather), anything else that does not fit is recorded as a near miss.
 *
 * The pattern is everything from dA and dBu down to y. Every value it computes must be used only
 * inside it. The views that lead from delta, u and B to the products stay: the fused node reads
 * delta, u and B themselves, and dce removes the views once nothing reads them.
 *
 * The fused node is xfc.SelectiveScan(u, delta, A [d,n], B, C, D [d] or absent, z or absent). */

typedef struct {
    int32_t u, delta, a, b, c, d, z; /* values; a and d are the graph's constants, reshaped later */
    int32_t root;
    int64_t batch, dm, l, n;
} scan;

/* Step t: h = Add(Mul(Gather(dA, t), prev), Gather(dBu, t)), prev being the state of step t-1 (a
 * constant of zeros for t = 0). Sets *dA and *dBu, adds the nodes to p. */
static bool match_state(const xf_graph *g, int32_t h, int32_t prev, int64_t t, int32_t *dA, int32_t *dBu,
                        xf_match *p) {
    int32_t add = xf_producer(g, h, XF_OP_ADD);
    if (add < 0) return false;
    const xf_node *an = &g->nodes[add];
    for (int k = 0; k < 2; k++) {
        int32_t mul = xf_producer(g, an->in[k], XF_OP_MUL);
        if (mul < 0 || gather_at(g, an->in[1 - k], 2, t, NULL) < 0) continue;
        const xf_node *mn = &g->nodes[mul];
        for (int j = 0; j < 2; j++) {
            int32_t other = mn->in[1 - j];
            double zero;
            bool chained = t == 0 ? xf_const_uniform(g, other, &zero) && zero == 0.0
                                  : unview(g, other, false, NULL) == prev;
            if (!chained || gather_at(g, mn->in[j], 2, t, NULL) < 0) continue;
            *dA = gather_at(g, mn->in[j], 2, t, p);
            *dBu = gather_at(g, an->in[1 - k], 2, t, p);
            unview(g, other, false, p);
            xf_match_take(p, mul);
            xf_match_take(p, add);
            return true;
        }
    }
    return false;
}

/* dBu = the product of view(delta), view(B) and view(u), grouped either way. Sets s->b and s->u. */
static bool match_input(const xf_graph *g, int32_t dBu, scan *s, xf_match *p) {
    int32_t outer = xf_producer(g, dBu, XF_OP_MUL);
    if (outer < 0) return false;
    const int64_t bdln[4] = {s->batch, s->dm, s->l, s->n};
    int32_t leaves[4], nleaves = 0;
    xf_match_take(p, outer);
    for (int k = 0; k < 2; k++) {
        int32_t v = g->nodes[outer].in[k], inner = xf_producer(g, v, XF_OP_MUL);
        if (inner >= 0 && xf_has_shape(&g->values[v], 4, bdln)) {
            for (int j = 0; j < 2 && nleaves < 4; j++) leaves[nleaves++] = g->nodes[inner].in[j];
            xf_match_take(p, inner);
        } else if (nleaves < 4) {
            leaves[nleaves++] = v;
        }
    }
    if (nleaves != 3) return false;
    /* delta is known from dA; B and u differ in shape once viewed ([b,1,l,n] and [b,d,l,1]) */
    const int64_t b1ln[4] = {s->batch, 1, s->l, s->n}, bdl1[4] = {s->batch, s->dm, s->l, 1};
    bool dt = false;
    s->b = s->u = -1;
    for (int k = 0; k < 3; k++) {
        const xf_value *leaf = &g->values[leaves[k]];
        int32_t src = unview(g, leaves[k], false, NULL);
        if (!dt && src == s->delta) dt = true;
        else if (s->b < 0 && xf_has_shape(leaf, 4, b1ln)) s->b = src;
        else if (s->u < 0 && xf_has_shape(leaf, 4, bdl1)) s->u = src;
    }
    const int64_t bln[3] = {s->batch, s->l, s->n}, bdl[3] = {s->batch, s->dm, s->l};
    return dt && s->b >= 0 && s->u >= 0 && xf_has_shape(&g->values[s->b], 3, bln) &&
           xf_has_shape(&g->values[s->u], 3, bdl) && g->values[s->b].dtype == XF_F32 && g->values[s->u].dtype == XF_F32;
}

/* The optional skip Add(y, Mul(u, D)) and gate after the scan's result y; moves s->root. */
static void match_epilogue(const xf_graph *g, scan *s, xf_match *p) {
    const int64_t bdl[3] = {s->batch, s->dm, s->l}, d1[3] = {1, s->dm, 1};
    int32_t y = g->nodes[s->root].out[0], user = xf_sole_reader(g, y);
    if (user >= 0 && g->nodes[user].op == XF_OP_ADD && xf_has_shape(&g->values[g->nodes[user].out[0]], 3, bdl)) {
        const xf_node *an = &g->nodes[user];
        int32_t other = an->in[0] == y ? an->in[1] : an->in[0], mul = xf_producer(g, other, XF_OP_MUL);
        for (int j = 0; j < 2 && mul >= 0 && xf_absorbable(g, other) && s->d < 0; j++) {
            const xf_node *mn = &g->nodes[mul];
            if (!xf_has_shape(&g->values[mn->in[j]], 3, bdl) || unview(g, mn->in[j], false, NULL) != s->u ||
                !const_shaped(g, mn->in[1 - j], 3, d1))
                continue;
            s->d = mn->in[1 - j];
            xf_match_take(p, mul);
            xf_match_take(p, user);
            s->root = user;
            y = an->out[0];
        }
    }
    user = xf_sole_reader(g, y);
    if (user < 0 || !xf_has_shape(&g->values[g->nodes[user].out[0]], 3, bdl)) return;
    const xf_node *un = &g->nodes[user];
    int32_t z = -1, act = -1, sig = -1;
    if (un->op == XF_OP_SWIGLU && un->in[1] == y && un->in[0] != y) {
        z = un->in[0];
    } else if (un->op == XF_OP_MUL) {
        int32_t other = un->in[0] == y ? un->in[1] : un->in[0];
        if (!xf_absorbable(g, other)) return;
        if ((act = xf_producer(g, other, XF_OP_SILU)) >= 0) {
            z = g->nodes[act].in[0];
        } else if ((act = xf_producer(g, other, XF_OP_MUL)) >= 0) { /* z * Sigmoid(z) */
            const xf_node *mn = &g->nodes[act];
            for (int j = 0; j < 2 && z < 0; j++) {
                sig = xf_producer(g, mn->in[j], XF_OP_SIGMOID);
                if (sig >= 0 && g->nodes[sig].in[0] == mn->in[1 - j] && xf_absorbable(g, mn->in[j])) z = mn->in[1 - j];
            }
        }
    }
    if (z < 0 || !xf_has_shape(&g->values[z], 3, bdl) || g->values[z].dtype != XF_F32) return;
    s->z = z;
    if (act >= 0) xf_match_take(p, act);
    if (sig >= 0) xf_match_take(p, sig);
    xf_match_take(p, user);
    s->root = user;
}

#define SCAN_MISS(...) (xf_match_reject(p, __VA_ARGS__), false)

static bool match_scan(xf_graph *g, int32_t ci, scan *s, xf_match *p) {
    const xf_node *cat = &g->nodes[ci];
    const xf_value *y = &g->values[cat->out[0]];
    if (cat->nin < 1 || y->rank != 3 || y->dtype != XF_F32 || xf_axis_from_front(xf_attr_int(cat, "axis", 0), 3) != 2 ||
        cat->nin != y->shape[2])
        return false;
    for (int k = 0; k < cat->nin; k++)
        if (cat->in[k] < 0) return false;
    int32_t mm0 = xf_producer(g, unview(g, cat->in[0], true, NULL), XF_OP_MATMUL);
    if (mm0 < 0 || xf_producer(g, unview(g, g->nodes[mm0].in[1], false, NULL), XF_OP_GATHER) < 0) return false;
    *s = (scan){.d = -1, .z = -1, .c = -1, .root = ci, .batch = y->shape[0], .dm = y->shape[1], .l = y->shape[2]};
    const xf_value *h0 = &g->values[g->nodes[mm0].in[0]];
    s->n = h0->rank == 3 ? h0->shape[2] : -1;
    xf_match_take(p, ci);
    const int64_t bd1[3] = {s->batch, s->dm, 1}, bdn[3] = {s->batch, s->dm, s->n}, bn1[3] = {s->batch, s->n, 1};
    int32_t prev = -1, dA = -1, dBu = -1;
    for (int64_t t = 0; t < s->l; t++) {
        long long tt = (long long)t;
        if (!xf_has_shape(&g->values[cat->in[t]], 3, bd1))
            return SCAN_MISS("input %lld of the Concat is not [b, d, 1]", tt);
        int32_t mm = xf_producer(g, unview(g, cat->in[t], true, p), XF_OP_MATMUL);
        if (mm < 0) return SCAN_MISS("input %lld of the Concat is not the output of a step", tt);
        xf_match_take(p, mm);
        const xf_node *m = &g->nodes[mm];
        int32_t h = unview(g, m->in[0], false, p), c = gather_at(g, unview(g, m->in[1], false, p), 1, t, p);
        if (!xf_has_shape(&g->values[h], 3, bdn) || !xf_has_shape(&g->values[m->in[1]], 3, bn1))
            return SCAN_MISS("step %lld multiplies '%s' by '%s', not a [b, d, n] state by a [b, n, 1] column", tt,
                             g->values[h].name, g->values[m->in[1]].name);
        if (c < 0 || (s->c >= 0 && c != s->c))
            return SCAN_MISS("step %lld does not read row %lld of the C that step 0 reads", tt, tt);
        s->c = c;
        int32_t sa = -1, sb = -1;
        if (!match_state(g, h, prev, t, &sa, &sb, p))
            return SCAN_MISS("the state of step %lld is not dA[t] * (the state of step t-1, or zeros) + dBu[t]", tt);
        if ((dA >= 0 && sa != dA) || (dBu >= 0 && sb != dBu))
            return SCAN_MISS("step %lld reads dA or dBu from other tensors than step 0", tt);
        dA = sa, dBu = sb, prev = h;
    }
    const int64_t bdln[4] = {s->batch, s->dm, s->l, s->n}, bln[3] = {s->batch, s->l, s->n};
    if (!xf_has_shape(&g->values[dA], 4, bdln) || !xf_has_shape(&g->values[dBu], 4, bdln) ||
        !xf_has_shape(&g->values[s->c], 3, bln) || g->values[s->c].dtype != XF_F32)
        return SCAN_MISS("dA, dBu and C are not [b, d, l, n], [b, d, l, n] and [b, l, n] float32");
    /* dA = Exp(Mul(A, view(delta))) */
    int32_t ex = xf_producer(g, dA, XF_OP_EXP), arg = ex < 0 ? -1 : xf_producer(g, g->nodes[ex].in[0], XF_OP_MUL);
    const int64_t a4[4] = {1, s->dm, 1, s->n}, bdl[3] = {s->batch, s->dm, s->l};
    s->a = s->delta = -1;
    for (int j = 0; j < 2 && arg >= 0 && s->a < 0; j++) {
        const xf_node *an = &g->nodes[arg];
        if (!const_shaped(g, an->in[j], 4, a4)) continue;
        s->a = an->in[j];
        s->delta = unview(g, an->in[1 - j], false, NULL);
    }
    if (s->a < 0) return SCAN_MISS("the decay '%s' is not Exp(A * delta) with A a constant [d, n]", g->values[dA].name);
    if (!xf_has_shape(&g->values[s->delta], 3, bdl) || g->values[s->delta].dtype != XF_F32)
        return SCAN_MISS("delta '%s' is not [b, d, l] float32", g->values[s->delta].name);
    xf_match_take(p, ex);
    xf_match_take(p, arg);
    if (!match_input(g, dBu, s, p)) return SCAN_MISS("the input term '%s' is not delta * B * u", g->values[dBu].name);
    match_epilogue(g, s, p);
    int32_t leak = xf_match_escaping(g, p, s->root);
    if (leak >= 0) return SCAN_MISS("'%s' is also used outside the scan", g->values[leak].name);
    /* only in a graph built to confuse: an input computed by the scan */
    int32_t inner = xf_match_computed(g, p, (const int32_t[]){s->u, s->delta, s->b, s->c, s->z}, 5);
    return inner < 0 || SCAN_MISS("input '%s' is computed inside the scan", g->values[inner].name);
}

static bool fuse_scan(xf_graph *g, const xf_options *o, int32_t ci, xf_match *p) {
    scan s;
    xf_match_start(p, ci);
    bool ok = match_scan(g, ci, &s, p);
    if (ok) {
        const char *name = g->nodes[s.root].name;
        int32_t a = xf_const_add(g, xf_sprintf(g->arena, "%s_A", name), XF_F32, 2, (const int64_t[]){s.dm, s.n},
                                 g->values[s.a].data);
        int32_t d = s.d < 0 ? -1
                            : xf_const_add(g, xf_sprintf(g->arena, "%s_D", name), XF_F32, 1, &s.dm,
                                           g->values[s.d].data);
        int32_t in[7] = {s.u, s.delta, a, s.b, s.c, d, s.z};
        xf_match_kill(g, p, s.root);
        xf_node_rewrite(g, s.root, XF_OP_SELECTIVE_SCAN, s.z >= 0 ? 7 : s.d >= 0 ? 6 : 5, in);
        xf_count_fusion(o, XF_FUSION_selective_scan);
    } else {
        xf_match_report(g, o, XF_FUSION_selective_scan, p);
    }
    return ok;
}

/* ---- causal convolution ----
 *
 * A depthwise 1-D convolution whose output t sees only inputs up to t:
 *
 *     Conv(x [b,c,l], w [c,1,k], bias [c]?)   group = c, strides 1, dilations 1, pads [k-1, r]
 *     Slice(., first l steps of the last axis)  (steps 1; absent when r = 0)
 *
 * optionally followed by SiLU: Silu(s) | Mul(s, Sigmoid(s)) | Mul(Sigmoid(s), s). The exports pad
 * k-1 on both sides and slice [0, l). A depthwise Conv padded k-1 on the left that fails the rest
 * (strides, a Slice keeping other steps, a second use) is recorded as a near miss.
 *
 * The fused node is xfc.CausalConv1d(x, w, bias?) with attribute activation (0 none, 4 SiLU). */

#define CONV_MISS(...) (xf_record_miss(g, o, XF_FUSION_causal_conv1d, cv, __VA_ARGS__), false)

/* The first step a Slice keeps along `axis`, or -1 when it steps by other than 1 on some axis. */
static int64_t slice_first(xf_graph *g, const xf_node *n, int axis) {
    xf_diag scratch = {0}; /* a list that cannot be read makes no match, not an error */
    int64_t starts[XF_MAX_RANK], axes[XF_MAX_RANK], steps[XF_MAX_RANK];
    int ns = xf_node_ints(g, n, "starts", 1, starts, XF_MAX_RANK, &scratch);
    int na = xf_node_ints(g, n, "axes", 3, axes, XF_MAX_RANK, &scratch);
    int nst = xf_node_ints(g, n, "steps", 4, steps, XF_MAX_RANK, &scratch);
    const xf_value *x = &g->values[n->in[0]];
    if (ns < 0 || na < 0 || nst < 0 || (na && na != ns) || (nst && nst != ns)) return -1;
    int64_t first = 0;
    for (int i = 0; i < ns; i++) {
        if (nst && steps[i] != 1) return -1;
        if (xf_axis_from_front(na ? axes[i] : i, x->rank) != axis) continue;
        int64_t dim = x->shape[axis], b = starts[i] < 0 ? starts[i] + dim : starts[i];
        first = b < 0 ? 0 : b > dim ? dim : b;
    }
    return first;
}

/* An absent list attribute, or one of ones (strides and dilations default to 1). */
static bool all_ones(const xf_attr *a) {
    for (int i = 0; a && i < a->n; i++)
        if (a->type != XF_ATTR_INTS || a->ints[i] != 1) return false;
    return true;
}

static bool fuse_conv(xf_graph *g, const xf_options *o, int32_t ci) {
    const xf_node *cv = &g->nodes[ci];
    if (cv->nin < 2 || cv->nout != 1 || cv->in[0] < 0 || cv->in[1] < 0) return false;
    const xf_value *x = &g->values[cv->in[0]], *w = &g->values[cv->in[1]];
    if (x->rank != 3 || x->dtype != XF_F32 || w->dtype != XF_F32 || w->rank != 3 || w->shape[0] != x->shape[1] ||
        w->shape[1] != 1 || xf_attr_int(cv, "group", 1) != x->shape[1])
        return false; /* not a depthwise 1-D convolution */
    int64_t k = w->shape[2], l = x->shape[2], pads[2] = {0, 0};
    const xf_attr *pa = xf_attr_get(cv, "pads");
    if (pa && pa->type == XF_ATTR_INTS && pa->n == 2) pads[0] = pa->ints[0], pads[1] = pa->ints[1];
    if (pads[0] != k - 1) return false; /* not causal: the left padding decides */
    const char *auto_pad = xf_attr_str(cv, "auto_pad", "NOTSET");
    if (strcmp(auto_pad, "NOTSET") != 0) return CONV_MISS("auto_pad is %s", auto_pad);
    if (!all_ones(xf_attr_get(cv, "strides")) || !all_ones(xf_attr_get(cv, "dilations")))
        return CONV_MISS("strides and dilations must be 1");
    int32_t out = cv->out[0], root = ci, slice = -1, sig = -1;
    const int64_t bcl[3] = {x->shape[0], x->shape[1], l};
    if (pads[1] != 0) {
        slice = xf_sole_reader(g, out);
        if (slice < 0 || g->nodes[slice].op != XF_OP_SLICE)
            return CONV_MISS("the padded output is not cut back to %lld steps by one Slice", (long long)l);
        int64_t first = slice_first(g, &g->nodes[slice], 2);
        if (first < 0) return CONV_MISS("the Slice after it steps by other than 1");
        if (first != 0 || !xf_has_shape(&g->values[g->nodes[slice].out[0]], 3, bcl))
            return CONV_MISS("the Slice after it keeps steps from %lld, not the first %lld", (long long)first,
                             (long long)l);
        root = slice;
        out = g->nodes[slice].out[0];
    } else if (!xf_has_shape(&g->values[out], 3, bcl)) {
        return false;
    }
    /* SiLU: Silu(out), or Mul(out, Sigmoid(out)) with out used by just those two */
    int64_t act = 0;
    int32_t user = xf_sole_reader(g, out);
    if (user >= 0 && g->nodes[user].op == XF_OP_SILU) {
        act = 4, root = user;
    } else if (user < 0 && !g->values[out].is_output && xf_uses(g, out) == 2) {
        for (int32_t i = root + 1; i < g->nnodes && sig < 0; i++)
            if (!g->nodes[i].dead && g->nodes[i].op == XF_OP_SIGMOID && g->nodes[i].in[0] == out) sig = i;
        int32_t mul = sig >= 0 ? xf_sole_reader(g, g->nodes[sig].out[0]) : -1;
        const xf_node *mn = mul >= 0 ? &g->nodes[mul] : NULL;
        if (mn && mn->op == XF_OP_MUL && (mn->in[0] == out || mn->in[1] == out))
            act = 4, root = mul;
        else
            sig = -1;
    }
    int32_t in[3] = {cv->in[0], cv->in[1], cv->nin > 2 ? cv->in[2] : -1};
    if (ci != root) xf_node_kill(g, ci);
    if (slice >= 0 && slice != root) xf_node_kill(g, slice);
    if (sig >= 0) xf_node_kill(g, sig);
    xf_node_rewrite(g, root, XF_OP_CAUSAL_CONV1D, in[2] >= 0 ? 3 : 2, in);
    xf_node_add_attr(g, root, "activation", XF_ATTR_INT)->i = act;
    xf_count_fusion(o, XF_FUSION_causal_conv1d);
    return true;
}

/* ---- Mamba-2 state-space duality (SSD) ----
 *
 * Hugging Face's reference Mamba-2 code (the path the exporters trace) computes the scan in chunks
 * of L steps. With x [b,l,h,p], dt [b,l,h] (after softplus and clamp), the constant A [h], B and C
 * [b,l,h,n] (the [b,l,g,n] projections repeated per head) and the constant D [h], padded with zeros
 * to c*L steps and cut into chunks ("chunk(v)" = Reshape of Pad):
 *
 *     X  = chunk(Mul(x, Unsqueeze(dt)))                     [b,c,L,h,p]
 *     T  = Transpose(chunk(Mul(A, dt)), 0 3 1 2)            [b,h,c,L]      Acum = CumSum(T, -1)
 *     Lm = Transpose(Exp(segsum(T)), 0 2 3 4 1)              [b,c,L,L,h]    (decay from step s to l)
 *     G  = ReduceSum(Mul(C[b,c,L,1,h,n], B[b,c,1,L,h,n]), -1)                           [b,c,L,L,h]
 *     Yd = ReduceSum(Mul(ReduceSum(Mul(G, Lm), -1)[.., 1], X[b,c,1,L,h,p]), 3)           [b,c,L,h,p]
 *     Bd = Mul(B, Unsqueeze(Transpose(Exp(Sub(Slice(Acum, last), Acum)), 0 2 3 1)))      [b,c,L,h,n]
 *     S  = ReduceSum(Mul(Bd[b,c,L,h,1,n], X[b,c,L,h,p,1]), 2)                           [b,c,h,p,n]
 *     Dc = Transpose(Exp(segsum(Pad(Gather(Acum, last, -1), 1 before))), 0 3 2 1)       [b,c+1,c+1,h]
 *     St = Slice(ReduceSum(Mul(Dc[..,1,1], Concat(zeros, S, 1)[b,c+1,1,h,p,n]), 1), first c)
 *     Yo = Mul(ReduceSum(Mul(C[b,c,L,h,1,n], St[b,c,1,h,p,n]), -1), Unsqueeze(Transpose(Exp(Acum), 0 2 3 1)))
 *     y  = Add(Reshape(Add(Yd, Yo)) [b,c*L,h,p], Mul(D, Pad(x)))  then Slice to l steps if padded
 *
 * where segsum(a) = Where(j > i, -inf, CumSum(Where(j >= i, 0, Expand(Unsqueeze(a, -1))), -2)), the
 * masks being constants that are checked element by element. Mul and Add take operands in either
 * order; views (Unsqueeze, Reshape) are looked through, and the shape of every product and sum is
 * checked, which pins down the axes the views and reductions work on. The Add of Yd and Yo is where
 * matching starts.
 *
 * Unrolled, this is Mamba's recurrence with one decay per head, so it becomes
 * xfc.SsdScan(x, dt, A, B, C, D?) (ir/ops_ssm.c): none of the [b,c,L,L,h,p]-sized products exist.
 * When B and C are repeat_interleave'd from [b,l,g,n] (Reshape(Expand(Unsqueeze(v, 3)))), the fused
 * node reads the [b,l,g,n] tensors and indexes the group of each head. */

#define SSD_MISS(...) (xf_match_reject(p, __VA_ARGS__), false)

typedef struct {
    int32_t x, dt, a, b, c, d; /* a and d: the graph's constants, reshaped when fused */
    int32_t root;
    int64_t batch, chunks, len, heads, p, n, l;
} ssd;

/* v = Mul(a, b): the Mul (added to p) and its operands, or -1. */
static int32_t mul_of(const xf_graph *g, int32_t v, int32_t *a, int32_t *b, xf_match *p) {
    int32_t m = xf_producer(g, v, XF_OP_MUL);
    if (m < 0 || g->nodes[m].nin != 2) return -1;
    *a = g->nodes[m].in[0], *b = g->nodes[m].in[1];
    xf_match_take(p, m);
    return m;
}

/* v = op(x, ...) with output shape `shape`: returns x (the node added to p), or -1. */
static int32_t unary_of(const xf_graph *g, int32_t v, int op, int rank, const int64_t *shape, xf_match *p) {
    int32_t k = xf_producer(g, v, op);
    if (k < 0 || g->nodes[k].in[0] < 0 || (shape && !xf_has_shape(&g->values[v], rank, shape))) return -1;
    xf_match_take(p, k);
    return g->nodes[k].in[0];
}

/* v = Transpose(x) with the given permutation: returns x, or -1. */
static int32_t transpose_of(const xf_graph *g, int32_t v, int rank, const int64_t *perm, xf_match *p) {
    int32_t k = xf_producer(g, v, XF_OP_TRANSPOSE);
    const xf_attr *a = k < 0 ? NULL : xf_attr_get(&g->nodes[k], "perm");
    if (!a || a->type != XF_ATTR_INTS || a->n != rank) return -1;
    for (int i = 0; i < rank; i++)
        if (a->ints[i] != perm[i]) return -1;
    xf_match_take(p, k);
    return g->nodes[k].in[0];
}

/* A constant Pad of zeros; its per-axis amounts go to begin/end. The input, or -1. */
static int32_t pad_of(xf_graph *g, int32_t v, int64_t *begin, int64_t *end, xf_match *p) {
    int32_t k = xf_producer(g, v, XF_OP_PAD);
    if (k < 0) return -1;
    const xf_node *n = &g->nodes[k];
    const xf_value *x = &g->values[n->in[0]];
    double fill = 0.0;
    xf_diag scratch = {0};
    int64_t pads[2 * XF_MAX_RANK];
    if (strcmp(xf_attr_str(n, "mode", "constant"), "constant") != 0 || (n->nin > 3 && n->in[3] >= 0) ||
        (n->nin > 2 && n->in[2] >= 0 && (!xf_const_scalar(g, n->in[2], &fill) || fill != 0.0)) ||
        xf_node_ints(g, n, "pads", 1, pads, 2 * XF_MAX_RANK, &scratch) != 2 * x->rank)
        return -1;
    for (int i = 0; i < x->rank; i++) begin[i] = pads[i], end[i] = pads[x->rank + i];
    xf_match_take(p, k);
    return n->in[0];
}

/* chunk(v) = Reshape(Pad(v)) with zeros appended on axis 1 only: returns v (views looked through). */
static int32_t unchunk(xf_graph *g, int32_t v, int64_t l, xf_match *p) {
    int32_t padded = unview(g, v, false, p);
    int64_t begin[XF_MAX_RANK], end[XF_MAX_RANK];
    int32_t src = pad_of(g, padded, begin, end, NULL);
    if (src < 0) return g->values[padded].rank >= 2 && g->values[padded].shape[1] == l ? padded : -1;
    for (int i = 0; i < g->values[src].rank; i++)
        if (begin[i] != 0 || (i != 1 && end[i] != 0)) return -1;
    pad_of(g, padded, begin, end, p);
    return g->values[src].shape[1] == l ? src : -1;
}

/* A constant of `dtype` whose last two dims are [t, t] (leading dims 1) with element (i, j) equal to
 * want(i, j); want 0 is "j >= i", 1 is "j > i". */
static bool mask_is(const xf_graph *g, int32_t v, int64_t t, int want) {
    const xf_value *m = &g->values[v];
    if (!m->data || m->dtype != XF_BOOL || m->rank < 2 || xf_value_numel(m) != t * t ||
        m->shape[m->rank - 1] != t)
        return false;
    for (int64_t i = 0; i < t; i++)
        for (int64_t j = 0; j < t; j++)
            if ((xf_const_f64(m, i * t + j) != 0.0) != (want ? j > i : j >= i)) return false;
    return true;
}

/* v = Exp(segsum(a)) for a [.., t]: returns a, or -1 (see the comment above). */
static int32_t segsum_exp(const xf_graph *g, int32_t v, int64_t t, xf_match *p) {
    int32_t w2 = xf_producer(g, unary_of(g, v, XF_OP_EXP, 0, NULL, NULL), XF_OP_WHERE);
    if (w2 < 0) return -1;
    double inf, zero;
    const xf_node *n2 = &g->nodes[w2];
    if (!mask_is(g, n2->in[0], t, 1) || !xf_const_uniform(g, n2->in[1], &inf) || inf != -INFINITY) return -1;
    int32_t cs = xf_producer(g, n2->in[2], XF_OP_CUMSUM);
    if (cs < 0 || xf_attr_int(&g->nodes[cs], "exclusive", 0) || xf_attr_int(&g->nodes[cs], "reverse", 0)) return -1;
    const xf_value *sum = &g->values[n2->in[2]];
    double axis;
    if (!xf_const_scalar(g, g->nodes[cs].in[1], &axis) || xf_axis_from_front((int64_t)axis, sum->rank) != sum->rank - 2)
        return -1;
    int32_t w1 = xf_producer(g, g->nodes[cs].in[0], XF_OP_WHERE);
    if (w1 < 0) return -1;
    const xf_node *n1 = &g->nodes[w1];
    if (!mask_is(g, n1->in[0], t, 0) || !xf_const_uniform(g, n1->in[1], &zero) || zero != 0.0) return -1;
    int32_t ex = xf_producer(g, n1->in[2], XF_OP_EXPAND);
    if (ex < 0) return -1;
    int32_t a = unview(g, g->nodes[ex].in[0], false, NULL);
    if (g->values[a].rank != sum->rank - 1 || g->values[a].shape[g->values[a].rank - 1] != t) return -1;
    xf_match_take(p, xf_producer(g, v, XF_OP_EXP));
    xf_match_take(p, w2), xf_match_take(p, cs), xf_match_take(p, w1), xf_match_take(p, ex);
    unview(g, g->nodes[ex].in[0], false, p);
    return a;
}

/* v = ReduceSum(Mul(a, b)) with output shape `out`; sets a and b (views looked through) and the
 * shapes they had in the product. Returns false when v is something else. */
static bool sum_of_product(xf_graph *g, int32_t v, int rank, const int64_t *out, int32_t ab[2],
                           const xf_value *shaped_ab[2], xf_match *p) {
    int32_t r = xf_producer(g, v, XF_OP_REDUCE_SUM);
    if (r < 0 || !xf_has_shape(&g->values[v], rank, out) || xf_attr_int(&g->nodes[r], "keepdims", 1) != 0) return false;
    int32_t a, b;
    if (mul_of(g, g->nodes[r].in[0], &a, &b, p) < 0) return false;
    xf_match_take(p, r);
    shaped_ab[0] = &g->values[a], shaped_ab[1] = &g->values[b];
    ab[0] = unview(g, a, false, p), ab[1] = unview(g, b, false, p);
    return true;
}

/* B or C repeated per head, [b,l,h,n] = Reshape(Expand(Unsqueeze(v [b,l,g,n], 3))): returns v, or
 * the [b,l,h,n] tensor itself. */
static int32_t ungroup(const xf_graph *g, int32_t v, xf_match *p) {
    int32_t ex = xf_producer(g, unview(g, v, false, NULL), XF_OP_EXPAND);
    if (ex < 0) return v;
    int32_t src = unview(g, g->nodes[ex].in[0], false, NULL);
    const xf_value *s = &g->values[src], *e = &g->values[g->nodes[ex].out[0]], *r = &g->values[v];
    const xf_value *u = &g->values[g->nodes[ex].in[0]]; /* [b,l,g,1,n]: repeated per group, not tiled */
    if (s->rank != 4 || u->rank != 5 || u->shape[3] != 1 || u->shape[2] != s->shape[2] || u->shape[4] != s->shape[3])
        return v;
    if (e->rank != 5 || r->rank != 4 || e->shape[0] != s->shape[0] || e->shape[1] != s->shape[1] ||
        e->shape[2] != s->shape[2] || e->shape[4] != s->shape[3] || e->shape[2] * e->shape[3] != r->shape[2])
        return v;
    unview(g, v, false, p);
    xf_match_take(p, ex);
    unview(g, g->nodes[ex].in[0], false, p);
    return src;
}

static bool match_ssd(xf_graph *g, int32_t ai, ssd *s, xf_match *p) {
    const xf_node *root = &g->nodes[ai];
    const xf_value *yo = &g->values[root->out[0]];
    if (root->nin != 2 || yo->rank != 5 || yo->dtype != XF_F32) return false;
    /* Yo = Mul(ReduceSum(..), Unsqueeze(Transpose(Exp(Acum)))) — the cheap test that this is SSD */
    int32_t yd = -1, acum = -1, s6 = -1;
    for (int k = 0; k < 2 && acum < 0; k++) {
        int32_t a, b, m = mul_of(g, root->in[k], &a, &b, NULL);
        for (int j = 0; j < 2 && m >= 0 && acum < 0; j++) {
            int32_t e = transpose_of(g, unview(g, j ? b : a, false, NULL), 4, (const int64_t[]){0, 2, 3, 1}, NULL);
            int32_t c = e < 0 ? -1 : unary_of(g, e, XF_OP_EXP, 0, NULL, NULL);
            if (c >= 0 && xf_producer(g, c, XF_OP_CUMSUM) >= 0) acum = c, s6 = j ? a : b, yd = root->in[1 - k];
        }
    }
    if (acum < 0) return false;
    const xf_value *ac = &g->values[acum];
    *s = (ssd){.batch = yo->shape[0], .chunks = yo->shape[1], .len = yo->shape[2], .heads = yo->shape[3],
               .p = yo->shape[4], .d = -1, .root = ai};
    const int64_t bhcl[4] = {s->batch, s->heads, s->chunks, s->len};
    if (!xf_has_shape(ac, 4, bhcl)) return SSD_MISS("the cumulative decay '%s' is not [b, h, c, L]", ac->name);
    xf_match_take(p, ai);
    for (int k = 0; k < 2; k++) { /* take the Yo nodes found above */
        int32_t a, b;
        if (root->in[k] == yd || mul_of(g, root->in[k], &a, &b, p) < 0) continue;
        int32_t e = transpose_of(g, unview(g, a == s6 ? b : a, false, p), 4, (const int64_t[]){0, 2, 3, 1}, p);
        unary_of(g, e, XF_OP_EXP, 0, NULL, p);
    }
    /* Acum = CumSum(T, -1), T = Transpose(chunk(Mul(A, dt)), 0 3 1 2) */
    int32_t cs = xf_producer(g, acum, XF_OP_CUMSUM);
    double axis;
    if (xf_attr_int(&g->nodes[cs], "exclusive", 0) || xf_attr_int(&g->nodes[cs], "reverse", 0) ||
        !xf_const_scalar(g, g->nodes[cs].in[1], &axis) || xf_axis_from_front((int64_t)axis, 4) != 3)
        return SSD_MISS("'%s' is not a cumulative sum over the steps of a chunk", ac->name);
    xf_match_take(p, cs);
    int32_t t = g->nodes[cs].in[0];
    int32_t adt = transpose_of(g, t, 4, (const int64_t[]){0, 3, 1, 2}, p);
    int32_t ma, mb, mul = -1;
    s->a = -1;
    if (adt >= 0) {
        int64_t begin[XF_MAX_RANK], end[XF_MAX_RANK];
        int32_t flat = unview(g, adt, false, NULL), unpadded = pad_of(g, flat, begin, end, NULL);
        if (unpadded >= 0) flat = unpadded;
        s->l = g->values[flat].rank == 3 ? g->values[flat].shape[1] : -1;
        int32_t src = s->l > 0 ? unchunk(g, adt, s->l, NULL) : -1;
        if (src >= 0 && (mul = mul_of(g, src, &ma, &mb, NULL)) >= 0)
            for (int j = 0; j < 2 && s->a < 0; j++)
                if (const_shaped(g, j ? mb : ma, 1, &s->heads)) s->a = j ? mb : ma, s->dt = j ? ma : mb;
    }
    if (s->a < 0) return SSD_MISS("the decay exponents '%s' are not A * dt with A a constant [h]", g->values[t].name);
    const int64_t blh[3] = {s->batch, s->l, s->heads};
    if (!xf_has_shape(&g->values[s->dt], 3, blh) || s->l > s->chunks * s->len || s->l <= (s->chunks - 1) * s->len)
        return SSD_MISS("dt '%s' is not [b, l, h] with l steps in %lld chunks of %lld", g->values[s->dt].name,
                        (long long)s->chunks, (long long)s->len);
    unchunk(g, adt, s->l, p);
    xf_match_take(p, mul);
    /* Yd = ReduceSum(Mul(ReduceSum(Mul(G, Lm), -1), X), 3), G = ReduceSum(Mul(C, B), -1) */
    const int64_t bcllh[5] = {s->batch, s->chunks, s->len, s->len, s->heads};
    int32_t ab[2], mx[2], gl[2], cb[2];
    const xf_value *sh[2];
    if (!sum_of_product(g, yd, 5, yo->shape, mx, sh, p))
        return SSD_MISS("'%s' is not the sum of decayed inputs of the chunk", g->values[yd].name);
    int k = sh[0]->rank == 6 && sh[0]->shape[2] == 1 ? 0 : 1; /* X is [b,c,1,L,h,p] in the product */
    int32_t xc = mx[k];
    if (!sum_of_product(g, mx[1 - k], 5, bcllh, gl, sh, p))
        return SSD_MISS("the intra-chunk weights are not a sum of G times the decay matrix");
    k = transpose_of(g, gl[0], 5, (const int64_t[]){0, 2, 3, 4, 1}, NULL) >= 0 ? 0 : 1;
    int32_t lm = transpose_of(g, gl[k], 5, (const int64_t[]){0, 2, 3, 4, 1}, p);
    if (lm < 0 || segsum_exp(g, lm, s->len, p) != t)
        return SSD_MISS("the decay matrix of a chunk is not exp(segsum) of the decay exponents");
    if (!sum_of_product(g, gl[1 - k], 5, bcllh, cb, sh, p))
        return SSD_MISS("G is not a sum of products of C and B");
    k = sh[0]->rank == 6 && sh[0]->shape[3] == 1 ? 0 : 1; /* C is [b,c,L,1,h,n] in the product */
    int32_t cc = cb[k], bc = cb[1 - k];
    const xf_value *cv = &g->values[cc];
    /* the views looked through go back to the padded [b, c*L, h, n] tensors */
    if (cv->rank != 4 || cv->shape[1] != s->chunks * s->len || cv->shape[2] != s->heads ||
        !xf_has_shape(&g->values[bc], 4, cv->shape))
        return SSD_MISS("B and C are not both [b, c*L, h, n] once chunked");
    s->n = cv->shape[3];
    /* Yo's sum: ReduceSum(Mul(C, St), -1), St = Slice(ReduceSum(Mul(Dc, Concat(zeros, S)), 1)) */
    const int64_t bchpn[5] = {s->batch, s->chunks, s->heads, s->p, s->n};
    if (!sum_of_product(g, s6, 5, yo->shape, ab, sh, p) || (ab[0] != cc && ab[1] != cc))
        return SSD_MISS("the inter-chunk output is not a sum of C times the states");
    int32_t st = ab[0] == cc ? ab[1] : ab[0];
    int32_t sl = xf_producer(g, st, XF_OP_SLICE);
    const int64_t bc1hpn[5] = {s->batch, s->chunks + 1, s->heads, s->p, s->n};
    if (sl < 0 || !xf_has_shape(&g->values[st], 5, bchpn) || slice_first(g, &g->nodes[sl], 1) != 0)
        return SSD_MISS("the states entering each chunk are not the first c of the running states");
    xf_match_take(p, sl);
    if (!sum_of_product(g, g->nodes[sl].in[0], 5, bc1hpn, ab, sh, p))
        return SSD_MISS("the running states are not a sum of decayed chunk states");
    int32_t dc = -1, cat = -1;
    for (int j = 0; j < 2 && dc < 0; j++) {
        int32_t e = transpose_of(g, ab[j], 4, (const int64_t[]){0, 3, 2, 1}, NULL);
        if (e >= 0) dc = ab[j], cat = ab[1 - j];
    }
    int32_t ci = cat < 0 ? -1 : xf_producer(g, cat, XF_OP_CONCAT);
    double zero;
    if (dc < 0 || ci < 0 || g->nodes[ci].nin != 2 || !xf_const_uniform(g, g->nodes[ci].in[0], &zero) || zero != 0.0 ||
        xf_axis_from_front(xf_attr_int(&g->nodes[ci], "axis", 0), 5) != 1)
        return SSD_MISS("the running states do not start from zeros");
    xf_match_take(p, ci);
    /* Dc = Transpose(Exp(segsum(Pad(Gather(Acum, last, -1), one zero before))), 0 3 2 1) */
    int32_t padded = segsum_exp(g, transpose_of(g, dc, 4, (const int64_t[]){0, 3, 2, 1}, p), s->chunks + 1, p);
    int64_t begin[XF_MAX_RANK], end[XF_MAX_RANK];
    int32_t last = padded < 0 ? -1 : pad_of(g, padded, begin, end, p);
    if (last < 0 || begin[2] != 1 || end[2] != 0 || begin[0] || begin[1] || end[0] || end[1] ||
        gather_at(g, last, 3, s->len - 1, p) != acum)
        return SSD_MISS("the decay between chunks is not exp(segsum) of each chunk's total");
    /* S = ReduceSum(Mul(Mul(B, decay to the chunk's end), X), 2) */
    if (!sum_of_product(g, g->nodes[ci].in[1], 5, bchpn, ab, sh, p) || (ab[0] != xc && ab[1] != xc))
        return SSD_MISS("the chunk states are not a sum of decayed B times X");
    int32_t bd = ab[0] == xc ? ab[1] : ab[0], b1, b2;
    if (mul_of(g, bd, &b1, &b2, p) < 0) return SSD_MISS("the chunk states do not weigh B by the decay to the chunk's end");
    if (unview(g, b2, false, NULL) == bc) { /* b1: B, b2: the decay */
        int32_t tmp = b1;
        b1 = b2, b2 = tmp;
    }
    if (unview(g, b1, false, NULL) != bc) return SSD_MISS("the chunk states do not weigh B by the decay to the chunk's end");
    unview(g, b1, false, p);
    int32_t sub = unary_of(g, unview(g, b2, false, p), XF_OP_TRANSPOSE, 0, NULL, NULL);
    int32_t ex = sub < 0 ? -1 : xf_producer(g, sub, XF_OP_EXP);
    int32_t sb = ex < 0 ? -1 : xf_producer(g, g->nodes[ex].in[0], XF_OP_SUB);
    int32_t tail = sb < 0 ? -1 : xf_producer(g, g->nodes[sb].in[0], XF_OP_SLICE);
    if (tail < 0 || g->nodes[sb].in[1] != acum || g->nodes[tail].in[0] != acum ||
        slice_first(g, &g->nodes[tail], 3) != s->len - 1 || g->values[g->nodes[tail].out[0]].shape[3] != 1 ||
        transpose_of(g, unview(g, b2, false, NULL), 4, (const int64_t[]){0, 2, 3, 1}, p) < 0)
        return SSD_MISS("the decay to a chunk's end is not exp(Acum[last] - Acum)");
    xf_match_take(p, ex), xf_match_take(p, sb), xf_match_take(p, tail);
    /* the inputs: X = chunk(Mul(x, Unsqueeze(dt))), B and C = chunk(per-head B and C) */
    int32_t xdt = unchunk(g, xc, s->l, p), x1, x2;
    s->x = -1;
    if (xdt >= 0 && mul_of(g, xdt, &x1, &x2, p) >= 0)
        for (int j = 0; j < 2 && s->x < 0; j++)
            if (unview(g, j ? x2 : x1, false, NULL) == s->dt) s->x = j ? x1 : x2, unview(g, j ? x2 : x1, false, p);
    const int64_t blhp[4] = {s->batch, s->l, s->heads, s->p};
    if (s->x < 0 || !xf_has_shape(&g->values[s->x], 4, blhp) || g->values[s->x].dtype != XF_F32)
        return SSD_MISS("the chunked input is not x [b, l, h, p] times dt");
    int32_t bh = unchunk(g, bc, s->l, p), ch = unchunk(g, cc, s->l, p);
    if (bh < 0 || ch < 0) return SSD_MISS("B or C is not a chunked [b, l, h, n] tensor");
    s->b = ungroup(g, bh, p), s->c = ungroup(g, ch, p);
    if (g->values[s->b].shape[2] != g->values[s->c].shape[2]) { /* one repeated, the other not: use both as is */
        s->b = bh, s->c = ch;
    }
    /* y = Add(Reshape(root) [b, c*L, h, p], Mul(D, Pad(x))), then Slice to l steps when padded */
    int32_t y = g->nodes[ai].out[0], v7 = -1;
    for (int32_t i = ai + 1; i < g->nnodes && v7 < 0; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == XF_OP_RESHAPE && g->nodes[i].in[0] == y) v7 = i;
    const int64_t bLhp[4] = {s->batch, s->chunks * s->len, s->heads, s->p};
    if (v7 < 0 || xf_uses(g, y) != 1 || !xf_has_shape(&g->values[g->nodes[v7].out[0]], 4, bLhp))
        return SSD_MISS("the output is not reshaped back to [b, steps, h, p]");
    xf_match_take(p, v7);
    s->root = v7;
    y = g->nodes[v7].out[0];
    int32_t user = xf_sole_reader(g, y);
    if (user >= 0 && g->nodes[user].op == XF_OP_ADD) {
        int32_t other = g->nodes[user].in[0] == y ? g->nodes[user].in[1] : g->nodes[user].in[0], d1, d2;
        int32_t m = xf_absorbable(g, other) ? mul_of(g, other, &d1, &d2, NULL) : -1;
        for (int j = 0; j < 2 && m >= 0 && s->d < 0; j++) {
            int32_t dv = j ? d2 : d1, xv = j ? d1 : d2;
            if (!const_shaped(g, dv, 2, (const int64_t[]){s->heads, 1})) continue;
            int32_t xs = pad_of(g, xv, begin, end, NULL);
            if ((xs >= 0 ? xs : xv) != s->x) continue;
            if (xs >= 0) pad_of(g, xv, begin, end, p);
            s->d = dv;
            xf_match_take(p, m), xf_match_take(p, user);
            s->root = user;
            y = g->nodes[user].out[0];
        }
    }
    if (s->l < s->chunks * s->len) { /* padded: the result is cut back to l steps */
        int32_t cut = xf_sole_reader(g, y);
        if (cut < 0 || g->nodes[cut].op != XF_OP_SLICE || slice_first(g, &g->nodes[cut], 1) != 0 ||
            !xf_has_shape(&g->values[g->nodes[cut].out[0]], 4, blhp))
            return SSD_MISS("the padded result is not cut back to %lld steps", (long long)s->l);
        xf_match_take(p, cut);
        s->root = cut;
    }
    int32_t leak = xf_match_escaping(g, p, s->root);
    if (leak >= 0) return SSD_MISS("'%s' is also used outside the scan", g->values[leak].name);
    int32_t inner = xf_match_computed(g, p, (const int32_t[]){s->x, s->dt, s->b, s->c}, 4);
    return inner < 0 || SSD_MISS("input '%s' is computed inside the scan", g->values[inner].name);
}

static bool fuse_ssd(xf_graph *g, const xf_options *o, int32_t ai, xf_match *p) {
    ssd s;
    xf_match_start(p, ai);
    bool ok = match_ssd(g, ai, &s, p);
    if (ok) {
        const char *name = g->nodes[s.root].name;
        int32_t a = xf_const_add(g, xf_sprintf(g->arena, "%s_A", name), XF_F32, 1, &s.heads, g->values[s.a].data);
        int32_t d = s.d < 0 ? -1
                            : xf_const_add(g, xf_sprintf(g->arena, "%s_D", name), XF_F32, 1, &s.heads,
                                           g->values[s.d].data);
        int32_t in[6] = {s.x, s.dt, a, s.b, s.c, d};
        xf_match_kill(g, p, s.root);
        xf_node_rewrite(g, s.root, XF_OP_SSD_SCAN, d >= 0 ? 6 : 5, in);
        xf_count_fusion(o, XF_FUSION_selective_scan);
    } else {
        xf_match_report(g, o, XF_FUSION_selective_scan, p);
    }
    return ok;
}

bool xf_pass_fuse_ssm(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    xf_match p;
    xf_match_init(&p, g);
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        if (g->nodes[i].op == XF_OP_CONV) changed |= fuse_conv(g, o, i);
        else if (g->nodes[i].op == XF_OP_CONCAT) changed |= fuse_scan(g, o, i, &p);
        else if (g->nodes[i].op == XF_OP_ADD) changed |= fuse_ssd(g, o, i, &p);
    }
    return changed;
}
