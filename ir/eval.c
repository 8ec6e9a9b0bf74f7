/* eval.c — compile-time evaluation of a node whose inputs are all constant (constant folding).
 *
 * It runs exactly the code the generated program would run: elementwise ops evaluate the C
 * expressions of ops.def, compiled here; every other op is lowered to runtime kernel calls, and the
 * kernels' own source is compiled into this file. So a folded value is bit-for-bit what model.c
 * would have computed. */
#include "../runtime/xf_runtime.h"
#include "../runtime/data.c"
#include "../runtime/math.c"
#include "../runtime/norm.c"
#include "../runtime/attention.c"
#include "../runtime/ssm.c"
#include "../runtime/libm.c"
#include "../runtime/fused.c"
#include "../runtime/nn.c"
#include "../runtime/index.c"
#include "../runtime/lowp.c"
#include "../runtime/quant.c"
#include "../runtime/image.c"
#include "../runtime/signal.c"
#include "../runtime/rnn.c"
#include "../runtime/ml.c"

#include <stdlib.h>

#include "ops.h"

/* ---- elementwise ----
 * Operands are loaded into the op's compute type: float for floating types, int64 for the rest. */
static float load_f(const xf_value *v, int64_t i) { return (float)xf_const_f64(v, i); }

static void store(xf_value *v, int64_t i, double f, int64_t k, bool is_float) {
    void *p = v->data;
    switch (v->dtype) {
    case XF_F32: ((float *)p)[i] = is_float ? (float)f : (float)k; break;
    case XF_F64: ((double *)p)[i] = is_float ? f : (double)k; break;
    case XF_BOOL: ((uint8_t *)p)[i] = is_float ? f != 0 : k != 0; break;
    case XF_I64: ((int64_t *)p)[i] = is_float ? (int64_t)f : k; break;
    case XF_I32: ((int32_t *)p)[i] = is_float ? (int32_t)f : (int32_t)k; break;
    case XF_I16: ((int16_t *)p)[i] = is_float ? (int16_t)f : (int16_t)k; break;
    case XF_I8: ((int8_t *)p)[i] = is_float ? (int8_t)f : (int8_t)k; break;
    case XF_U8: ((uint8_t *)p)[i] = is_float ? (uint8_t)f : (uint8_t)k; break;
    case XF_U16: ((uint16_t *)p)[i] = is_float ? (uint16_t)f : (uint16_t)k; break;
    case XF_U32: ((uint32_t *)p)[i] = is_float ? (uint32_t)f : (uint32_t)k; break;
    case XF_U64: ((uint64_t *)p)[i] = is_float ? (uint64_t)f : (uint64_t)k; break;
    default: XF_ASSERT(!"unsupported type");
    }
}

static float eval_float(int op, float a, float b, float c) {
    (void)a, (void)b, (void)c;
    switch (op) {
#define XF_EW(id, name, cat, arity, out, fexpr, iexpr) case XF_OP_##id: return (float)(fexpr);
#include "ops.def"
    }
    XF_ASSERT(!"not elementwise");
    return 0;
}

static int64_t eval_int(int op, int64_t a, int64_t b, int64_t c) {
    (void)a, (void)b, (void)c;
    switch (op) {
#define XF_EW(id, name, cat, arity, out, fexpr, iexpr) case XF_OP_##id: return (int64_t)(iexpr);
#include "ops.def"
    }
    XF_ASSERT(!"not elementwise");
    return 0;
}

static void eval_elementwise(xf_graph *g, xf_node *n) {
    xf_value *y = xf_out(g, n, 0);
    int64_t strides[3][XF_MAX_RANK], idx[XF_MAX_RANK] = {0};
    for (int k = 0; k < n->nin; k++) xf_broadcast_strides(y, xf_in(g, n, k), strides[k]);
    const xf_value *typed = xf_in(g, n, n->op == XF_OP_WHERE ? 1 : 0);
    bool is_float = xf_dtype_is_float(typed->dtype);
    int64_t total = xf_value_numel(y);
    for (int64_t e = 0; e < total; e++) {
        int64_t off[3] = {0, 0, 0};
        for (int k = 0; k < n->nin; k++)
            for (int i = 0; i < y->rank; i++) off[k] += idx[i] * strides[k][i];
        if (is_float) {
            float a[3] = {0, 0, 0};
            for (int k = 0; k < n->nin; k++) a[k] = load_f(xf_in(g, n, k), off[k]);
            store(y, e, eval_float(n->op, a[0], a[1], a[2]), 0, true);
        } else if (n->op == XF_OP_POW && xf_dtype_is_float(xf_in(g, n, 1)->dtype)) {
            /* an integer base with a float exponent: the exponent keeps its fraction, as it does in
             * the generated loop, where it is read with its own type (Pow's iexpr in ops.def) */
            double base = xf_const_f64(xf_in(g, n, 0), off[0]), exponent = xf_const_f64(xf_in(g, n, 1), off[1]);
            store(y, e, 0, (int64_t)pow(base, exponent), false);
        } else {
            int64_t a[3] = {0, 0, 0};
            for (int k = 0; k < n->nin; k++) a[k] = xf_const_i64(xf_in(g, n, k), off[k]);
            store(y, e, 0, eval_int(n->op, a[0], a[1], a[2]), false);
        }
        for (int i = y->rank - 1; i >= 0 && ++idx[i] == y->shape[i]; i--) idx[i] = 0;
    }
}

/* ---- kernel calls ---- */

static void *arg_ptr(xf_graph *g, const xf_arg *a) {
    if (a->value < 0) return NULL;
    xf_value *v = &g->values[a->value];
    return (char *)v->data + a->offset * (int64_t)xf_dtype_size(v->dtype);
}

static int run_call(xf_graph *g, const xf_call *c) {
    int rc = 0;
#define T(k) arg_ptr(g, &c->args[k])
#define I(k) (c->args[k].i)
#define F(k) (c->args[k].f)
#define A(k) (c->args[k].ints)
#define XF_CALL_0(invoke) (invoke)
#define XF_CALL_1(invoke) rc = (invoke)
    switch (c->kernel) {
#define XF_KERNEL(name, status, deps, invoke) case XF_K_##name: XF_CALL_##status(invoke); break;
#include "../runtime/kernels.def"
    default: XF_ASSERT(!"unknown kernel");
    }
    return rc;
}

bool xf_eval_node(xf_graph *g, int32_t node, xf_diag *d) {
    xf_node *n = &g->nodes[node];
    for (int k = 0; k < n->nout; k++) {
        xf_value *y = xf_out(g, n, k);
        if (y && !y->data) y->data = xf_alloc(g->arena, (size_t)xf_value_bytes(y) + 1);
    }
    if (xf_ops[n->op].arity) {
        eval_elementwise(g, n);
        return true;
    }
    xf_call *calls = malloc(sizeof *calls * XF_MAX_CALLS);
    if (!calls) xf_abort(__FILE__, __LINE__, "out of memory");
    int count = xf_lower_node(g, node, calls, XF_MAX_CALLS, d);
    bool ok = count >= 0;
    for (int i = 0; ok && i < count; i++)
        if (run_call(g, &calls[i]) != 0) ok = xf_fail(d, g, n, "an index is out of range in data known at compile time");
    free(calls);
    return ok;
}
