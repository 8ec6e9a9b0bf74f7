/* match.c — the matching and rewriting helpers of match.h. */
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

void xf_count_fusion(xf_graph *g, int kind) {
    XF_ASSERT(kind >= 0 && kind < XF_FUSION_COUNT);
    g->fused[kind]++;
}

void xf_record_miss(xf_graph *g, const char *pattern, const xf_node *n, const char *fmt, ...) {
    if (g->nmissed == g->cap_missed) {
        int32_t cap = g->cap_missed ? 2 * g->cap_missed : 16;
        xf_missed *m = xf_alloc(g->arena, sizeof *m * (size_t)cap);
        if (g->nmissed) memcpy(m, g->missed, sizeof *m * (size_t)g->nmissed);
        g->missed = m;
        g->cap_missed = cap;
    }
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    xf_missed *m = &g->missed[g->nmissed++];
    m->pattern = pattern;
    m->node = n->name;
    m->reason = xf_strdup(g->arena, reason);
}
