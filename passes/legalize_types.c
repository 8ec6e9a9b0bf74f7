/* legalize_types.c — the narrow number formats as storage types: every op but Cast computes in
 * float32 (int8 / uint8 for int4 / uint4), between two conversions.
 *
 * float16, bfloat16, the float8 formats, float4e2m1 and the 4-bit integers keep ONNX's bytes in
 * graph inputs, outputs and weights (ir/ir.h). Only xf_cast_lowp (runtime/lowp.c) and the ops
 * flagged XF_FLAG_NARROW_IO (quantization) read them, so before any other op is shape-inferred its narrow inputs are converted to the
 * compute type (xf_dtype_compute), and after it the outputs that came out in that compute type are
 * converted back to the narrow type, which is what the op's ONNX output type would have been. Each
 * op therefore rounds its result to the narrow format as ONNX specifies, and no op needs code for
 * the formats. Left alone: Cast and CastLike (a narrow one becomes xfc.Convert, the conversion
 * kernel), the reshape family (XF_FLAG_VIEW: the bytes do not change), Shape and Size (they read
 * no elements), and ops that handle the formats themselves (XF_FLAG_NARROW_IO, e.g. quantization).
 * An op with an explicit output type attribute ("to", "dtype", "output_dtype") gets no conversion
 * back: the attribute already says what it produces.
 *
 * Why inside fold's walk (passes/fold.c calls the two functions around each node's shape
 * inference) and not as a pass of its own: which outputs are narrow is known only once the node's
 * inputs are typed, i.e. during shape inference, and shape inference cannot run ahead of folding
 * (a Reshape's shape is computed by Shape -> Gather -> Concat chains that folding resolves). So it
 * runs at every -O level, exactly when fold reaches the node. The conversions it adds are
 * appended to the node list and inferred (and folded, when their input is a constant) at once, so
 * that the walk sees typed values in order; fold sorts the nodes again at the end.
 * Folding follows fold's rule: at -O0 float results are not folded, so weights stay narrow and are
 * converted by the generated code; above, a constant is converted at compile time unless that
 * would blow the weights up (a large float8 weight stays float8 and is converted at run time). */
#include <string.h>

#include "passes.h"
#include "../lower/lower.h"

/* Cast and CastLike: a narrow type on either side makes the node xfc.Convert, with the target in
 * "to" (CastLike's second input only gives the type, and is dropped). */
static void convert_casts(xf_graph *g, xf_node *n) {
    int32_t from = g->values[n->in[0]].dtype;
    bool like = n->nin >= 2 && n->in[1] >= 0;
    int32_t to = like ? g->values[n->in[1]].dtype : (int32_t)xf_attr_int(n, "to", 0);
    if (!xf_dtype_is_narrow(from) && !xf_dtype_is_narrow(to) && !xf_dtype_is_packed(from) &&
        !xf_dtype_is_packed(to))
        return;
    if (like) {
        xf_attr *a = (xf_attr *)xf_attr_get(n, "to");
        if (!a) a = xf_node_add_attr(g, (int32_t)(n - g->nodes), "to", XF_ATTR_INT);
        a->type = XF_ATTR_INT;
        a->i = to;
        n->nin = 1;
    }
    n->op = XF_OP_CONVERT;
}

/* A value name not taken yet: base, else base_2, base_3 ... (names identify values in --dump-ir). */
static const char *fresh_name(xf_graph *g, const char *base) {
    const char *name = base;
    for (int k = 2; xf_value_find(g, name) >= 0; k++) name = xf_sprintf(g->arena, "%s_%d", base, k);
    return name;
}

/* fold's rule (passes/fold.c): no float results at -O0, and no folding that more than doubles the
 * bytes of anything above 64 KiB. */
static bool worth_folding(const xf_value *x, const xf_value *y, const xf_options *o) {
    if (o->opt_level == 0 && xf_dtype_is_float(y->dtype)) return false;
    int64_t out = xf_value_bytes(y);
    return out <= (1 << 16) || out <= 2 * xf_value_bytes(x);
}

/* A new xfc.Convert of x to `to`, inferred, and evaluated when x is a constant worth it. Returns
 * the node handle; the output value is the node's out[0]. y >= 0 names the output value to use. */
