/* fuse_linear.c — linear layers with their epilogue become one xfc.Linear node.
 *
 * Accepts, with W, B and C constants:
 *     MatMul(x, W)            W [K, N]
 *     Gemm(x, B, C)           transA = 0; transB = 1 is folded by transposing B at compile time;
 *                             alpha and beta are folded into the weights and the bias
 * optionally followed by
 *     Add(., bias) | Add(bias, .)   bias with N elements, broadcast along the last axis
 * and then optionally by one activation: Relu, Gelu (erf or tanh), SiLU, Sigmoid, Tanh, possibly
 * behind a Reshape of the product (GPT-2's Gemm -> Reshape -> Gelu).
 * x may have any rank >= 2 for MatMul (rows are flattened), exactly 2 for Gemm. The bias row seeds
 * the accumulator and the activation runs on each finished row (runtime/fused.c), so neither costs
 * a pass over memory. A MatMul with nothing to absorb stays a MatMul; a Gemm becomes a Linear when
 * its weights were transposed, since reading W row by row is what the kernel does best.
 * A weight another node also reads (a tied embedding: Gather reads the table, the output projection
 * its transpose) is never copied into the [K, N] layout: MatMul(x, Transpose(W)), whose Transpose
 * fold computed (it notes the source, xf_value.transpose_of), and Gemm with transB read W [N, K] in
 * place (attribute w_nk); the transposed copy is then read by nobody, so the table is stored once.
 * Requires: shapes (fold). Leaves absorbed nodes dead. */
#include <string.h>

#include "match.h"

static const struct { int op, code; } activations[] = {
    {XF_OP_RELU, 1}, {XF_OP_GELU, 2}, {XF_OP_GELU_TANH, 3}, {XF_OP_SILU, 4}, {XF_OP_SIGMOID, 5}, {XF_OP_TANH, 6},
};

/* The bias: a constant of N elements all along the last axis of the product. */
static int32_t bias_of(const xf_graph *g, const xf_node *add, int32_t product, int64_t n) {
    int32_t other = add->in[0] == product ? add->in[1] : add->in[0];
    const xf_value *b = &g->values[other];
    if (!b->data || b->dtype != XF_F32 || xf_value_numel(b) != n) return -1;
    if (b->rank > 0 && b->shape[b->rank - 1] != n) return -1;
    return other;
}

/* alpha * B as a new float constant, transposed when trans (so [K, N] from an [N, K] B); B itself
 * when there is nothing to do. */
static int32_t weights(xf_graph *g, const xf_node *n, int32_t bv, bool trans, float alpha) {
    const xf_value *b = &g->values[bv];
    int64_t k = trans ? b->shape[1] : b->shape[0], cols = trans ? b->shape[0] : b->shape[1];
    if (!trans && alpha == 1.0f) return bv;
    float *w = xf_alloc(g->arena, sizeof(float) * (size_t)(k * cols));
    const float *src = b->data;
    for (int64_t p = 0; p < k; p++)
        for (int64_t j = 0; j < cols; j++) w[p * cols + j] = alpha * (trans ? src[j * k + p] : src[p * cols + j]);
    int64_t shape[2] = {k, cols};
    return xf_const_add(g, xf_sprintf(g->arena, "%s_weight", n->name), XF_F32, 2, shape, w);
}

/* W when MatMul mm's B is a transposed copy of a 2-D float constant W that stays stored anyway
 * (xf_transposed_table) and every reader of B is a MatMul reading it as B, so that all of them read
 * W in place and the copy goes; else -1. */
static int32_t shared_transposed(const xf_graph *g, const xf_node *mm) {
    int32_t t = mm->op == XF_OP_MATMUL ? mm->in[1] : -1, w = xf_transposed_table(g, t);
    if (w < 0 || g->values[w].dtype != XF_F32 || g->values[w].rank != 2) return -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *r = &g->nodes[i];
        for (int k = 0; !r->dead && k < r->nin; k++)
            if (r->in[k] == t && (r->op != XF_OP_MATMUL || k != 1)) return -1;
    }
    return w;
}

