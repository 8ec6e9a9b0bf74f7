/* attention.c — lowering of Attention and RotaryEmbedding (shape rules and geometry in
 * ir/ops_attention.c) to the kernels of runtime/attention.c. Attention becomes one call for Y,
 * plus a copy per present_* output and one for qk_matmul_output when the model asks for them; the
 * kernels read Q, K, V and the mask in place through the strides of the geometry, whichever
 * layout the model has. RotaryEmbedding is one call. */
#include <math.h>

#include "../ir/ops.h"
#include "lower.h"

int xf_lower_attention(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_attention_geom p;
    if (!xf_attention_geometry(g, n, &p, d)) return -1;
    xf_value *m = xf_in(g, n, 3);
    float scale = xf_attr_get(n, "scale") ? xf_attr_float(n, "scale", 1.0f) : 1.0f / sqrtf((float)p.d);
    float softcap = xf_attr_float(n, "softcap", 0.0f);
    int32_t fmask = m && m->dtype == XF_F32 ? n->in[3] : -1, bmask = m && m->dtype == XF_BOOL ? n->in[3] : -1;
    int32_t past_k = p.past ? n->in[4] : -1, past_v = p.past ? n->in[5] : -1;
    int32_t nonpad = xf_in_handle(n, 6);
    /* the order xf_attention documents: batch, kv_heads, group, s_len, l_len, past_len, d, dv,
     * mask_len, causal, grouped */
    const int64_t dims[11] = {p.batch, p.kv_heads, p.heads / p.kv_heads, p.s, p.past + p.l, p.past, p.d, p.dv,
                              p.mask_len, xf_attr_int(n, "is_causal", 0) != 0, p.grouped};
    const xf_arg dims_arg = xf_ints(g, 11, dims);
    /* the cache handed on: present = concat(past, current) */
    for (int kv = 0; kv < 2; kv++) {
        if (!xf_has_output(g, n, 1 + kv)) continue;
        XF_CALL(out, xf_kv_concat, .present = xf_t(n->out[1 + kv]), .past = xf_t(kv ? past_v : past_k),
                .cur = xf_t(n->in[1 + kv]), .batch = p.batch, .heads = p.kv_heads, .past_len = p.past, .cur_len = p.l,
                .width = kv ? p.dv : p.d, .cur_strides = xf_ints(g, 3, kv ? p.vs : p.ks));
    }
    if (xf_has_output(g, n, 3))
        XF_CALL(out, xf_attention_scores, .out = xf_t(n->out[3]), .q = xf_t(n->in[0]), .k = xf_t(n->in[1]),
                .past_k = xf_t(past_k), .mask = xf_t(fmask), .bmask = xf_t(bmask), .nonpad = xf_t(nonpad),
                .dims = dims_arg, .q_strides = xf_ints(g, 3, p.qs), .k_strides = xf_ints(g, 3, p.ks),
                .mask_strides = xf_ints(g, 4, p.ms), .scale = scale, .softcap = softcap, .mode = p.mode);
    if (xf_has_output(g, n, 0))
        XF_CALL(out, xf_attention, .y = xf_t(n->out[0]), .q = xf_t(n->in[0]), .k = xf_t(n->in[1]),
                .v = xf_t(n->in[2]), .past_k = xf_t(past_k), .past_v = xf_t(past_v), .mask = xf_t(fmask),
                .bmask = xf_t(bmask), .nonpad = xf_t(nonpad), .dims = dims_arg, .q_strides = xf_ints(g, 3, p.qs),
                .k_strides = xf_ints(g, 3, p.ks), .v_strides = xf_ints(g, 3, p.vs), .y_strides = xf_ints(g, 3, p.ys),
                .mask_strides = xf_ints(g, 4, p.ms), .scale = scale, .softcap = softcap);
    return 0;
}

int xf_lower_rotary_embedding(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_rope_geom p;
    if (!xf_rope_geometry(g, n, &p, d)) return -1;
    if (xf_value_numel(xf_out(g, n, 0)) == 0) return 0;
    xf_value *pos = xf_in(g, n, 3);
    if (pos && pos->data) /* known positions are checked now, against the model, not at run time */
        for (int64_t i = 0, count = xf_value_numel(pos); i < count; i++) {
            int64_t row = xf_const_i64(pos, i);
            if (row < 0 || row >= p.rows)
                return xf_fail(d, g, n, "position id %lld is out of range for caches of %lld rows", (long long)row,
                               (long long)p.rows), -1;
        }
    XF_CALL(out, xf_rotary_embedding, .y = xf_t(n->out[0]), .x = xf_t(n->in[0]), .cos_cache = xf_t(n->in[1]),
            .sin_cache = xf_t(n->in[2]), .pos = xf_t(xf_in_handle(n, 3)), .batch = p.batch, .heads = p.heads,
            .seq = p.seq, .head_dim = p.d, .rotary_dim = p.rd, .interleaved = xf_attr_int(n, "interleaved", 0),
            .x_strides = xf_ints(g, 3, p.xs), .width = p.width, .cache_batch_step = p.cache_b,
            .pos_batch_step = p.pos_b, .cache_rows = p.rows);
    return 0;
}
