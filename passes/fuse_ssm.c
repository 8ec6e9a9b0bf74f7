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
#include <string.h>

#include "match.h"

/* ---- helpers ---- */

/* The nodes of one candidate pattern: a membership flag per node and the list of members. */
typedef struct {
    bool *in;
    int32_t *list, n;
} pattern;

static void take(pattern *p, int32_t node) {
    if (p && !p->in[node]) {
        p->in[node] = true;
        p->list[p->n++] = node;
    }
}

static void forget(pattern *p) {
    for (int32_t i = 0; i < p->n; i++) p->in[p->list[i]] = false;
    p->n = 0;
}

static bool has_shape(const xf_value *v, int rank, const int64_t *shape) {
    if (v->rank != rank) return false;
    for (int i = 0; i < rank; i++)
        if (v->shape[i] != shape[i]) return false;
    return true;
}

static int norm_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

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

/* The one live node reading v when v is absorbable (one use, not a graph output), else -1. */
static int32_t sole_user(const xf_graph *g, int32_t v) {
    if (!xf_absorbable(g, v)) return -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        for (int k = 0; !n->dead && k < n->nin; k++)
            if (n->in[k] == v) return i;
    }
    return -1;
}

/* v = Gather(src, index, axis) with a constant scalar index equal to `index` (or index - dim). Returns
 * src and adds the Gather to p, or returns -1. */
static int32_t gather_at(const xf_graph *g, int32_t v, int axis, int64_t index, pattern *p) {
    int32_t gi = xf_producer(g, v, XF_OP_GATHER);
    if (gi < 0) return -1;
    const xf_node *n = &g->nodes[gi];
    if (n->nin != 2 || n->in[0] < 0 || n->in[1] < 0) return -1;
    const xf_value *x = &g->values[n->in[0]];
    double idx;
    if (axis < 0 || axis >= x->rank || g->values[v].rank != x->rank - 1 || !xf_const_scalar(g, n->in[1], &idx))
        return -1;
    if (norm_axis(xf_attr_int(n, "axis", 0), x->rank) != axis) return -1;
    if ((int64_t)idx != index && (int64_t)idx != index - x->shape[axis]) return -1;
    take(p, gi);
    return n->in[0];
}

/* Looks back from v through nodes that keep a tensor's bytes and only relabel its shape: the
 * reshape family, Identity, a Cast to the same type and, when `unit` is set, a Gather of index 0
 * along a dimension of 1 (how the exporters write `x[:, :, 0]`). Adds them to p (when given) and
 * returns the value they start from. */
static int32_t unview(const xf_graph *g, int32_t v, bool unit, pattern *p) {
    for (;;) {
        int32_t pi = xf_producer(g, v, -1);
        if (pi < 0) return v;
        const xf_node *n = &g->nodes[pi];
        if (n->nin < 1 || n->in[0] < 0 || g->values[n->in[0]].dtype != g->values[v].dtype) return v;
        const xf_value *x = &g->values[n->in[0]];
        bool keeps = (xf_ops[n->op].flags & XF_FLAG_VIEW) || n->op == XF_OP_IDENTITY || n->op == XF_OP_CAST;
        if (!keeps && unit && n->op == XF_OP_GATHER) {
            int axis = norm_axis(xf_attr_int(n, "axis", 0), x->rank);
            keeps = axis >= 0 && axis < x->rank && x->shape[axis] == 1 && gather_at(g, v, axis, 0, NULL) >= 0;
        }
        if (!keeps) return v;
        take(p, pi);
        v = n->in[0];
    }
}

/* A value computed inside the pattern and used outside it (or a graph output), other than the
 * root's result; -1 when there is none. The shared safety rule of match.h, for intermediates with
 * several uses: all of them must be inside the pattern. */
static int32_t escaping(const xf_graph *g, const pattern *p, int32_t root) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead || p->in[i]) continue;
        for (int k = 0; k < n->nin; k++) {
            int32_t v = n->in[k], pi = v >= 0 ? g->values[v].producer : -1;
            if (pi >= 0 && pi != root && p->in[pi]) return v;
        }
    }
    for (int32_t i = 0; i < g->noutputs; i++) {
        int32_t pi = g->values[g->outputs[i]].producer;
        if (pi >= 0 && pi != root && p->in[pi]) return g->outputs[i];
    }
    return -1;
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
                        pattern *p) {
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
            take(p, mul);
            take(p, add);
            return true;
        }
    }
    return false;
}

