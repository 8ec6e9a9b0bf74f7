/* math.c — runtime kernels that compute: matrix products, convolution, softmax, layer
 * normalisation, reductions and the cumulative sum.
 *
 * xfc knows every shape at compile time, so each kernel is a plain loop nest whose bounds, strides
 * and pads come in as arguments; in model.c they are literals, and once the compiler inlines the
 * kernel the loops have constant bounds it can unroll and vectorise. The matrix product, where most
 * of a transformer's time goes, is the exception: it is blocked for the caches and computed in
 * register tiles, with SIMD bodies for the targets the C compiler is building for
 * (xf_matmul_blocked). Inner loops run over
 * contiguous memory wherever the layout allows. Arguments follow memcpy: outputs first, then
 * inputs, then sizes. Optional tensors may be NULL. Everything is float32, and sums accumulate in
 * float as onnxruntime does, except in the type-generic kernels (xf_reduce_op, xf_cumsum): they take
 * the element type as its ONNX number (dtype) and compute in that type, choosing it outside the
 * inner loop.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_matmul_blocked */
/* The matrix product under xf_matmul and xf_linear:
 *     y[m,n] = activation(a[m,k] @ B + bias[n])
 * where B is b[k,n] row-major, or with b_nk set b[n,k] (its transpose, read in place); bias may be
 * NULL; activation is numbered as in xf_linear (0 none). Rows of a and y are contiguous.
 *
 * The work is cut the way fast BLAS libraries cut it. The output is computed in tiles of MR rows by
 * NR columns, each held in registers for the whole of a KC-deep slice of the sum: a tile does
 * MR*NR multiply-adds for every MR + NR numbers it loads, which keeps the multipliers busy rather
 * than waiting on memory. B is copied ("packed") a KC x NR slice at a time into a small buffer on
 * the stack, row after row of NR contiguous numbers, so the tile reads it at unit stride whatever
 * b's layout (b_nk included) and the slice stays in the L1 cache while every row tile of a block
 * of a passes over it. a is read in place, MR rows at once. Blocks of MC rows of a keep the part of
 * a that a column strip sweeps in the L2 cache. The epilogue runs once per output tile, right after
 * its last slice, while the tile is in cache: the bias seeds the tile before the first slice, the
 * activation runs over it after the last.
 *
 * The packed slice of strip j (columns j*NR ...) is rows p0 .. p0+KC of the K x NR panel holding
 * those columns; stored one strip after another, the panels are the layout a weight could be given
 * once at compile time so that nothing is packed at run time.
 *
 * MR, NR and KC depend on the vector registers, chosen with the C compiler's own target macros:
 * AVX-512 (8x32: 16 accumulators of 16 floats), AVX2 with FMA (6x16: 12 of 8), NEON with FMA
 * (8x8: 16 of 4) and portable C (4x8), the reference, which compilers vectorise on their own and
 * whose stack use stays within a few KB for microcontrollers (the packed slice is 2 KB). With SIMD
 * the slice, KC*NR floats, is 8 or 16 KB: half a typical L1 cache. AVX-512 is taken over AVX2 where
 * both are there: on Zen 4, whose AVX-512 units are 256 bits wide, it is still a little faster
 * (bench/gemm.sh). */
#if defined(__AVX512F__)
#include <immintrin.h>
#define XF_MATMUL_MR 8
#define XF_MATMUL_NR 32
#define XF_MATMUL_KC 128
typedef __m512 xf_matmul_vec; /* typed so that the packed slice is aligned for vector loads */
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define XF_MATMUL_MR 6
#define XF_MATMUL_NR 16
#define XF_MATMUL_KC 256
typedef __m256 xf_matmul_vec;
#elif defined(__ARM_NEON) && defined(__ARM_FEATURE_FMA)
#include <arm_neon.h>
#define XF_MATMUL_MR 8
#define XF_MATMUL_NR 8
#define XF_MATMUL_KC 256
typedef float32x4_t xf_matmul_vec;
#else
#define XF_MATMUL_MR 4
#define XF_MATMUL_NR 8
#define XF_MATMUL_KC 64
typedef float xf_matmul_vec;
#endif
/* bytes of a that one block of rows may span: about half of a small L2 cache */
#define XF_MATMUL_MC_BYTES (512 * 1024)

/* Copies rows p0 .. p0+kc of columns j0 .. j0+cols of B into panel, NR numbers a row, zeros past
 * cols so that a tile at the right edge computes nothing from beyond n. Each loop nest reads b
 * along its contiguous rows. */
