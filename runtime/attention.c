/* attention.c — runtime kernels of the transformer's attention block: scaled dot-product attention
 * (ONNX's Attention) and rotary position embedding (ONNX's RotaryEmbedding).
 *
 * Attention never builds the [S, L] matrix of scores: query rows, a tile of four at a time, walk
 * the keys once with an online softmax (per row a running maximum and sum, the partial output
 * rescaled whenever the maximum grows), so their only memory is the output rows and a block of
 * scores on the stack. Each key or value row loaded serves the whole tile, and the dot products of
 * a tile with a key row have SIMD bodies (AVX-512, AVX2+FMA, NEON) next to the portable one.
 * Causal masking is a loop bound, grouped-query attention an index computation, and a mask tensor is read in place
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
/* xf_attention's helpers come first, in its section of the file: only it calls them. */

/* e^x for the softmax's x = score - running maximum, so x <= 0, NaN or -inf. expf is a library
 * call the compiler cannot vectorise; this is its usual construction, written so that a loop over
 * it vectorises: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so n ln2 is exact), e^r by a
 * polynomial (about one ulp), 2^n put straight into the exponent bits. Below -87 the result would
 * be subnormal and is flushed to 0, as -inf gives 0; NaN stays NaN. Those cases are picked with
 * integer masks on the bits, not float comparisons, which GCC will not turn into vector selects. */
static inline float exp_nonpositive(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint32_t nan = -(uint32_t)((bits & 0x7fffffffu) > 0x7f800000u);  /* all ones where x is NaN */
    uint32_t outside = -(uint32_t)(bits > 0xc2ae0000u) | nan;         /* below -87 (-inf too), or NaN */
    uint32_t clamped = (bits & ~outside) | (0xc2ae0000u & outside);  /* -87 where outside */
    float xc;
    memcpy(&xc, &clamped, sizeof xc);
    int32_t n = (int32_t)(xc * 1.44269504f - 0.5f); /* rounds to nearest: xc * log2(e) <= 0 */
    float r = xc - (float)n * 0.693359375f + (float)n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t two_n_bits = (uint32_t)(n + 127) << 23;
    float two_n, e;
    memcpy(&two_n, &two_n_bits, sizeof two_n);
    e = p * two_n;
    uint32_t e_bits;
    memcpy(&e_bits, &e, sizeof e_bits);
    e_bits = (e_bits & ~outside) | (bits & nan); /* 0 below -87, NaN kept */
    memcpy(&e, &e_bits, sizeof e);
    return e;
}

/* dot_tile: the dot products of one key row k with `rows` query rows q[0 .. rows-1] (at most
 * ATT_TILE), into out. Each element of k, once loaded, serves every query row of the tile: Q·Kᵀ as a
 * small matrix product. Rows past `rows` repeat row 0, so the loop has a fixed shape; their sums
 * are dropped. */
