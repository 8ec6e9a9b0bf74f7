/* fuse_rope.c — rotary position embeddings, written out as elementwise ops by the exporters, become
 * one RotaryEmbedding node (ir/ops_attention.c, runtime/attention.c).
 *
 * Both forms rotate pairs of elements of each head row x by a per-position angle, with cos and sin
 * tables the exporters have already gathered by position (fold makes them constants [.., S, D]):
 *
 * Rotate-half (Llama, GPT-NeoX), pairs (x[t], x[t + D/2]), cos and sin with two equal halves:
 *     y = Add(Mul(x, cos), Mul(Concat(Neg(x2), x1, axis -1), sin))
 *     x1, x2 = Slice(x, 0:D/2), Slice(x, D/2:D) along the last axis   | Split(x) into two halves
 * Interleaved (GPT-J), pairs (x[2t], x[2t+1]), cos and sin with equal neighbours (2t, 2t+1):
 *     y = Add(Mul(x, cos), Mul(view(Concat(up(Neg(xo)), up(xe), axis -1)), sin))
 *     xe, xo = Slice(x, 0::2), Slice(x, 1::2) along the last axis
 *     up: a view [.., D/2] -> [.., D/2, 1] (Unsqueeze, Reshape), the Neg before or after it;
 *     view: [.., D/2, 2] -> [.., D] (Reshape, Flatten)
 * Add and both Muls take their operands in either order. x is [B, H, S, D] (or [B, S, D], taken as
 * one head), float32; cos and sin are constants that broadcast to it as [1 or B, 1, S, D] (any rank
 * up to x's, leading dims absent or 1).
 *
 * The fused node is RotaryEmbedding(x, cos_cache, sin_cache) with interleaved set for the second
 * form and caches [1 or B, S, D/2]: the first halves (or the even elements) of cos and sin. It has
 * no position ids: ONNX takes 3-D caches as already indexed by position. Caches made from the same
 * constant are shared (a model rotates q and k of every layer with the same tables).
 *
 * Requires: shapes and folded constants (fold). Leaves absorbed nodes dead. */
#include <string.h>

#include "match.h"

