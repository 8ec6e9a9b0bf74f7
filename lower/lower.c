/* lower.c — the lowering step: dispatch from each node to its op's lowering function (named in
 * ops.def), the calls stored on the graph, and the small vocabulary lowering functions build calls
 * with. A lowered node is plain data (xf_call), so backends print or emit it and the constant
 * folder executes it without either knowing the op. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ir/ops.h"
#include "lower.h"

typedef int (*lower_fn)(xf_graph *, xf_node *, xf_calls *, xf_diag *);
static const lower_fn lower_fns[XF_OP_COUNT] = {
#define XF_OP(id, name, cat, flags, shape, lower) [XF_OP_##id] = lower,
#include "../ir/ops.def"
};

bool xf_lower_node(xf_graph *g, int32_t node, xf_calls *out, xf_diag *d) {
    xf_node *n = &g->nodes[node];
    XF_ASSERT(!xf_ops[n->op].arity); /* elementwise ops are printed as loops, not lowered */
    return lower_fns[n->op](g, n, out, d) >= 0;
}

bool xf_lower_graph(xf_graph *g, xf_diag *d) {
    xf_lowering *l = xf_alloc(g->arena, sizeof *l);
    l->first = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(g->nnodes + 1));
    l->count = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(g->nnodes + 1));
    xf_calls node = {.g = g, .at = malloc(sizeof(xf_call) * XF_MAX_CALLS), .max = XF_MAX_CALLS};
    if (!node.at) xf_abort(__FILE__, __LINE__, "out of memory");
    int32_t cap = 0;
    bool ok = true;
    for (int32_t i = 0; ok && i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        l->first[i] = l->ncalls;
        if (n->dead || xf_ops[n->op].arity || n->op == XF_OP_FUSED_ELEMENTWISE) continue;
        if (n->nout == 1 && n->out[0] >= 0 && g->values[n->out[0]].alias_of >= 0) continue;
        node.count = 0;
        if (!(ok = xf_lower_node(g, i, &node, d))) break;
        if (l->ncalls + node.count > cap) {
            int32_t grown = cap ? 2 * cap : 256;
            while (grown < l->ncalls + node.count) grown *= 2;
            xf_call *calls = xf_alloc(g->arena, sizeof(xf_call) * (size_t)grown);
            if (l->ncalls) memcpy(calls, l->calls, sizeof(xf_call) * (size_t)l->ncalls);
            l->calls = calls;
            cap = grown;
        }
        if (node.count) memcpy(l->calls + l->ncalls, node.at, sizeof(xf_call) * (size_t)node.count);
        l->count[i] = node.count;
        l->ncalls += node.count;
    }
    free(node.at);
    g->lowering = ok ? l : NULL;
    return ok;
}

xf_call *xf_calls_add(xf_calls *out, int kernel) {
    XF_ASSERT(out->count < out->max); /* lowering functions check their call count up front */
    xf_call *c = &out->at[out->count++];
    memset(c, 0, sizeof *c);
    c->kernel = kernel;
    return c;
}

void xf_strides(int rank, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

xf_arg xf_t(int32_t value) { return xf_t_at(value, 0); }

xf_arg xf_t_at(int32_t value, int64_t offset) {
    return (xf_arg){.kind = XF_PARAM_IN, .value = value, .offset = offset};
}

/* The array is copied because callers build it in a local buffer that dies with the lowering
 * function, while the call lives as long as the graph. */
xf_arg xf_ints(xf_graph *g, int32_t n, const int64_t *v) {
    int64_t *copy = xf_alloc(g->arena, (size_t)(n > 0 ? n : 1) * sizeof *copy);
    if (n > 0) memcpy(copy, v, (size_t)n * sizeof *copy);
    return (xf_arg){.kind = XF_PARAM_INTS, .n = n, .ints = copy};
}

/* One call as text: tensors as %value (+ an element offset), the rest as name = value. */
static void print_call(FILE *f, const xf_graph *g, const xf_call *c) {
    const xf_kernel_info *k = &xf_kernels[c->kernel];
    fprintf(f, "  %s(", k->name);
    for (int i = 0; i < c->nargs; i++) {
        const xf_arg *a = &c->args[i];
        fprintf(f, "%s%s = ", i ? ", " : "", k->params[i].name);
        switch (a->kind) {
        case XF_PARAM_OUT: case XF_PARAM_IN:
            if (a->value < 0) fputs("_", f);
            else fprintf(f, "%c%s", g->values[a->value].data ? '$' : '%', g->values[a->value].name);
            if (a->value >= 0 && a->offset) fprintf(f, " + %" PRId64, a->offset);
            break;
        case XF_PARAM_INT: fprintf(f, "%" PRId64, a->i); break;
        case XF_PARAM_REAL: fprintf(f, "%.9g", (double)a->f); break;
        case XF_PARAM_INTS:
            fputc('[', f);
            for (int j = 0; j < a->n; j++) fprintf(f, "%s%" PRId64, j ? ", " : "", a->ints[j]);
            fputc(']', f);
            break;
        }
    }
    fputs(")\n", f);
}

void xf_lowering_print(const xf_graph *g, void *file) {
    FILE *f = file;
    const xf_lowering *l = xf_lowered(g);
    XF_ASSERT(l);
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (!l->count[i]) continue;
        fprintf(f, "; %s (%s)\n", g->nodes[i].name, xf_ops[g->nodes[i].op].name);
        for (int32_t c = l->first[i]; c < l->first[i] + l->count[i]; c++) print_call(f, g, &l->calls[c]);
    }
}
