/* match.c — the pattern vocabulary of match.h: the questions, the candidate match, the subgraphs
 * several passes share, the rewrite and the report. */
#include <stdio.h>
#include <string.h>

#include "match.h"

int32_t xf_producer(const xf_graph *g, int32_t v, int op) {
    if (v < 0) return -1;
    int32_t p = g->values[v].producer;
    if (p < 0 || g->nodes[p].dead || (op >= 0 && g->nodes[p].op != op)) return -1;
    return p;
}

int32_t xf_uses(const xf_graph *g, int32_t v) {
    return xf_value_uses(g, v);
}

bool xf_absorbable(const xf_graph *g, int32_t v) {
    const xf_value *x = &g->values[v];
    return !x->is_output && !x->is_input && !x->data && xf_uses(g, v) == 1;
}

bool xf_const_uniform(const xf_graph *g, int32_t v, double *out) {
    if (v < 0 || !g->values[v].data) return false;
    const xf_value *x = &g->values[v];
    int64_t n = xf_value_numel(x);
    if (n < 1 || xf_dtype_size(x->dtype) == 0) return false;
    double first = xf_const_f64(x, 0);
    for (int64_t i = 1; i < n; i++)
        if (xf_const_f64(x, i) != first) return false;
    *out = first;
    return true;
}

bool xf_const_scalar(const xf_graph *g, int32_t v, double *out) {
    return v >= 0 && g->values[v].data && xf_value_numel(&g->values[v]) == 1 && xf_const_uniform(g, v, out);
}

int32_t xf_sole_reader(const xf_graph *g, int32_t v) {
    if (!xf_absorbable(g, v)) return -1;
    for (int32_t i = g->values[v].producer + 1; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == v) return i;
    }
    return -1;
}

int32_t xf_other_operand(const xf_node *n, int32_t v) {
    if (n->nin != 2) return -1;
    return n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : -1;
}

bool xf_const_is(const xf_graph *g, int32_t v, double want) {
    double c;
    return xf_const_scalar(g, v, &c) && c == want;
}

bool xf_is_pow(const xf_graph *g, const xf_node *n, double exponent) {
    return n->op == XF_OP_POW && n->nin == 2 && xf_const_is(g, n->in[1], exponent);
}

bool xf_same_shape(const xf_value *a, const xf_value *b) {
    return a->rank == b->rank && memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank) == 0;
}

bool xf_has_shape(const xf_value *v, int rank, const int64_t *shape) {
    return v->rank == rank && memcmp(v->shape, shape, sizeof(int64_t) * (size_t)rank) == 0;
}

int xf_axis_from_front(int64_t axis, int rank) {
    return (int)(axis < 0 ? axis + rank : axis);
}

const char *xf_name_of(const xf_graph *g, int32_t v) {
    return g->values[v].name;
}

int32_t xf_transposed_table(const xf_graph *g, int32_t t) {
    int32_t w = t >= 0 ? g->values[t].transpose_of : -1;
    if (w < 0 || !g->values[w].data) return -1;
    if (xf_uses(g, w) > 0) return w;
    for (int32_t v = 0; v < g->nvalues; v++)
        if (v != t && g->values[v].transpose_of == w && xf_uses(g, v) > 0) return w;
    return -1;
}

/* x when node computes x² as Pow(x, 2) or Mul(x, x); -1 otherwise. */
int32_t xf_square_of(const xf_graph *g, int32_t node) {
    if (node < 0) return -1;
    const xf_node *n = &g->nodes[node];
    if (xf_is_pow(g, n, 2.0)) return n->in[0];
    if (n->op == XF_OP_MUL && n->nin == 2 && n->in[0] == n->in[1]) return n->in[0];
    return -1;
}

/* The first axis of a ReduceMean over the trailing axes [axis, rank) that keeps them as 1s; -1
 * for any other reduction. */
