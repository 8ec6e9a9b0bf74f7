/* attention.c — runtime kernels of the transformer's attention block: scaled dot-product attention
 * (ONNX's Attention) and rotary position embedding (ONNX's RotaryEmbedding).
 *
 * Attention never builds the [S, L] matrix of scores: each query row walks the keys once with an
 * online softmax (a running maximum and sum, the partial output rescaled whenever the maximum
 * grows), so its only memory is the output row and a block of scores on the stack. Causal masking
 * is a loop bound, grouped-query attention an index computation, and a mask tensor is read in place
 * through broadcast strides, so nothing is copied or expanded. Tensors are addressed through
 * per-dimension element strides worked out at compile time (ir/ops_attention.c), which lets one
 * kernel serve both the [B, H, S, D] and the [B, S, H*D] layouts. A KV cache (ONNX's past_key and
 * past_value) is read in place in front of the new keys; the present_* outputs, when a model asks
 * for them, are written by a plain copy, and the score matrix only when it is an output. */
#include "kernels.h"

/* @kernel xf_dot */
/* The dot product of two contiguous vectors. Eight partial sums, added at the end, let the
 * compiler vectorise the loop: it may not reorder the additions of a single running sum. */
XF_API float xf_dot(const float *restrict a, const float *restrict b, int64_t n) {
    float part[8] = {0};
    int64_t whole = n - n % 8; /* the tail loop starts from a bound the compiler can see */
    for (int64_t i = 0; i < whole; i += 8)
        for (int u = 0; u < 8; u++) part[u] += a[i + u] * b[i + u];
    float sum = 0.0f;
    for (int64_t i = whole; i < n; i++) sum += a[i] * b[i];
    for (int u = 0; u < 8; u++) sum += part[u];
    return sum;
}

/* @kernel xf_attention */
/* Scaled dot-product attention. For batch b, query head h and query row i:
 *     s_j = softcap(scale * q[b,h,i,:] . k[b,g,j,:] + mask[b,h,i,j])
 *     y[b,h,i,:] = sum_j softmax(s)_j * v[b,g,j,:]
 * Query head h reads key/value head g: g = h / (heads / kv_heads) when grouped is set
 * (each K/V head serves a block of consecutive query heads, what repeat_interleave gives), else
 * g = h % kv_heads (the K/V heads tiled, what ONNX's reference for Attention-23 does).
 * dims holds, in order: batch, kv_heads, group (query heads per K/V head, so heads = kv_heads * group),
 * s_len (queries), l_len (keys, the cache's included), past_len, d, dv, mask_len, causal, grouped.
 *
 * The keys are the past_len rows of a KV cache followed by the rows of k: row j < past_len comes
 * from past_k [b, g, j, :] (contiguous [B, kv_heads, past_len, d]), the others from k, so the cache
 * and the new keys are never concatenated for this. Element [b,h,i,e] of q lives at
 * q[b*q_strides[0] + h*q_strides[1] + i*q_strides[2] + e], and likewise for k and v (k_strides,
 * v_strides: batch, head, key row) and y (y_strides); rows are contiguous. The mask is optional: a
 * float mask is added to the scores, a bool mask (bmask, one byte per element) keeps keys where it
 * is nonzero; either is read at b*mask_strides[0] + h*mask_strides[1] + i*mask_strides[2] +
 * j*mask_strides[3] (0 strides where it broadcasts), and keys j >= mask_len are masked (ONNX pads a
 * short mask that way). causal masks keys j > i; nonpad, when given, masks
 * keys j >= nonpad[b]. A positive softcap bounds the masked scores, s = softcap * tanh(s / softcap),
 * where a masked key stays masked.
 *
 * Keys are taken in blocks of 64: their scores go to the stack, the block's maximum updates the
 * running maximum (rescaling the partial output and sum when it grows), then the block's weights
 * are added into the output row, which serves as the accumulator. A row with every key masked has
 * a zero sum and gives zeros, as ONNX specifies (and as the exporters' NaN guard after a plain
 * softmax gives); NaN scores give NaN. */