bool xf_pass_fuse_linear(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        xf_node *mm = &g->nodes[i];
        if (mm->dead || (mm->op != XF_OP_MATMUL && mm->op != XF_OP_GEMM)) continue;
        int32_t shared = shared_transposed(g, mm); /* W of MatMul(x, W transposed), W stored anyway */
        const xf_value *x = xf_in(g, mm, 0), *b = shared >= 0 ? &g->values[shared] : xf_in(g, mm, 1);
        /* a product of two activations (attention's q k^T) is no linear layer: not even a near miss */
        if (!b || !b->data || b->dtype != XF_F32 || b->rank != 2 || x->dtype != XF_F32 || x->rank < 2) continue;
        bool gemm = mm->op == XF_OP_GEMM, trans = shared >= 0 || (gemm && xf_attr_int(mm, "transB", 0));
        bool in_place = trans && (shared >= 0 || xf_uses(g, mm->in[1]) > 1); /* read W [N, K] as it is */
        float alpha = gemm ? xf_attr_float(mm, "alpha", 1.0f) : 1.0f, beta = gemm ? xf_attr_float(mm, "beta", 1.0f) : 1.0f;
        if (gemm && (xf_attr_int(mm, "transA", 0) || x->rank != 2)) {
            xf_record_miss(g, o, XF_FUSION_matmul_epilogue, mm, "Gemm with a transposed A");
            continue;
        }
        int64_t n = trans ? b->shape[0] : b->shape[1];
        int32_t bias = -1, root = i, out = mm->out[0];
        if (gemm && mm->nin > 2 && mm->in[2] >= 0) { /* Gemm's own C operand is the bias */
            const xf_value *c = &g->values[mm->in[2]];
            if (!c->data || xf_value_numel(c) != n || (c->rank > 0 && c->shape[c->rank - 1] != n)) {
                xf_record_miss(g, o, XF_FUSION_matmul_epilogue, mm, "Gemm's C is not a constant row of N values");
                continue;
            }
            bias = mm->in[2];
        }
        int32_t absorbed[2], nabsorbed = 0;
        int32_t next = -1;
        if (bias < 0 && xf_absorbable(g, out)) { /* an Add of a constant row */
            for (int32_t j = i + 1; j < g->nnodes && next < 0; j++)
                if (!g->nodes[j].dead && g->nodes[j].op == XF_OP_ADD &&
                    (g->nodes[j].in[0] == out || g->nodes[j].in[1] == out))
                    next = j;
            const xf_value *sum = next >= 0 ? &g->values[g->nodes[next].out[0]] : NULL, *prod = &g->values[out];
            bool same = sum && sum->rank == prod->rank &&
                        memcmp(sum->shape, prod->shape, sizeof(int64_t) * (size_t)prod->rank) == 0;
            if (same && (bias = bias_of(g, &g->nodes[next], out, n)) >= 0) {
                absorbed[nabsorbed++] = root;
                root = next;
                out = g->nodes[next].out[0];
            }
        }
        /* the activation may come after a Reshape of the product (act(view(y)) = view(act(y))) */
        int64_t act = 0;
        int32_t user = xf_sole_reader(g, out), view = -1;
        if (user >= 0 && (xf_ops[g->nodes[user].op].flags & XF_FLAG_VIEW)) {
            view = user;
            user = xf_sole_reader(g, g->nodes[view].out[0]);
        }
        for (size_t a = 0; user >= 0 && a < sizeof activations / sizeof activations[0]; a++)
            if (g->nodes[user].op == activations[a].op && g->nodes[user].nin == 1) act = activations[a].code;
        if (act && view < 0) { /* the activation's node becomes the Linear */
            absorbed[nabsorbed++] = root;
            root = user;
        } else if (act) { /* the view now reshapes the activated product, which it hands on */
            int32_t y = g->nodes[user].out[0];
            g->nodes[view].out[0] = y;
            g->values[y].producer = view;
            g->nodes[user].out[0] = -1; /* y is the view's now: the dead node must not claim it */
            xf_node_kill(g, user);
        }
        if (bias < 0 && !act && !trans && alpha == 1.0f) continue; /* a plain MatMul stays one */
        if (bias >= 0 && gemm && beta != 1.0f) {
            const xf_value *c = &g->values[bias];
            float *scaled = xf_alloc(g->arena, sizeof(float) * (size_t)n);
            for (int64_t j = 0; j < n; j++) scaled[j] = beta * (float)xf_const_f64(c, j);
            int64_t shape[1] = {n};
            bias = xf_const_add(g, xf_sprintf(g->arena, "%s_bias", mm->name), XF_F32, 1, shape, scaled);
        }
        int32_t w = shared >= 0 ? shared : mm->in[1];
        if (in_place && alpha != 1.0f) w = weights(g, mm, w, false, alpha); /* a scaled copy: keeps [N, K] */
        int32_t in[3] = {mm->in[0], in_place ? w : weights(g, mm, w, trans, alpha), bias};
        for (int k = 0; k < nabsorbed; k++) xf_node_kill(g, absorbed[k]);
        xf_node_rewrite(g, root, XF_OP_LINEAR, bias >= 0 ? 3 : 2, in);
        xf_node_add_attr(g, root, "activation", XF_ATTR_INT)->i = act;
        xf_node_add_attr(g, root, "w_nk", XF_ATTR_INT)->i = in_place;
        if (bias >= 0 || act) xf_count_fusion(o, XF_FUSION_matmul_epilogue);
        changed = true;
    }
    return changed;
}