static int32_t add_convert(xf_graph *g, int32_t x, int32_t to, int32_t y, const char *name,
                           const xf_options *o, xf_diag *d) {
    const xf_value *xv = &g->values[x];
    if (y < 0) {
        const char *name = fresh_name(g, xf_sprintf(g->arena, "%s_as_%s", xv->name, xf_dtype_name(to)));
        y = xf_value_add(g, name, to, xv->rank, xv->shape);
    }
    int32_t c = xf_node_add(g, XF_OP_CONVERT, name, 1, &x, 1, &y);
    xf_node_add_attr(g, c, "to", XF_ATTR_INT)->i = to;
    if (!xf_infer_node(g, c, d)) return -1;
    if (g->values[x].data && worth_folding(&g->values[x], &g->values[y], o)) {
        if (!xf_eval_node(g, c, d)) return -1;
        g->nodes[c].dead = true;
    }
    return c;
}

/* The existing conversion of x to `to` made for an earlier reader, so that a value read by many
 * ops is converted once. */
static int32_t find_convert(const xf_graph *g, int32_t x, int32_t to) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *c = &g->nodes[i];
        if (c->op == XF_OP_CONVERT && c->nin == 1 && c->in[0] == x && c->out[0] >= 0 &&
            g->values[c->out[0]].dtype == to && (!c->dead || g->values[c->out[0]].data))
            return c->out[0];
    }
    return -1;
}

static bool leaves_alone(const xf_node *n) {
    return n->op == XF_OP_CONVERT || n->op == XF_OP_SHAPE || n->op == XF_OP_SIZE ||
           (xf_ops[n->op].flags & (XF_FLAG_VIEW | XF_FLAG_NARROW_IO));
}

bool xf_legalize_inputs(xf_graph *g, int32_t node, const xf_options *o, int32_t *narrow, xf_diag *d) {
    *narrow = 0;
    xf_node *n = &g->nodes[node];
    if (n->dead || n->nin < 1 || n->in[0] < 0) return true;
    if (n->op == XF_OP_CAST) {
        convert_casts(g, n);
        return true;
    }
    if (leaves_alone(n)) return true;
    for (int k = 0; k < n->nin; k++) {
        int32_t x = g->nodes[node].in[k];
        if (x < 0) continue;
        int32_t t = g->values[x].dtype;
        if (!xf_dtype_is_narrow(t) && !xf_dtype_is_packed(t)) continue;
        if (!*narrow) *narrow = t;
        int32_t to = xf_dtype_compute(t), y = find_convert(g, x, to);
        if (y < 0) {
            const char *name = xf_sprintf(g->arena, "%s_in%d_to_%s", g->nodes[node].name, k, xf_dtype_name(to));
            int32_t c = add_convert(g, x, to, -1, name, o, d); /* may move g->nodes */
            if (c < 0) return false;
            y = g->nodes[c].out[0];
        }
        n = &g->nodes[node];
        for (int j = k; j < n->nin; j++) /* every slot reading x */
            if (n->in[j] == x) n->in[j] = y;
    }
    return true;
}

bool xf_legalize_outputs(xf_graph *g, int32_t node, int32_t narrow, const xf_options *o, xf_diag *d) {
    int32_t compute = xf_dtype_compute(narrow);
    const xf_node *n = &g->nodes[node];
    if (xf_attr_get(n, "to") || xf_attr_get(n, "dtype") || xf_attr_get(n, "output_dtype")) return true;
    /* LayerNormalization's Mean and InvStdDev are float32 whatever the input (stash_type) */
    int nout = g->nodes[node].op == XF_OP_LAYER_NORM ? 1 : g->nodes[node].nout;
    for (int k = 0; k < nout; k++) {
        int32_t y = g->nodes[node].out[k];
        if (y < 0 || g->values[y].dtype != compute) continue;
        /* The node now writes a new compute-type value; y, with its name, readers and place among
         * the graph outputs, becomes the converted result. */
        xf_value *yv = &g->values[y];
        const char *wide_name = fresh_name(g, xf_sprintf(g->arena, "%s_%s", yv->name, xf_dtype_name(compute)));
        int32_t wide = xf_value_add(g, wide_name, compute, yv->rank, yv->shape);
        yv = &g->values[y];
        g->values[wide].data = yv->data; /* a folded node's result */
        g->values[wide].producer = node;
        yv->data = NULL;
        g->nodes[node].out[k] = wide;
        const char *name = xf_sprintf(g->arena, "%s_out%d_to_%s", g->nodes[node].name, k, xf_dtype_name(narrow));
        if (add_convert(g, wide, narrow, y, name, o, d) < 0) return false;
    }
    return true;
}
