/* test_attention_kernel.c — the fused attention kernel (xf_attention in runtime/attention.c) against
 * a plain attention written here that builds every score row and sums in double.
 *
 * The kernel takes query rows in tiles and keys in blocks, so the shapes are chosen to reach every
 * edge of that: query and key counts that are not multiples of the tile or the block, one query
 * row, a head width that is not a multiple of the vector width, and every feature the kernel has:
 * causal masking, float and bool masks (broadcast and full, shorter than the keys), padding counts
 * (nonpad), grouped and tiled K/V heads, a KV cache in front of the new keys, softcap, and both the
 * [B, H, S, D] and [B, S, H*D] layouts. Every output must be within a relative tolerance of the
 * reference, and nothing past the end of y may be written.
 *
 * Like test_gemm.c, the file is built with the library's flags (the portable path) and again for
 * the vector instructions the machine runs (tests/CMakeLists.txt), so it is a plain program: it
 * exits 1 and names the case on the first mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels.h"

#define GUARD 64 /* elements past the end of y that must stay untouched */
#define SENTINEL 12345.0f

static uint32_t seed = 7;
static float random_value(void) { /* uniform in [-1, 1), the same sequence on every machine */
    seed = seed * 1664525u + 1013904223u;
    return (float)(seed >> 8) / 8388608.0f - 1.0f;
}

static float *random_array(int64_t count, float spread) {
    float *x = malloc((size_t)(count ? count : 1) * sizeof(float));
    for (int64_t i = 0; i < count; i++) x[i] = spread * random_value();
    return x;
}

typedef struct {
    int64_t batch, kv_heads, group, s_len, past, cur, d, dv;
    int causal, grouped, mask_kind; /* mask_kind: 0 none, 1 float, 2 bool */
    int mask_broadcast, mask_short, use_nonpad, seq_major; /* seq_major: [B, S, H*D] layout */
    float softcap;
} attn_case;

/* strides (batch, head, row) of a tensor of `heads` heads of `rows` rows of `width` elements */
static void layout(int64_t *strides, int seq_major, int64_t heads, int64_t rows, int64_t width) {
    strides[0] = heads * rows * width;
    strides[1] = seq_major ? width : rows * width;
    strides[2] = seq_major ? heads * width : width;
}

static int run_case(const attn_case *c) {
    int64_t heads = c->kv_heads * c->group, l_len = c->past + c->cur;
    int64_t mask_len = c->mask_short && l_len > 1 ? l_len - 1 : l_len;
    int64_t qs[3], ks[3], vs[3], ys[3], ms[4];
    layout(qs, c->seq_major, heads, c->s_len, c->d);
    layout(ks, c->seq_major, c->kv_heads, c->cur, c->d);
    layout(vs, c->seq_major, c->kv_heads, c->cur, c->dv);
    layout(ys, c->seq_major, heads, c->s_len, c->dv);
    ms[3] = 1;
    ms[2] = mask_len;
    ms[1] = c->mask_broadcast ? 0 : c->s_len * mask_len;
    ms[0] = c->mask_broadcast ? 0 : heads * c->s_len * mask_len;
    int64_t mask_count = c->mask_broadcast ? c->s_len * mask_len : c->batch * heads * c->s_len * mask_len;
    float *q = random_array(c->batch * heads * c->s_len * c->d, 2.0f);
    float *k = random_array(c->batch * c->kv_heads * c->cur * c->d, 2.0f);
    float *v = random_array(c->batch * c->kv_heads * c->cur * c->dv, 1.0f);
    float *pk = c->past ? random_array(c->batch * c->kv_heads * c->past * c->d, 2.0f) : NULL;
    float *pv = c->past ? random_array(c->batch * c->kv_heads * c->past * c->dv, 1.0f) : NULL;
    float *mask = c->mask_kind == 1 ? random_array(mask_count, 3.0f) : NULL;
    uint8_t *bmask = NULL;
    if (c->mask_kind == 2) {
        bmask = malloc((size_t)(mask_count ? mask_count : 1));
        for (int64_t i = 0; i < mask_count; i++) bmask[i] = random_value() > -0.4f; /* some rows lose every key */
    }
    int64_t nonpad[4];
    for (int64_t b = 0; b < c->batch; b++) nonpad[b] = l_len - (b * 3) % (l_len + 1);
    int64_t count = c->batch * heads * c->s_len * c->dv;
    float *y = malloc((size_t)(count + GUARD) * sizeof(float));
    for (int64_t i = 0; i < count + GUARD; i++) y[i] = SENTINEL;
    int64_t dims[11] = {c->batch, c->kv_heads, c->group, c->s_len, l_len, c->past, c->d, c->dv,
                        mask_len, c->causal, c->grouped};
    float scale = 1.0f / sqrtf((float)c->d);
    xf_attention(y, q, k, v, pk, pv, mask, bmask, c->use_nonpad ? nonpad : NULL, dims, qs, ks, vs, ys, ms, scale,
                 c->softcap);

    int bad = 0;
    double *score = malloc((size_t)(l_len ? l_len : 1) * sizeof(double));
    for (int64_t b = 0; b < c->batch && !bad; b++)
        for (int64_t h = 0; h < heads && !bad; h++) {
            int64_t g = c->grouped ? h / c->group : h % c->kv_heads;
            for (int64_t i = 0; i < c->s_len && !bad; i++) {
                const float *qi = q + b * qs[0] + h * qs[1] + i * qs[2];
                double top = -INFINITY;
                for (int64_t j = 0; j < l_len; j++) {
                    const float *kj = j < c->past ? pk + ((b * c->kv_heads + g) * c->past + j) * c->d
                                                  : k + b * ks[0] + g * ks[1] + (j - c->past) * ks[2];
                    int64_t at = b * ms[0] + h * ms[1] + i * ms[2] + j;
                    int kept = j < mask_len || c->mask_kind == 0;
                    if (c->causal && j > i) kept = 0;
                    if (c->use_nonpad && j >= nonpad[b]) kept = 0;
                    if (kept && bmask && !bmask[at]) kept = 0;
                    double s = 0;
                    for (int64_t e = 0; e < c->d; e++) s += (double)qi[e] * kj[e];
                    s *= scale;
                    if (kept && mask) s += mask[at];
                    if (kept && c->softcap > 0) s = c->softcap * tanh(s / c->softcap);
                    score[j] = kept ? s : -INFINITY;
                    top = score[j] > top ? score[j] : top;
                }
                double total = 0;
                for (int64_t j = 0; j < l_len; j++) {
                    score[j] = top == -INFINITY ? 0 : exp(score[j] - top);
                    total += score[j];
                }
                const float *yi = y + b * ys[0] + h * ys[1] + i * ys[2];
                for (int64_t e = 0; e < c->dv && !bad; e++) {
                    double want = 0, size = 0;
                    for (int64_t j = 0; j < l_len; j++) {
                        const float *vj = j < c->past ? pv + ((b * c->kv_heads + g) * c->past + j) * c->dv
                                                      : v + b * vs[0] + g * vs[1] + (j - c->past) * vs[2];
                        want += score[j] * vj[e];
                        size += score[j] * fabs(vj[e]);
                    }
                    if (total > 0) want /= total, size /= total;
                    if (!(fabs(yi[e] - want) <= 1e-5 + 2e-5 * size)) {
                        printf("y[b=%lld h=%lld i=%lld e=%lld] = %g, want %g\n", (long long)b, (long long)h,
                               (long long)i, (long long)e, yi[e], want);
                        bad = 1;
                    }
                }
            }
        }
    for (int64_t i = count; i < count + GUARD && !bad; i++)
        if (y[i] != SENTINEL) printf("y written past its end at %lld\n", (long long)(i - count)), bad = 1;
    free(score), free(q), free(k), free(v), free(pk), free(pv), free(mask), free(bmask), free(y);
    return bad;
}

