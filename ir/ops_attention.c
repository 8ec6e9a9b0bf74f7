/* ops_attention.c — shape rules of Attention and RotaryEmbedding, with ONNX's semantics (opset 23),
 * so that models using the ops directly compile as well as those whose decomposed subgraphs
 * fuse_attention and fuse_rope rewrite into them. The geometry worked out here (head counts,
 * strides of either layout, the mask's broadcast) is what lower/attention.c passes to the kernels
 * of runtime/attention.c.
 *
 * Attention(Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen?)
 *     -> Y, present_key?, present_value?, qk_matmul_output?
 *   attributes scale, is_causal, q_num_heads, kv_num_heads, softcap, qk_matmul_output_mode,
 *   softmax_precision (ignored: the softmax always runs in float32), and xfc.kv_heads_grouped (below).
 *   4-D: Q [B, Hq, S, D], K [B, Hkv, L, D], V [B, Hkv, L, Dv] -> Y [B, Hq, S, Dv].
 *   3-D: Q [B, S, Hq*D], K [B, L, Hkv*D], V [B, L, Hkv*Dv] -> Y [B, S, Hq*Dv], the head counts given
 *        by q_num_heads and kv_num_heads. Both layouts reach the kernel as strides, never as copies.
 *   KV cache: past_key [B, Hkv, P, D] and past_value [B, Hkv, P, Dv] (4-D in either layout) hold
 *   the keys and values of P earlier positions, which come before the L new ones: the T = P + L
 *   keys are attended, read in place, and present_key [B, Hkv, T, D] / present_value
 *   [B, Hkv, T, Dv] are concat(past, current) along the sequence axis. nonpad_kv_seqlen (int64 [B],
 *   not with a cache) masks keys j >= nonpad_kv_seqlen[b].
 *   Grouped-query heads: Hq is a multiple of Hkv. ONNX's Attention-23/24 reference (the one the
 *   ONNX 1.19 node tests were made with) tiles the K/V heads, so query head h reads K/V head
 *   h % Hkv; that is the default. Models that expand K/V heads with repeat_interleave, which is what
 *   fuse_attention recognises, have query head h read K/V head h / (Hq/Hkv): the fused node says so
 *   with the integer attribute xfc.kv_heads_grouped = 1.
 *   scale defaults to 1/sqrt(D). attn_mask is bool (true = attend) or float (added to the scores),
 *   broadcast to [B, Hq, S, T], except that a last dimension shorter than T masks the keys beyond it
 *   (ONNX pads it with -inf). is_causal masks key j for query i when j > i (upper-left alignment,
 *   as the 1.19 tests have it, also with a cache). softcap, when positive, bounds the scores after
 *   the mask is added (the order the opset-23 qk_matmul_output_mode list gives):
 *   softcap * tanh(scores / softcap); a masked key stays masked.
 *   qk_matmul_output [B, Hq, S, T] is the score matrix at the stage qk_matmul_output_mode names:
 *   0 scaled Q.K, 1 plus the mask, 2 after the softcap, 3 the softmax weights.
 * RotaryEmbedding(X, cos_cache, sin_cache, position_ids?) -> Y, attributes interleaved,
 *   rotary_embedding_dim, num_heads
 *   X [B, H, S, D], or [B, S, H*D] with num_heads. The first rd = rotary_embedding_dim (default D)
 *   elements of each head are rotated. With position_ids [B or 1, S] (int64) the caches are
 *   [max_position, W] tables indexed by them; without, they are [B or 1, S, W]. W is rd/2, or D/2
 *   of which the first rd/2 values are used (what the ONNX 1.19 tests for partial rotation have).
 * Both are float32 only. */
#include "ops.h"

static bool is_f32(const xf_value *v) { return v && v->dtype == XF_F32; }

/* ---- Attention ---- */

/* Strides of a [b, rows, heads*width] tensor (3-D layout) or a [b, heads, rows, width] one. */
static void head_strides(bool three_d, int64_t heads, int64_t rows, int64_t width, int64_t *st) {
    st[0] = heads * rows * width;
    st[1] = three_d ? width : rows * width;
    st[2] = three_d ? heads * width : width;
}