static void xf_matmul_pack(float *restrict panel, const float *restrict b, int64_t k, int64_t n, int64_t b_nk,
                           int64_t p0, int64_t kc, int64_t j0, int64_t cols) {
    if (b_nk) {
        for (int64_t j = 0; j < cols; j++) {
            const float *column = b + (j0 + j) * k + p0; /* column j of B is row j0 + j of b */
            for (int64_t p = 0; p < kc; p++) panel[p * XF_MATMUL_NR + j] = column[p];
        }
    } else {
        for (int64_t p = 0; p < kc; p++)
            for (int64_t j = 0; j < cols; j++) panel[p * XF_MATMUL_NR + j] = b[(p0 + p) * n + j0 + j];
    }
    for (int64_t p = 0; cols < XF_MATMUL_NR && p < kc; p++)
        for (int64_t j = cols; j < XF_MATMUL_NR; j++) panel[p * XF_MATMUL_NR + j] = 0.0f;
}

/* One tile: c[MR x NR] (row stride ldc) = (accumulate ? c : 0) + a[MR x kc] @ panel[kc x NR], a's
 * rows lda apart. Only the first `rows` rows of a exist: the others repeat the last one, and the
 * caller drops what they give. Each path below computes exactly this. */
#if defined(__AVX512F__)
/* Two vectors of 16 per row and 8 rows: 16 accumulators, leaving registers for the two vectors of
 * the panel row and the broadcast element of a. */