static bool same_dims(const xf_value *a, const xf_value *b, int count) {
    if (a->rank < count || b->rank < count) return false;
    for (int i = 0; i < count; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* A constant list of at most one entry from attribute `attr` or input `input` of a Slice, into *out
 * (dflt when absent). False when it is not known or has more entries. */
static bool slice_param(xf_graph *g, const xf_node *n, const char *attr, int input, int64_t dflt, int64_t *out) {
    if (input < n->nin && n->in[input] >= 0 && !g->values[n->in[input]].data) return false;
    xf_diag ignored = {0};
    int64_t v[2];
    int count = xf_node_ints(g, n, attr, input, v, 2, &ignored);
    if (count > 1 || count < 0) return false;
    *out = count == 1 ? v[0] : dflt;
    return true;
}

/* v = Slice(x) along the last axis of x, taking `count` elements from `start` by `step` (start
 * normalised as ONNX does for positive steps). Returns x, or -1. */
static int32_t slice_of(xf_graph *g, int32_t v, int64_t *start, int64_t *step) {
    int32_t si = xf_producer(g, v, XF_OP_SLICE);
    if (si < 0) return -1;
    const xf_node *n = &g->nodes[si];
    const xf_value *x = xf_in(g, n, 0);
    if (!x || x->rank < 1) return -1;
    int64_t axis, dim = x->shape[x->rank - 1];
    if (!slice_param(g, n, "starts", 1, 0, start) || !slice_param(g, n, "axes", 3, 0, &axis) ||
        !slice_param(g, n, "steps", 4, 1, step))
        return -1;
    if (axis != x->rank - 1 && axis != -1) return -1;
    if (*start < 0) *start += dim;
    if (*start < 0) *start = 0;
    if (*start > dim) *start = dim;
    return n->in[0];
}

/* Rotate-half: r = Concat(Neg(x2), x1) with x1, x2 the halves of x. Returns x, or -1. */
static int32_t rotate_half(xf_graph *g, int32_t r, xf_match *p) {
    int32_t ci = xf_producer(g, r, XF_OP_CONCAT);
    if (ci < 0) return -1;
    const xf_node *cat = &g->nodes[ci];
    const xf_value *rv = &g->values[r];
    if (cat->nin != 2 || rv->rank < 1 || xf_axis_from_front(xf_attr_int(cat, "axis", 0), rv->rank) != rv->rank - 1) return -1;
    int32_t ni = xf_producer(g, cat->in[0], XF_OP_NEG);
    if (ni < 0) return -1;
    int32_t x2 = g->nodes[ni].in[0], x1 = cat->in[1];
    int64_t half = rv->shape[rv->rank - 1] / 2;
    int32_t x = -1, parts[2] = {-1, -1};
    int32_t sp = xf_producer(g, x1, XF_OP_SPLIT);
    if (sp >= 0 && sp == xf_producer(g, x2, XF_OP_SPLIT)) { /* Split(x) -> x1, x2 */
        const xf_node *s = &g->nodes[sp];
        const xf_value *in = xf_in(g, s, 0);
        if (s->nout != 2 || s->out[0] != x1 || s->out[1] != x2 || xf_axis_from_front(xf_attr_int(s, "axis", 0), in->rank) != in->rank - 1) return -1;
        x = s->in[0];
        parts[0] = sp;
    } else { /* two Slices of x */
        int64_t start1, step1, start2, step2;
        x = slice_of(g, x1, &start1, &step1);
        if (x < 0 || slice_of(g, x2, &start2, &step2) != x) return -1;
        if (step1 != 1 || step2 != 1 || start1 != 0 || start2 != half) return -1;
        parts[0] = g->values[x1].producer;
        parts[1] = g->values[x2].producer;
    }
    const xf_value *xv = &g->values[x];
    if (xv->rank != rv->rank || !same_dims(xv, rv, rv->rank) || rv->shape[rv->rank - 1] % 2) return -1;
    if (!same_dims(&g->values[x1], xv, xv->rank - 1) || g->values[x1].shape[xv->rank - 1] != half ||
        !same_dims(&g->values[x2], xv, xv->rank - 1) || g->values[x2].shape[xv->rank - 1] != half)
        return -1;
    xf_match_take(p, ci);
    xf_match_take(p, ni);
    for (int k = 0; k < 2; k++)
        if (parts[k] >= 0) xf_match_take(p, parts[k]);
    return x;
}

/* v = a view of u adding a trailing dim of 1: [.., n] -> [.., n, 1]. Returns u, or -1. */
static int32_t unsqueezed(const xf_graph *g, int32_t v) {
    int32_t pi = xf_producer(g, v, -1);
    if (pi < 0 || !(xf_ops[g->nodes[pi].op].flags & XF_FLAG_VIEW) || g->nodes[pi].nin < 1) return -1;
    const xf_value *x = &g->values[v], *u = &g->values[g->nodes[pi].in[0]];
    if (x->rank != u->rank + 1 || x->shape[x->rank - 1] != 1 || !same_dims(x, u, u->rank)) return -1;
    return g->nodes[pi].in[0];
}

/* Interleaved: r = view(Concat(up(Neg(xo)), up(xe))) with xe, xo the even and odd elements of x
 * (the Neg may also sit after the view). Returns x, or -1. */
static int32_t rotate_pairs(xf_graph *g, int32_t r, xf_match *p) {
    int32_t vi = xf_producer(g, r, -1);
    if (vi < 0 || !(xf_ops[g->nodes[vi].op].flags & XF_FLAG_VIEW)) return -1;
    int32_t c = g->nodes[vi].in[0], ci = xf_producer(g, c, XF_OP_CONCAT);
    if (ci < 0) return -1;
    const xf_node *cat = &g->nodes[ci];
    const xf_value *cv = &g->values[c], *rv = &g->values[r];
    if (cat->nin != 2 || cv->rank != rv->rank + 1 || cv->shape[cv->rank - 1] != 2 ||
        xf_axis_from_front(xf_attr_int(cat, "axis", 0), cv->rank) != cv->rank - 1 || !same_dims(cv, rv, rv->rank - 1))
        return -1;
    int32_t odd = cat->in[0], ni = xf_producer(g, odd, XF_OP_NEG), nodes[4], count = 0;
    if (ni >= 0) { /* Neg after the view */
        nodes[count++] = ni;
        odd = g->nodes[ni].in[0];
    }
    int32_t odd_up = odd;
    if ((odd = unsqueezed(g, odd)) < 0) return -1;
    nodes[count++] = g->values[odd_up].producer;
    if (ni < 0) { /* Neg before it */
        if ((ni = xf_producer(g, odd, XF_OP_NEG)) < 0) return -1;
        nodes[count++] = ni;
        odd = g->nodes[ni].in[0];
    }
    int32_t even = unsqueezed(g, cat->in[1]);
    if (even < 0) return -1;
    nodes[count++] = g->values[cat->in[1]].producer;
    int64_t start_e, step_e, start_o, step_o;
    int32_t x = slice_of(g, even, &start_e, &step_e);
    if (x < 0 || slice_of(g, odd, &start_o, &step_o) != x || step_e != 2 || step_o != 2 || start_e != 0 ||
        start_o != 1)
        return -1;
    const xf_value *xv = &g->values[x];
    int64_t half = rv->shape[rv->rank - 1] / 2;
    if (xv->rank != rv->rank || !same_dims(xv, rv, rv->rank) || g->values[even].shape[xv->rank - 1] != half ||
        g->values[odd].shape[xv->rank - 1] != half)
        return -1;
    xf_match_take(p, vi);
    xf_match_take(p, ci);
    for (int k = 0; k < count; k++) xf_match_take(p, nodes[k]);
    xf_match_take(p, g->values[even].producer);
    xf_match_take(p, g->values[odd].producer);
    return x;
}

/* ---- the tables ---- */

/* Why constant c cannot serve as cos or sin for x, or NULL when it can. c must be float32 and
 * broadcast to x = [B, H, S, D] as [1 or B, 1, S, D], its pairs equal: (t, t + D/2), or (2t, 2t+1)
 * when interleaved. */
static const char *table_problem(const xf_graph *g, int32_t c, int32_t x, bool interleaved) {
    const xf_value *cv = &g->values[c], *xv = &g->values[x];
    if (!cv->data || cv->dtype != XF_F32) return "is not a float32 constant";
    int r = xv->rank;
    if (cv->rank < 2 || cv->rank > r) return "does not have the shape [1 or B, 1, S, D]";
    for (int i = 0; i < r; i++) {
        int ci = i - (r - cv->rank);
        int64_t dim = ci >= 0 ? cv->shape[ci] : 1;
        bool ok = i >= r - 2 ? dim == xv->shape[i] : i == 0 ? dim == 1 || dim == xv->shape[0] : dim == 1;
        if (!ok) return "does not have the shape [1 or B, 1, S, D]";
    }
    if (xf_value_numel(cv) == 0) return "is empty";
    const float *f = cv->data;
    int64_t d = xv->shape[r - 1], half = d / 2, rows = xf_value_numel(cv) / d;
    for (int64_t row = 0; row < rows; row++)
        for (int64_t t = 0; t < half; t++) {
            const float *e = f + row * d;
            if (interleaved ? e[2 * t] != e[2 * t + 1] : e[t] != e[t + half])
                return interleaved ? "has neighbouring elements that differ" : "has two halves that differ";
        }
    return NULL;
}

/* Caches already made in this pass, by source constant, so that equal tables are stored once. */
typedef struct {
    int32_t src[64], cache[64];
    bool interleaved[64];
    int n;
} cache_memo;

/* The cache [1 or B, S, D/2] of constant c (checked by table_problem): the first half of every row,
 * or its even elements. */
static int32_t cache_of(xf_graph *g, cache_memo *m, int32_t c, int32_t x, bool interleaved) {
    for (int i = 0; i < m->n; i++)
        if (m->src[i] == c && m->interleaved[i] == interleaved) return m->cache[i];
    const xf_value *cv = &g->values[c], *xv = &g->values[x];
    int64_t d = xv->shape[xv->rank - 1], half = d / 2, seq = xv->shape[xv->rank - 2];
    int64_t rows = xf_value_numel(cv) / d;
    float *data = xf_alloc(g->arena, sizeof(float) * (size_t)(rows * half + 1));
    const float *f = cv->data;
    for (int64_t row = 0; row < rows; row++)
        for (int64_t t = 0; t < half; t++) data[row * half + t] = f[row * d + (interleaved ? 2 * t : t)];
    int64_t shape[3] = {rows / seq, seq, half};
    const char *name = xf_sprintf(g->arena, "%s_%s", cv->name, interleaved ? "rope_pairs" : "rope_halves");
    int32_t cache = xf_const_add(g, name, XF_F32, 3, shape, data);
    if (m->n < 64) {
        m->src[m->n] = c;
        m->cache[m->n] = cache;
        m->interleaved[m->n++] = interleaved;
    }
    return cache;
}

/* ---- the pass ---- */

/* Matches the rotation rooted at Add node `root`, taking its nodes into p. Returns true after
 * rewriting it; false with p->why set for a near miss. */
static bool fuse_one(xf_graph *g, const xf_options *o, int32_t root, cache_memo *memo, xf_match *p) {
    const xf_node *add = &g->nodes[root];
    for (int order = 0; order < 2; order++) {
        int32_t mx = xf_producer(g, add->in[order], XF_OP_MUL), mr = xf_producer(g, add->in[1 - order], XF_OP_MUL);
        if (mx < 0 || mr < 0) continue;
        for (int k = 0; k < 2; k++) {
            bool interleaved = false;
            int32_t r = g->nodes[mr].in[k], sin = g->nodes[mr].in[1 - k];
            xf_match_start(p, root);
            int32_t x = rotate_half(g, r, p);
            if (x < 0) {
                xf_match_start(p, root);
                interleaved = true;
                x = rotate_pairs(g, r, p);
            }
            int32_t cos = x >= 0 ? xf_other_operand(&g->nodes[mx], x) : -1;
            if (cos < 0) continue;
            /* the rotation is there; from here on, say why it does not fuse */
            const xf_value *xv = &g->values[x], *y = &g->values[add->out[0]];
            if (xv->dtype != XF_F32 || (xv->rank != 3 && xv->rank != 4) || !same_dims(y, xv, xv->rank) ||
                y->rank != xv->rank)
                return xf_match_reject(p, "x is not a float32 [B,H,S,D] or [B,S,D] tensor of the result's shape"), false;
            const char *why = table_problem(g, cos, x, interleaved);
            if (why) return xf_match_reject(p, "cos %s", why), false;
            if ((why = table_problem(g, sin, x, interleaved))) return xf_match_reject(p, "sin %s", why), false;
            xf_match_take(p, mx);
            xf_match_take(p, mr);
            for (int32_t i = 0; i < p->n; i++) {
                const xf_node *n = &g->nodes[p->nodes[i]];
                for (int j = 0; j < n->nout; j++)
                    if (n->out[j] >= 0 && !xf_absorbable(g, n->out[j]))
                        return xf_match_reject(p, "intermediate '%s' has another user", xf_name_of(g, n->out[j])), false;
            }
            int32_t in[3] = {x, cache_of(g, memo, cos, x, interleaved), cache_of(g, memo, sin, x, interleaved)};
            xf_node_rewrite(g, root, XF_OP_ROTARY_EMBEDDING, 3, in);
            if (interleaved) xf_node_add_attr(g, root, "interleaved", XF_ATTR_INT)->i = 1;
            if (xv->rank == 3) xf_node_add_attr(g, root, "num_heads", XF_ATTR_INT)->i = 1;
            xf_match_drop_unused(g, p);
            xf_count_fusion(o, XF_FUSION_rope);
            return true;
        }
    }
    return false;
}

bool xf_pass_fuse_rope(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    cache_memo memo = {.n = 0};
    bool changed = false;
    xf_match p;
    xf_match_init(&p, g);
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != XF_OP_ADD || g->nodes[i].nin != 2) continue;
        xf_match_start(&p, i);
        if (fuse_one(g, o, i, &memo, &p)) changed = true;
        else xf_match_report(g, o, XF_FUSION_rope, &p);
    }
    return changed;
}
