/* fuse_rms_norm.c — root-mean-square normalisation written out in primitive ops becomes one
 * RMSNormalization node (ir/ops_norm.c), computed by one kernel instead of five passes over memory.
 * The matcher starts from each mean of squares (the subgraph and its variants are documented above
 * match_rms_norm) and follows the single users forward to the last product.
 *
 * Requires: shapes (fold). Simplify has usually removed the float-to-float Casts exporters leave;
 * the matcher accepts a Cast pair around the norm anyway. Leaves absorbed nodes dead (dce removes
 * them); invalidates nothing else. */
#include <stdio.h>
#include <string.h>

#include "match.h"

#define PATTERN "rms_norm"

typedef struct match {
    int32_t nodes[16]; /* every node of the pattern; the root is among them */
    int nnodes;
    int32_t root, x, scale; /* scale -1: none, a constant 1 is made */
    int axis;               /* the first normalised axis, counted from the end (-1: the last) */
    double eps;
    char why[200]; /* why a candidate did not match; empty when it was no candidate at all */
} match;

/* ---- helpers ---- */

static void take(match *m, int32_t node) {
    XF_ASSERT(m->nnodes < (int)(sizeof m->nodes / sizeof m->nodes[0]));
    m->nodes[m->nnodes++] = node;
}