/* dBu = the product of view(delta), view(B) and view(u), grouped either way. Sets s->b and s->u. */
static bool match_input(const xf_graph *g, int32_t dBu, scan *s, pattern *p) {
    int32_t outer = xf_producer(g, dBu, XF_OP_MUL);
    if (outer < 0) return false;
    const int64_t bdln[4] = {s->batch, s->dm, s->l, s->n};
    int32_t leaves[4], nleaves = 0;
    take(p, outer);
    for (int k = 0; k < 2; k++) {
        int32_t v = g->nodes[outer].in[k], inner = xf_producer(g, v, XF_OP_MUL);
        if (inner >= 0 && has_shape(&g->values[v], 4, bdln)) {
            for (int j = 0; j < 2 && nleaves < 4; j++) leaves[nleaves++] = g->nodes[inner].in[j];
            take(p, inner);
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
        else if (s->b < 0 && has_shape(leaf, 4, b1ln)) s->b = src;
        else if (s->u < 0 && has_shape(leaf, 4, bdl1)) s->u = src;
    }
    const int64_t bln[3] = {s->batch, s->l, s->n}, bdl[3] = {s->batch, s->dm, s->l};
    return dt && s->b >= 0 && s->u >= 0 && has_shape(&g->values[s->b], 3, bln) &&
           has_shape(&g->values[s->u], 3, bdl) && g->values[s->b].dtype == XF_F32 && g->values[s->u].dtype == XF_F32;
}

/* The optional skip Add(y, Mul(u, D)) and gate after the scan's result y; moves s->root. */
static void match_epilogue(const xf_graph *g, scan *s, pattern *p) {
    const int64_t bdl[3] = {s->batch, s->dm, s->l}, d1[3] = {1, s->dm, 1};
    int32_t y = g->nodes[s->root].out[0], user = sole_user(g, y);
    if (user >= 0 && g->nodes[user].op == XF_OP_ADD && has_shape(&g->values[g->nodes[user].out[0]], 3, bdl)) {
        const xf_node *an = &g->nodes[user];
        int32_t other = an->in[0] == y ? an->in[1] : an->in[0], mul = xf_producer(g, other, XF_OP_MUL);
        for (int j = 0; j < 2 && mul >= 0 && xf_absorbable(g, other) && s->d < 0; j++) {
            const xf_node *mn = &g->nodes[mul];
            if (!has_shape(&g->values[mn->in[j]], 3, bdl) || unview(g, mn->in[j], false, NULL) != s->u ||
                !const_shaped(g, mn->in[1 - j], 3, d1))
                continue;
            s->d = mn->in[1 - j];
            take(p, mul);
            take(p, user);
            s->root = user;
            y = an->out[0];
        }
    }
    user = sole_user(g, y);
    if (user < 0 || !has_shape(&g->values[g->nodes[user].out[0]], 3, bdl)) return;
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
    if (z < 0 || !has_shape(&g->values[z], 3, bdl) || g->values[z].dtype != XF_F32) return;
    s->z = z;
    if (act >= 0) take(p, act);
    if (sig >= 0) take(p, sig);
    take(p, user);
    s->root = user;
}

#define SCAN_MISS(...) (xf_record_miss(g, "selective_scan", cat, __VA_ARGS__), false)

static bool match_scan(xf_graph *g, int32_t ci, scan *s, pattern *p) {
    const xf_node *cat = &g->nodes[ci];
    const xf_value *y = &g->values[cat->out[0]];
    if (cat->nin < 1 || y->rank != 3 || y->dtype != XF_F32 || norm_axis(xf_attr_int(cat, "axis", 0), 3) != 2 ||
        cat->nin != y->shape[2])
        return false;
    for (int k = 0; k < cat->nin; k++)
        if (cat->in[k] < 0) return false;
    int32_t mm0 = xf_producer(g, unview(g, cat->in[0], true, NULL), XF_OP_MATMUL);
    if (mm0 < 0 || xf_producer(g, unview(g, g->nodes[mm0].in[1], false, NULL), XF_OP_GATHER) < 0) return false;
    *s = (scan){.d = -1, .z = -1, .c = -1, .root = ci, .batch = y->shape[0], .dm = y->shape[1], .l = y->shape[2]};
    const xf_value *h0 = &g->values[g->nodes[mm0].in[0]];
    s->n = h0->rank == 3 ? h0->shape[2] : -1;
    take(p, ci);
    const int64_t bd1[3] = {s->batch, s->dm, 1}, bdn[3] = {s->batch, s->dm, s->n}, bn1[3] = {s->batch, s->n, 1};
    int32_t prev = -1, dA = -1, dBu = -1;
    for (int64_t t = 0; t < s->l; t++) {
        long long tt = (long long)t;
        if (!has_shape(&g->values[cat->in[t]], 3, bd1))
            return SCAN_MISS("input %lld of the Concat is not [b, d, 1]", tt);
        int32_t mm = xf_producer(g, unview(g, cat->in[t], true, p), XF_OP_MATMUL);
        if (mm < 0) return SCAN_MISS("input %lld of the Concat is not the output of a step", tt);
        take(p, mm);
        const xf_node *m = &g->nodes[mm];
        int32_t h = unview(g, m->in[0], false, p), c = gather_at(g, unview(g, m->in[1], false, p), 1, t, p);
        if (!has_shape(&g->values[h], 3, bdn) || !has_shape(&g->values[m->in[1]], 3, bn1))
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
    if (!has_shape(&g->values[dA], 4, bdln) || !has_shape(&g->values[dBu], 4, bdln) ||
        !has_shape(&g->values[s->c], 3, bln) || g->values[s->c].dtype != XF_F32)
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
    if (!has_shape(&g->values[s->delta], 3, bdl) || g->values[s->delta].dtype != XF_F32)
        return SCAN_MISS("delta '%s' is not [b, d, l] float32", g->values[s->delta].name);
    take(p, ex);
    take(p, arg);
    if (!match_input(g, dBu, s, p)) return SCAN_MISS("the input term '%s' is not delta * B * u", g->values[dBu].name);
    match_epilogue(g, s, p);
    int32_t leak = escaping(g, p, s->root);
    if (leak >= 0) return SCAN_MISS("'%s' is also used outside the scan", g->values[leak].name);
    const int32_t inputs[5] = {s->u, s->delta, s->b, s->c, s->z};
    for (int k = 0; k < 5; k++) /* only in a graph built to confuse: an input computed by the scan */
        if (inputs[k] >= 0 && g->values[inputs[k]].producer >= 0 && p->in[g->values[inputs[k]].producer])
            return SCAN_MISS("input '%s' is computed inside the scan", g->values[inputs[k]].name);
    return true;
}

static bool fuse_scan(xf_graph *g, int32_t ci, pattern *p) {
    scan s;
    bool ok = match_scan(g, ci, &s, p);
    if (ok) {
        const char *name = g->nodes[s.root].name;
        int32_t a = xf_const_add(g, xf_sprintf(g->arena, "%s_A", name), XF_F32, 2, (const int64_t[]){s.dm, s.n},
                                 g->values[s.a].data);
        int32_t d = s.d < 0 ? -1
                            : xf_const_add(g, xf_sprintf(g->arena, "%s_D", name), XF_F32, 1, &s.dm,
                                           g->values[s.d].data);
        int32_t in[7] = {s.u, s.delta, a, s.b, s.c, d, s.z};
        for (int32_t i = 0; i < p->n; i++)
            if (p->list[i] != s.root) xf_node_kill(g, p->list[i]);
        xf_node_rewrite(g, s.root, XF_OP_SELECTIVE_SCAN, s.z >= 0 ? 7 : s.d >= 0 ? 6 : 5, in);
        xf_count_fusion(g, XF_FUSION_selective_scan);
    }
    forget(p);
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

#define CONV_MISS(...) (xf_record_miss(g, "causal_conv1d", cv, __VA_ARGS__), false)

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
        if (norm_axis(na ? axes[i] : i, x->rank) != axis) continue;
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

static bool fuse_conv(xf_graph *g, int32_t ci) {
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
        slice = sole_user(g, out);
        if (slice < 0 || g->nodes[slice].op != XF_OP_SLICE)
            return CONV_MISS("the padded output is not cut back to %lld steps by one Slice", (long long)l);
        int64_t first = slice_first(g, &g->nodes[slice], 2);
        if (first < 0) return CONV_MISS("the Slice after it steps by other than 1");
        if (first != 0 || !has_shape(&g->values[g->nodes[slice].out[0]], 3, bcl))
            return CONV_MISS("the Slice after it keeps steps from %lld, not the first %lld", (long long)first,
                             (long long)l);
        root = slice;
        out = g->nodes[slice].out[0];
    } else if (!has_shape(&g->values[out], 3, bcl)) {
        return false;
    }
    /* SiLU: Silu(out), or Mul(out, Sigmoid(out)) with out used by just those two */
    int64_t act = 0;
    int32_t user = sole_user(g, out);
    if (user >= 0 && g->nodes[user].op == XF_OP_SILU) {
        act = 4, root = user;
    } else if (user < 0 && !g->values[out].is_output && xf_uses(g, out) == 2) {
        for (int32_t i = root + 1; i < g->nnodes && sig < 0; i++)
            if (!g->nodes[i].dead && g->nodes[i].op == XF_OP_SIGMOID && g->nodes[i].in[0] == out) sig = i;
        int32_t mul = sig >= 0 ? sole_user(g, g->nodes[sig].out[0]) : -1;
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
    xf_count_fusion(g, XF_FUSION_causal_conv1d);
    return true;
}

bool xf_pass_fuse_ssm(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)o, (void)d;
    pattern p = {xf_alloc(g->arena, sizeof(bool) * (size_t)(g->nnodes + 1)),
                 xf_alloc(g->arena, sizeof(int32_t) * (size_t)(g->nnodes + 1)), 0};
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        if (g->nodes[i].op == XF_OP_CONV) changed |= fuse_conv(g, i);
        else if (g->nodes[i].op == XF_OP_CONCAT) changed |= fuse_scan(g, i, &p);
    }
    return changed;
}
