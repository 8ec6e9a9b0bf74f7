/* fuse_activation.c — activation functions written out in primitive ops become one elementwise op
 * each, and the gated product of an activation becomes one GLU op:
 *
 *     GELU, erf form    x * 0.5 * (1 + erf(x / sqrt(2)))                       -> Gelu(x)
 *     GELU, tanh form   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  -> xfc.GeluTanh(x)
 *     SiLU              x * sigmoid(x)                                         -> xfc.Silu(x)
 *     SwiGLU            silu(g) * u                                            -> xfc.SwiGlu(g, u)
 *     GeGLU             gelu(g) * u                                            -> xfc.GeGlu(g, u)
 *                       gelu_tanh(g) * u (Gemma)                               -> xfc.GeGluTanh(g, u)
 *
 * ops.def defines these ops by their C expression, so they need no kernel: the backends print a
 * loop, and fuse_linear or fuse_elementwise may merge them further. The single activations are
 * matched first, over the whole graph, so that the gated products then find them fused (Mamba's
 * y * silu(z) becomes SwiGlu(z, y) like an MLP's). Irrational constants are compared with a
 * relative tolerance of 1e-4 (exporters print sqrt(2) as 1.41421 or 1.4142135, or multiply by
 * 0.70710 instead); 0.5, 1, 2 and 3 must be exact. Every intermediate absorbed has one use and is
 * not a graph output.
 * Requires: shapes (fold). Leaves absorbed nodes dead (dce removes them); invalidates nothing else. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "match.h"

#define SQRT_HALF 0.70710678118654752     /* 1 / sqrt(2) */
#define SQRT_2_OVER_PI 0.79788456080286536 /* sqrt(2 / pi) */
#define GELU_CUBIC 0.044715