static void xf_matmul_tile(float *restrict c, int64_t ldc, const float *restrict a, int64_t lda, int64_t rows,
                           const float *restrict panel, int64_t kc, int accumulate) {
#define XF_MATMUL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define XF_MATMUL_INIT(r)                                                                       \
    const float *a##r = a + (r < rows ? r : rows - 1) * lda;                                    \
    __m512 lo##r = accumulate ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();             \
    __m512 hi##r = accumulate ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
#define XF_MATMUL_FMA(r)                                \
    {                                                   \
        __m512 av = _mm512_set1_ps(a##r[p]);            \
        lo##r = _mm512_fmadd_ps(av, b_lo, lo##r);       \
        hi##r = _mm512_fmadd_ps(av, b_hi, hi##r);       \
    }
#define XF_MATMUL_STORE(r)                      \
    _mm512_storeu_ps(c + r * ldc, lo##r);       \
    _mm512_storeu_ps(c + r * ldc + 16, hi##r);
    XF_MATMUL_ROWS(XF_MATMUL_INIT)
    for (int64_t p = 0; p < kc; p++) {
        __m512 b_lo = _mm512_load_ps(panel + p * 32), b_hi = _mm512_load_ps(panel + p * 32 + 16);
        XF_MATMUL_ROWS(XF_MATMUL_FMA)
    }
    XF_MATMUL_ROWS(XF_MATMUL_STORE)
}
#elif defined(__AVX2__) && defined(__FMA__)
/* Two vectors of 8 per row and 6 rows: 12 of the 16 registers accumulate, two hold the panel row,
 * one the broadcast element of a. */
static void xf_matmul_tile(float *restrict c, int64_t ldc, const float *restrict a, int64_t lda, int64_t rows,
                           const float *restrict panel, int64_t kc, int accumulate) {
#define XF_MATMUL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define XF_MATMUL_INIT(r)                                                                       \
    const float *a##r = a + (r < rows ? r : rows - 1) * lda;                                    \
    __m256 lo##r = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();             \
    __m256 hi##r = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
#define XF_MATMUL_FMA(r)                                \
    {                                                   \
        __m256 av = _mm256_broadcast_ss(a##r + p);      \
        lo##r = _mm256_fmadd_ps(av, b_lo, lo##r);       \
        hi##r = _mm256_fmadd_ps(av, b_hi, hi##r);       \
    }
#define XF_MATMUL_STORE(r)                      \
    _mm256_storeu_ps(c + r * ldc, lo##r);       \
    _mm256_storeu_ps(c + r * ldc + 8, hi##r);
    XF_MATMUL_ROWS(XF_MATMUL_INIT)
    for (int64_t p = 0; p < kc; p++) {
        __m256 b_lo = _mm256_load_ps(panel + p * 16), b_hi = _mm256_load_ps(panel + p * 16 + 8);
        XF_MATMUL_ROWS(XF_MATMUL_FMA)
    }
    XF_MATMUL_ROWS(XF_MATMUL_STORE)
}
#elif defined(__ARM_NEON) && defined(__ARM_FEATURE_FMA)
/* Two vectors of 4 per row and 8 rows: 16 of the 32 registers accumulate; the element of a is
 * loaded straight into all four lanes (ld1r). */
static void xf_matmul_tile(float *restrict c, int64_t ldc, const float *restrict a, int64_t lda, int64_t rows,
                           const float *restrict panel, int64_t kc, int accumulate) {
#define XF_MATMUL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define XF_MATMUL_INIT(r)                                                                       \
    const float *a##r = a + (r < rows ? r : rows - 1) * lda;                                    \
    float32x4_t lo##r = accumulate ? vld1q_f32(c + r * ldc) : vdupq_n_f32(0.0f);                \
    float32x4_t hi##r = accumulate ? vld1q_f32(c + r * ldc + 4) : vdupq_n_f32(0.0f);
#define XF_MATMUL_FMA(r)                                \
    {                                                   \
        float32x4_t av = vld1q_dup_f32(a##r + p);       \
        lo##r = vfmaq_f32(lo##r, av, b_lo);             \
        hi##r = vfmaq_f32(hi##r, av, b_hi);             \
    }
#define XF_MATMUL_STORE(r)                  \
    vst1q_f32(c + r * ldc, lo##r);          \
    vst1q_f32(c + r * ldc + 4, hi##r);
    XF_MATMUL_ROWS(XF_MATMUL_INIT)
    for (int64_t p = 0; p < kc; p++) {
        float32x4_t b_lo = vld1q_f32(panel + p * 8), b_hi = vld1q_f32(panel + p * 8 + 4);
        XF_MATMUL_ROWS(XF_MATMUL_FMA)
    }
    XF_MATMUL_ROWS(XF_MATMUL_STORE)
}
#else
/* The reference: each row of the tile is an array of NR accumulators, updated by a loop of fixed
 * length that compilers turn into vector multiply-adds (SSE2 on any x86-64, even at -O2); the rows
 * are written out one by one because compilers keep a local array in registers only after they
 * have unrolled every loop over it, which -O2 does not do for a loop over rows. */
static void xf_matmul_tile(float *restrict c, int64_t ldc, const float *restrict a, int64_t lda, int64_t rows,
                           const float *restrict panel, int64_t kc, int accumulate) {
#define XF_MATMUL_ROWS(X) X(0) X(1) X(2) X(3)
#define XF_MATMUL_INIT(r)                                                                       \
    const float *a##r = a + (r < rows ? r : rows - 1) * lda;                                    \
    float acc##r[XF_MATMUL_NR];                                                                 \
    for (int j = 0; j < XF_MATMUL_NR; j++) acc##r[j] = accumulate ? c[r * ldc + j] : 0.0f;
#define XF_MATMUL_FMA(r)                                                        \
    {                                                                           \
        float av = a##r[p];                                                     \
        for (int j = 0; j < XF_MATMUL_NR; j++) acc##r[j] += av * bp[j];         \
    }
#define XF_MATMUL_STORE(r) \
    for (int j = 0; j < XF_MATMUL_NR; j++) c[r * ldc + j] = acc##r[j];
    XF_MATMUL_ROWS(XF_MATMUL_INIT)
    for (int64_t p = 0; p < kc; p++) {
        const float *bp = panel + p * XF_MATMUL_NR;
        XF_MATMUL_ROWS(XF_MATMUL_FMA)
    }
    XF_MATMUL_ROWS(XF_MATMUL_STORE)
}
#endif

/* The epilogue's activation over a finished tile: 0 none, 1 Relu, 2 Gelu (erf), 3 Gelu (tanh),
 * 4 SiLU, 5 Sigmoid, 6 Tanh. */
static void xf_matmul_activate(float *c, int64_t ldc, int64_t rows, int64_t cols, int64_t activation) {
    for (int64_t r = 0; r < rows; r++) {
        float *y = c + r * ldc;
        switch (activation) {
        case 1: for (int64_t j = 0; j < cols; j++) y[j] = y[j] > 0.0f ? y[j] : 0.0f; break;
        case 2: for (int64_t j = 0; j < cols; j++) y[j] = 0.5f * y[j] * (1.0f + erff(y[j] * 0.707106781f)); break;
        case 3:
            for (int64_t j = 0; j < cols; j++) {
                float v = y[j];
                y[j] = 0.5f * v * (1.0f + tanhf(0.797884561f * (v + 0.044715f * v * v * v)));
            }
            break;
        case 4: for (int64_t j = 0; j < cols; j++) y[j] = y[j] / (1.0f + expf(-y[j])); break;
        case 5: for (int64_t j = 0; j < cols; j++) y[j] = 1.0f / (1.0f + expf(-y[j])); break;
        case 6: for (int64_t j = 0; j < cols; j++) y[j] = tanhf(y[j]); break;
        default: break;
        }
    }
}

/* Fewer rows than a tile (a decode step has one): packing B would cost more than the product, so
 * b is read once, in its own layout: as one dot product per output with a row of b[n,k], or row by
 * row of b[k,n] into every row of y, in runs of 16 that compilers vectorise even at -O2. */
static void xf_matmul_few_rows(float *restrict y, const float *restrict a, const float *restrict b,
                               const float *restrict bias, int64_t m, int64_t k, int64_t n, int64_t b_nk) {
    if (b_nk) {
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < m; i++) y[i * n + j] = (bias ? bias[j] : 0.0f) + xf_dot(a + i * k, b + j * k, k);
        return;
    }
    int64_t whole = n - n % 16;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) y[i * n + j] = bias ? bias[j] : 0.0f;
    for (int64_t p = 0; p < k; p++)
        for (int64_t i = 0; i < m; i++) {
            float av = a[i * k + p], *yi = y + i * n;
            const float *bp = b + p * n;
            for (int64_t j = 0; j < whole; j += 16)
                for (int u = 0; u < 16; u++) yi[j + u] += av * bp[j + u];
            for (int64_t j = whole; j < n; j++) yi[j] += av * bp[j];
        }
}

XF_API void xf_matmul_blocked(float *restrict y, const float *restrict a, const float *restrict b,
                              const float *restrict bias, int64_t m, int64_t k, int64_t n, int64_t b_nk,
                              int64_t activation) {
    enum { MR = XF_MATMUL_MR, NR = XF_MATMUL_NR, KC = XF_MATMUL_KC };
    xf_matmul_vec panel_store[KC * NR * sizeof(float) / sizeof(xf_matmul_vec)];
    float *panel = (float *)panel_store;
    float edge[MR * NR]; /* a tile at the bottom or right edge is computed here, then its part copied */
    if (m < MR) {
        xf_matmul_few_rows(y, a, b, bias, m, k, n, b_nk);
        if (activation) xf_matmul_activate(y, n, m, n, activation);
        return;
    }
    /* rows of a per block: as many as fit XF_MATMUL_MC_BYTES, in blocks of about equal size */
    int64_t blocks = (m * k * (int64_t)sizeof(float)) / XF_MATMUL_MC_BYTES + 1;
    int64_t mc = ((m + blocks - 1) / blocks + MR - 1) / MR * MR;
    for (int64_t i_block = 0; i_block < m; i_block += mc) {
        int64_t i_end = i_block + mc < m ? i_block + mc : m;
        for (int64_t j0 = 0; j0 < n; j0 += NR) {
            int64_t cols = n - j0 < NR ? n - j0 : NR;
            /* k = 0 still takes one (empty) slice, which writes the bias and activation */
            for (int64_t p0 = 0; p0 < k || p0 == 0; p0 += KC) {
                int64_t kc = k - p0 < KC ? k - p0 : KC;
                int first = p0 == 0, last = p0 + kc >= k;
                xf_matmul_pack(panel, b, k, n, b_nk, p0, kc, j0, cols);
                for (int64_t i0 = i_block; i0 < i_end; i0 += MR) {
                    int64_t rows = i_end - i0 < MR ? i_end - i0 : MR;
                    float *c = y + i0 * n + j0;
                    const float *a_tile = a + i0 * k + p0;
                    if (rows == MR && cols == NR) {
                        for (int64_t r = 0; first && bias && r < MR; r++)
                            for (int64_t j = 0; j < NR; j++) c[r * n + j] = bias[j0 + j];
                        xf_matmul_tile(c, n, a_tile, k, rows, panel, kc, !first || bias);
                    } else {
                        /* it starts from what c holds (a later slice), else the bias or zero; the
                         * rows and columns past the edge start from zero and are dropped */
                        for (int64_t r = 0; r < MR; r++)
                            for (int64_t j = 0; j < NR; j++) {
                                int inside = r < rows && j < cols;
                                float start = inside && bias ? bias[j0 + j] : 0.0f;
                                edge[r * NR + j] = inside && !first ? c[r * n + j] : start;
                            }
                        xf_matmul_tile(edge, NR, a_tile, k, rows, panel, kc, 1);
                        for (int64_t r = 0; r < rows; r++)
                            for (int64_t j = 0; j < cols; j++) c[r * n + j] = edge[r * NR + j];
                    }
                    if (last && activation) xf_matmul_activate(c, n, rows, cols, activation);
                }
            }
        }
    }
}

/* @kernel xf_matmul */
/* y[b] = a[b] @ b[b] for `batch` matrices: a is [m,k], b is [k,n], y is [m,n]. Consecutive a and b
 * matrices lie a_step and b_step elements apart; a step of 0 reuses one matrix for the whole batch
 * (broadcasting). Each product is one xf_matmul_blocked. */
XF_API void xf_matmul(float *restrict y, const float *restrict a, const float *restrict b, int64_t batch,
                      int64_t m, int64_t k, int64_t n, int64_t a_step, int64_t b_step) {
    for (int64_t t = 0; t < batch; t++) xf_matmul_blocked(y + t * m * n, a + t * a_step, b + t * b_step, NULL, m, k, n, 0, 0);
}

/* @kernel xf_gemm */
/* y[m,n] = alpha * A @ B + beta * C, Gemm's formula. Element (i,p) of A is
 * a[i*a_stride_m + p*a_stride_k] and element (p,j) of B is b[p*b_stride_k + j*b_stride_n], so
 * transposed operands need no copy; C (optional) is read as c[i*c_stride_m + j*c_stride_n], with 0
 * strides along the dimensions it broadcasts over. When B's rows are contiguous the loop runs i-k-j
 * like xf_matmul; when B is transposed each output is a dot product of two contiguous rows instead. */
XF_API void xf_gemm(float *restrict y, const float *restrict a, const float *restrict b, const float *restrict c,
                    int64_t m, int64_t k, int64_t n, int64_t a_stride_m, int64_t a_stride_k, int64_t b_stride_k,
                    int64_t b_stride_n, float alpha, float beta, int64_t c_stride_m, int64_t c_stride_n) {
    for (int64_t i = 0; i < m; i++) {
        float *yi = y + i * n;
        if (b_stride_n == 1) {
            for (int64_t j = 0; j < n; j++) yi[j] = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                float av = a[i * a_stride_m + p * a_stride_k];
                const float *bp = b + p * b_stride_k;
                for (int64_t j = 0; j < n; j++) yi[j] += av * bp[j];
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                float sum = 0.0f;
                for (int64_t p = 0; p < k; p++) sum += a[i * a_stride_m + p * a_stride_k] * b[p * b_stride_k + j * b_stride_n];
                yi[j] = sum;
            }
        }
        for (int64_t j = 0; j < n; j++)
            yi[j] = alpha * yi[j] + (c ? beta * c[i * c_stride_m + j * c_stride_n] : 0.0f);
    }
}

/* @kernel xf_conv */
/* 2-D convolution, NCHW: x is [batch, c_in, in_h, in_w], wt is [c_out, c_in/groups, k_h, k_w], bias
 * (optional) is [c_out], y is [batch, c_out, out_h, out_w]. A 1-D convolution is the case
 * in_h = k_h = out_h = 1. Input row ih = r*stride_h + ki*dilation_h - pad_h and column
 * iw = c*stride_w + kj*dilation_w - pad_w feed output (r, c); positions outside the input are the
 * zero padding. For each weight the loop adds weight * input row to an output row, over the range of
 * columns that land inside the input, computed once per weight so the inner loop has no test and
 * runs contiguously when stride_w is 1. */
XF_API void xf_conv(float *restrict y, const float *restrict x, const float *restrict wt,
                    const float *restrict bias, int64_t batch, int64_t groups, int64_t c_in, int64_t in_h,
                    int64_t in_w, int64_t c_out, int64_t k_h, int64_t k_w, int64_t out_h, int64_t out_w,
                    int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dilation_h,
                    int64_t dilation_w) {
    int64_t cg_in = c_in / groups, cg_out = c_out / groups;
    for (int64_t bi = 0; bi < batch; bi++)
        for (int64_t oc = 0; oc < c_out; oc++) {
            float *yc = y + (bi * c_out + oc) * out_h * out_w;
            for (int64_t e = 0; e < out_h * out_w; e++) yc[e] = bias ? bias[oc] : 0.0f;
            for (int64_t ic = 0; ic < cg_in; ic++) {
                const float *xc = x + (bi * c_in + oc / cg_out * cg_in + ic) * in_h * in_w;
                const float *wc = wt + (oc * cg_in + ic) * k_h * k_w;
                for (int64_t ki = 0; ki < k_h; ki++)
                    for (int64_t kj = 0; kj < k_w; kj++) {
                        float wv = wc[ki * k_w + kj];
                        int64_t off = kj * dilation_w - pad_w; /* iw = c*stride_w + off */
                        int64_t c0 = off >= 0 ? 0 : (-off + stride_w - 1) / stride_w;
                        int64_t c1 = in_w - off <= 0 ? 0 : (in_w - off + stride_w - 1) / stride_w;
                        if (c1 > out_w) c1 = out_w;
                        for (int64_t r = 0; r < out_h; r++) {
                            int64_t ih = r * stride_h + ki * dilation_h - pad_h;
                            if (ih < 0 || ih >= in_h) continue;
                            const float *xr = xc + ih * in_w;
                            float *yr = yc + r * out_w;
                            for (int64_t c = c0; c < c1; c++) yr[c] += wv * xr[c * stride_w + off];
                        }
                    }
            }
        }
}

/* @kernel xf_softmax */
/* Softmax of x viewed as [outer, n, inner], along n. Subtracting the maximum keeps expf from
 * overflowing. A row of all -inf (or holding +inf or NaN) gives NaN, as onnxruntime does. */
XF_API void xf_softmax(float *restrict y, const float *restrict x, int64_t outer, int64_t n, int64_t inner) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xr = x + o * n * inner + i;
            float *yr = y + o * n * inner + i;
            float max = -INFINITY, sum = 0.0f;
            for (int64_t j = 0; j < n; j++) max = xr[j * inner] > max ? xr[j * inner] : max;
            for (int64_t j = 0; j < n; j++) {
                yr[j * inner] = expf(xr[j * inner] - max);
                sum += yr[j * inner];
            }
            float scale = 1.0f / sum;
            for (int64_t j = 0; j < n; j++) yr[j * inner] *= scale;
        }
}

/* @kernel xf_log_softmax */
/* log(softmax(x)) along n of [outer, n, inner], computed as x - max - log(sum(exp(x - max))) so that
 * neither the exponentials nor the logarithm overflow. */
XF_API void xf_log_softmax(float *restrict y, const float *restrict x, int64_t outer, int64_t n, int64_t inner) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xr = x + o * n * inner + i;
            float *yr = y + o * n * inner + i;
            float max = -INFINITY, sum = 0.0f;
            for (int64_t j = 0; j < n; j++) max = xr[j * inner] > max ? xr[j * inner] : max;
            for (int64_t j = 0; j < n; j++) sum += expf(xr[j * inner] - max);
            float log_sum = logf(sum);
            for (int64_t j = 0; j < n; j++) yr[j * inner] = xr[j * inner] - max - log_sum;
        }
}

/* @kernel xf_layer_norm */
/* Normalises each of `rows` rows of `cols` elements to zero mean and unit variance, then applies
 * scale and bias (optional), both of `cols` elements. The variance is taken around the mean in a
 * second pass rather than as E[x²] - E[x]², which loses precision when the mean is large.
 * mean and inv_std (optional, one per row) receive LayerNormalization's extra outputs. */
XF_API void xf_layer_norm(float *restrict y, float *restrict mean, float *restrict inv_std, const float *restrict x,
                          const float *restrict scale, const float *restrict bias, int64_t rows, int64_t cols,
                          float epsilon) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float sum = 0.0f, var = 0.0f;
        for (int64_t j = 0; j < cols; j++) sum += xr[j];
        float mu = sum / (float)cols;
        for (int64_t j = 0; j < cols; j++) var += (xr[j] - mu) * (xr[j] - mu);
        float rstd = 1.0f / sqrtf(var / (float)cols + epsilon);
        for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - mu) * rstd * scale[j] + (bias ? bias[j] : 0.0f);
        if (mean) mean[r] = mu;
        if (inv_std) inv_std[r] = rstd;
    }
}

