/* kernels.c — what the kernel table (runtime/kernels.def) generates for lowering and backends: the
 * parameter lists the C backend prints names from, the packers behind XF_CALL, and the cost of a
 * call for `xfc report`. Each is one expansion of the table's rows. */
#include <string.h>

#include "../ir/ops.h" /* xf_prod, for costs over INTS arrays */
#include "lower.h"

/* ---- parameter lists ---- */
#define OUT(type, name) {XF_PARAM_OUT, #name, #type},
#define IN(type, name) {XF_PARAM_IN, #name, #type},
#define INT(name) {XF_PARAM_INT, #name, "int64_t"},
#define REAL(name) {XF_PARAM_REAL, #name, "float"},
#define INTS(name) {XF_PARAM_INTS, #name, "int64_t"},
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) static const xf_param name##_param_list[] = {params};
#include "../runtime/kernels.def"

#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) \
    static bool name##_split(const xf_call *xf_call_, xf_split *xf_split_);
#include "../runtime/kernels.def"
static bool xf_split_none(const xf_call *xf_call_, xf_split *xf_split_); /* helpers: never split */

#define XF_NPARAMS(name) (int)(sizeof name##_param_list / sizeof name##_param_list[0])
const xf_kernel_info xf_kernels[XF_K_COUNT] = {
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) \
    [XF_K_##name] = {#name, status, false, deps, backends, XF_NPARAMS(name), name##_param_list, name##_split},
#define XF_HELPER(name, deps, ret, params) [XF_K_##name] = {#name, false, true, deps, XF_C, 0, NULL, xf_split_none},
#include "../runtime/kernels.def"
};
#undef OUT
#undef IN
#undef INT
#undef REAL
#undef INTS

/* ---- packing: a name_args struct into the call's positional arguments ---- */
static void push(xf_call *c, xf_arg a, xf_param_kind kind) {
    XF_ASSERT(c->nargs < XF_MAX_ARGS);
    /* a tensor field left out of an XF_CALL is zero, kind 0: a lowering bug */
    XF_ASSERT(kind == XF_PARAM_INT || kind == XF_PARAM_REAL || a.kind != 0);
    a.kind = kind;
    c->args[c->nargs++] = a;
}
static xf_arg int_arg(int64_t i) { return (xf_arg){.i = i}; }
static xf_arg real_arg(float f) { return (xf_arg){.f = f}; }

#define OUT(type, name) push(c, a->name, XF_PARAM_OUT);
#define IN(type, name) push(c, a->name, XF_PARAM_IN);
#define INT(name) push(c, int_arg(a->name), XF_PARAM_INT);
#define REAL(name) push(c, real_arg(a->name), XF_PARAM_REAL);
#define INTS(name) XF_ASSERT(a->name.kind == XF_PARAM_INTS); push(c, a->name, XF_PARAM_INTS);
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) \
    void xf_pack_##name(xf_call *c, const name##_args *a) { params }
#include "../runtime/kernels.def"

/* ---- cost ----
 * Each kernel's flops and bytes expressions, evaluated with its scalar and array parameters
 * in scope under their names. */
static int64_t tensor_bytes(const xf_graph *g, const xf_arg *a) {
    return a->value < 0 ? 0 : xf_value_bytes(&g->values[a->value]);
}

/* For cost expressions over arrays of a variable count (the spatial dims of an image op): the
 * product of the first n values of v. */
static inline int64_t xf_ints_prod(int64_t n, const int64_t *v) {
    int64_t p = 1;
    for (int64_t i = 0; i < n; i++) p *= v[i];
    return p;
}

#define OUT(type, name) arg_bytes += tensor_bytes(g, &call->args[at++]);
#define IN(type, name) arg_bytes += tensor_bytes(g, &call->args[at++]);
#define INT(name) int64_t name = call->args[at++].i; (void)name;
#define REAL(name) float name = call->args[at++].f; (void)name;
#define INTS(name) const int64_t *name = call->args[at++].ints; (void)name;
#define XF_ARG_BYTES arg_bytes
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params)            \
    static xf_cost name##_cost(const xf_graph *g, const xf_call *call) {          \
        int at = 0;                                                              \
        int64_t arg_bytes = 0;                                                   \
        params return (xf_cost){(int64_t)(flops), (int64_t)(bytes)};             \
    }
#include "../runtime/kernels.def"

/* ---- splitting ----
 * One function per kernel, name_split, holding the tests of its XF_PARALLEL rows. The rows follow
 * their kernel's row in the table, so each XF_KERNEL expansion closes the function of the kernel
 * before and opens its own, with the parameters in scope: an INT as its value (and name_at, its
 * position), a tensor's name as its position, which is what STEP indexes. */
#define OUT(type, name) const int name = xf_at_++; (void)name;
#define IN(type, name) const int name = xf_at_++; (void)name;
#define INT(name) const int name##_at = xf_at_++; const int64_t name = xf_call_->args[name##_at].i; \
    (void)name##_at; (void)name;
#define REAL(name) xf_at_++;
#define INTS(name) xf_at_++;
#define STEP(tensor, elements) xf_split_->step[tensor] = (elements);
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params)                       \
        return false;                                                                       \
    }                                                                                       \
    static bool name##_split(const xf_call *xf_call_, xf_split *xf_split_) {                \
        XF_ASSERT(xf_call_->kernel == XF_K_##name);                                         \
        (void)xf_split_;                                                                    \
        int xf_at_ = 0;                                                                     \
        params
#define XF_PARALLEL(name, when, count_param, grain_units, steps)                            \
        XF_ASSERT(xf_call_->kernel == XF_K_##name && !xf_kernels[XF_K_##name].status);      \
        if (when) {                                                                         \
            *xf_split_ = (xf_split){.param = count_param##_at, .count = count_param,        \
                                    .grain = (grain_units)};                                \
            steps return true;                                                              \
        }
/* the helpers' function, which the first kernel's expansion closes */
static bool xf_split_none(const xf_call *xf_call_, xf_split *xf_split_) {
    (void)xf_call_;
    (void)xf_split_;
#include "../runtime/kernels.def"
    return false;
}
#undef STEP

/* A split is worth it from about this much work: waking the threads of a pool costs microseconds. */
#define XF_SPLIT_MIN_FLOPS (1 << 15)

bool xf_call_split(const xf_graph *g, const xf_call *c, xf_split *s) {
    const xf_kernel_info *k = &xf_kernels[c->kernel];
    if (!k->split(c, s)) return false;
    XF_ASSERT(s->grain >= 1);
    for (int i = 0; i < c->nargs; i++)
        XF_ASSERT(!s->step[i] || (k->params[i].kind <= XF_PARAM_IN && strcmp(k->params[i].ctype, "void") != 0));
    return (s->count + s->grain - 1) / s->grain >= 2 && xf_call_cost(g, c).flops >= XF_SPLIT_MIN_FLOPS;
}

xf_cost xf_call_cost(const xf_graph *g, const xf_call *c) {
    switch (c->kernel) {
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) case XF_K_##name: return name##_cost(g, c);
#include "../runtime/kernels.def"
    }
    XF_ASSERT(!"a helper is never called by lowering");
    return (xf_cost){0, 0};
}