typedef struct match {
    int32_t nodes[16]; /* every node of the pattern; the root is among them */
    int nnodes;
    int32_t root;
    int op;          /* the fused op */
    int32_t in[2];   /* its operands */
    char why[200];   /* why a candidate did not match; empty when it was no candidate at all */
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

static bool near(double c, double want) {
    return fabs(c - want) <= 1e-4 * fabs(want);
}

/* Node n is Mul(v, c) or Mul(c, v) with c a scalar constant: returns v and sets *c; -1 otherwise. */
static int32_t times_constant(const xf_graph *g, int32_t node, double *c) {
    if (node < 0) return -1;
    const xf_node *n = &g->nodes[node];
    if (n->op != XF_OP_MUL || n->nin != 2) return -1;
    if (xf_const_scalar(g, n->in[1], c)) return n->in[0];
    if (xf_const_scalar(g, n->in[0], c)) return n->in[1];
    return -1;
}

/* The node computing 1 + v from v: Add(v, 1) | Add(1, v); -1 with a reason otherwise. */
static int32_t plus_one(const xf_graph *g, int32_t v, match *m) {
    int32_t n = user_of(g, v, m);
    if (n < 0) return -1;
    if (g->nodes[n].op != XF_OP_ADD || !xf_const_is(g, xf_other_operand(&g->nodes[n], v), 1.0))
        return reject(m, "'%s' goes into %s, not + 1", name(g, v), xf_ops[g->nodes[n].op].name);
    take(m, n);
    return n;
}

/* The root of 0.5 * x * p, from p, in any arrangement of the two products:
 *     Mul(Mul(x, 0.5), p)   Mul(Mul(p, 0.5), x)   Mul(Mul(x, p), 0.5)   (each Mul either way round)
 * Takes the products into m; -1 with a reason otherwise. */
static int32_t half_x_times(const xf_graph *g, int32_t p, int32_t x, match *m) {
    int32_t n1 = user_of(g, p, m);
    if (n1 < 0) return -1;
    int32_t q = g->nodes[n1].op == XF_OP_MUL ? xf_other_operand(&g->nodes[n1], p) : -1;
    if (q < 0) return reject(m, "'%s' goes into %s, not a product", name(g, p), xf_ops[g->nodes[n1].op].name);
    take(m, n1);
    if (q == x || xf_const_is(g, q, 0.5)) { /* one factor here, the other in the next product */
        int32_t pq = g->nodes[n1].out[0], n2 = user_of(g, pq, m);
        if (n2 < 0) return -1;
        int32_t r = g->nodes[n2].op == XF_OP_MUL ? xf_other_operand(&g->nodes[n2], pq) : -1;
        if (q == x ? !xf_const_is(g, r, 0.5) : r != x)
            return reject(m, "'%s' is not multiplied by %s", name(g, pq), q == x ? "0.5" : name(g, x));
        take(m, n2);
        return n2;
    }
    double c;
    int32_t h = xf_producer(g, q, XF_OP_MUL);
    if (times_constant(g, h, &c) != x || c != 0.5)
        return reject(m, "'%s' is multiplied by '%s', not by 0.5 * %s", name(g, p), name(g, q), name(g, x));
    if (!xf_absorbable(g, q)) return reject(m, "0.5 * %s ('%s') has another user", name(g, x), name(g, q));
    take(m, h);
    return n1;
}

/* ---- the matchers: each fills m and returns the root, or -1 (with m->why for a near miss) ---- */

/* GELU, erf form, from its Erf node: erf's argument Div(x, c) with c ~ sqrt(2), or Mul(x, c) |
 * Mul(c, x) with c ~ 1/sqrt(2); then Add with 1 (either way round), then half_x_times(). */
static int32_t match_gelu_erf(const xf_graph *g, int32_t erf, match *m) {
    int32_t a = g->nodes[erf].in[0], scale = xf_producer(g, a, -1), x = -1;
    double c = 0;
    if (scale < 0) return -1;
    const xf_node *s = &g->nodes[scale];
    if (s->op == XF_OP_DIV && xf_const_scalar(g, s->in[1], &c) && c != 0) {
        x = s->in[0];
        c = 1 / c;
    } else {
        x = times_constant(g, scale, &c);
    }
    if (x < 0) return -1; /* erf of something else: no candidate */
    if (!near(c, SQRT_HALF)) return reject(m, "erf's argument is %s * %g, not %s / sqrt(2)", name(g, x), c, name(g, x));
    if (!xf_absorbable(g, a)) return reject(m, "'%s' has another user", name(g, a));
    take(m, scale);
    take(m, erf);
    int32_t p = plus_one(g, g->nodes[erf].out[0], m);
    if (p < 0) return -1;
    m->op = XF_OP_GELU;
    m->in[0] = x;
    return half_x_times(g, g->nodes[p].out[0], x, m);
}

/* x when node computes x³: Pow(x, 3) | Mul(x, Mul(x, x)) | Mul(Mul(x, x), x); *square is the inner
 * Mul (-1 for Pow). -1 otherwise. */
static int32_t cube_of(const xf_graph *g, int32_t node, int32_t *square) {
    *square = -1;
    if (node < 0) return -1;
    const xf_node *n = &g->nodes[node];
    if (n->op == XF_OP_POW && n->nin == 2 && xf_const_is(g, n->in[1], 3.0)) return n->in[0];
    if (n->op != XF_OP_MUL || n->nin != 2) return -1;
    for (int k = 0; k < 2; k++) {
        int32_t sq = xf_producer(g, n->in[k], XF_OP_MUL);
        const xf_node *s = sq >= 0 ? &g->nodes[sq] : NULL;
        if (s && s->in[0] == s->in[1] && s->in[0] == n->in[1 - k]) {
            *square = sq;
            return s->in[0];
        }
    }
    return -1;
}

/* GELU, tanh form, from its Tanh node. tanh's argument:
 *     t = Mul(s, c1) | Mul(c1, s)        c1 ~ sqrt(2/pi)
 *     s = Add(x, k) | Add(k, x)
 *     k = Mul(cube, c2) | Mul(c2, cube)  c2 ~ 0.044715, cube = x³ (see cube_of())
 * then Add with 1 (either way round), then half_x_times(). */
static int32_t match_gelu_tanh(const xf_graph *g, int32_t tanh, match *m) {
    double c1, c2;
    int32_t t = g->nodes[tanh].in[0], tn = xf_producer(g, t, -1);
    int32_t s = times_constant(g, tn, &c1), sn = xf_producer(g, s, XF_OP_ADD);
    if (sn < 0) return -1;
    int32_t x = -1, k = -1, kn = -1, cube = -1, square = -1;
    for (int j = 0; j < 2 && x < 0; j++) {
        k = g->nodes[sn].in[1 - j];
        kn = xf_producer(g, k, XF_OP_MUL);
        cube = xf_producer(g, times_constant(g, kn, &c2), -1);
        if (cube >= 0 && cube_of(g, cube, &square) == g->nodes[sn].in[j]) x = g->nodes[sn].in[j];
    }
    if (x < 0) return -1; /* tanh of something else: no candidate */
    if (!near(c1, SQRT_2_OVER_PI)) return reject(m, "tanh's argument is scaled by %g, not sqrt(2/pi)", c1);
    if (!near(c2, GELU_CUBIC)) return reject(m, "the cube is scaled by %g, not 0.044715", c2);
    int32_t inner[] = {t, s, k, g->nodes[cube].out[0], square >= 0 ? g->nodes[square].out[0] : -1};
    for (size_t j = 0; j < sizeof inner / sizeof inner[0]; j++)
        if (inner[j] >= 0 && !xf_absorbable(g, inner[j])) return reject(m, "'%s' has another user", name(g, inner[j]));
    if (square >= 0) take(m, square);
    take(m, cube);
    take(m, kn);
    take(m, sn);
    take(m, tn);
    take(m, tanh);
    int32_t p = plus_one(g, g->nodes[tanh].out[0], m);
    if (p < 0) return -1;
    m->op = XF_OP_GELU_TANH;
    m->in[0] = x;
    return half_x_times(g, g->nodes[p].out[0], x, m);
}

/* SiLU, from its Sigmoid node: Mul(x, Sigmoid(x)) | Mul(Sigmoid(x), x). */
static int32_t match_silu(const xf_graph *g, int32_t sigmoid, match *m) {
    int32_t x = g->nodes[sigmoid].in[0], sv = g->nodes[sigmoid].out[0], mul = -1, other = -1;
    for (int32_t i = sigmoid + 1; i < g->nnodes && mul < 0; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead || n->op != XF_OP_MUL) continue;
        int32_t o = xf_other_operand(n, sv);
        if (o == x) mul = i;
        else if (o >= 0 && other < 0) other = o;
    }
    if (mul < 0 && other < 0) return -1; /* a sigmoid that multiplies nothing: no candidate */
    if (mul < 0) return reject(m, "the sigmoid of '%s' multiplies '%s', not its own argument", name(g, x), name(g, other));
    if (!xf_absorbable(g, sv)) return reject(m, "the sigmoid '%s' has another user", name(g, sv));
    if (!xf_same_shape(&g->values[g->nodes[mul].out[0]], &g->values[x]))
        return reject(m, "the product broadcasts '%s' to another shape", name(g, x));
    take(m, sigmoid);
    take(m, mul);
    m->op = XF_OP_SILU;
    m->in[0] = x;
    return mul;
}