enum { ATT_TILE = 4, ATT_BLOCK = 32 };
#if defined(__AVX512F__)
#include <immintrin.h>
/* AVX-512: sixteen lanes per row, the tail of the row through a masked load. */
static void dot_tile(float *restrict out, const float *const *q, int rows, const float *restrict k, int64_t d) {
    const float *q0 = q[0], *q1 = rows > 1 ? q[1] : q0, *q2 = rows > 2 ? q[2] : q0, *q3 = rows > 3 ? q[3] : q0;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t e = 0;
    for (; e + 16 <= d; e += 16) {
        __m512 ke = _mm512_loadu_ps(k + e);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q0 + e), ke, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q1 + e), ke, a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(q2 + e), ke, a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(q3 + e), ke, a3);
    }
    if (e < d) {
        __mmask16 m = (__mmask16)((1u << (d - e)) - 1);
        __m512 ke = _mm512_maskz_loadu_ps(m, k + e);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q0 + e), ke, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q1 + e), ke, a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q2 + e), ke, a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q3 + e), ke, a3);
    }
    float s[ATT_TILE] = {_mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a2),
                         _mm512_reduce_add_ps(a3)};
    for (int r = 0; r < rows; r++) out[r] = s[r];
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
static float sum_lanes(__m256 a) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}
/* AVX2: eight lanes per row, the tail of the row added one element at a time. */
static void dot_tile(float *restrict out, const float *const *q, int rows, const float *restrict k, int64_t d) {
    const float *q0 = q[0], *q1 = rows > 1 ? q[1] : q0, *q2 = rows > 2 ? q[2] : q0, *q3 = rows > 3 ? q[3] : q0;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t e = 0;
    for (; e + 8 <= d; e += 8) {
        __m256 ke = _mm256_loadu_ps(k + e);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q0 + e), ke, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q1 + e), ke, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q2 + e), ke, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q3 + e), ke, a3);
    }
    float s[ATT_TILE] = {sum_lanes(a0), sum_lanes(a1), sum_lanes(a2), sum_lanes(a3)};
    for (; e < d; e++)
        for (int r = 0; r < ATT_TILE; r++) s[r] += (r == 0 ? q0 : r == 1 ? q1 : r == 2 ? q2 : q3)[e] * k[e];
    for (int r = 0; r < rows; r++) out[r] = s[r];
}
#elif defined(__ARM_NEON) && defined(__ARM_FEATURE_FMA) && defined(__aarch64__)
#include <arm_neon.h>
/* NEON: four lanes per row, the tail of the row added one element at a time. */
static void dot_tile(float *restrict out, const float *const *q, int rows, const float *restrict k, int64_t d) {
    const float *q0 = q[0], *q1 = rows > 1 ? q[1] : q0, *q2 = rows > 2 ? q[2] : q0, *q3 = rows > 3 ? q[3] : q0;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t e = 0;
    for (; e + 4 <= d; e += 4) {
        float32x4_t ke = vld1q_f32(k + e);
        a0 = vfmaq_f32(a0, vld1q_f32(q0 + e), ke);
        a1 = vfmaq_f32(a1, vld1q_f32(q1 + e), ke);
        a2 = vfmaq_f32(a2, vld1q_f32(q2 + e), ke);
        a3 = vfmaq_f32(a3, vld1q_f32(q3 + e), ke);
    }
    float s[ATT_TILE] = {vaddvq_f32(a0), vaddvq_f32(a1), vaddvq_f32(a2), vaddvq_f32(a3)};
    for (; e < d; e++)
        for (int r = 0; r < ATT_TILE; r++) s[r] += (r == 0 ? q0 : r == 1 ? q1 : r == 2 ? q2 : q3)[e] * k[e];
    for (int r = 0; r < rows; r++) out[r] = s[r];
}
#else
/* Portable: each lane of p0..p3 sums every eighth product, so the compiler may vectorise the loop
 * (it may not reorder the additions of one running sum). */
static void dot_tile(float *restrict out, const float *const *q, int rows, const float *restrict k, int64_t d) {
    const float *q0 = q[0], *q1 = rows > 1 ? q[1] : q0, *q2 = rows > 2 ? q[2] : q0, *q3 = rows > 3 ? q[3] : q0;
    float p0[8] = {0}, p1[8] = {0}, p2[8] = {0}, p3[8] = {0};
    int64_t whole = d - d % 8;
    for (int64_t e = 0; e < whole; e += 8)
        for (int u = 0; u < 8; u++) {
            float ke = k[e + u];
            p0[u] += q0[e + u] * ke;
            p1[u] += q1[e + u] * ke;
            p2[u] += q2[e + u] * ke;
            p3[u] += q3[e + u] * ke;
        }
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int64_t e = whole; e < d; e++) {
        s0 += q0[e] * k[e];
        s1 += q1[e] * k[e];
        s2 += q2[e] * k[e];
        s3 += q3[e] * k[e];
    }
    for (int u = 0; u < 8; u++) {
        s0 += p0[u];
        s1 += p1[u];
        s2 += p2[u];
        s3 += p3[u];
    }
    out[0] = s0;
    if (rows > 1) out[1] = s1;
    if (rows > 2) out[2] = s2;
    if (rows > 3) out[3] = s3;
}

#endif

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
 * Query rows are taken in tiles of ATT_TILE, keys in blocks of ATT_BLOCK: the tile's scores for a
 * block go to the stack (dot_tile, each key row read once for the tile), each row's block maximum
 * updates its running maximum (rescaling its partial output and sum when it grows), then the block's
 * weights are added into the output rows, which serve as the accumulators; each value row is read
 * once for the tile. A row's keys past its own bound (causal, mask length, nonpad) score -inf. A row with every key masked has
 * a zero sum and gives zeros, as ONNX specifies (and as the exporters' NaN guard after a plain
 * softmax gives); NaN scores give NaN. */
