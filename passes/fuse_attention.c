/* fuse_attention.c — scaled dot-product attention, as the exporters write it out, becomes one
 * Attention node (ir/ops_attention.c, runtime/attention.c), whose kernel never builds the [S, L]
 * matrix of scores, reads grouped K/V heads by index and applies a causal mask as a loop bound.
 *
 * The subgraph, for Q [B, Hq, S, D], K [B, Hkv, L, D], V [B, Hkv, L, Dv], all float32:
 *
 *     Y = MatMul(P, V')
 *     P = Softmax(x) over the last axis  |  Where(IsNaN(Softmax(x)), 0, Softmax(x))  (the dynamo
 *         exporter's guard for rows whose every key is masked: they give 0, as in ONNX Attention;
 *         without the guard such rows would be NaN. NaN scores stay NaN when fused.)
 *     x = MatMul(Q', K^T) followed by, in this order of application (each optional):
 *           scale: Mul(., c) | Mul(c, .) | Div(., c)   c a constant scalar; any number of them
 *           masks: Add(., m) | Add(m, .)               m float, broadcasting to [B, Hq, S, L]
 *                  Where(b, ., f)                      b bool (true = attend), f = -inf (or at
 *                                                      most -1e4 when b is constant and causal)
 *         A scale applied after a mask is not accepted (it would scale the mask too).
 *     Q' = Q scaled by constant scalars as above (llama's dynamo export splits 1/sqrt(D) between q
 *          and k), or Q itself.
 *     K^T = scaled [view] Transpose(K'', perm) [view], where perm swaps the last two dims and the
 *          views keep them (the dynamo exporter transposes through [B*Hq, L, D]: Reshape,
 *          Transpose, Reshape back). Or, with no views, a Transpose whose perm also moves heads,
 *          as the TorchScript exporter's Transpose([B, L, H, D], [0, 2, 3, 1]): that Transpose is
 *          then rewritten in place into the one giving K, [0, 2, 1, 3].
 *     K'', V' = K and V, or views of them that keep the last two dims, possibly scaled (K only),
 *          possibly with heads repeated for grouped-query attention by an Expand of the dim just
 *          before the last two: Reshape(Expand(Unsqueeze(K, 2), [B, Hkv, n, L, D]), [B, Hkv*n, L, D]).
 *          The deepest such tensor of shape [B, Hkv, L, D] is read, and kv_num_heads set to Hkv.
 *
 * Constant masks are looked at: one that is all zero (all true) is dropped; one that is exactly
 * causal (0 where key j <= query i and at most -1e4 above; bool: true exactly where j <= i) becomes
 * is_causal = 1. A finite fill value counts as -inf: exp(fill + score - max) is 0 in float unless
 * scores span ten thousand. Any other mask is kept as the attn_mask input, read in place.
 *
 * The values from MatMul(Q', K^T) to P must have no other user: the scores would have to exist
 * anyway. The chains leading to Q, K and V may have other users; what nothing reads after the
 * rewrite is dropped.
 *
 * Requires: shapes and folded constants (fold). Leaves absorbed nodes dead. */
#include <math.h>
#include <string.h>

#include "match.h"

/* A mask value at or below this masks its key (see above). */
#define MASKED_BELOW (-1e4)

/* ---- helpers ---- */

/* a and b have rank >= 2 and end in the same two dims. */
static bool same_tail(const xf_value *a, const xf_value *b) {
    return a->rank >= 2 && b->rank >= 2 && a->shape[a->rank - 1] == b->shape[b->rank - 1] &&
           a->shape[a->rank - 2] == b->shape[b->rank - 2];
}

/* v = Mul(u, c) | Mul(c, u) | Div(u, c) with c a constant scalar and v of u's shape: returns u and
 * multiplies *scale by c (or 1/c). Otherwise -1. */