XF_API void xf_attention(float *restrict y, const float *restrict q, const float *restrict k,
                         const float *restrict v, const float *restrict past_k, const float *restrict past_v,
                         const float *restrict mask, const uint8_t *restrict bmask, const int64_t *restrict nonpad,
                         const int64_t *restrict dims, const int64_t *restrict q_strides,
                         const int64_t *restrict k_strides, const int64_t *restrict v_strides,
                         const int64_t *restrict y_strides, const int64_t *restrict mask_strides, float scale,
                         float softcap) {
    enum { BLOCK = 64 };
    float w[BLOCK]; /* scores, then weights, of one block of keys */
    /* dims, read in place: caching them all in locals costs small targets stack */
    enum { BATCH, KV_HEADS, GROUP, S_LEN, L_LEN, PAST, D, DV, MASK_LEN, CAUSAL, GROUPED };
    /* query heads are visited K/V head by K/V head: for K/V head g, the m-th query head reading it
     * is h, found with no division (a library call on small targets) */
    for (int64_t b = 0; b < dims[BATCH]; b++)
        for (int64_t g = 0; g < dims[KV_HEADS]; g++) {
            const float *kh = k + b * k_strides[0] + g * k_strides[1];
            const float *vh = v + b * v_strides[0] + g * v_strides[1];
            const float *pk = past_k ? past_k + (b * dims[KV_HEADS] + g) * dims[PAST] * dims[D] : NULL;
            const float *pv = past_v ? past_v + (b * dims[KV_HEADS] + g) * dims[PAST] * dims[DV] : NULL;
            for (int64_t m = 0; m < dims[GROUP]; m++) {
                int64_t h = dims[GROUPED] ? g * dims[GROUP] + m : m * dims[KV_HEADS] + g;
                for (int64_t i = 0; i < dims[S_LEN]; i++) {
                    const float *qi = q + b * q_strides[0] + h * q_strides[1] + i * q_strides[2];
                    float *yi = y + b * y_strides[0] + h * y_strides[1] + i * y_strides[2];
                    int64_t mrow = b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2];
                    int64_t n = dims[L_LEN]; /* keys past n are masked */
                    if (dims[CAUSAL] && n > i + 1) n = i + 1;
                    if ((mask || bmask) && n > dims[MASK_LEN]) n = dims[MASK_LEN];
                    if (nonpad && n > nonpad[b]) n = nonpad[b] > 0 ? nonpad[b] : 0;
                    float max = -INFINITY, sum = 0.0f;
                    for (int64_t e = 0; e < dims[DV]; e++) yi[e] = 0.0f;
                    for (int64_t j0 = 0; j0 < n; j0 += BLOCK) {
                        int64_t nb = n - j0 < BLOCK ? n - j0 : BLOCK;
                        float bmax = -INFINITY;
                        for (int64_t t = 0; t < nb; t++) {
                            int64_t j = j0 + t;
                            const float *kj = j < dims[PAST] ? pk + j * dims[D] : kh + (j - dims[PAST]) * k_strides[2];
                            float s = scale * xf_dot(qi, kj, dims[D]);
                            if (mask) s += mask[mrow + j * mask_strides[3]];
                            if (bmask && !bmask[mrow + j * mask_strides[3]]) s = -INFINITY;
                            if (softcap > 0.0f && s != -INFINITY) s = softcap * tanhf(s / softcap);
                            w[t] = s;
                            bmax = s > bmax ? s : bmax;
                        }
                        if (bmax == -INFINITY) continue; /* the whole block is masked */
                        if (bmax > max) {
                            float c = expf(max - bmax); /* 0 for the first block: max is -inf */
                            sum *= c;
                            for (int64_t e = 0; e < dims[DV]; e++) yi[e] *= c;
                            max = bmax;
                        }
                        for (int64_t t = 0; t < nb; t++) {
                            w[t] = expf(w[t] - max);
                            sum += w[t];
                        }
                        for (int64_t t = 0; t < nb; t++) {
                            int64_t j = j0 + t;
                            const float *vj = j < dims[PAST] ? pv + j * dims[DV] : vh + (j - dims[PAST]) * v_strides[2];
                            float p = w[t];
                            for (int64_t e = 0; e < dims[DV]; e++) yi[e] += p * vj[e];
                        }
                    }
                    float r = sum == 0.0f ? 0.0f : 1.0f / sum; /* every key masked: the row stays 0 */
                    for (int64_t e = 0; e < dims[DV]; e++) yi[e] *= r;
                }
            }
        }
}

