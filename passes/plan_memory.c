/* plan_memory.c — places every intermediate tensor in the caller's arena at an offset fixed at
 * compile time, and sets g->arena_bytes to the peak.
 *
 * An intermediate lives from the node that writes it to the last node that reads it. At -O1 and
 * above, buffers whose lifetimes do not overlap share space: greedy by size (largest first, each
 * at the lowest offset where it fits beside every buffer already placed whose lifetime overlaps),
 * the strategy of TFLite's arena planner, close to optimal for chains of layers. At -O1 and above,
 * outputs of the Reshape family also alias their input (no copy), which extends the input's life.
 * At -O0 every intermediate gets space of its own: the sum, a baseline to compare with.
 * Graph inputs, outputs and constants are not in the arena. Offsets are 64-byte aligned.
 * Requires: compacted graph (dce). */
#include <stdlib.h>

#include "passes.h"

#define ALIGN 64

typedef struct buffer {
    int32_t value;
    int64_t bytes, first, last, offset;
} buffer;

static bool in_arena(const xf_value *v) {
    return !v->data && !v->is_input && !v->is_output;
}

static int by_size(const void *a, const void *b) {
    const buffer *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->first < y->first ? -1 : x->first > y->first;
}

bool xf_pass_plan_memory(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    int32_t *buf_of = malloc(sizeof(int32_t) * ((size_t)g->nvalues + 1));
    buffer *bufs = calloc((size_t)g->nvalues + 1, sizeof *bufs);
    if (!buf_of || !bufs) xf_abort(__FILE__, __LINE__, "out of memory");
    int32_t nb = 0;
    for (int32_t v = 0; v < g->nvalues; v++) {
        buf_of[v] = -1;
        g->values[v].offset = -1;
        g->values[v].alias_of = -1;
    }
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0 && buf_of[n->in[k]] >= 0) bufs[buf_of[n->in[k]]].last = i;
        for (int k = 0; k < n->nout; k++) {
            int32_t v = n->out[k];
            if (v < 0 || !in_arena(&g->values[v])) continue;
            int32_t src = n->nin ? n->in[0] : -1;
            if (o->opt_level >= 1 && (xf_ops[n->op].flags & XF_FLAG_VIEW) && src >= 0 && buf_of[src] >= 0) {
                buf_of[v] = buf_of[src]; /* same bytes, another shape */
                g->values[v].alias_of = bufs[buf_of[src]].value;
                continue;
            }
            buffer *b = &bufs[nb];
            b->value = v;
            b->bytes = (xf_value_bytes(&g->values[v]) + ALIGN - 1) / ALIGN * ALIGN;
            b->first = b->last = i;
            buf_of[v] = nb++;
        }
    }
    qsort(bufs, (size_t)nb, sizeof *bufs, by_size);
    int64_t peak = 0;
    for (int32_t i = 0; i < nb; i++) {
        buffer *b = &bufs[i];
        int64_t offset = 0;
        if (o->opt_level >= 1) {
            /* first fit: retry after every overlapping buffer that collides, until none does */
            for (bool moved = true; moved;) {
                moved = false;
                for (int32_t j = 0; j < i; j++) {
                    const buffer *p = &bufs[j];
                    bool live_together = p->first <= b->last && b->first <= p->last;
                    if (live_together && p->offset < offset + b->bytes && offset < p->offset + p->bytes) {
                        offset = p->offset + p->bytes;
                        moved = true;
                    }
                }
            }
        } else {
            offset = peak;
        }
        b->offset = offset;
        if (offset + b->bytes > peak) peak = offset + b->bytes;
    }
    for (int32_t i = 0; i < nb; i++) g->values[bufs[i].value].offset = bufs[i].offset;
    for (int32_t v = 0; v < g->nvalues; v++)
        if (g->values[v].alias_of >= 0) g->values[v].offset = g->values[g->values[v].alias_of].offset;
    g->arena_bytes = peak;
    free(buf_of);
    free(bufs);
    return true;
}