int xf_trailing_axes(xf_graph *g, const xf_node *mean) {
    const xf_value *x = xf_in(g, mean, 0);
    int64_t axes[XF_MAX_RANK];
    xf_diag scratch = {0}; /* axes that are no constant are no error here, only no match */
    int count = xf_node_ints(g, mean, "axes", 1, axes, XF_MAX_RANK, &scratch);
    if (count < 0 || !xf_attr_int(mean, "keepdims", 1) || (count == 0 && xf_attr_int(mean, "noop_with_empty_axes", 0)))
        return -1;
    bool reduced[XF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) reduced[i] = count == 0; /* no axes: all of them */
    for (int j = 0; j < count; j++) {
        int64_t a = axes[j] < 0 ? axes[j] + x->rank : axes[j];
        if (a < 0 || a >= x->rank) return -1;
        reduced[a] = true;
    }
    int first = x->rank;
    while (first > 0 && reduced[first - 1]) first--;
    for (int i = 0; i < first; i++)
        if (reduced[i]) return -1;
    return first < x->rank ? first : -1;
}

/* ---- one candidate match ---- */

void xf_match_init(xf_match *m, xf_graph *g) {
    *m = (xf_match){.anchor = -1, .cap = g->nnodes};
    m->nodes = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(g->nnodes + 1));
    m->taken = xf_alloc(g->arena, sizeof(bool) * (size_t)(g->nnodes + 1));
}

void xf_match_start(xf_match *m, int32_t anchor) {
    for (int32_t i = 0; i < m->n; i++) m->taken[m->nodes[i]] = false;
    m->n = 0;
    m->anchor = anchor;
    m->why[0] = '\0';
}

void xf_match_take(xf_match *m, int32_t node) {
    if (!m) return;
    XF_ASSERT(node >= 0 && node < m->cap);
    if (m->taken[node]) return;
    m->taken[node] = true;
    m->nodes[m->n++] = node;
}

bool xf_match_has(const xf_match *m, int32_t node) {
    return node >= 0 && node < m->cap && m->taken[node];
}

int32_t xf_match_reject(xf_match *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why, sizeof m->why, fmt, ap);
    va_end(ap);
    return -1;
}

int32_t xf_match_user(const xf_graph *g, int32_t v, xf_match *m) {
    int32_t n = xf_sole_reader(g, v);
    return n >= 0 ? n : xf_match_reject(m, "'%s' has another user", xf_name_of(g, v));
}

void xf_match_kill(xf_graph *g, const xf_match *m, int32_t root) {
    for (int32_t i = 0; i < m->n; i++)
        if (m->nodes[i] != root) xf_node_kill(g, m->nodes[i]);
}

void xf_match_drop_unused(xf_graph *g, const xf_match *m) {
    for (bool again = true; again;) {
        again = false;
        for (int32_t i = 0; i < m->n; i++) {
            xf_node *n = &g->nodes[m->nodes[i]];
            bool used = false;
            for (int k = 0; k < n->nout; k++) used |= n->out[k] >= 0 && xf_uses(g, n->out[k]) > 0;
            if (!n->dead && !used) {
                xf_node_kill(g, m->nodes[i]);
                again = true;
            }
        }
    }
}

int32_t xf_match_escaping(const xf_graph *g, const xf_match *m, int32_t root) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead || xf_match_has(m, i)) continue;
        for (int k = 0; k < n->nin; k++) {
            int32_t v = n->in[k], pi = v >= 0 ? g->values[v].producer : -1;
            if (pi >= 0 && pi != root && xf_match_has(m, pi)) return v;
        }
    }
    for (int32_t i = 0; i < g->noutputs; i++) {
        int32_t pi = g->values[g->outputs[i]].producer;
        if (pi >= 0 && pi != root && xf_match_has(m, pi)) return g->outputs[i];
    }
    return -1;
}

int32_t xf_match_computed(const xf_graph *g, const xf_match *m, const int32_t *values, int n) {
    for (int k = 0; k < n; k++)
        if (values[k] >= 0 && xf_match_has(m, g->values[values[k]].producer)) return values[k];
    return -1;
}

void xf_match_report(xf_graph *g, const xf_options *o, int kind, const xf_match *m) {
    if (m->why[0] && m->anchor >= 0) xf_record_miss(g, o, kind, &g->nodes[m->anchor], "%s", m->why);
}

/* ---- subgraphs several passes match ---- */