/* @kernel xf_attention_scores */
/* The score matrix of xf_attention (same arguments and key order), [B, heads, S, L] contiguous, at
 * the stage ONNX's qk_matmul_output_mode names: 0 the scaled products q . k, 1 with the mask added
 * (masked keys -inf), 2 after the softcap as well, 3 the softmax weights (a row with every key
 * masked is 0, as its output is). xf_attention never builds this matrix; only a model asking for it
 * pays for it. */
XF_API void xf_attention_scores(float *restrict out, const float *restrict q, const float *restrict k,
                                const float *restrict past_k, const float *restrict mask,
                                const uint8_t *restrict bmask, const int64_t *restrict nonpad,
                                const int64_t *restrict dims, const int64_t *restrict q_strides,
                                const int64_t *restrict k_strides, const int64_t *restrict mask_strides,
                                float scale, float softcap, int64_t mode) {
    /* dims, read in place: caching them all in locals costs small targets stack */
    enum { BATCH, KV_HEADS, GROUP, S_LEN, L_LEN, PAST, D, DV, MASK_LEN, CAUSAL, GROUPED };
    int64_t heads = dims[KV_HEADS] * dims[GROUP];
    /* query heads are visited K/V head by K/V head: for K/V head g, the m-th query head reading it
     * is h, found with no division (a library call on small targets) */
    for (int64_t b = 0; b < dims[BATCH]; b++)
        for (int64_t g = 0; g < dims[KV_HEADS]; g++) {
            const float *kh = k + b * k_strides[0] + g * k_strides[1];
            const float *pk = past_k ? past_k + (b * dims[KV_HEADS] + g) * dims[PAST] * dims[D] : NULL;
            for (int64_t m = 0; m < dims[GROUP]; m++) {
                int64_t h = dims[GROUPED] ? g * dims[GROUP] + m : m * dims[KV_HEADS] + g;
                for (int64_t i = 0; i < dims[S_LEN]; i++) {
                    const float *qi = q + b * q_strides[0] + h * q_strides[1] + i * q_strides[2];
                    float *row = out + ((b * heads + h) * dims[S_LEN] + i) * dims[L_LEN];
                    int64_t mrow = b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2];
                    int64_t n = dims[L_LEN];
                    if (dims[CAUSAL] && n > i + 1) n = i + 1;
                    if ((mask || bmask) && n > dims[MASK_LEN]) n = dims[MASK_LEN];
                    if (nonpad && n > nonpad[b]) n = nonpad[b] > 0 ? nonpad[b] : 0;
                    float max = -INFINITY;
                    for (int64_t j = 0; j < dims[L_LEN]; j++) {
                        const float *kj = j < dims[PAST] ? pk + j * dims[D] : kh + (j - dims[PAST]) * k_strides[2];
                        float s = scale * xf_dot(qi, kj, dims[D]);
                        if (mode >= 1) {
                            int kept = j < n && !(bmask && !bmask[mrow + j * mask_strides[3]]);
                            s = kept ? s + (mask ? mask[mrow + j * mask_strides[3]] : 0.0f) : -INFINITY;
                        }
                        if (mode >= 2 && softcap > 0.0f && s != -INFINITY) s = softcap * tanhf(s / softcap);
                        row[j] = s;
                        max = s > max ? s : max;
                    }
                    if (mode < 3) continue;
                    float sum = 0.0f;
                    for (int64_t j = 0; j < dims[L_LEN]; j++) {
                        row[j] = max == -INFINITY ? 0.0f : expf(row[j] - max);
                        sum += row[j];
                    }
                    float r = sum == 0.0f ? 0.0f : 1.0f / sum;
                    for (int64_t j = 0; j < dims[L_LEN]; j++) row[j] *= r;
                }
            }
        }
}

