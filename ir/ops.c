/* ops.c — the tables generated from ops.def, and dispatch to the per-op shape rules. */
#include <string.h>

#include "ops.h"

const xf_op_info xf_ops[XF_OP_COUNT] = {
#define XF_EW(id, name, cat, arity, out, fexpr, iexpr) \
    [XF_OP_##id] = {name, XF_CAT_##cat, 0, arity, XF_OUT_##out, #fexpr, #iexpr},
#define XF_OP(id, name, cat, flags, shape_fn, lower_fn) [XF_OP_##id] = {name, XF_CAT_##cat, flags, 0, 0, NULL, NULL},
#include "ops.def"
};

int xf_op_lookup(const char *onnx_name) {
    for (int i = 0; i < XF_OP_COUNT; i++)
        if (strcmp(xf_ops[i].name, onnx_name) == 0) return i;
    return -1;
}

typedef bool (*shape_fn)(xf_graph *, xf_node *, xf_diag *);

static const shape_fn shape_fns[XF_OP_COUNT] = {
#define XF_OP(id, name, cat, flags, shape, lower) [XF_OP_##id] = shape,
#include "ops.def"
};

bool xf_shape_elementwise(xf_graph *g, xf_node *n, xf_diag *d); /* shape.c */

bool xf_op_infer(xf_graph *g, xf_node *n, xf_diag *d) {
    if (xf_ops[n->op].arity) return xf_shape_elementwise(g, n, d);
    return shape_fns[n->op](g, n, d);
}

int64_t xf_prod(const int64_t *shape, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= shape[i];
    return p;
}

int32_t xf_in_handle(const xf_node *n, int k) { return k < n->nin ? n->in[k] : -1; }
int32_t xf_out_handle(const xf_node *n, int k) { return k < n->nout ? n->out[k] : -1; }

bool xf_has_output(xf_graph *g, const xf_node *n, int k) {
    xf_value *y = xf_out(g, n, k);
    return y && xf_value_numel(y) > 0;
}

bool xf_need_f32(xf_graph *g, const xf_node *n, const xf_value *v, xf_diag *d) {
    if (!v || v->dtype == XF_F32) return true;
    return xf_fail(d, g, n, "%s on %s is not supported (float32 only)", xf_ops[n->op].name, xf_dtype_name(v->dtype));
}
