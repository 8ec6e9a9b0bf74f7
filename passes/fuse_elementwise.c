/* fuse_elementwise.c — chains of elementwise ops become one loop.
 *
 * Accepts any connected group of ops whose fusion category (ops.def) is ELEMENTWISE or BROADCAST,
 * where every intermediate has one use, is not a graph output, and has the same number of elements
 * as the group's result (so nothing is recomputed per element of a larger broadcast: a per-row
 * rsqrt stays its own loop). The group becomes one xfc.Elementwise node whose inputs are the
 * group's leaves and whose attribute "program" lists the steps:
 *     program = [op, a, b, c, compute_type, out_type] per step, in evaluation order
 * where an operand below the node's input count names an input and one at or above it names the
 * result of step (operand - nin); -1 means no operand. The last step is the node's result.
 * The C backend substitutes each step's ops.def expression into the next, so the fused loop reads
 * like the math: y[i] = (x[i] * w[i]) / (1.0f + expf(-(x[i] * w[i])))...
 *
 * Nodes are visited in topological order, so a consumer absorbs producers that are already fused.
 * Requires: shapes (fold), dead nodes allowed. Leaves absorbed nodes dead (dce removes them). */
#include <string.h>

#include "match.h"

#define MAX_LEAVES 8
#define MAX_STEPS 32

typedef struct program {
    int32_t leaves[MAX_LEAVES];
    int nleaves;
    int64_t steps[MAX_STEPS][6];
    int nsteps;
    int32_t absorbed[MAX_STEPS]; /* producers merged in: killed only once the whole group is built */
    int nabsorbed;
} program;

static bool is_elementwise(const xf_node *n) {
    return xf_ops[n->op].arity > 0 || n->op == XF_OP_FUSED_ELEMENTWISE;
}

/* Operand refs are built with leaves numbered first; steps are offset by MAX_LEAVES while building
 * and renumbered at the end, when the leaf count is known. */
static int64_t leaf(program *p, int32_t v) {
    for (int i = 0; i < p->nleaves; i++)
        if (p->leaves[i] == v) return i;
    if (p->nleaves == MAX_LEAVES) return -2;
    p->leaves[p->nleaves] = v;
    return p->nleaves++;
}

static int64_t add_step(program *p, int64_t op, const int64_t *args, int64_t ctype, int64_t otype) {
    if (p->nsteps == MAX_STEPS) return -2;
    int64_t *s = p->steps[p->nsteps];
    s[0] = op;
    for (int k = 0; k < 3; k++) s[1 + k] = args[k];
    s[4] = ctype;
    s[5] = otype;
    return MAX_LEAVES + p->nsteps++;
}

static int32_t compute_type(const xf_graph *g, const xf_node *n) {
    return g->values[n->in[n->op == XF_OP_WHERE ? 1 : 0]].dtype;
}

/* Appends node n's computation to p, its inputs resolved by `operand`; returns the result ref. */
static int64_t splice(xf_graph *g, program *p, int32_t node, int64_t numel);

/* The ref for value v inside a group whose result has `numel` elements: absorbs v's producer when
 * safe, otherwise makes v a leaf. */
static int64_t operand(xf_graph *g, program *p, int32_t v, int64_t numel) {
    int32_t prod = xf_producer(g, v, -1);
    if (prod >= 0 && is_elementwise(&g->nodes[prod]) && xf_absorbable(g, v) &&
        xf_value_numel(&g->values[v]) == numel) {
        program saved = *p;
        int64_t r = splice(g, p, prod, numel);
        if (r != -2 && p->nabsorbed < MAX_STEPS) {
            p->absorbed[p->nabsorbed++] = prod;
            return r;
        }
        *p = saved; /* too big to absorb: keep it as a leaf */
    }
    return leaf(p, v);
}

static int64_t splice(xf_graph *g, program *p, int32_t node, int64_t numel) {
    xf_node *n = &g->nodes[node];
    if (n->op != XF_OP_FUSED_ELEMENTWISE) {
        int64_t args[3] = {-1, -1, -1};
        for (int k = 0; k < n->nin; k++) {
            args[k] = operand(g, p, n->in[k], numel);
            if (args[k] == -2) return -2;
        }
        return add_step(p, n->op, args, compute_type(g, n), g->values[n->out[0]].dtype);
    }
    /* an already fused node: its inputs are resolved here, its steps copied with refs renumbered */
    const xf_attr *prog = xf_attr_get(n, "program");
    int64_t map_in[MAX_LEAVES], map_step[MAX_STEPS];
    for (int k = 0; k < n->nin; k++) {
        map_in[k] = operand(g, p, n->in[k], numel);
        if (map_in[k] == -2) return -2;
    }
    int64_t r = -2;
    for (int s = 0; s < prog->n / 6; s++) {
        const int64_t *st = &prog->ints[6 * s];
        int64_t args[3];
        for (int k = 0; k < 3; k++)
            args[k] = st[1 + k] < 0 ? -1 : st[1 + k] < n->nin ? map_in[st[1 + k]] : map_step[st[1 + k] - n->nin];
        r = map_step[s] = add_step(p, st[0], args, st[4], st[5]);
        if (r == -2) return -2;
    }
    return r;
}

bool xf_pass_fuse_elementwise(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        xf_node *n = &g->nodes[i];
        if (n->dead || !is_elementwise(n) || n->nout != 1 || n->out[0] < 0) continue;
        program p = {.nleaves = 0};
        int64_t numel = xf_value_numel(&g->values[n->out[0]]);
        if (splice(g, &p, i, numel) == -2 || p.nsteps < 2) continue;
        for (int k = 0; k < p.nabsorbed; k++) xf_node_kill(g, p.absorbed[k]);
        int64_t *ints = xf_alloc(g->arena, sizeof(int64_t) * 6 * (size_t)p.nsteps);
        for (int s = 0; s < p.nsteps; s++)
            for (int k = 0; k < 6; k++) {
                int64_t x = p.steps[s][k];
                if (k >= 1 && k <= 3 && x >= MAX_LEAVES) x = x - MAX_LEAVES + p.nleaves;
                ints[6 * s + k] = x;
            }
        xf_node_rewrite(g, i, XF_OP_FUSED_ELEMENTWISE, p.nleaves, p.leaves);
        xf_attr *a = xf_node_add_attr(g, i, "program", XF_ATTR_INTS);
        a->ints = ints;
        a->n = 6 * p.nsteps;
        xf_count_fusion(o, XF_FUSION_elementwise);
        changed = true;
    }
    return changed;
}