/* @kernel xf_kv_concat */
/* present = concat(past, cur) along the sequence axis: the KV cache an Attention node hands on.
 * present is [B, heads, past_len + cur_len, width] contiguous, past [B, heads, past_len, width]
 * (or NULL when past_len is 0), and row j of head h of batch b of cur lives at
 * b*cur_strides[0] + h*cur_strides[1] + j*cur_strides[2] (either layout of the current keys or
 * values). */
XF_API void xf_kv_concat(float *restrict present, const float *restrict past, const float *restrict cur,
                         int64_t batch, int64_t heads, int64_t past_len, int64_t cur_len, int64_t width,
                         const int64_t *restrict cur_strides) {
    for (int64_t b = 0; b < batch; b++)
        for (int64_t h = 0; h < heads; h++) {
            float *dst = present + (b * heads + h) * (past_len + cur_len) * width;
            if (past_len)
                memcpy(dst, past + (b * heads + h) * past_len * width, (size_t)(past_len * width) * sizeof(float));
            for (int64_t j = 0; j < cur_len; j++) {
                const float *row = cur + b * cur_strides[0] + h * cur_strides[1] + j * cur_strides[2];
                memcpy(dst + (past_len + j) * width, row, (size_t)width * sizeof(float));
            }
        }
}

/* @kernel xf_rotary_embedding */
/* Rotary position embedding, ONNX's RotaryEmbedding. Each head row x of head_dim elements has its
 * first rotary_dim rotated in pairs (x1, x2) by the angle of its position:
 *     y1 = cos * x1 - sin * x2,   y2 = sin * x1 + cos * x2
 * where the pairs are (x[t], x[t + rotary_dim/2]) (rotate-half form) or, when interleaved,
 * (x[2t], x[2t+1]); elements past rotary_dim are copied. The caches hold one row of `width` values
 * per position, of which the first rotary_dim/2 are used: row pos[b*pos_batch_step + s] when
 * position ids are given (checked against cache_rows, XFC_ERR_INDEX otherwise), else row
 * b*cache_batch_step + s (cache_batch_step is 0 when one cache serves every batch). Element
 * [b,h,s,e] of x and y lives at b*x_strides[0] + h*x_strides[1] + s*x_strides[2] + e. */
XF_API int xf_rotary_embedding(float *restrict y, const float *restrict x, const float *restrict cos_cache,
                               const float *restrict sin_cache, const int64_t *restrict pos, int64_t batch,
                               int64_t heads, int64_t seq, int64_t head_dim, int64_t rotary_dim, int64_t interleaved,
                               const int64_t *restrict x_strides, int64_t width, int64_t cache_batch_step,
                               int64_t pos_batch_step, int64_t cache_rows) {
    int64_t half = rotary_dim / 2;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t s = 0; s < seq; s++) {
            int64_t row = pos ? pos[b * pos_batch_step + s] : b * cache_batch_step + s;
            if (row < 0 || row >= cache_rows) return XFC_ERR_INDEX;
            const float *c = cos_cache + row * width, *sn = sin_cache + row * width;
            for (int64_t h = 0; h < heads; h++) {
                const float *xr = x + b * x_strides[0] + h * x_strides[1] + s * x_strides[2];
                float *yr = y + b * x_strides[0] + h * x_strides[1] + s * x_strides[2];
                if (interleaved) {
                    for (int64_t t = 0; t < half; t++) {
                        float x1 = xr[2 * t], x2 = xr[2 * t + 1];
                        yr[2 * t] = c[t] * x1 - sn[t] * x2;
                        yr[2 * t + 1] = sn[t] * x1 + c[t] * x2;
                    }
                } else {
                    for (int64_t t = 0; t < half; t++) {
                        float x1 = xr[t], x2 = xr[t + half];
                        yr[t] = c[t] * x1 - sn[t] * x2;
                        yr[t + half] = sn[t] * x1 + c[t] * x2;
                    }
                }
                for (int64_t e = rotary_dim; e < head_dim; e++) yr[e] = xr[e];
            }
        }
    return XFC_OK;
}