static int32_t scaled_by(const xf_graph *g, int32_t v, double *scale) {
    int32_t pi = xf_producer(g, v, -1);
    if (pi < 0) return -1;
    const xf_node *n = &g->nodes[pi];
    if ((n->op != XF_OP_MUL && n->op != XF_OP_DIV) || n->nin != 2) return -1;
    for (int k = n->op == XF_OP_DIV ? 1 : 0; k < 2; k++) {
        double c;
        int32_t u = n->in[1 - k];
        if (!xf_const_scalar(g, n->in[k], &c)) continue;
        const xf_value *uv = &g->values[u];
        if (!xf_has_shape(&g->values[v], uv->rank, uv->shape) || (n->op == XF_OP_DIV && c == 0.0)) return -1;
        *scale *= n->op == XF_OP_DIV ? 1.0 / c : c;
        return u;
    }
    return -1;
}

/* v comes from a MatMul through scales, Adds and Wheres (its data operand): the scores side of a
 * mask operation. */
static bool from_matmul(const xf_graph *g, int32_t v, int depth) {
    int32_t pi = xf_producer(g, v, -1);
    if (pi < 0 || depth > 8) return false;
    const xf_node *n = &g->nodes[pi];
    double ignored = 1.0;
    int32_t u = scaled_by(g, v, &ignored);
    if (n->op == XF_OP_MATMUL) return true;
    if (u >= 0) return from_matmul(g, u, depth + 1);
    if (n->op == XF_OP_ADD) return from_matmul(g, n->in[0], depth + 1) || from_matmul(g, n->in[1], depth + 1);
    if (n->op == XF_OP_WHERE) return from_matmul(g, n->in[1], depth + 1);
    return false;
}

/* ---- masks ---- */

typedef struct {
    int32_t value;
    bool is_bool; /* a Where condition (true = attend); else a float added to the scores */
    double fill;  /* the Where's value for masked scores */
} mask_use;

typedef enum { MASK_KEEP, MASK_NONE, MASK_CAUSAL } mask_kind;

/* Element e of constant mask m attends (bool: nonzero; float: 0) or masks (float: <= MASKED_BELOW);
 * returns 1, 0, or -1 for a float value that is neither. */
static int attends(const xf_value *m, int64_t e) {
    if (m->dtype == XF_BOOL) return ((const uint8_t *)m->data)[e] != 0;
    double x = xf_const_f64(m, e);
    return x == 0.0 ? 1 : x <= MASKED_BELOW ? 0 : -1;
}

/* What a mask amounts to for s queries and l keys: nothing (all attend), exactly the causal mask
 * (last two dims [s, l], element (i, j) attends iff j <= i), or a tensor to keep. */
static mask_kind classify(const xf_graph *g, int32_t v, int64_t s, int64_t l) {
    const xf_value *m = &g->values[v];
    if (!m->data) return MASK_KEEP;
    int64_t n = xf_value_numel(m);
    bool all = true, causal = m->rank >= 2 && m->shape[m->rank - 2] == s && m->shape[m->rank - 1] == l;
    for (int64_t e = 0; e < n && (all || causal); e++) {
        int a = attends(m, e);
        all &= a == 1;
        if (causal) causal = a == (e % l <= e / l % s);
    }
    return all ? MASK_NONE : causal ? MASK_CAUSAL : MASK_KEEP;
}

/* ---- K and V ---- */

/* For an Expand whose output x repeats heads: input [.., 1, L, W] -> x [.., n, L, W], all other
 * dims equal. Returns n, or 0. */
static int64_t head_repeat(const xf_graph *g, const xf_node *n, const xf_value *x) {
    const xf_value *in = xf_in((xf_graph *)g, n, 0);
    int r = x->rank;
    if (!in || in->rank != r || r < 3 || in->shape[r - 3] != 1) return 0;
    for (int i = 0; i < r; i++)
        if (i != r - 3 && in->shape[i] != x->shape[i]) return 0;
    return x->shape[r - 3] > 0 ? x->shape[r - 3] : 0;
}

/* A K or V tensor found behind a MatMul operand: value [B, Hkv, L, W], whose heads each serve
 * rep = Hq / Hkv query heads, scaled by scale. */
typedef struct {
    int32_t value;
    int64_t rep;
    double scale;
} kv_src;