/* @kernel xf_reduce_sum */
/* Sums x viewed as [outer, n1, mid, n2, inner] over n1 and n2, into y of [outer, mid, inner]. Any
 * set of reduced axes takes this form once neighbouring axes are merged, unless it falls into more
 * than two separate runs; usually n1 or n2 is 1. Walking x in memory order keeps the inner loop
 * contiguous. */
XF_API void xf_reduce_sum(float *restrict y, const float *restrict x, int64_t outer, int64_t n1, int64_t mid,
                          int64_t n2, int64_t inner) {
    for (int64_t e = 0; e < outer * mid * inner; e++) y[e] = 0.0f;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r1 = 0; r1 < n1; r1++)
            for (int64_t m = 0; m < mid; m++) {
                float *ym = y + (o * mid + m) * inner;
                for (int64_t r2 = 0; r2 < n2; r2++) {
                    const float *xr = x + (((o * n1 + r1) * mid + m) * n2 + r2) * inner;
                    for (int64_t i = 0; i < inner; i++) ym[i] += xr[i];
                }
            }
}

/* @kernel xf_reduce_mean */
/* The mean over n1 and n2 of [outer, n1, mid, n2, inner] (see xf_reduce_sum). An empty reduction
 * divides 0 by 0: NaN, as numpy gives. */
