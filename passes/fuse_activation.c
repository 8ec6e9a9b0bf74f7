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

#include "match.h"

#define SQRT_HALF 0.70710678118654752     /* 1 / sqrt(2) */
#define SQRT_2_OVER_PI 0.79788456080286536 /* sqrt(2 / pi) */
#define GELU_CUBIC 0.044715

/* A matched activation; the nodes it absorbs are in the xf_match beside it. */
typedef struct activation {
    int op;        /* the fused op */
    int32_t in[2]; /* its operands */
} activation;

/* ---- helpers ---- */

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
static int32_t plus_one(const xf_graph *g, int32_t v, xf_match *m) {
    int32_t n = xf_match_user(g, v, m);
    if (n < 0) return -1;
    if (g->nodes[n].op != XF_OP_ADD || !xf_const_is(g, xf_other_operand(&g->nodes[n], v), 1.0))
        return xf_match_reject(m, "'%s' goes into %s, not + 1", xf_name_of(g, v), xf_ops[g->nodes[n].op].name);
    xf_match_take(m, n);
    return n;
}

/* The root of 0.5 * x * p, from p, in any arrangement of the two products:
 *     Mul(Mul(x, 0.5), p)   Mul(Mul(p, 0.5), x)   Mul(Mul(x, p), 0.5)   (each Mul either way round)
 * Takes the products into m; -1 with a reason otherwise. */
static int32_t half_x_times(const xf_graph *g, int32_t p, int32_t x, xf_match *m) {
    int32_t n1 = xf_match_user(g, p, m);
    if (n1 < 0) return -1;
    int32_t q = g->nodes[n1].op == XF_OP_MUL ? xf_other_operand(&g->nodes[n1], p) : -1;
    if (q < 0) return xf_match_reject(m, "'%s' goes into %s, not a product", xf_name_of(g, p), xf_ops[g->nodes[n1].op].name);
    xf_match_take(m, n1);
    if (q == x || xf_const_is(g, q, 0.5)) { /* one factor here, the other in the next product */
        int32_t pq = g->nodes[n1].out[0], n2 = xf_match_user(g, pq, m);
        if (n2 < 0) return -1;
        int32_t r = g->nodes[n2].op == XF_OP_MUL ? xf_other_operand(&g->nodes[n2], pq) : -1;
        if (q == x ? !xf_const_is(g, r, 0.5) : r != x)
            return xf_match_reject(m, "'%s' is not multiplied by %s", xf_name_of(g, pq), q == x ? "0.5" : xf_name_of(g, x));
        xf_match_take(m, n2);
        return n2;
    }
    double c;
    int32_t h = xf_producer(g, q, XF_OP_MUL);
    if (times_constant(g, h, &c) != x || c != 0.5)
        return xf_match_reject(m, "'%s' is multiplied by '%s', not by 0.5 * %s", xf_name_of(g, p), xf_name_of(g, q), xf_name_of(g, x));
    if (!xf_absorbable(g, q)) return xf_match_reject(m, "0.5 * %s ('%s') has another user", xf_name_of(g, x), xf_name_of(g, q));
    xf_match_take(m, h);
    return n1;
}

/* ---- the matchers: each fills m and returns the root, or -1 (with m->why for a near miss) ---- */

/* GELU, erf form, from its Erf node: erf's argument Div(x, c) with c ~ sqrt(2), or Mul(x, c) |
 * Mul(c, x) with c ~ 1/sqrt(2); then Add with 1 (either way round), then half_x_times(). */