/* Walks back from v, an operand [.., L, W] of a MatMul whose batch dims flatten to [B*Hq], through
 * views that keep the last two dims, Expands that repeat heads, and (when scalable) constant
 * scales. Element [f, l, w] of v (f the flat batch index) is then [f / rep, l, w] of the tensor
 * reached. Keeps the deepest 4-D [B, Hkv, L, W] tensor with Hkv * rep = Hq (and rep = want_rep
 * unless that is 0) in *out. */
static bool kv_source(const xf_graph *g, int32_t v, int64_t batch, int64_t heads, bool scalable, int64_t want_rep,
                      kv_src *out, xf_match *p) {
    kv_src cur = {v, 1, 1.0};
    bool found = false;
    for (int steps = 0; steps < 16; steps++) {
        const xf_value *x = &g->values[cur.value];
        if (x->rank == 4 && x->dtype == XF_F32 && x->shape[0] == batch && x->shape[1] * cur.rep == heads &&
            (!want_rep || cur.rep == want_rep)) {
            *out = cur;
            found = true;
        }
        int32_t pi = xf_producer(g, cur.value, -1), u;
        if (pi < 0) break;
        const xf_node *n = &g->nodes[pi];
        int64_t rep;
        if ((xf_ops[n->op].flags & XF_FLAG_VIEW) && n->nin >= 1 && n->in[0] >= 0 && same_tail(&g->values[n->in[0]], x))
            u = n->in[0];
        else if (n->op == XF_OP_EXPAND && (rep = head_repeat(g, n, x)) > 0) {
            cur.rep *= rep;
            u = n->in[0];
        } else if (!scalable || (u = scaled_by(g, cur.value, &cur.scale)) < 0)
            break;
        xf_match_take(p, pi);
        cur.value = u;
    }
    return found;
}

/* ---- matching ---- */

typedef struct {
    int32_t q, k, v, mask;
    bool causal;
    double scale;
    int64_t heads, kv_heads;
    int32_t retranspose; /* Transpose node to turn into the one that gives K, or -1 */
    int64_t perm[4];     /* its new perm */
    xf_match *p;         /* the nodes taken; removed after the rewrite when nothing reads them */
} attn_match;

/* Says why the candidate does not fuse; the pass reports it at the softmax. */
static bool miss(attn_match *m, const char *why) {
    xf_match_reject(m->p, "%s", why);
    return false;
}

/* Follows K^T (kt, [B, Hq, D, L]) back through its scales, views and Transpose. Sets *k2 to K''
 * (the Transpose's input, from which kv_source goes on to K) and multiplies m->scale; or, for a
 * Transpose that must be rewritten, sets m->retranspose, m->k and m->kv_heads and *k2 to -1. */
static bool match_keys(xf_graph *g, int32_t kt, attn_match *m, int32_t *k2) {
    bool private = xf_absorbable(g, kt), views = false;
    int32_t t = kt, u;
    double scale = 1.0;
    while ((u = scaled_by(g, t, &scale)) >= 0) {
        xf_match_take(m->p, g->values[t].producer);
        t = u;
        private &= xf_absorbable(g, t);
    }
    for (int32_t pi; (pi = xf_producer(g, t, -1)) >= 0 && (xf_ops[g->nodes[pi].op].flags & XF_FLAG_VIEW) &&
                     g->nodes[pi].in[0] >= 0 && same_tail(&g->values[g->nodes[pi].in[0]], &g->values[t]);) {
        xf_match_take(m->p, pi);
        t = g->nodes[pi].in[0];
        views = true;
    }
    int32_t ti = xf_producer(g, t, XF_OP_TRANSPOSE);
    if (ti < 0) return miss(m, "the keys are not transposed by a Transpose");
    const xf_node *tn = &g->nodes[ti];
    const xf_value *in = xf_in(g, tn, 0);
    int r = in->rank;
    int64_t perm[XF_MAX_RANK];
    const xf_attr *pa = xf_attr_get(tn, "perm");
    if (r < 2 || (pa && pa->n != r)) return miss(m, "the keys' Transpose has a malformed perm");
    for (int i = 0; i < r; i++) perm[i] = pa ? pa->ints[i] : r - 1 - i;
    int64_t swap = perm[r - 1]; /* the perm that keeps K's last two dims in place */
    perm[r - 1] = perm[r - 2];
    perm[r - 2] = swap;
    bool identity = true;
    for (int i = 0; i < r; i++) identity &= perm[i] == i;
    m->scale *= scale;
    xf_match_take(m->p, ti);
    if (identity) {
        *k2 = tn->in[0];
        return true;
    }
    const xf_value *kv = &g->values[kt];
    if (views || r != 4 || !private)
        return miss(m, "the keys' Transpose moves more than the last two dims and cannot be rewritten");
    int64_t shape[4];
    for (int i = 0; i < 4; i++) shape[i] = in->shape[perm[i]];
    if (shape[0] != kv->shape[0] || shape[1] != kv->shape[1] || shape[2] != kv->shape[3] || shape[3] != kv->shape[2])
        return miss(m, "the keys' Transpose does not give [B, H, D, L]");
    m->retranspose = ti;
    memcpy(m->perm, perm, sizeof m->perm);
    m->k = tn->out[0];
    m->kv_heads = m->heads;
    *k2 = -1;
    return true;
}

