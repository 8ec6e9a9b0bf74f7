/* math.c — runtime kernels that compute: matrix products, convolution, softmax, layer
 * normalisation, reductions and the cumulative sum.
 *
 * xfc knows every shape at compile time, so each kernel is a plain loop nest whose bounds, strides
 * and pads come in as arguments; in model.c they are literals, and once the compiler inlines the
 * kernel the loops have constant bounds it can unroll and vectorise. Inner loops run over
 * contiguous memory wherever the layout allows. Arguments follow memcpy: outputs first, then
 * inputs, then sizes. Optional tensors may be NULL. Everything is float32, and sums accumulate in
 * float as onnxruntime does, except in the type-generic kernels (xf_reduce_op, xf_cumsum): they take
 * the element type as its ONNX number (dtype) and compute in that type, choosing it outside the
 * inner loop.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_matmul */
/* y[b] = a[b] @ b[b] for `batch` matrices: a is [m,k], b is [k,n], y is [m,n]. Consecutive a and b
 * matrices lie a_step and b_step elements apart; a step of 0 reuses one matrix for the whole batch
 * (broadcasting). The i-k-j order makes the inner loop run along contiguous rows of b and y. */
XF_API void xf_matmul(float *restrict y, const float *restrict a, const float *restrict b, int64_t batch,
                      int64_t m, int64_t k, int64_t n, int64_t a_step, int64_t b_step) {
    for (int64_t t = 0; t < batch; t++) {
        const float *at = a + t * a_step, *bt = b + t * b_step;
        float *yt = y + t * m * n;
        for (int64_t i = 0; i < m; i++) {
            float *yi = yt + i * n;
            for (int64_t j = 0; j < n; j++) yi[j] = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                float av = at[i * k + p];
                const float *bp = bt + p * n;
                for (int64_t j = 0; j < n; j++) yi[j] += av * bp[j];
            }
        }
    }
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