XF_API void xf_reduce_mean(float *restrict y, const float *restrict x, int64_t outer, int64_t n1, int64_t mid,
                           int64_t n2, int64_t inner) {
    xf_reduce_sum(y, x, outer, n1, mid, n2, inner);
    for (int64_t e = 0; e < outer * mid * inner; e++) y[e] /= (float)(n1 * n2);
}

/* @kernel xf_reduce_max */
/* The maximum over n1 and n2 of [outer, n1, mid, n2, inner] (see xf_reduce_sum). NaN wins, as in
 * numpy and in the Max op; an empty reduction gives -inf, as ONNX specifies. */
XF_API void xf_reduce_max(float *restrict y, const float *restrict x, int64_t outer, int64_t n1, int64_t mid,
                          int64_t n2, int64_t inner) {
    for (int64_t e = 0; e < outer * mid * inner; e++) y[e] = -INFINITY;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r1 = 0; r1 < n1; r1++)
            for (int64_t m = 0; m < mid; m++) {
                float *ym = y + (o * mid + m) * inner;
                for (int64_t r2 = 0; r2 < n2; r2++) {
                    const float *xr = x + (((o * n1 + r1) * mid + m) * n2 + r2) * inner;
                    for (int64_t i = 0; i < inner; i++) ym[i] = xr[i] > ym[i] || xr[i] != xr[i] ? xr[i] : ym[i];
                }
            }
}