/* The scores chain from softmax input x back to MatMul(Q', K^T): scales and masks (see the header).
 * Returns the MatMul node, or -1 after recording why not. */
static int32_t match_scores(xf_graph *g, int32_t x, mask_use *masks, int *nmasks, attn_match *m) {
    bool scaled = false;
    for (int steps = 0; steps < 16; steps++) {
        if (!xf_absorbable(g, x)) {
            return xf_match_reject(m->p, "the scores '%s' have another user", xf_name_of(g, x));
        }
        int32_t pi = xf_producer(g, x, -1), u;
        if (pi < 0) break;
        const xf_node *n = &g->nodes[pi];
        xf_match_take(m->p, pi);
        if (n->op == XF_OP_MATMUL) return pi;
        if ((u = scaled_by(g, x, &m->scale)) >= 0) {
            scaled = true;
            x = u;
            continue;
        }
        if (n->op == XF_OP_MUL || n->op == XF_OP_DIV)
            return miss(m, "the scores are scaled by something other than a constant scalar"), -1;
        if (n->op != XF_OP_ADD && n->op != XF_OP_WHERE) break;
        if (scaled) return miss(m, "the scores are scaled after a mask is applied"), -1;
        if (*nmasks == 2) return miss(m, "more than two masks are applied"), -1;
        mask_use *mu = &masks[(*nmasks)++];
        int k = n->op == XF_OP_WHERE ? 1 : from_matmul(g, n->in[0], 0) ? 0 : 1;
        *mu = (mask_use){.value = n->op == XF_OP_WHERE ? n->in[0] : n->in[1 - k], .is_bool = n->op == XF_OP_WHERE};
        if (n->op == XF_OP_WHERE && (!xf_const_uniform(g, n->in[2], &mu->fill) || mu->fill > MASKED_BELOW))
            return miss(m, "a Where on the scores does not keep them where true and fill in -inf elsewhere"), -1;
        const xf_value *s = &g->values[n->in[k]];
        if (!xf_has_shape(&g->values[x], s->rank, s->shape))
            return miss(m, "a mask makes the scores larger (it does not broadcast to them)"), -1;
        x = n->in[k];
    }
    return miss(m, "the softmax does not read a product of queries and keys"), -1;
}

/* Settles the masks now that s and l are known: drops empty ones, turns a causal one into
 * is_causal, keeps at most one tensor. */
