/* fuse_layer_norm.c — layer normalisation written out in primitive ops becomes one
 * LayerNormalization node (the ONNX op, ir/ops_math.c): one kernel call that takes mean and
 * variance row by row, instead of seven passes over memory. The exporters of today emit the op
 * itself; older exports and hand-written graphs spell it out.
 *
 * The variance part of a layer norm is an RMS norm of the centred input: both passes match it with
 * xf_match_normalised (match.c).
 * Requires: shapes (fold). Leaves absorbed nodes dead (dce removes them); invalidates nothing else. */
#include "match.h"

/* A matched norm; the nodes it absorbs are in the xf_match beside it. */
typedef struct layer_norm {
    int32_t root, x, gamma, beta; /* gamma, beta -1 when absent */
    int axis;                     /* the first normalised axis */
    double eps;
} layer_norm;

/* ---- helpers ---- */

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
 * takes it into m, makes it ln's root, moves *out to its result and returns p; -1 otherwise. */
static int32_t parameter(const xf_graph *g, int32_t *out, int op, int axis, layer_norm *ln, xf_match *m) {
    int32_t n = xf_sole_reader(g, *out);
    if (n < 0 || g->nodes[n].op != op) return -1;
    int32_t p = xf_other_operand(&g->nodes[n], *out);
    if (p < 0 || p == *out || !fits_param(&g->values[p], &g->values[ln->x], axis)) return -1;
    xf_match_take(m, n);
    ln->root = n;
    *out = g->nodes[n].out[0];
    return p;
}


/* The pattern whose mean is ReduceMean node `mean`, both means over the same trailing axes
 * [axis, rank) with keepdims:
 *     mu  = ReduceMean(x)
 *     d   = Sub(x, mu)
 *     var = ReduceMean(Mul(d, d) | Pow(d, 2))
 *     y   = d normalised by var (see xf_match_normalised())
 *     y   = Mul(y, gamma) | Mul(gamma, y)       optional
 *     out = Add(y, beta) | Add(beta, y) | y     optional
 * gamma and beta having the normalised dims' shape. d is read by the square and the normalising
 * node only; every other intermediate has one use. Fills ln, takes the nodes into m and returns the
 * root, or -1: with m->why set for a near miss. */
static int32_t match_layer_norm(xf_graph *g, int32_t mean, layer_norm *ln, xf_match *m) {
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
    if (axis < 0) return xf_match_reject(m, "the mean is not over the last axes with keepdims");
    if (xv->dtype != XF_F32) return xf_match_reject(m, "'%s' is %s, not float32", xv->name, xf_dtype_name(xv->dtype));
    if (!xf_absorbable(g, mu)) return xf_match_reject(m, "the mean '%s' has another user", xf_name_of(g, mu));
    int32_t vm = xf_match_user(g, g->nodes[sq].out[0], m);
    if (vm < 0) return -1;
    if (g->nodes[vm].op != XF_OP_REDUCE_MEAN || xf_trailing_axes(g, &g->nodes[vm]) != axis)
        return xf_match_reject(m, "the squares of '%s' are not averaged over the axes of the mean", xf_name_of(g, d));
    xf_match_take(m, mean);
    xf_match_take(m, sub);
    xf_match_take(m, sq);
    xf_match_take(m, vm);
    int32_t y = xf_match_normalised(g, g->nodes[vm].out[0], d, "centred value", "the variance", &ln->eps, m);
    if (y < 0) return -1;
    int reads = g->nodes[sq].op == XF_OP_MUL ? 3 : 2;
    if (g->values[d].is_output || xf_uses(g, d) != reads)
        return xf_match_reject(m, "the centred value '%s' has another user", xf_name_of(g, d));
    int32_t out = g->nodes[y].out[0];
    if (!xf_same_shape(&g->values[out], xv))
        return xf_match_reject(m, "a constant of the pattern broadcasts the result beyond the shape of '%s'", xv->name);
    ln->x = x;
    ln->axis = axis - xv->rank;
    ln->root = y;
    ln->gamma = ln->beta = -1;

    int32_t p;
    if ((p = parameter(g, &out, XF_OP_MUL, axis, ln, m)) >= 0) ln->gamma = p;
    if ((p = parameter(g, &out, XF_OP_ADD, axis, ln, m)) >= 0) ln->beta = p;
    return ln->root;
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
    (void)d;
    bool changed = false;
    xf_match m;
    xf_match_init(&m, g);
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != XF_OP_REDUCE_MEAN) continue;
        layer_norm ln = {.root = -1};
        xf_match_start(&m, i);
        if (match_layer_norm(g, i, &ln, &m) < 0) {
            xf_match_report(g, o, XF_FUSION_layer_norm, &m);
            continue;
        }
        xf_match_kill(g, &m, ln.root);
        const xf_value *x = &g->values[ln.x];
        int32_t gamma = ln.gamma >= 0 ? ln.gamma : ones(g, &g->nodes[ln.root], x, x->rank + ln.axis);
        int32_t in[3] = {ln.x, gamma, ln.beta};
        xf_node_rewrite(g, ln.root, XF_OP_LAYER_NORM, ln.beta >= 0 ? 3 : 2, in);
        xf_node_add_attr(g, ln.root, "axis", XF_ATTR_INT)->i = ln.axis;
        xf_node_add_attr(g, ln.root, "epsilon", XF_ATTR_FLOAT)->f = (float)ln.eps;
        xf_count_fusion(o, XF_FUSION_layer_norm);
        changed = true;
    }
    return changed;
}