/* @kernel xf_reduce_min */
/* The minimum over n1 and n2 of [outer, n1, mid, n2, inner]; xf_reduce_max mirrored (+inf when
 * empty). */
XF_API void xf_reduce_min(float *restrict y, const float *restrict x, int64_t outer, int64_t n1, int64_t mid,
                          int64_t n2, int64_t inner) {
    for (int64_t e = 0; e < outer * mid * inner; e++) y[e] = INFINITY;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r1 = 0; r1 < n1; r1++)
            for (int64_t m = 0; m < mid; m++) {
                float *ym = y + (o * mid + m) * inner;
                for (int64_t r2 = 0; r2 < n2; r2++) {
                    const float *xr = x + (((o * n1 + r1) * mid + m) * n2 + r2) * inner;
                    for (int64_t i = 0; i < inner; i++) ym[i] = xr[i] < ym[i] || xr[i] != xr[i] ? xr[i] : ym[i];
                }
            }
}

/* @kernel xf_reduce_op */
/* Every reduction of float32 (dtype 1) and float64 (dtype 11) tensors, over n1 and n2 of
 * [outer, n1, mid, n2, inner] (see xf_reduce_sum), chosen by op: 0 ReduceL1 (sum of |x|), 1 ReduceL2
 * (square root of the sum of x²), 2 ReduceSumSquare, 3 ReduceProd, 4 ReduceLogSum (log of the sum),
 * 5 ReduceLogSumExp, 6 ReduceSum, 7 ReduceMean, 8 ReduceMax, 9 ReduceMin (NaN wins). An empty
 * reduction gives what the formula gives for an empty sum, product or extreme: 0, 0, 0, 1, -inf,
 * -inf, 0, NaN, -inf, +inf. Sums accumulate in the element type. ReduceLogSumExp keeps the running
 * log(sum(exp(x))) in y, adding each element as max(s, x) + log1p(exp(-|s - x|)): no exponential
 * overflows and no scratch is needed.
 * XF_REDUCE_STEPS writes the loop nest once per element type; each op gets its own instance of it, so
 * neither the type nor the op is tested in the inner loop. A freestanding model.c has no <math.h>
 * (HUGE_VAL is undefined there) and only the float functions of runtime/libm.c: float64 then uses
 * those. */