static bool settle_masks(xf_graph *g, const mask_use *masks, int nmasks, int64_t s, int64_t l, attn_match *m) {
    for (int i = 0; i < nmasks; i++) {
        const xf_value *mv = &g->values[masks[i].value];
        if (mv->dtype != (masks[i].is_bool ? XF_BOOL : XF_F32)) return miss(m, "the mask is not float32");
        mask_kind kind = classify(g, masks[i].value, s, l);
        if (kind == MASK_NONE) continue;
        if (kind == MASK_CAUSAL) {
            m->causal = true;
            continue;
        }
        if (masks[i].is_bool && masks[i].fill != -INFINITY)
            return miss(m, "a bool mask fills in a finite value, which differs from -inf for rows with every "
                           "key masked");
        if (m->mask >= 0) return miss(m, "two mask tensors would have to be kept");
        if (mv->rank < 1 || mv->rank > 4 || mv->shape[mv->rank - 1] != l)
            return miss(m, "the mask is not [.., L] of rank 1 to 4 (it broadcasts along the keys)");
        m->mask = masks[i].value;
    }
    return true;
}

/* Matches attention ending in MatMul node `root` (see the header). */
static bool match(xf_graph *g, int32_t root, attn_match *m) {
    const xf_node *mm2 = &g->nodes[root];
    if (mm2->nin != 2) return false;
    int32_t probs = mm2->in[0], pv = probs, guard = xf_producer(g, probs, XF_OP_WHERE), isnan = -1;
    if (guard >= 0) { /* Where(IsNaN(p), 0, p) */
        const xf_node *w = &g->nodes[guard];
        double zero;
        isnan = xf_producer(g, w->in[0], XF_OP_ISNAN);
        if (isnan < 0 || g->nodes[isnan].in[0] != w->in[2] || !xf_const_uniform(g, w->in[1], &zero) || zero != 0.0)
            return false;
        pv = w->in[2];
    }
    int32_t smi = xf_producer(g, pv, XF_OP_SOFTMAX);
    if (smi < 0) return false; /* not attention */
    const xf_node *sm = &g->nodes[smi];
    const xf_value *x = xf_in(g, sm, 0);
    /* from here on the pattern is recognisable: say why it does not fuse, at the softmax */
    m->p->anchor = smi;
    /* the frontend makes the axis explicit (its default changed in opset 13); over the last axis the
     * Softmax of every opset means the same */
    int64_t axis = xf_attr_int(sm, "axis", -1);
    if (axis < 0) axis += x->rank;
    if (axis != x->rank - 1) {
        xf_match_reject(m->p, "the softmax is over axis %lld, not the last (the keys)", (long long)axis);
        return false;
    }
    bool single = guard < 0 ? xf_absorbable(g, probs)
                            : xf_absorbable(g, probs) && xf_absorbable(g, g->nodes[isnan].out[0]) &&
                                  !g->values[pv].is_output && xf_uses(g, pv) == 2;
    if (!single) return miss(m, "the attention weights have another user");
    if (guard >= 0) {
        xf_match_take(m->p, guard);
        xf_match_take(m->p, isnan);
    }
    xf_match_take(m->p, smi);
    mask_use masks[2];
    int nmasks = 0;
    int32_t mm1 = match_scores(g, sm->in[0], masks, &nmasks, m);
    if (mm1 < 0) return false;
    /* the shapes: scores [B, Hq, S, L], Q' [B, Hq, S, D], K^T [B, Hq, D, L], V' [B, Hq, L, Dv] */
    const xf_value *sc = &g->values[g->nodes[mm1].out[0]], *y = &g->values[mm2->out[0]];
    if (sc->rank != 4 || sc->dtype != XF_F32 || y->rank != 4) return miss(m, "the scores are not 4-D float32");
    int64_t b = sc->shape[0], h = sc->shape[1], s = sc->shape[2], l = sc->shape[3], dv = y->shape[3];
    m->heads = h;
    int32_t q = g->nodes[mm1].in[0], kt = g->nodes[mm1].in[1], u;
    while ((u = scaled_by(g, q, &m->scale)) >= 0) {
        xf_match_take(m->p, g->values[q].producer);
        q = u;
    }
    const xf_value *qv = &g->values[q], *ktv = &g->values[kt], *vv = &g->values[mm2->in[1]];
    int64_t d = qv->rank == 4 ? qv->shape[3] : -1;
    if (qv->dtype != XF_F32 || !xf_has_shape(qv, 4, (int64_t[]){b, h, s, d}) || !xf_has_shape(ktv, 4, (int64_t[]){b, h, d, l}) ||
        !xf_has_shape(vv, 4, (int64_t[]){b, h, l, dv}))
        return miss(m, "Q, K^T and V are not [B, H, S, D], [B, H, D, L] and [B, H, L, Dv]");
    m->q = q;
    if (!settle_masks(g, masks, nmasks, s, l, m)) return false;
    /* K and V, un-expanded together when both can be */
    int32_t k2;
    kv_src ks, vs;
    if (!match_keys(g, kt, m, &k2)) return false;
    if (k2 < 0) { /* a rewritten Transpose yields K itself */
        if (!kv_source(g, mm2->in[1], b, h, false, 1, &vs, m->p)) return miss(m, "V is not [B, H, L, Dv]");
        m->v = vs.value;
        return true;
    }
    bool found = kv_source(g, k2, b, h, true, 0, &ks, m->p) && kv_source(g, mm2->in[1], b, h, false, ks.rep, &vs, m->p);
    if (!found)
        found = kv_source(g, k2, b, h, true, 1, &ks, m->p) && kv_source(g, mm2->in[1], b, h, false, 1, &vs, m->p);
    if (!found) return miss(m, "K and V are not [B, Hkv, L, D] tensors, possibly repeated for grouped heads");
    m->k = ks.value;
    m->v = vs.value;
    m->scale *= ks.scale;
    m->kv_heads = h / ks.rep;
    return true;
}

