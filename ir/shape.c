/* shape.c — shape inference: the driver that checks a node's inputs and dispatches to the op's
 * shape function (ops.def), the broadcasting rule shared by all elementwise ops, and helpers that
 * shape functions use. */
#include <math.h>
#include <string.h>

#include "ops.h"


void xf_set_out(xf_graph *g, const xf_node *n, int k, int32_t dtype, int32_t rank, const int64_t *shape) {
    xf_value *v = xf_out(g, n, k);
    if (!v) return;
    XF_ASSERT(rank >= 0 && rank <= XF_MAX_RANK);
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++) {
        v->shape[i] = shape[i];
        v->dim_param[i] = NULL;
    }
}

void xf_broadcast_strides(const xf_value *y, const xf_value *x, int64_t *strides) {
    int64_t s = 1;
    for (int i = y->rank - 1; i >= 0; i--) {
        int xi = i - (y->rank - x->rank);
        int64_t dim = xi >= 0 ? x->shape[xi] : 1;
        strides[i] = dim == 1 ? 0 : s;
        s *= dim;
    }
}

bool xf_axis(xf_graph *g, const xf_node *n, int64_t axis, int rank, int *out, xf_diag *d) {
    if (axis < -rank || axis >= rank)
        return xf_fail(d, g, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

bool xf_shape_same(xf_graph *g, xf_node *n, xf_diag *d) {
    (void)d;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank, x->shape);
    return true;
}

/* A constant holding the extreme of dtype, for Clip's omitted bounds. */
static int32_t clip_bound(xf_graph *g, const xf_node *n, int32_t dtype, bool upper) {
    union { float f; double d; int64_t i64; int32_t i32; int16_t i16; int8_t i8; uint64_t u64; uint32_t u32;
            uint16_t u16; uint8_t u8; } v;
    memset(&v, 0, sizeof v);
    switch (dtype) {
    case XF_F32: v.f = upper ? INFINITY : -INFINITY; break;
    case XF_F64: v.d = upper ? INFINITY : -INFINITY; break;
    case XF_I64: v.i64 = upper ? INT64_MAX : INT64_MIN; break;
    case XF_I32: v.i32 = upper ? INT32_MAX : INT32_MIN; break;
    case XF_I16: v.i16 = upper ? INT16_MAX : INT16_MIN; break;
    case XF_I8: v.i8 = upper ? INT8_MAX : INT8_MIN; break;
    case XF_U64: v.u64 = upper ? UINT64_MAX : 0; break;
    case XF_U32: v.u32 = upper ? UINT32_MAX : 0; break;
    case XF_U16: v.u16 = upper ? UINT16_MAX : 0; break;
    default: v.u8 = upper ? UINT8_MAX : 0; break;
    }
    return xf_const_add(g, xf_sprintf(g->arena, "%s_%s", n->name, upper ? "max" : "min"), dtype, 0, NULL, &v);
}

/* Numpy broadcasting of all inputs; the output type follows the op's rule in ops.def. */
bool xf_shape_elementwise(xf_graph *g, xf_node *n, xf_diag *d) {
    if (n->op == XF_OP_GELU && strcmp(xf_attr_str(n, "approximate", "none"), "tanh") == 0)
        n->op = XF_OP_GELU_TANH; /* ONNX's Gelu carries its form in an attribute; the IR has two ops */
    const xf_op_info *op = &xf_ops[n->op];
    if (n->op == XF_OP_CLIP && n->nin < 3) { /* give omitted bounds a value: the loop has no special case */
        int32_t *in = xf_alloc(g->arena, 3 * sizeof *in);
        for (int i = 0; i < 3; i++) in[i] = i < n->nin ? n->in[i] : -1;
        n->in = in;
        n->nin = 3;
    }
    if (n->op == XF_OP_CLIP)
        for (int i = 1; i < 3; i++)
            if (n->in[i] < 0) n->in[i] = clip_bound(g, n, g->values[n->in[0]].dtype, i == 2);
    if (n->nin != op->arity)
        return xf_fail(d, g, n, "expects %d inputs, got %d", op->arity, n->nin);
    int rank = 0;
    int64_t shape[XF_MAX_RANK];
    for (int k = 0; k < n->nin; k++) {
        xf_value *x = xf_in(g, n, k);
        if (!x) return xf_fail(d, g, n, "input %d is missing", k);
        if (x->rank > rank) rank = x->rank;
    }
    for (int i = 0; i < rank; i++) shape[i] = 1;
    for (int k = 0; k < n->nin; k++) {
        xf_value *x = xf_in(g, n, k);
        for (int i = 0; i < x->rank; i++) {
            int64_t dim = x->shape[i], *o = &shape[rank - x->rank + i];
            if (dim == *o || dim == 1) continue;
            if (*o != 1) {
                char a[128], b[128];
                xf_shape_str(xf_in(g, n, 0), a, sizeof a);
                xf_shape_str(x, b, sizeof b);
                return xf_fail(d, g, n, "shapes %s and %s do not broadcast", a, b);
            }
            *o = dim;
        }
    }
    /* operand type: Where's condition is bool, its data operands decide */
    int32_t type = xf_in(g, n, n->op == XF_OP_WHERE ? 1 : 0)->dtype;
    for (int k = n->op == XF_OP_WHERE ? 1 : 0; k < n->nin; k++)
        if (xf_in(g, n, k)->dtype != type)
            return xf_fail(d, g, n, "input types differ (%s and %s)", xf_dtype_name(type),
                           xf_dtype_name(xf_in(g, n, k)->dtype));
    if (n->op == XF_OP_WHERE && xf_in(g, n, 0)->dtype != XF_BOOL)
        return xf_fail(d, g, n, "the condition must be bool, not %s", xf_dtype_name(xf_in(g, n, 0)->dtype));
    if (!xf_dtype_ctype(type))
        return xf_fail(d, g, n, "%s tensors are not supported", xf_dtype_name(type));
    bool is_float = xf_dtype_is_float(type);
    if (strcmp(is_float ? op->fexpr : op->iexpr, "0") == 0)
        return xf_fail(d, g, n, "not defined for %s inputs", xf_dtype_name(type));
    int32_t out = type;
    if (op->out_type == XF_OUT_BOOL) out = XF_BOOL;
    if (op->out_type == XF_OUT_CAST) {
        out = (int32_t)xf_attr_int(n, "to", 0);
        if (!xf_dtype_ctype(out))
            return xf_fail(d, g, n, "cast to %s is not supported", xf_dtype_name(out));
    }
    xf_set_out(g, n, 0, out, rank, shape);
    return true;
}

bool xf_infer_node(xf_graph *g, int32_t node, xf_diag *d) {
    xf_node *n = &g->nodes[node];
    if (n->nin < 1 || n->in[0] < 0) return xf_fail(d, g, n, "the first input is missing");
    for (int k = 0; k < n->nin; k++) {
        xf_value *x = xf_in(g, n, k);
        if (!x) continue;
        if (x->rank < 0) return xf_fail(d, g, n, "input '%s' has an unknown rank", x->name);
        for (int i = 0; i < x->rank; i++)
            if (x->shape[i] < 0) {
                if (x->is_input)
                    return xf_fail(d, g, n, "input '%s' has dynamic dimension %d ('%s'); fix it with --shape %s=...",
                                   x->name, i, x->dim_param[i] ? x->dim_param[i] : "?", x->name);
                return xf_fail(d, g, n, "input '%s' has an unknown dimension %d", x->name, i);
            }
        if (!xf_dtype_ctype(x->dtype))
            return xf_fail(d, g, n, "input '%s' has type %s, which is not supported", x->name,
                           xf_dtype_name(x->dtype));
    }
    if (!xf_op_infer(g, n, d)) return false;
    for (int k = 0; k < n->nout; k++) {
        xf_value *y = xf_out(g, n, k);
        if (y && xf_value_bytes(y) < 0) {
            char s[256];
            return xf_fail(d, g, n, "output '%s' has shape %s whose size overflows", y->name,
                           xf_shape_str(y, s, sizeof s));
        }
    }
    return true;
}