int32_t xf_match_normalised(const xf_graph *g, int32_t ms, int32_t x, const char *x_role, const char *ms_role,
                            double *eps, xf_match *m) {
    *eps = 0.0;
    int32_t n = xf_match_user(g, ms, m);
    if (n < 0) return -1;
    if (g->nodes[n].op == XF_OP_ADD) {
        int32_t e = xf_other_operand(&g->nodes[n], ms);
        if (!xf_const_scalar(g, e, eps))
            return xf_match_reject(m, "epsilon '%s' is not a constant scalar", xf_name_of(g, e));
        xf_match_take(m, n);
        if ((n = xf_match_user(g, g->nodes[n].out[0], m)) < 0) return -1;
    }
    const xf_node *u = &g->nodes[n];
    int32_t inv;
    if (xf_is_pow(g, u, -0.5)) {
        xf_match_take(m, n);
        inv = u->out[0];
    } else if (u->op == XF_OP_SQRT || xf_is_pow(g, u, 0.5)) {
        xf_match_take(m, n);
        int32_t r = u->out[0];
        if ((n = xf_match_user(g, r, m)) < 0) return -1;
        u = &g->nodes[n];
        if (u->op == XF_OP_DIV && u->in[1] == r && u->in[0] == x) {
            xf_match_take(m, n);
            return n;
        }
        if (u->op == XF_OP_DIV && u->in[1] == r && !xf_const_is(g, u->in[0], 1.0))
            return xf_match_reject(m, "the root divides '%s', not the %s '%s'", xf_name_of(g, u->in[0]), x_role,
                                   xf_name_of(g, x));
        if (u->op == XF_OP_ADD) return xf_match_reject(m, "epsilon is added after the square root, not under it");
        if (u->op != XF_OP_RECIPROCAL && !(u->op == XF_OP_DIV && u->in[1] == r))
            return xf_match_reject(m, "the square root goes into %s, not a reciprocal or division", xf_ops[u->op].name);
        xf_match_take(m, n);
        inv = u->out[0];
    } else {
        return xf_match_reject(m, "%s goes into %s, not a square root", ms_role, xf_ops[u->op].name);
    }
    if ((n = xf_match_user(g, inv, m)) < 0) return -1;
    u = &g->nodes[n];
    int32_t scaled = xf_other_operand(u, inv);
    if (u->op != XF_OP_MUL)
        return xf_match_reject(m, "the inverse root goes into %s, not a product", xf_ops[u->op].name);
    if (scaled != x)
        return xf_match_reject(m, "the inverse root scales '%s', not the %s '%s'", xf_name_of(g, scaled), x_role,
                               xf_name_of(g, x));
    xf_match_take(m, n);
    return n;
}

/* ---- the rewrite ---- */

void xf_node_rewrite(xf_graph *g, int32_t root, int op, int32_t nin, const int32_t *in) {
    xf_node *n = &g->nodes[root];
    n->op = op;
    n->nin = nin;
    n->in = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(nin + 1));
    memcpy(n->in, in, sizeof(int32_t) * (size_t)nin);
    n->nattr = 0;
    n->attrs = NULL;
}

void xf_node_kill(xf_graph *g, int32_t node) {
    g->nodes[node].dead = true;
}

/* ---- what the passes did ---- */

void xf_count_fusion(const xf_options *o, int kind) {
    XF_ASSERT(kind >= 0 && kind < XF_FUSION_COUNT);
    if (o->stats) o->stats->fused[kind]++;
}

void xf_record_miss(xf_graph *g, const xf_options *o, int kind, const xf_node *n, const char *fmt, ...) {
    XF_ASSERT(kind >= 0 && kind < XF_FUSION_COUNT);
    xf_fusion_stats *s = o->stats;
    if (!s) return;
    if (s->nmissed == s->cap_missed) {
        int32_t cap = s->cap_missed ? 2 * s->cap_missed : 16;
        xf_missed *m = xf_alloc(g->arena, sizeof *m * (size_t)cap);
        if (s->nmissed) memcpy(m, s->missed, sizeof *m * (size_t)s->nmissed);
        s->missed = m;
        s->cap_missed = cap;
    }
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    xf_missed *m = &s->missed[s->nmissed++];
    m->pattern = xf_fusion_names[kind];
    m->node = n->name;
    m->reason = xf_strdup(g->arena, reason);
}