/* Rewrites `root` into the Attention node of match m. */
static void rewrite(xf_graph *g, const xf_options *o, int32_t root, attn_match *m) {
    if (m->retranspose >= 0) {
        xf_node *t = &g->nodes[m->retranspose];
        xf_attr *pa = NULL;
        for (int i = 0; i < t->nattr; i++)
            if (strcmp(t->attrs[i].name, "perm") == 0) pa = &t->attrs[i];
        if (!pa) pa = xf_node_add_attr(g, m->retranspose, "perm", XF_ATTR_INTS);
        pa->type = XF_ATTR_INTS;
        pa->n = 4;
        pa->ints = xf_alloc(g->arena, sizeof m->perm);
        memcpy(pa->ints, m->perm, sizeof m->perm);
        xf_value *out = &g->values[t->out[0]], *in = &g->values[t->in[0]];
        for (int i = 0; i < 4; i++) out->shape[i] = in->shape[m->perm[i]];
    }
    int32_t in[4] = {m->q, m->k, m->v, m->mask};
    xf_node_rewrite(g, root, XF_OP_ATTENTION, m->mask >= 0 ? 4 : 3, in);
    xf_node_add_attr(g, root, "scale", XF_ATTR_FLOAT)->f = (float)m->scale;
    if (m->causal) xf_node_add_attr(g, root, "is_causal", XF_ATTR_INT)->i = 1;
    xf_node_add_attr(g, root, "q_num_heads", XF_ATTR_INT)->i = m->heads;
    xf_node_add_attr(g, root, "kv_num_heads", XF_ATTR_INT)->i = m->kv_heads;
    /* repeated K/V heads are expanded with repeat_interleave: query head h reads h / (Hq/Hkv) */
    xf_node_add_attr(g, root, "xfc.kv_heads_grouped", XF_ATTR_INT)->i = 1;
    xf_match_drop_unused(g, m->p);
    /* the rewritten Transpose must now feed the Attention alone */
    XF_ASSERT(m->retranspose < 0 || xf_uses(g, g->nodes[m->retranspose].out[0]) == 1);
    xf_count_fusion(o, XF_FUSION_attention);
}

bool xf_pass_fuse_attention(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    bool changed = false;
    xf_match p;
    xf_match_init(&p, g);
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != XF_OP_MATMUL) continue;
        xf_match_start(&p, i);
        attn_match m = {.mask = -1, .scale = 1.0, .retranspose = -1, .p = &p};
        if (match(g, i, &m)) {
            rewrite(g, o, i, &m);
            changed = true;
        } else {
            xf_match_report(g, o, XF_FUSION_attention, &p);
        }
    }
    return changed;
}
