/* flash_norm.c — FlashNorm folding ("Flash normalization: fast RMSNorm for LLMs"): when every
 * consumer of an RMSNorm's output is a linear layer with constant weights, the norm's gain g can
 * be folded into those weights, since (x̂ ⊙ g) W = x̂ (diag(g) W). The norm then only normalises,
 * and each weight row k is scaled by g[k] once, at compile time.
 *
 * Accepts: RMSNormalization(x, g) over the last axis, g constant with one value per channel, whose
 * output feeds only MatMul(y, W) / Gemm(y, W) (transA = 0) with W a constant [K, N] (or [N, K] with
 * transB = 1) read by that node alone (a shared W would need a copy: not worth it), and not the
 * transposed copy of a table stored anyway (read in place, the table is stored once; a scaled copy
 * would store it twice).
 * Runs after fuse_rms_norm and before fuse_linear. Requires: shapes. */
#include "match.h"

/* The consumers of v, or -1 when one of them is not a foldable linear layer. */
static int consumers(const xf_graph *g, int32_t v, int32_t *out, int max, const char **why) {
    int n = 0;
    if (g->values[v].is_output) return *why = "the normalised value is a graph output", -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *u = &g->nodes[i];
        if (u->dead) continue;
        for (int k = 0; k < u->nin; k++) {
            if (u->in[k] != v) continue;
            bool linear = (u->op == XF_OP_MATMUL || (u->op == XF_OP_GEMM && !xf_attr_int(u, "transA", 0))) && k == 0;
            const xf_value *w = linear ? &g->values[u->in[1]] : NULL;
            if (!w || !w->data || w->dtype != XF_F32 || w->rank != 2 || xf_uses(g, u->in[1]) != 1 ||
                xf_transposed_table(g, u->in[1]) >= 0) /* a copy of a table stored anyway */
                return *why = "a consumer is not a linear layer with its own constant weights", -1;
            if (n == max) return *why = "too many consumers", -1;
            out[n++] = i;
        }
    }
    return n;
}

bool xf_pass_flash_norm(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)d;
    bool changed = false;
    for (int32_t i = 0; i < g->nnodes; i++) {
        xf_node *n = &g->nodes[i];
        if (n->dead || n->op != XF_OP_RMS_NORM || n->nin < 2 || n->in[1] < 0) continue;
        const xf_value *x = xf_in(g, n, 0), *gain = xf_in(g, n, 1);
        int64_t channels = x->shape[x->rank - 1];
        int64_t axis = xf_attr_int(n, "axis", -1);
        if (axis != -1 && axis != x->rank - 1) continue; /* one gain per channel of the last axis */
        if (!gain->data || gain->dtype != XF_F32 || xf_value_numel(gain) != channels) continue;
        int32_t users[16];
        const char *why = NULL;
        int nu = consumers(g, n->out[0], users, 16, &why);
        if (nu <= 0) {
            if (why) xf_record_miss(g, o, XF_FUSION_flash_norm, n, "%s", why);
            continue;
        }
        const float *gv = gain->data;
        for (int u = 0; u < nu; u++) {
            xf_node *lin = &g->nodes[users[u]];
            const xf_value *w = &g->values[lin->in[1]];
            bool trans = lin->op == XF_OP_GEMM && xf_attr_int(lin, "transB", 0);
            int64_t rows = w->shape[0], cols = w->shape[1];
            float *scaled = xf_alloc(g->arena, sizeof(float) * (size_t)(rows * cols));
            const float *src = w->data;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < cols; c++) /* row k of W (column k when transposed) meets g[k] */
                    scaled[r * cols + c] = src[r * cols + c] * gv[trans ? c : r];
            lin->in[1] = xf_const_add(g, xf_sprintf(g->arena, "%s_flashnorm", w->name), XF_F32, 2, w->shape, scaled);
        }
        n->nin = 1; /* the gain is gone: the norm only normalises */
        xf_count_fusion(o, XF_FUSION_flash_norm);
        changed = true;
    }
    return changed;
}