int main(void) {
    /* batch, kv_heads, group, s_len, past, cur, d, dv, causal, grouped, mask_kind,
     * mask_broadcast, mask_short, use_nonpad, seq_major, softcap */
    static const attn_case cases[] = {
        {1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {1, 2, 1, 7, 0, 7, 16, 16, 1, 0, 0, 0, 0, 0, 0, 0},
        {1, 2, 2, 128, 0, 128, 64, 64, 1, 1, 0, 0, 0, 0, 0, 0},
        {1, 1, 3, 33, 0, 33, 13, 13, 1, 1, 0, 0, 0, 0, 1, 0},
        {2, 2, 2, 5, 0, 70, 24, 20, 0, 0, 1, 0, 0, 0, 0, 0},
        {2, 1, 2, 9, 0, 65, 8, 8, 0, 1, 1, 1, 1, 0, 1, 0},
        {2, 2, 1, 6, 0, 37, 9, 17, 0, 0, 2, 0, 0, 0, 0, 0},
        {1, 2, 2, 31, 0, 31, 32, 32, 1, 1, 2, 1, 1, 0, 1, 0},
        {3, 1, 1, 4, 0, 40, 16, 16, 0, 0, 0, 0, 0, 1, 0, 0},
        {1, 2, 2, 3, 45, 3, 32, 32, 0, 1, 0, 0, 0, 0, 0, 0},
        {1, 1, 2, 1, 99, 1, 64, 64, 0, 1, 1, 0, 0, 0, 1, 0},
        {2, 2, 1, 5, 20, 5, 11, 11, 0, 0, 2, 0, 1, 1, 0, 0},
        {1, 2, 1, 21, 0, 21, 16, 16, 1, 0, 0, 0, 0, 0, 0, 5.0f},
        {2, 1, 3, 10, 30, 10, 20, 12, 0, 1, 1, 0, 0, 1, 1, 2.0f},
        {1, 1, 1, 66, 0, 66, 8, 8, 1, 0, 2, 1, 0, 0, 0, 1.0f},
    };
    int count = (int)(sizeof cases / sizeof cases[0]);
    for (int n = 0; n < count; n++)
        if (run_case(&cases[n])) {
            printf("case %d failed\n", n);
            return 1;
        }
    printf("%d attention cases agree with the reference\n", count);
    return 0;
}