#define XF_REDUCE_NEST(T, step)                                                                           \
    for (int64_t o = 0; o < outer; o++)                                                                   \
        for (int64_t r1 = 0; r1 < n1; r1++)                                                               \
            for (int64_t m = 0; m < mid; m++) {                                                           \
                T *ym = (T *)y + (o * mid + m) * inner;                                                   \
                for (int64_t r2 = 0; r2 < n2; r2++) {                                                     \
                    const T *xr = (const T *)x + (((o * n1 + r1) * mid + m) * n2 + r2) * inner;           \
                    for (int64_t i = 0; i < inner; i++) {                                                 \
                        T s = ym[i], v = xr[i];                                                           \
                        ym[i] = (step);                                                                   \
                    }                                                                                     \
                }                                                                                         \
            }
#define XF_REDUCE_STEPS(T, ABS, EXP, LOG1P, SQRT, LOG)                                                    \
    do {                                                                                                  \
        T *yt = y;                                                                                        \
        const T inf = (T)INFINITY;                                                                        \
        T init = op == 3 ? 1 : op == 5 || op == 8 ? -inf : op == 9 ? inf : 0;                            \
        for (int64_t e = 0; e < outer * mid * inner; e++) yt[e] = init;                                   \
        switch (op) {                                                                                     \
        case 0: XF_REDUCE_NEST(T, s + ABS(v)) break;                                                      \
        case 1: case 2: XF_REDUCE_NEST(T, s + v * v) break;                                               \
        case 3: XF_REDUCE_NEST(T, s * v) break;                                                           \
        case 5: XF_REDUCE_NEST(T, s == -inf && v == -inf ? s : (s > v ? s : v) + LOG1P(EXP(-ABS(s - v)))) break; \
        case 8: XF_REDUCE_NEST(T, v > s || v != v ? v : s) break;                                         \
        case 9: XF_REDUCE_NEST(T, v < s || v != v ? v : s) break;                                         \
        default: XF_REDUCE_NEST(T, s + v) break; /* 4, 6, 7 */                                            \
        }                                                                                                 \
        for (int64_t e = 0; e < outer * mid * inner; e++)                                                 \
            yt[e] = op == 1 ? SQRT(yt[e]) : op == 4 ? LOG(yt[e]) : op == 7 ? yt[e] / (T)(n1 * n2) : yt[e]; \
    } while (0)
