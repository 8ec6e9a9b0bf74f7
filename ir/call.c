/* call.c — the small vocabulary lower functions speak: appending a kernel call, building its
 * arguments, and row-major strides. A lowered node is plain data (xf_call), so the C backend can
 * print it and the constant folder can execute it without either knowing the op. */
#include <string.h>

#include "ops.h"

xf_call *xf_call_add(xf_call *calls, int *count, int max, int kernel) {
    XF_ASSERT(*count < max); /* lower functions check their call count against max up front */
    xf_call *c = &calls[(*count)++];
    memset(c, 0, sizeof *c);
    c->kernel = kernel;
    return c;
}

void xf_call_arg(xf_call *c, xf_arg a) {
    XF_ASSERT(c->nargs < XF_MAX_ARGS);
    c->args[c->nargs++] = a;
}

void xf_strides(int rank, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

xf_arg xf_t(int32_t value) { return xf_t_at(value, 0); }

xf_arg xf_t_at(int32_t value, int64_t off) {
    xf_arg a = {.kind = XF_ARG_TENSOR, .value = value, .offset = off};
    return a;
}

xf_arg xf_i(int64_t i) {
    xf_arg a = {.kind = XF_ARG_INT, .i = i};
    return a;
}

xf_arg xf_f(float f) {
    xf_arg a = {.kind = XF_ARG_FLOAT, .f = f};
    return a;
}

/* The array is copied because callers build it in a local buffer that dies with the lower
 * function, while the call lives as long as the graph. */
xf_arg xf_ints(xf_graph *g, int32_t n, const int64_t *v) {
    int64_t *copy = xf_alloc(g->arena, (size_t)(n > 0 ? n : 1) * sizeof *copy);
    if (n > 0) memcpy(copy, v, (size_t)n * sizeof *copy);
    xf_arg a = {.kind = XF_ARG_INTS, .n = n, .ints = copy};
    return a;
}