/* The head count attribute `name`, which must divide `size` (3-D) or equal `dim` (4-D, when given). */
static bool head_count(xf_graph *g, const xf_node *n, const char *name, bool three_d, int64_t size, int64_t *heads,
                       xf_diag *d) {
    int64_t h = xf_attr_int(n, name, 0);
    if (!three_d) {
        if (h && h != *heads)
            return xf_fail(d, g, n, "%s is %lld but the 4-D input has %lld heads", name, (long long)h,
                           (long long)*heads);
        return true;
    }
    if (h <= 0) return xf_fail(d, g, n, "3-D inputs need attribute %s (a positive head count)", name);
    if (size % h) return xf_fail(d, g, n, "hidden size %lld is not a multiple of %s = %lld", (long long)size, name, (long long)h);
    *heads = h;
    return true;
}

/* past_key [B, Hkv, P, D] and past_value [B, Hkv, P, Dv]: both or neither, always 4-D. Sets p->past. */
static bool attn_cache(xf_graph *g, const xf_node *n, xf_attention_geom *p, xf_diag *d) {
    xf_value *pk = xf_in(g, n, 4), *pv = xf_in(g, n, 5);
    char sk[128], sv[128];
    p->past = 0;
    if (!pk && !pv) return true;
    if (!pk || !pv) return xf_fail(d, g, n, "past_key and past_value must be given together");
    if (!is_f32(pk) || !is_f32(pv))
        return xf_fail(d, g, n, "past_key and past_value must be float32 (got %s and %s)", xf_dtype_name(pk->dtype),
                       xf_dtype_name(pv->dtype));
    bool fits = pk->rank == 4 && pv->rank == 4 && pk->shape[0] == p->batch && pv->shape[0] == p->batch &&
                pk->shape[1] == p->kv_heads && pv->shape[1] == p->kv_heads && pk->shape[2] == pv->shape[2] &&
                pk->shape[3] == p->d && pv->shape[3] == p->dv;
    if (!fits)
        return xf_fail(d, g, n, "past_key %s and past_value %s must be [%lld,%lld,P,%lld] and [%lld,%lld,P,%lld]",
                       xf_shape_str(pk, sk, sizeof sk), xf_shape_str(pv, sv, sizeof sv), (long long)p->batch,
                       (long long)p->kv_heads, (long long)p->d, (long long)p->batch, (long long)p->kv_heads,
                       (long long)p->dv);
    p->past = pk->shape[2];
    return true;
}