XF_API void xf_attention(float *restrict y, const float *restrict q, const float *restrict k,
                         const float *restrict v, const float *restrict past_k, const float *restrict past_v,
                         const float *restrict mask, const uint8_t *restrict bmask, const int64_t *restrict nonpad,
                         const int64_t *restrict dims, const int64_t *restrict q_strides,
                         const int64_t *restrict k_strides, const int64_t *restrict v_strides,
                         const int64_t *restrict y_strides, const int64_t *restrict mask_strides, float scale,
                         float softcap) {
    float w[ATT_TILE][ATT_BLOCK]; /* scores, then weights, of one block of keys for each row of the tile */
    float max[ATT_TILE], sum[ATT_TILE], s[ATT_TILE];
    const float *qi[ATT_TILE];
    float *yi[ATT_TILE];
    int64_t n[ATT_TILE], mrow[ATT_TILE];
    int plain = !mask && !bmask && !(softcap > 0.0f); /* scores need only the scale and the bound n */
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
                for (int64_t i0 = 0; i0 < dims[S_LEN]; i0 += ATT_TILE) {
                    int rows = dims[S_LEN] - i0 < ATT_TILE ? (int)(dims[S_LEN] - i0) : ATT_TILE;
                    int64_t most = 0; /* the keys any row of the tile reads */
                    for (int r = 0; r < rows; r++) {
                        int64_t i = i0 + r;
                        qi[r] = q + b * q_strides[0] + h * q_strides[1] + i * q_strides[2];
                        yi[r] = y + b * y_strides[0] + h * y_strides[1] + i * y_strides[2];
                        mrow[r] = b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2];
                        n[r] = dims[L_LEN]; /* keys past n are masked */
                        if (dims[CAUSAL] && n[r] > i + 1) n[r] = i + 1;
                        if ((mask || bmask) && n[r] > dims[MASK_LEN]) n[r] = dims[MASK_LEN];
                        if (nonpad && n[r] > nonpad[b]) n[r] = nonpad[b] > 0 ? nonpad[b] : 0;
                        most = n[r] > most ? n[r] : most;
                        max[r] = -INFINITY;
                        sum[r] = 0.0f;
                        for (int64_t e = 0; e < dims[DV]; e++) yi[r][e] = 0.0f;
                    }
                    for (int64_t j0 = 0; j0 < most; j0 += ATT_BLOCK) {
                        int64_t nb = most - j0 < ATT_BLOCK ? most - j0 : ATT_BLOCK;
                        for (int64_t t = 0; t < nb; t++) {
                            int64_t j = j0 + t;
                            const float *kj = j < dims[PAST] ? pk + j * dims[D] : kh + (j - dims[PAST]) * k_strides[2];
                            dot_tile(s, qi, rows, kj, dims[D]);
                            for (int r = 0; r < rows && plain; r++) w[r][t] = j < n[r] ? scale * s[r] : -INFINITY;
                            for (int r = 0; r < rows && !plain; r++) {
                                float sc = j < n[r] ? scale * s[r] : -INFINITY;
                                if (mask && j < n[r]) sc += mask[mrow[r] + j * mask_strides[3]];
                                if (bmask && j < n[r] && !bmask[mrow[r] + j * mask_strides[3]]) sc = -INFINITY;
                                if (softcap > 0.0f && sc != -INFINITY) sc = softcap * tanhf(sc / softcap);
                                w[r][t] = sc;
                            }
                        }
                        for (int r = 0; r < rows; r++) {
                            float bmax = -INFINITY;
                            for (int64_t t = 0; t < nb; t++) bmax = w[r][t] > bmax ? w[r][t] : bmax;
                            if (bmax == -INFINITY) { /* the whole block is masked for this row */
                                for (int64_t t = 0; t < nb; t++) w[r][t] = 0.0f;
                                continue;
                            }
                            if (bmax > max[r]) {
                                float c = expf(max[r] - bmax); /* 0 for the first block: max is -inf */
                                sum[r] *= c;
                                for (int64_t e = 0; e < dims[DV]; e++) yi[r][e] *= c;
                                max[r] = bmax;
                            }
                            /* two loops: the first vectorises, the sum's order is fixed */
                            for (int64_t t = 0; t < nb; t++) w[r][t] = exp_nonpositive(w[r][t] - max[r]);
                            for (int64_t t = 0; t < nb; t++) sum[r] += w[r][t];
                        }
                        /* each value row, once loaded, is added into every row of the tile */
                        for (int64_t t = 0; t < nb; t++) {
                            int64_t j = j0 + t;
                            const float *vj = j < dims[PAST] ? pv + j * dims[DV] : vh + (j - dims[PAST]) * v_strides[2];
                            for (int r = 0; r < rows; r++) {
                                float p = w[r][t], *yr = yi[r];
                                for (int64_t e = 0; e < dims[DV]; e++) yr[e] += p * vj[e];
                            }
                        }
                    }
                    for (int r = 0; r < rows; r++) {
                        float inv = sum[r] == 0.0f ? 0.0f : 1.0f / sum[r]; /* every key masked: the row stays 0 */
                        for (int64_t e = 0; e < dims[DV]; e++) yi[r][e] *= inv;
                    }
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