static int32_t match_gelu_erf(const xf_graph *g, int32_t erf, activation *fused, xf_match *m) {
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
    if (!near(c, SQRT_HALF)) return xf_match_reject(m, "erf's argument is %s * %g, not %s / sqrt(2)", xf_name_of(g, x), c, xf_name_of(g, x));
    if (!xf_absorbable(g, a)) return xf_match_reject(m, "'%s' has another user", xf_name_of(g, a));
    xf_match_take(m, scale);
    xf_match_take(m, erf);
    int32_t p = plus_one(g, g->nodes[erf].out[0], m);
    if (p < 0) return -1;
    fused->op = XF_OP_GELU;
    fused->in[0] = x;
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
static int32_t match_gelu_tanh(const xf_graph *g, int32_t tanh, activation *fused, xf_match *m) {
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
    if (!near(c1, SQRT_2_OVER_PI)) return xf_match_reject(m, "tanh's argument is scaled by %g, not sqrt(2/pi)", c1);
    if (!near(c2, GELU_CUBIC)) return xf_match_reject(m, "the cube is scaled by %g, not 0.044715", c2);
    int32_t inner[] = {t, s, k, g->nodes[cube].out[0], square >= 0 ? g->nodes[square].out[0] : -1};
    for (size_t j = 0; j < sizeof inner / sizeof inner[0]; j++)
        if (inner[j] >= 0 && !xf_absorbable(g, inner[j])) return xf_match_reject(m, "'%s' has another user", xf_name_of(g, inner[j]));
    if (square >= 0) xf_match_take(m, square);
    xf_match_take(m, cube);
    xf_match_take(m, kn);
    xf_match_take(m, sn);
    xf_match_take(m, tn);
    xf_match_take(m, tanh);
    int32_t p = plus_one(g, g->nodes[tanh].out[0], m);
    if (p < 0) return -1;
    fused->op = XF_OP_GELU_TANH;
    fused->in[0] = x;
    return half_x_times(g, g->nodes[p].out[0], x, m);
}

/* SiLU, from its Sigmoid node: Mul(x, Sigmoid(x)) | Mul(Sigmoid(x), x). */
static int32_t match_silu(const xf_graph *g, int32_t sigmoid, activation *fused, xf_match *m) {
    int32_t x = g->nodes[sigmoid].in[0], sv = g->nodes[sigmoid].out[0], mul = -1, other = -1;
    for (int32_t i = sigmoid + 1; i < g->nnodes && mul < 0; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead || n->op != XF_OP_MUL) continue;
        int32_t o = xf_other_operand(n, sv);
        if (o == x) mul = i;
        else if (o >= 0 && other < 0) other = o;
    }
    if (mul < 0 && other < 0) return -1; /* a sigmoid that multiplies nothing: no candidate */
    if (mul < 0) return xf_match_reject(m, "the sigmoid of '%s' multiplies '%s', not its own argument", xf_name_of(g, x), xf_name_of(g, other));
    if (!xf_absorbable(g, sv)) return xf_match_reject(m, "the sigmoid '%s' has another user", xf_name_of(g, sv));
    if (!xf_same_shape(&g->values[g->nodes[mul].out[0]], &g->values[x]))
        return xf_match_reject(m, "the product broadcasts '%s' to another shape", xf_name_of(g, x));
    xf_match_take(m, sigmoid);
    xf_match_take(m, mul);
    fused->op = XF_OP_SILU;
    fused->in[0] = x;
    return mul;
}

/* SwiGLU and GeGLU, from the product: Mul(act(g), u) | Mul(u, act(g)), act a SiLU or a GELU of
 * either form (fused by now), act(g) of the product's shape so that nothing is computed twice. u is no
 * constant: act(g) * c is a scaled activation, not a gate. */
static int32_t match_glu(const xf_graph *g, int32_t mul, activation *fused, xf_match *m) {
    const xf_node *n = &g->nodes[mul];
    if (n->nin != 2) return -1;
    for (int k = 0; k < 2; k++) {
        int32_t a = n->in[k], act = xf_producer(g, a, -1);
        int op = act < 0 ? -1 : g->nodes[act].op;
        if ((op != XF_OP_SILU && op != XF_OP_GELU && op != XF_OP_GELU_TANH) || g->values[n->in[1 - k]].data) continue;
        if (!xf_absorbable(g, a)) {
            xf_match_reject(m, "the %s '%s' has another user", xf_ops[op].name, xf_name_of(g, a));
            continue;
        }
        if (!xf_same_shape(&g->values[a], &g->values[n->out[0]])) {
            xf_match_reject(m, "the product broadcasts the %s '%s'", xf_ops[op].name, xf_name_of(g, a));
            continue;
        }
        xf_match_take(m, act);
        xf_match_take(m, mul);
        fused->op = op == XF_OP_SILU ? XF_OP_SWIGLU : op == XF_OP_GELU ? XF_OP_GEGLU : XF_OP_GEGLU_TANH;
        fused->in[0] = g->nodes[act].in[0];
        fused->in[1] = n->in[1 - k];
        return mul;
    }
    return -1;
}

/* ---- the pass ---- */

static bool fuse(xf_graph *g, const xf_options *o, int32_t anchor, int phase, xf_match *m) {
    activation fused = {.op = -1};
    int op = g->nodes[anchor].op;
    int32_t root;
    xf_match_start(m, anchor);
    if (phase == 0 && op == XF_OP_ERF) root = match_gelu_erf(g, anchor, &fused, m);
    else if (phase == 0 && op == XF_OP_TANH) root = match_gelu_tanh(g, anchor, &fused, m);
    else if (phase == 0 && op == XF_OP_SIGMOID) root = match_silu(g, anchor, &fused, m);
    else if (phase == 1 && op == XF_OP_MUL) root = match_glu(g, anchor, &fused, m);
    else return false;
    int kind = op == XF_OP_SIGMOID ? XF_FUSION_silu : op == XF_OP_MUL ? XF_FUSION_swiglu : XF_FUSION_gelu;
    if (root < 0) {
        xf_match_report(g, o, kind, m);
        return false;
    }
    xf_match_kill(g, m, root);
    xf_node_rewrite(g, root, fused.op, xf_ops[fused.op].arity, fused.in);
    xf_count_fusion(o, kind);
    return true;
}

bool xf_pass_fuse_activation(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    bool changed = false;
    xf_match m;
    xf_match_init(&m, g);
    for (int phase = 0; phase < 2; phase++) /* single activations, then the gated products */
        for (int32_t i = 0; i < g->nnodes; i++)
            if (!g->nodes[i].dead) changed |= fuse(g, o, i, phase, &m);
    return changed;
}