bool xf_attention_geometry(xf_graph *g, const xf_node *n, xf_attention_geom *p, xf_diag *d) {
    xf_value *q = xf_in(g, n, 0), *k = xf_in(g, n, 1), *v = xf_in(g, n, 2), *m = xf_in(g, n, 3);
    xf_value *nonpad = xf_in(g, n, 6);
    char sq[128], sk[128], sv[128];
    if (!q || !k || !v) return xf_fail(d, g, n, "expects inputs Q, K and V");
    if (n->nin > 7 || n->nout > 4)
        return xf_fail(d, g, n, "has %d inputs and %d outputs; Attention takes at most 7 and gives at most 4",
                       n->nin, n->nout);
    if (!is_f32(q) || !is_f32(k) || !is_f32(v))
        return xf_fail(d, g, n, "Q, K and V must be float32 (got %s, %s and %s)", xf_dtype_name(q->dtype),
                       xf_dtype_name(k->dtype), xf_dtype_name(v->dtype));
    if (q->rank != k->rank || q->rank != v->rank || (q->rank != 3 && q->rank != 4))
        return xf_fail(d, g, n, "Q %s, K %s and V %s must all be 3-D or all 4-D", xf_shape_str(q, sq, sizeof sq),
                       xf_shape_str(k, sk, sizeof sk), xf_shape_str(v, sv, sizeof sv));
    p->mode = xf_attr_int(n, "qk_matmul_output_mode", 0);
    if (p->mode < 0 || p->mode > 3)
        return xf_fail(d, g, n, "qk_matmul_output_mode must be 0, 1, 2 or 3, not %lld", (long long)p->mode);
    int64_t grouped = xf_attr_int(n, "xfc.kv_heads_grouped", 0);
    if (grouped != 0 && grouped != 1)
        return xf_fail(d, g, n, "xfc.kv_heads_grouped must be 0 or 1, not %lld", (long long)grouped);
    p->grouped = grouped;
    bool three_d = q->rank == 3;
    p->batch = q->shape[0];
    if (three_d) {
        p->s = q->shape[1];
        p->l = k->shape[1];
        if (!head_count(g, n, "q_num_heads", true, q->shape[2], &p->heads, d) ||
            !head_count(g, n, "kv_num_heads", true, k->shape[2], &p->kv_heads, d))
            return false;
        p->d = q->shape[2] / p->heads;
        if (v->shape[2] % p->kv_heads)
            return xf_fail(d, g, n, "V %s is not a multiple of kv_num_heads = %lld", xf_shape_str(v, sv, sizeof sv),
                           (long long)p->kv_heads);
        p->dv = v->shape[2] / p->kv_heads;
    } else {
        p->heads = q->shape[1];
        p->s = q->shape[2];
        p->d = q->shape[3];
        p->kv_heads = k->shape[1];
        p->l = k->shape[2];
        p->dv = v->shape[3];
        if (!head_count(g, n, "q_num_heads", false, 0, &p->heads, d) ||
            !head_count(g, n, "kv_num_heads", false, 0, &p->kv_heads, d))
            return false;
    }
    bool k_ok = k->shape[0] == p->batch && (three_d ? k->shape[2] == p->kv_heads * p->d : k->shape[3] == p->d);
    bool v_ok = v->shape[0] == p->batch && v->shape[three_d ? 1 : 2] == p->l && (three_d || v->shape[1] == p->kv_heads);
    if (!k_ok || !v_ok)
        return xf_fail(d, g, n, "shapes of Q %s, K %s and V %s do not fit together", xf_shape_str(q, sq, sizeof sq),
                       xf_shape_str(k, sk, sizeof sk), xf_shape_str(v, sv, sizeof sv));
    if (p->kv_heads <= 0 || p->heads % p->kv_heads)
        return xf_fail(d, g, n, "%lld query heads cannot share %lld key/value heads", (long long)p->heads,
                       (long long)p->kv_heads);
    head_strides(three_d, p->heads, p->s, p->d, p->qs);
    head_strides(three_d, p->kv_heads, p->l, p->d, p->ks);
    head_strides(three_d, p->kv_heads, p->l, p->dv, p->vs);
    head_strides(three_d, p->heads, p->s, p->dv, p->ys);
    if (!attn_cache(g, n, p, d)) return false;
    if (nonpad) {
        if (p->past)
            return xf_fail(d, g, n, "nonpad_kv_seqlen cannot be combined with past_key and past_value");
        if (nonpad->dtype != XF_I64 || nonpad->rank != 1 || nonpad->shape[0] != p->batch)
            return xf_fail(d, g, n, "nonpad_kv_seqlen %s must be int64 [%lld]", xf_shape_str(nonpad, sq, sizeof sq),
                           (long long)p->batch);
    }
    int64_t keys = p->past + p->l; /* the cache's keys come first */
    p->mask_len = keys;
    for (int i = 0; i < 4; i++) p->ms[i] = 0;
    if (!m) return true;
    if (m->dtype != XF_BOOL && m->dtype != XF_F32)
        return xf_fail(d, g, n, "attn_mask must be bool or float32, not %s", xf_dtype_name(m->dtype));
    const int64_t want[4] = {p->batch, p->heads, p->s, keys};
    bool fits = m->rank >= 1 && m->rank <= 4 && m->shape[m->rank - 1] <= keys;
    for (int i = 0; fits && i < m->rank - 1; i++) {
        int64_t dim = m->shape[i], target = want[4 - m->rank + i];
        fits = dim == target || dim == 1;
    }
    if (!fits)
        return xf_fail(d, g, n, "attn_mask %s does not broadcast to [%lld,%lld,%lld,%lld]",
                       xf_shape_str(m, sq, sizeof sq), (long long)p->batch, (long long)p->heads, (long long)p->s,
                       (long long)keys);
    p->mask_len = m->shape[m->rank - 1];
    int64_t step = 1;
    for (int i = m->rank - 1; i >= 0; i--) {
        p->ms[4 - m->rank + i] = m->shape[i] == 1 ? 0 : step;
        step *= m->shape[i];
    }
    return true;
}

bool xf_shape_attention(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_attention_geom p;
    if (!xf_attention_geometry(g, n, &p, d)) return false;
    if (xf_in(g, n, 0)->rank == 3)
        xf_set_out(g, n, 0, XF_F32, 3, (const int64_t[]){p.batch, p.s, p.heads * p.dv});
    else
        xf_set_out(g, n, 0, XF_F32, 4, (const int64_t[]){p.batch, p.heads, p.s, p.dv});
    int64_t keys = p.past + p.l;
    xf_set_out(g, n, 1, XF_F32, 4, (const int64_t[]){p.batch, p.kv_heads, keys, p.d});
    xf_set_out(g, n, 2, XF_F32, 4, (const int64_t[]){p.batch, p.kv_heads, keys, p.dv});
    xf_set_out(g, n, 3, XF_F32, 4, (const int64_t[]){p.batch, p.heads, p.s, keys});
    return true;
}

