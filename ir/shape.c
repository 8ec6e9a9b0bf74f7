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
    XF_ASSERT(x);
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

/* Some ONNX ops carry their variant in an attribute; the IR has one op per variant, so that each
 * op is one expression. */
static bool specialise(xf_graph *g, xf_node *n, xf_diag *d) {
    if (xf_attr_int(n, "broadcast", 0) && xf_attr_get(n, "axis")) /* opsets before 7 */
        return xf_fail(d, g, n, "the legacy broadcast with an axis attribute is not supported");
    switch (n->op) {
    case XF_OP_GELU:
        if (strcmp(xf_attr_str(n, "approximate", "none"), "tanh") == 0) n->op = XF_OP_GELU_TANH;
        break;
    case XF_OP_ISINF: {
        bool pos = xf_attr_int(n, "detect_positive", 1), neg = xf_attr_int(n, "detect_negative", 1);
        if (!pos && !neg) return xf_fail(d, g, n, "detects neither infinity");
        n->op = pos && neg ? XF_OP_ISINF : pos ? XF_OP_ISINF_POS : XF_OP_ISINF_NEG;
        break;
    }
    case XF_OP_MOD:
        if (xf_attr_int(n, "fmod", 0)) n->op = XF_OP_FMOD;
        else if (xf_dtype_is_float(g->values[n->in[0]].dtype))
            return xf_fail(d, g, n, "floating-point Mod needs fmod=1");
        break;
    case XF_OP_SHIFT_LEFT:
        if (strcmp(xf_attr_str(n, "direction", ""), "RIGHT") == 0) n->op = XF_OP_SHIFT_RIGHT;
        else if (strcmp(xf_attr_str(n, "direction", ""), "LEFT") != 0)
            return xf_fail(d, g, n, "direction must be LEFT or RIGHT");
        break;
    case XF_OP_CAST:
        if (n->nin == 2 && n->in[1] >= 0) { /* CastLike: the target type is the second input's */
            xf_node_add_attr(g, (int32_t)(n - g->nodes), "to", XF_ATTR_INT)->i = g->values[n->in[1]].dtype;
            n->nin = 1;
        }
        break;
    }
    return true;
}

/* Attributes of parameterised activations become scalar constant operands (b, c) of the input's
 * type, so the expressions of ops.def can use them and the C backend prints them as literals. */
static const struct {
    int op;
    const char *attr[2];
    float dflt[2];
} params[] = {
    {XF_OP_LEAKY_RELU, {"alpha"}, {0.01f}},
    {XF_OP_ELU, {"alpha"}, {1.0f}},
    {XF_OP_CELU, {"alpha"}, {1.0f}},
    {XF_OP_SELU, {"alpha", "gamma"}, {1.67326319217681884765625f, 1.05070102214813232421875f}},
    {XF_OP_HARD_SIGMOID, {"alpha", "beta"}, {0.2f, 0.5f}},
    {XF_OP_THRESHOLDED_RELU, {"alpha"}, {1.0f}},
    {XF_OP_SWISH, {"alpha"}, {1.0f}},
    {XF_OP_SHRINK, {"bias", "lambd"}, {0.0f, 0.5f}},
    {XF_OP_DIV_N, {"n"}, {1.0f}},
};

static int32_t scalar_of_type(xf_graph *g, const xf_node *n, const char *what, int32_t dtype, double x) {
    unsigned char buf[8] = {0};
    switch (dtype) {
    case XF_F32: { float f = (float)x; memcpy(buf, &f, 4); break; }
    case XF_F64: memcpy(buf, &x, 8); break;
    default: {
        int64_t i = (int64_t)x; /* little-endian: the low bytes serve every narrower integer type */
        memcpy(buf, &i, 8);
    }
    }
    return xf_const_add(g, xf_sprintf(g->arena, "%s_%s", n->name, what), dtype, 0, NULL, buf);
}

static void add_params(xf_graph *g, xf_node *n) {
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        if (params[i].op != n->op || n->nin != 1) continue;
        int count = params[i].attr[1] ? 3 : 2;
        int32_t *in = xf_alloc(g->arena, sizeof(int32_t) * 3);
        in[0] = n->in[0];
        for (int k = 1; k < count; k++)
            in[k] = scalar_of_type(g, n, params[i].attr[k - 1], g->values[n->in[0]].dtype,
                                   xf_attr_float(n, params[i].attr[k - 1], params[i].dflt[k - 1]));
        n->in = in;
        n->nin = count;
    }
}

/* Numpy broadcasting of all inputs; the output type follows the op's rule in ops.def. */
bool xf_shape_elementwise(xf_graph *g, xf_node *n, xf_diag *d) {
    if (!specialise(g, n, d)) return false;
    add_params(g, n);
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
        if (xf_in(g, n, k)->dtype != type && n->op != XF_OP_POW) /* Pow's exponent may differ */
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
        if (!xf_dtype_ctype(out)) /* the narrow types never get here: they became xfc.Convert */
            return xf_fail(d, g, n, "cast to %s (type %d) is not supported", xf_dtype_name(out), (int)out);
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
