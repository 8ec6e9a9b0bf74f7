/* fuse_layer_norm.c — layer normalisation written out in primitive ops becomes one
 * LayerNormalization node (the ONNX op, ir/ops_math.c): one kernel call that takes mean and
 * variance row by row, instead of seven passes over memory. The exporters of today emit the op
 * itself; older exports and hand-written graphs spell it out.
 *
 * The matching helpers mirror fuse_rms_norm.c's: the variance part of a layer norm is an RMS norm
 * of the centred input.
 * Requires: shapes (fold). Leaves absorbed nodes dead (dce removes them); invalidates nothing else. */
#include <stdio.h>
#include <string.h>

#include "match.h"

#define PATTERN "layer_norm"

typedef struct match {
    int32_t nodes[16]; /* every node of the pattern; the root is among them */
    int nnodes;
    int32_t root, x, gamma, beta; /* gamma, beta -1 when absent */
    int axis;                     /* the first normalised axis */
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

/* v has the shape of x's dims [axis, rank), leading 1s allowed: what LayerNormalization takes as
 * Scale and B (ir/ops_math.c does not broadcast them further). */
static bool fits_param(const xf_value *v, const xf_value *x, int axis) {
    if (v->rank > x->rank) return false;
    for (int i = 0; i < v->rank; i++) {
        int xi = x->rank - v->rank + i;
        if (v->shape[i] != (xi < axis ? 1 : x->shape[xi])) return false;
    }
    return true;
}

/* ---- the matcher ---- */

/* When the only reader of *out is op(*out, p) or op(p, *out), p of the normalised dims' shape:
 * takes it into m as the new root, moves *out to its result and returns p; -1 otherwise. */
static int32_t parameter(const xf_graph *g, int32_t *out, int op, int axis, match *m) {
    int32_t n = xf_sole_reader(g, *out);
    if (n < 0 || g->nodes[n].op != op) return -1;
    int32_t p = xf_other_operand(&g->nodes[n], *out);
    if (p < 0 || p == *out || !fits_param(&g->values[p], &g->values[m->x], axis)) return -1;
    take(m, n);
    m->root = n;
    *out = g->nodes[n].out[0];
    return p;
}


/* From var, the mean of d's squares, to d's normalised value:
 *     s = Add(var, eps) | Add(eps, var)     eps a scalar constant; without the Add, eps is 0
 *     r = Sqrt(s) | Pow(s, 0.5)
 *     y = Div(d, r)
 *       | Mul(d, inv) | Mul(inv, d)         inv = Reciprocal(r) | Div(1, r) | Pow(s, -0.5)
 * Takes the nodes into m and returns y's node, or -1 with a reason. */
static int32_t normalised(xf_graph *g, int32_t var, int32_t d, match *m) {
    int32_t n = user_of(g, var, m);
    if (n < 0) return -1;
    if (g->nodes[n].op == XF_OP_ADD) {
        int32_t e = xf_other_operand(&g->nodes[n], var);
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
        if (u->op == XF_OP_DIV && u->in[1] == r && u->in[0] == d) {
            take(m, n);
            return n;
        }
        if (u->op == XF_OP_DIV && u->in[1] == r && !xf_const_is(g, u->in[0], 1.0))
            return reject(m, "the root divides '%s', not the centred value '%s'", name(g, u->in[0]), name(g, d));
        if (u->op == XF_OP_ADD) return reject(m, "epsilon is added after the square root, not under it");
        if (u->op != XF_OP_RECIPROCAL && !(u->op == XF_OP_DIV && u->in[1] == r))
            return reject(m, "the square root goes into %s, not a reciprocal or division", xf_ops[u->op].name);
        take(m, n);
        inv = u->out[0];
    } else {
        return reject(m, "the variance goes into %s, not a square root", xf_ops[u->op].name);
    }
    if ((n = user_of(g, inv, m)) < 0) return -1;
    u = &g->nodes[n];
    int32_t scaled = xf_other_operand(u, inv);
    if (u->op != XF_OP_MUL) return reject(m, "the inverse root goes into %s, not a product", xf_ops[u->op].name);
    if (scaled != d)
        return reject(m, "the inverse root scales '%s', not the centred value '%s'", name(g, scaled), name(g, d));
    take(m, n);
    return n;
}

/* The pattern whose mean is ReduceMean node `mean`, both means over the same trailing axes
 * [axis, rank) with keepdims:
 *     mu  = ReduceMean(x)
 *     d   = Sub(x, mu)
 *     var = ReduceMean(Mul(d, d) | Pow(d, 2))
 *     y   = d normalised by var (see normalised())
 *     y   = Mul(y, gamma) | Mul(gamma, y)       optional
 *     out = Add(y, beta) | Add(beta, y) | y     optional
 * gamma and beta having the normalised dims' shape. d is read by the square and the normalising
 * node only; every other intermediate has one use. Fills m and returns the root, or -1: with
 * m->why set for a near miss. */
static int32_t match_layer_norm(xf_graph *g, int32_t mean, match *m) {
    const xf_node *rm = &g->nodes[mean];
    int32_t x = rm->in[0], mu = rm->out[0], sub = -1;
    for (int32_t i = mean + 1; i < g->nnodes && sub < 0; i++) {
        const xf_node *n = &g->nodes[i];
        if (!n->dead && n->op == XF_OP_SUB && n->nin == 2 && n->in[0] == x && n->in[1] == mu) sub = i;
    }
    int32_t d = sub >= 0 ? g->nodes[sub].out[0] : -1, sq = -1;
    for (int32_t i = sub + 1; sub >= 0 && i < g->nnodes && sq < 0; i++)
        if (!g->nodes[i].dead && xf_square_of(g, i) == d) sq = i;
    if (sq < 0) return -1; /* a mean that centres nothing, or nothing squared: no candidate */
    const xf_value *xv = &g->values[x];
    int axis = xf_trailing_axes(g, rm);
    if (axis < 0) return reject(m, "the mean is not over the last axes with keepdims");
    if (xv->dtype != XF_F32) return reject(m, "'%s' is %s, not float32", xv->name, xf_dtype_name(xv->dtype));
    if (!xf_absorbable(g, mu)) return reject(m, "the mean '%s' has another user", name(g, mu));
    int32_t vm = user_of(g, g->nodes[sq].out[0], m);
    if (vm < 0) return -1;
    if (g->nodes[vm].op != XF_OP_REDUCE_MEAN || xf_trailing_axes(g, &g->nodes[vm]) != axis)
        return reject(m, "the squares of '%s' are not averaged over the axes of the mean", name(g, d));
    take(m, mean);
    take(m, sub);
    take(m, sq);
    take(m, vm);
    int32_t y = normalised(g, g->nodes[vm].out[0], d, m);
    if (y < 0) return -1;
    int reads = g->nodes[sq].op == XF_OP_MUL ? 3 : 2;
    if (g->values[d].is_output || xf_uses(g, d) != reads)
        return reject(m, "the centred value '%s' has another user", name(g, d));
    int32_t out = g->nodes[y].out[0];
    if (!xf_same_shape(&g->values[out], xv))
        return reject(m, "a constant of the pattern broadcasts the result beyond the shape of '%s'", xv->name);
    m->x = x;
    m->axis = axis - xv->rank;
    m->root = y;
    m->gamma = m->beta = -1;

    int32_t p;
    if ((p = parameter(g, &out, XF_OP_MUL, axis, m)) >= 0) m->gamma = p;
    if ((p = parameter(g, &out, XF_OP_ADD, axis, m)) >= 0) m->beta = p;
    return m->root;
}

/* A constant of ones with the shape of x's dims [axis, rank): the scale of a norm without gamma. */
static int32_t ones(xf_graph *g, const xf_node *root, const xf_value *x, int axis) {
    int64_t count = 1;
    for (int i = axis; i < x->rank; i++) count *= x->shape[i];
    float *data = xf_alloc(g->arena, sizeof(float) * (size_t)count);
    for (int64_t i = 0; i < count; i++) data[i] = 1.0f;
    return xf_const_add(g, xf_sprintf(g->arena, "%s_scale", root->name), XF_F32, x->rank - axis, x->shape + axis, data);
}

bool xf_pass_fuse_layer_norm(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)o, (void)d;
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != XF_OP_REDUCE_MEAN) continue;
        match m = {.nnodes = 0};
        if (match_layer_norm(g, i, &m) < 0) {
            if (m.why[0]) xf_record_miss(g, PATTERN, &g->nodes[i], "%s", m.why);
            continue;
        }
        for (int k = 0; k < m.nnodes; k++)
            if (m.nodes[k] != m.root) xf_node_kill(g, m.nodes[k]);
        const xf_value *x = &g->values[m.x];
        int32_t gamma = m.gamma >= 0 ? m.gamma : ones(g, &g->nodes[m.root], x, x->rank + m.axis);
        int32_t in[3] = {m.x, gamma, m.beta};
        xf_node_rewrite(g, m.root, XF_OP_LAYER_NORM, m.beta >= 0 ? 3 : 2, in);
        xf_node_add_attr(g, m.root, "axis", XF_ATTR_INT)->i = m.axis;
        xf_node_add_attr(g, m.root, "epsilon", XF_ATTR_FLOAT)->f = (float)m.eps;
        xf_count_fusion(g, XF_FUSION_layer_norm);
        changed = true;
    }
    return changed;
}