XF_API void xf_reduce_op(void *y, const void *x, int64_t dtype, int64_t outer, int64_t n1, int64_t mid, int64_t n2,
                         int64_t inner, int64_t op) {
    if (dtype == 11) {
#ifdef HUGE_VAL
        XF_REDUCE_STEPS(double, fabs, exp, log1p, sqrt, log);
#else
        XF_REDUCE_STEPS(double, fabsf, expf, log1pf, sqrtf, logf);
#endif
    } else {
        XF_REDUCE_STEPS(float, fabsf, expf, log1pf, sqrtf, logf);
    }
}
#undef XF_REDUCE_NEST
#undef XF_REDUCE_STEPS

/* @kernel xf_cumulative */
/* Running sums (CumSum) or products (CumProd, product = 1) of x viewed as [outer, n, inner], along
 * n, for float32, float64, int32 and int64 (dtype 1, 11, 6, 7). Each step combines a whole row of
 * `inner` elements with the previous result row, so the inner loop is contiguous; the type and the
 * operation are chosen once per row. exclusive: element j combines the elements before j, not j
 * itself, starting from 0 (sum) or 1 (product); reverse: the run goes from the end. Integers are
 * combined unsigned (the U of XF_CUMULATIVE_ROW), so that overflow wraps instead of being undefined
 * behaviour. */
#define XF_CUMULATIVE_ROW(T, U)                                                                          \
    do {                                                                                                 \
        T *yj = (T *)y + row;                                                                            \
        if (s == 0) {                                                                                    \
            const T *xj = (const T *)x + row;                                                            \
            for (int64_t i = 0; i < inner; i++) yj[i] = exclusive ? (T)(product != 0) : xj[i];          \
        } else {                                                                                         \
            const T *yp = (const T *)y + prev_row, *xa = (const T *)x + (exclusive ? prev_row : row);    \
            if (product)                                                                                 \
                for (int64_t i = 0; i < inner; i++) yj[i] = (T)((U)yp[i] * (U)xa[i]);                    \
            else                                                                                         \
                for (int64_t i = 0; i < inner; i++) yj[i] = (T)((U)yp[i] + (U)xa[i]);                    \
        }                                                                                                \
    } while (0)
XF_API void xf_cumulative(void *y, const void *x, int64_t dtype, int64_t product, int64_t outer, int64_t n,
                          int64_t inner, int64_t exclusive, int64_t reverse) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t s = 0; s < n; s++) {
            int64_t j = reverse ? n - 1 - s : s, prev = reverse ? j + 1 : j - 1;
            int64_t row = (o * n + j) * inner, prev_row = (o * n + prev) * inner; /* element offsets */
            switch (dtype) {
            case 11: XF_CUMULATIVE_ROW(double, double); break;
            case 6: XF_CUMULATIVE_ROW(int32_t, uint32_t); break;
            case 7: XF_CUMULATIVE_ROW(int64_t, uint64_t); break;
            default: XF_CUMULATIVE_ROW(float, float); break;
            }
        }
}
#undef XF_CUMULATIVE_ROW