/* ---- RotaryEmbedding ---- */

bool xf_rope_geometry(xf_graph *g, const xf_node *n, xf_rope_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *cs = xf_in(g, n, 1), *sn = xf_in(g, n, 2), *pos = xf_in(g, n, 3);
    char sx[128], sc[128], ss[128];
    if (!x || !cs || !sn) return xf_fail(d, g, n, "expects inputs X, cos_cache and sin_cache");
    if (!is_f32(x) || !is_f32(cs) || !is_f32(sn)) return xf_fail(d, g, n, "X and the caches must be float32");
    if (x->rank == 4) {
        p->batch = x->shape[0];
        p->heads = x->shape[1];
        p->seq = x->shape[2];
        p->d = x->shape[3];
        head_strides(false, p->heads, p->seq, p->d, p->xs);
    } else if (x->rank == 3) {
        p->batch = x->shape[0];
        p->seq = x->shape[1];
        p->heads = xf_attr_int(n, "num_heads", 0);
        if (p->heads <= 0 || x->shape[2] % p->heads)
            return xf_fail(d, g, n, "3-D X %s needs attribute num_heads dividing its last dimension",
                           xf_shape_str(x, sx, sizeof sx));
        p->d = x->shape[2] / p->heads;
        head_strides(true, p->heads, p->seq, p->d, p->xs);
    } else {
        return xf_fail(d, g, n, "X %s must be [B,H,S,D] or [B,S,H*D]", xf_shape_str(x, sx, sizeof sx));
    }
    p->rd = xf_attr_int(n, "rotary_embedding_dim", 0);
    if (p->rd == 0) p->rd = p->d;
    if (p->rd < 0 || p->rd > p->d || p->rd % 2)
        return xf_fail(d, g, n, "rotary_embedding_dim %lld must be even and at most the head size %lld",
                       (long long)p->rd, (long long)p->d);
    int64_t interleaved = xf_attr_int(n, "interleaved", 0);
    if (interleaved != 0 && interleaved != 1)
        return xf_fail(d, g, n, "interleaved must be 0 or 1, not %lld", (long long)interleaved);
    bool same = cs->rank == sn->rank;
    for (int i = 0; same && i < cs->rank; i++) same = cs->shape[i] == sn->shape[i];
    if (!same)
        return xf_fail(d, g, n, "cos_cache %s and sin_cache %s differ", xf_shape_str(cs, sc, sizeof sc),
                       xf_shape_str(sn, ss, sizeof ss));
    int64_t half = p->rd / 2;
    p->width = cs->rank >= 1 ? cs->shape[cs->rank - 1] : 0;
    if (p->width != p->d / 2) p->width = half; /* anything else is reported below */
    p->cache_b = p->pos_b = 0;
    if (pos) {
        if (pos->dtype != XF_I64 || pos->rank != 2 || (pos->shape[0] != p->batch && pos->shape[0] != 1) ||
            pos->shape[1] != p->seq)
            return xf_fail(d, g, n, "position_ids %s must be int64 [%lld,%lld]", xf_shape_str(pos, sx, sizeof sx),
                           (long long)p->batch, (long long)p->seq);
        if (cs->rank != 2 || cs->shape[1] != p->width)
            return xf_fail(d, g, n, "with position_ids, the caches must be [positions, %lld], not %s", (long long)half,
                           xf_shape_str(cs, sc, sizeof sc));
        p->pos_b = pos->shape[0] == 1 ? 0 : p->seq;
        p->rows = cs->shape[0];
    } else {
        if (cs->rank != 3 || (cs->shape[0] != p->batch && cs->shape[0] != 1) || cs->shape[1] != p->seq ||
            cs->shape[2] != p->width)
            return xf_fail(d, g, n, "without position_ids, the caches must be [%lld or 1, %lld, %lld], not %s",
                           (long long)p->batch, (long long)p->seq, (long long)half, xf_shape_str(cs, sc, sizeof sc));
        p->cache_b = cs->shape[0] == 1 ? 0 : p->seq;
        p->rows = cs->shape[0] * p->seq;
    }
    return true;
}

bool xf_shape_rotary_embedding(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_rope_geom p;
    if (!xf_rope_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, XF_F32, x->rank, x->shape);
    return true;
}