static int32_t reject(match *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int32_t reject(match *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why, sizeof m->why, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *name(const xf_graph *g, int32_t v) { return g->values[v].name; }

/* xf_sole_reader(), giving the reason when there is none. */
static int32_t user_of(const xf_graph *g, int32_t v, match *m) {
    int32_t n = xf_sole_reader(g, v);
    return n >= 0 ? n : reject(m, "'%s' has another user", name(g, v));
}

/* x is x' - mean(x'): the mean of its squares is a layer norm's variance (fuse_layer_norm's). */
static bool centred(const xf_graph *g, int32_t x) {
    int32_t sub = xf_producer(g, x, XF_OP_SUB);
    if (sub < 0) return false;
    int32_t mean = xf_producer(g, g->nodes[sub].in[1], XF_OP_REDUCE_MEAN);
    return mean >= 0 && g->nodes[mean].in[0] == g->nodes[sub].in[0];
}

/* Scale w fits RMSNormalization of x from `axis`: right-aligned against x, it equals x's last
 * dims (all within the normalised ones) and is 1 before them (ir/ops_norm.c's rule). */
static bool fits_scale(const xf_value *w, const xf_value *x, int axis) {
    if (w->rank > x->rank) return false;
    bool in_block = true;
    for (int i = w->rank - 1; i >= 0; i--) {
        int xi = x->rank - w->rank + i;
        if (w->shape[i] == 1) {
            in_block = in_block && x->shape[xi] == 1;
            continue;
        }
        if (!in_block || xi < axis || w->shape[i] != x->shape[xi]) return false;
    }
    return true;
}

/* ---- the matcher ---- */

/* From ms, the mean of x's squares, to x's normalised value:
 *     s = Add(ms, eps) | Add(eps, ms)       eps a scalar constant; without the Add, eps is 0
 *     r = Sqrt(s) | Pow(s, 0.5)
 *     y = Div(x, r)
 *       | Mul(x, inv) | Mul(inv, x)         inv = Reciprocal(r) | Div(1, r) | Pow(s, -0.5)
 * Takes the nodes into m and returns y's node, or -1 with a reason. */
static int32_t normalised(xf_graph *g, int32_t ms, int32_t x, match *m) {
    int32_t n = user_of(g, ms, m);
    if (n < 0) return -1;
    if (g->nodes[n].op == XF_OP_ADD) {
        int32_t e = xf_other_operand(&g->nodes[n], ms);
        if (!xf_const_scalar(g, e, &m->eps)) return reject(m, "epsilon '%s' is not a constant scalar", name(g, e));
        take(m, n);
        if ((n = user_of(g, g->nodes[n].out[0], m)) < 0) return -1;
    }
    const xf_node *u = &g->nodes[n];
    int32_t inv;
    if (xf_is_pow(g, u, -0.5)) {
        take(m, n);
        inv = u->out[0];
    } else if (u->op == XF_OP_SQRT || xf_is_pow(g, u, 0.5)) {
        take(m, n);
        int32_t r = u->out[0];
        if ((n = user_of(g, r, m)) < 0) return -1;
        u = &g->nodes[n];
        if (u->op == XF_OP_DIV && u->in[1] == r && u->in[0] == x) {
            take(m, n);
            return n;
        }
        if (u->op == XF_OP_DIV && u->in[1] == r && !xf_const_is(g, u->in[0], 1.0))
            return reject(m, "the root divides '%s', not the squared value '%s'", name(g, u->in[0]), name(g, x));
        if (u->op == XF_OP_ADD) return reject(m, "epsilon is added after the square root, not under it");
        if (u->op != XF_OP_RECIPROCAL && !(u->op == XF_OP_DIV && u->in[1] == r))
            return reject(m, "the square root goes into %s, not a reciprocal or division", xf_ops[u->op].name);
        take(m, n);
        inv = u->out[0];
    } else {
        return reject(m, "the mean of squares goes into %s, not a square root", xf_ops[u->op].name);
    }
    if ((n = user_of(g, inv, m)) < 0) return -1;
    u = &g->nodes[n];
    int32_t scaled = xf_other_operand(u, inv);
    if (u->op != XF_OP_MUL) return reject(m, "the inverse root goes into %s, not a product", xf_ops[u->op].name);
    if (scaled != x)
        return reject(m, "the inverse root scales '%s', not the squared value '%s'", name(g, scaled), name(g, x));
    take(m, n);
    return n;
}

/* The pattern whose mean of squares is ReduceMean node `mean`:
 *     ms  = ReduceMean(Pow(x, 2) | Mul(x, x))    over the trailing axes [axis, rank), keepdims
 *     y   = x normalised by ms (see normalised())
 *     out = Mul(y, w) | Mul(w, y) | y            w broadcast over the normalised dims only
 * with, optionally, a Cast pair around x: x = Cast(x0, to=float32) and y cast back to x0's type
 * before the weight (Hugging Face's RMSNorm on half-precision activations). Gemma's (1 + w)
 * arrives as one constant w, folded before. The normalised axes may be those of one head (q/k
 * norms over the last dim of [B,S,H,D] or [B,H,S,D]); x itself may be anything, such as Mamba-2's
 * gated x * silu(z). Fills m and returns the root, or -1: with m->why set for a near miss. */
static int32_t match_rms_norm(xf_graph *g, int32_t mean, match *m) {
    const xf_node *rm = &g->nodes[mean];
    int32_t sq = xf_producer(g, rm->in[0], -1), x = xf_square_of(g, sq);
    if (x < 0 || centred(g, x)) return -1; /* not a mean of squares, or a layer norm's */
    const xf_value *xv = &g->values[x];
    int axis = xf_trailing_axes(g, rm);
    if (axis < 0) return reject(m, "the mean is not over the last axes with keepdims");
    if (xv->dtype != XF_F32) return reject(m, "'%s' is %s, not float32", xv->name, xf_dtype_name(xv->dtype));
    if (!xf_absorbable(g, rm->in[0])) return reject(m, "the square '%s' has another user", name(g, rm->in[0]));
    take(m, sq);
    take(m, mean);
    int32_t y = normalised(g, rm->out[0], x, m);
    if (y < 0) return -1;
    if (!xf_same_shape(&g->values[g->nodes[y].out[0]], xv))
        return reject(m, "a constant of the pattern broadcasts the result beyond the shape of '%s'", xv->name);
    m->x = x;
    m->axis = axis - xv->rank;
    m->root = y;
    int32_t out = g->nodes[y].out[0];

    /* the Cast pair: x0 -> float32 -> normalised -> x0's type; x read by the pattern only */
    int32_t front = xf_producer(g, x, XF_OP_CAST), back = xf_sole_reader(g, out);
    if (front >= 0 && back >= 0 && g->nodes[back].op == XF_OP_CAST && !xv->is_output) {
        int32_t x0 = g->nodes[front].in[0], t0 = g->values[x0].dtype, reads = g->nodes[sq].op == XF_OP_MUL ? 3 : 2;
        bool small_float = t0 == XF_F32 || t0 == XF_F16 || t0 == XF_BF16;
        if (small_float && xf_attr_int(&g->nodes[back], "to", 0) == t0 && xf_uses(g, x) == reads) {
            take(m, front);
            take(m, back);
            m->x = x0;
            m->root = back;
            out = g->nodes[back].out[0];
        }
    }

    /* the weight */
    m->scale = -1;
    int32_t wm = xf_sole_reader(g, out);
    int32_t w = wm >= 0 && g->nodes[wm].op == XF_OP_MUL ? xf_other_operand(&g->nodes[wm], out) : -1;
    if (w >= 0 && w != out && fits_scale(&g->values[w], xv, axis) &&
        xf_same_shape(&g->values[g->nodes[wm].out[0]], &g->values[out])) {
        take(m, wm);
        m->root = wm;
        m->scale = w;
    }
    return m->root;
}

/* A constant 1 of the given type, as the scale of a norm without a weight. */
static int32_t one(xf_graph *g, const xf_node *root, int32_t dtype) {
    float f = 1.0f;
    uint16_t h = dtype == XF_F16 ? 0x3C00 : 0x3F80; /* 1 in IEEE half and in bfloat16 */
    int64_t shape[1] = {1};
    return xf_const_add(g, xf_sprintf(g->arena, "%s_scale", root->name), dtype, 1, shape,
                        dtype == XF_F32 ? (const void *)&f : (const void *)&h);
}

bool xf_pass_fuse_rms_norm(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)o, (void)d;
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != XF_OP_REDUCE_MEAN) continue;
        match m = {.nnodes = 0};
        if (match_rms_norm(g, i, &m) < 0) {
            if (m.why[0]) xf_record_miss(g, PATTERN, &g->nodes[i], "%s", m.why);
            continue;
        }
        for (int k = 0; k < m.nnodes; k++)
            if (m.nodes[k] != m.root) xf_node_kill(g, m.nodes[k]);
        int32_t scale = m.scale >= 0 ? m.scale : one(g, &g->nodes[m.root], g->values[m.x].dtype);
        xf_node_rewrite(g, m.root, XF_OP_RMS_NORM, 2, (int32_t[]){m.x, scale});
        xf_node_add_attr(g, m.root, "axis", XF_ATTR_INT)->i = m.axis;
        xf_node_add_attr(g, m.root, "epsilon", XF_ATTR_FLOAT)->f = (float)m.eps;
        xf_count_fusion(g, XF_FUSION_rms_norm);
        changed = true;
    }
    return changed;
}