/* SwiGLU and GeGLU, from the product: Mul(act(g), u) | Mul(u, act(g)), act a SiLU or a GELU of
 * either form (fused by now), act(g) of the product's shape so that nothing is computed twice. u is no
 * constant: act(g) * c is a scaled activation, not a gate. */
static int32_t match_glu(const xf_graph *g, int32_t mul, match *m) {
    const xf_node *n = &g->nodes[mul];
    if (n->nin != 2) return -1;
    for (int k = 0; k < 2; k++) {
        int32_t a = n->in[k], act = xf_producer(g, a, -1);
        int op = act < 0 ? -1 : g->nodes[act].op;
        if ((op != XF_OP_SILU && op != XF_OP_GELU && op != XF_OP_GELU_TANH) || g->values[n->in[1 - k]].data) continue;
        if (!xf_absorbable(g, a)) {
            reject(m, "the %s '%s' has another user", xf_ops[op].name, name(g, a));
            continue;
        }
        if (!xf_same_shape(&g->values[a], &g->values[n->out[0]])) {
            reject(m, "the product broadcasts the %s '%s'", xf_ops[op].name, name(g, a));
            continue;
        }
        take(m, act);
        take(m, mul);
        m->op = op == XF_OP_SILU ? XF_OP_SWIGLU : op == XF_OP_GELU ? XF_OP_GEGLU : XF_OP_GEGLU_TANH;
        m->in[0] = g->nodes[act].in[0];
        m->in[1] = n->in[1 - k];
        return mul;
    }
    return -1;
}

/* ---- the pass ---- */

static bool fuse(xf_graph *g, int32_t anchor, int phase) {
    match m = {.nnodes = 0};
    int op = g->nodes[anchor].op;
    int32_t root;
    if (phase == 0 && op == XF_OP_ERF) root = match_gelu_erf(g, anchor, &m);
    else if (phase == 0 && op == XF_OP_TANH) root = match_gelu_tanh(g, anchor, &m);
    else if (phase == 0 && op == XF_OP_SIGMOID) root = match_silu(g, anchor, &m);
    else if (phase == 1 && op == XF_OP_MUL) root = match_glu(g, anchor, &m);
    else return false;
    int kind = op == XF_OP_SIGMOID ? XF_FUSION_silu : op == XF_OP_MUL ? XF_FUSION_swiglu : XF_FUSION_gelu;
    if (root < 0) {
        if (m.why[0]) xf_record_miss(g, xf_fusion_names[kind], &g->nodes[anchor], "%s", m.why);
        return false;
    }
    for (int k = 0; k < m.nnodes; k++)
        if (m.nodes[k] != root) xf_node_kill(g, m.nodes[k]);
    xf_node_rewrite(g, root, m.op, xf_ops[m.op].arity, m.in);
    xf_count_fusion(g, kind);
    return true;
}

bool xf_pass_fuse_activation(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)o, (void)d;
    bool changed = false;
    for (int phase = 0; phase < 2; phase++) /* single activations, then the gated products */
        for (int32_t i = 0; i < g->nnodes; i++)
            if (!g->nodes[i].dead) changed |= fuse(g, i, phase);
    return changed;
}
