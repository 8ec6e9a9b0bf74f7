/* fuse_rms_norm.c — root-mean-square normalisation written out in primitive ops becomes one
 * RMSNormalization node (ir/ops_norm.c), computed by one kernel instead of five passes over memory.
 * The matcher starts from each mean of squares (the subgraph and its variants are documented above
 * match_rms_norm) and follows the single users forward to the last product.
 *
 * Requires: shapes (fold). Simplify has usually removed the float-to-float Casts exporters leave;
 * the matcher accepts a Cast pair around the norm anyway. Leaves absorbed nodes dead (dce removes
 * them); invalidates nothing else. */
#include "match.h"

/* A matched norm; the nodes it absorbs are in the xf_match beside it. */
typedef struct rms {
    int32_t root, x, scale; /* scale -1: none, a constant 1 is made */
    int axis;               /* the first normalised axis, counted from the end (-1: the last) */
    double eps;
} rms;

/* ---- helpers ---- */

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

/* The pattern whose mean of squares is ReduceMean node `mean`:
 *     ms  = ReduceMean(Pow(x, 2) | Mul(x, x))    over the trailing axes [axis, rank), keepdims
 *     y   = x normalised by ms (see xf_match_normalised())
 *     out = Mul(y, w) | Mul(w, y) | y            w broadcast over the normalised dims only
 * with, optionally, a Cast pair around x: x = Cast(x0, to=float32) and y cast back to x0's type
 * before the weight (Hugging Face's RMSNorm on half-precision activations). Gemma's (1 + w)
 * arrives as one constant w, folded before. The normalised axes may be those of one head (q/k
 * norms over the last dim of [B,S,H,D] or [B,H,S,D]); x itself may be anything, such as Mamba-2's
 * gated x * silu(z). Fills r, takes the nodes into m and returns the root, or -1: with m->why set
 * for a near miss. */
static int32_t match_rms_norm(xf_graph *g, int32_t mean, rms *r, xf_match *m) {
    const xf_node *rm = &g->nodes[mean];
    int32_t sq = xf_producer(g, rm->in[0], -1), x = xf_square_of(g, sq);
    if (x < 0 || centred(g, x)) return -1; /* not a mean of squares, or a layer norm's */
    const xf_value *xv = &g->values[x];
    int axis = xf_trailing_axes(g, rm);
    if (axis < 0) return xf_match_reject(m, "the mean is not over the last axes with keepdims");
    if (xv->dtype != XF_F32) return xf_match_reject(m, "'%s' is %s, not float32", xv->name, xf_dtype_name(xv->dtype));
    if (!xf_absorbable(g, rm->in[0]))
        return xf_match_reject(m, "the square '%s' has another user", xf_name_of(g, rm->in[0]));
    xf_match_take(m, sq);
    xf_match_take(m, mean);
    int32_t y = xf_match_normalised(g, rm->out[0], x, "squared value", "the mean of squares", &r->eps, m);
    if (y < 0) return -1;
    if (!xf_same_shape(&g->values[g->nodes[y].out[0]], xv))
        return xf_match_reject(m, "a constant of the pattern broadcasts the result beyond the shape of '%s'", xv->name);
    r->x = x;
    r->axis = axis - xv->rank;
    r->root = y;
    int32_t out = g->nodes[y].out[0];

    /* the Cast pair: x0 -> float32 -> normalised -> x0's type; x read by the pattern only */
    int32_t front = xf_producer(g, x, XF_OP_CAST), back = xf_sole_reader(g, out);
    if (front >= 0 && back >= 0 && g->nodes[back].op == XF_OP_CAST && !xv->is_output) {
        int32_t x0 = g->nodes[front].in[0], t0 = g->values[x0].dtype, reads = g->nodes[sq].op == XF_OP_MUL ? 3 : 2;
        bool small_float = t0 == XF_F32 || t0 == XF_F16 || t0 == XF_BF16;
        if (small_float && xf_attr_int(&g->nodes[back], "to", 0) == t0 && xf_uses(g, x) == reads) {
            xf_match_take(m, front);
            xf_match_take(m, back);
            r->x = x0;
            r->root = back;
            out = g->nodes[back].out[0];
        }
    }

    /* the weight */
    r->scale = -1;
    int32_t wm = xf_sole_reader(g, out);
    int32_t w = wm >= 0 && g->nodes[wm].op == XF_OP_MUL ? xf_other_operand(&g->nodes[wm], out) : -1;
    if (w >= 0 && w != out && fits_scale(&g->values[w], xv, axis) &&
        xf_same_shape(&g->values[g->nodes[wm].out[0]], &g->values[out])) {
        xf_match_take(m, wm);
        r->root = wm;
        r->scale = w;
    }
    return r->root;
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
    (void)d;
    bool changed = false;
    xf_match m;
    xf_match_init(&m, g);
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != XF_OP_REDUCE_MEAN) continue;
        rms r = {.root = -1};
        xf_match_start(&m, i);
        if (match_rms_norm(g, i, &r, &m) < 0) {
            xf_match_report(g, o, XF_FUSION_rms_norm, &m);
            continue;
        }
        xf_match_kill(g, &m, r.root);
        int32_t scale = r.scale >= 0 ? r.scale : one(g, &g->nodes[r.root], g->values[r.x].dtype);
        xf_node_rewrite(g, r.root, XF_OP_RMS_NORM, 2, (int32_t[]){r.x, scale});
        xf_node_add_attr(g, r.root, "axis", XF_ATTR_INT)->i = r.axis;
        xf_node_add_attr(g, r.root, "epsilon", XF_ATTR_FLOAT)->f = (float)r.eps;
        xf_count_fusion(o, XF_FUSION_rms_norm);
        changed = true;
    }
    return changed;
}
