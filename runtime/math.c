/* math.c — runtime kernels that compute: matrix products, convolution, softmax, layer
 * normalisation, reductions and the cumulative sum.
 *
 * xfc knows every shape at compile time, so each kernel is a plain loop nest whose bounds, strides
 * and pads come in as arguments; in model.c they are literals, and once the compiler inlines the
 * kernel the loops have constant bounds it can unroll and vectorise. Inner loops run over
 * contiguous memory wherever the layout allows. Arguments follow memcpy: outputs first, then
 * inputs, then sizes. Optional tensors may be NULL. Everything is float32 except where a name says
 * otherwise, and sums accumulate in float, as onnxruntime does.
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
/* y[m,n] = alpha * A @ B + beta * C, Gemm's formula. Element (i,p) of A is a[i*a_si + p*a_sk] and
 * element (p,j) of B is b[p*b_sk + j*b_sj], so transposed operands need no copy; C (optional) is
 * read as c[i*c_si + j*c_sj], with 0 strides along the dimensions it broadcasts over. When B's
 * rows are contiguous the loop runs i-k-j like xf_matmul; when B is transposed each output is a
 * dot product of two contiguous rows instead. */
XF_API void xf_gemm(float *restrict y, const float *restrict a, const float *restrict b, const float *restrict c,
                    int64_t m, int64_t k, int64_t n, int64_t a_si, int64_t a_sk, int64_t b_sk, int64_t b_sj,
                    float alpha, float beta, int64_t c_si, int64_t c_sj) {
    for (int64_t i = 0; i < m; i++) {
        float *yi = y + i * n;
        if (b_sj == 1) {
            for (int64_t j = 0; j < n; j++) yi[j] = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                float av = a[i * a_si + p * a_sk];
                const float *bp = b + p * b_sk;
                for (int64_t j = 0; j < n; j++) yi[j] += av * bp[j];
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                float sum = 0.0f;
                for (int64_t p = 0; p < k; p++) sum += a[i * a_si + p * a_sk] * b[p * b_sk + j * b_sj];
                yi[j] = sum;
            }
        }
        for (int64_t j = 0; j < n; j++) yi[j] = alpha * yi[j] + (c ? beta * c[i * c_si + j * c_sj] : 0.0f);
    }
}

/* @kernel xf_conv */
/* 2-D convolution, NCHW: x is [batch, c_in, h, w], wt is [c_out, c_in/groups, kh, kw], bias (optional)
 * is [c_out], y is [batch, c_out, oh, ow]. A 1-D convolution is the case h = kh = oh = 1.
 * Input row ih = r*sh + ki*dh - ph and column iw = c*sw + kj*dw - pw feed output (r, c); positions
 * outside the input are the zero padding. For each weight the loop adds weight * input row to an
 * output row, over the range of columns that land inside the input, computed once per weight so
 * the inner loop has no test and runs contiguously when sw is 1. */
XF_API void xf_conv(float *restrict y, const float *restrict x, const float *restrict wt,
                    const float *restrict bias, int64_t batch, int64_t groups, int64_t c_in, int64_t h, int64_t w,
                    int64_t c_out, int64_t kh, int64_t kw, int64_t oh, int64_t ow, int64_t sh, int64_t sw,
                    int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
    int64_t cg_in = c_in / groups, cg_out = c_out / groups;
    for (int64_t bi = 0; bi < batch; bi++)
        for (int64_t oc = 0; oc < c_out; oc++) {
            float *yc = y + (bi * c_out + oc) * oh * ow;
            for (int64_t e = 0; e < oh * ow; e++) yc[e] = bias ? bias[oc] : 0.0f;
            for (int64_t ic = 0; ic < cg_in; ic++) {
                const float *xc = x + (bi * c_in + oc / cg_out * cg_in + ic) * h * w;
                const float *wc = wt + (oc * cg_in + ic) * kh * kw;
                for (int64_t ki = 0; ki < kh; ki++)
                    for (int64_t kj = 0; kj < kw; kj++) {
                        float wv = wc[ki * kw + kj];
                        int64_t off = kj * dw - pw; /* iw = c*sw + off */
                        int64_t c0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
                        int64_t c1 = w - off <= 0 ? 0 : (w - off + sw - 1) / sw;
                        if (c1 > ow) c1 = ow;
                        for (int64_t r = 0; r < oh; r++) {
                            int64_t ih = r * sh + ki * dh - ph;
                            if (ih < 0 || ih >= h) continue;
                            const float *xr = xc + ih * w;
                            float *yr = yc + r * ow;
                            for (int64_t c = c0; c < c1; c++) yr[c] += wv * xr[c * sw + off];
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
/* The reductions that transform each element before summing, or the sum after, over n1 and n2 of
 * [outer, n1, mid, n2, inner] (see xf_reduce_sum), chosen by op: 0 ReduceL1 (sum of |x|), 1 ReduceL2
 * (square root of the sum of x²), 2 ReduceSumSquare, 3 ReduceProd, 4 ReduceLogSum (log of the sum),
 * 5 ReduceLogSumExp. An empty reduction gives what the formula gives for an empty sum or product:
 * 0, 0, 0, 1, -inf, -inf. ReduceLogSumExp keeps the running log(sum(exp(x))) in y, adding each
 * element as max(s, x) + log1p(exp(-|s - x|)): no exponential overflows and no scratch is needed. */
XF_API void xf_reduce_op(float *restrict y, const float *restrict x, int64_t outer, int64_t n1, int64_t mid,
                         int64_t n2, int64_t inner, int64_t op) {
    float init = op == 3 ? 1.0f : op == 5 ? -INFINITY : 0.0f;
    for (int64_t e = 0; e < outer * mid * inner; e++) y[e] = init;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r1 = 0; r1 < n1; r1++)
            for (int64_t m = 0; m < mid; m++) {
                float *ym = y + (o * mid + m) * inner;
                for (int64_t r2 = 0; r2 < n2; r2++) {
                    const float *xr = x + (((o * n1 + r1) * mid + m) * n2 + r2) * inner;
                    for (int64_t i = 0; i < inner; i++) {
                        float s = ym[i], v = xr[i], top = s > v ? s : v;
                        switch (op) {
                        case 0: s += fabsf(v); break;
                        case 1: case 2: s += v * v; break;
                        case 3: s *= v; break;
                        case 4: s += v; break;
                        default: s = top == -INFINITY ? top : top + log1pf(expf(-fabsf(s - v))); break;
                        }
                        ym[i] = s;
                    }
                }
            }
    if (op == 1)
        for (int64_t e = 0; e < outer * mid * inner; e++) y[e] = sqrtf(y[e]);
    if (op == 4)
        for (int64_t e = 0; e < outer * mid * inner; e++) y[e] = logf(y[e]);
}

/* @kernel xf_reduce_op_f64 */
/* Every reduction of float64 tensors, over n1 and n2 of [outer, n1, mid, n2, inner]: op 0 to 5 as in
 * xf_reduce_op, and 6 ReduceSum, 7 ReduceMean, 8 ReduceMax, 9 ReduceMin (NaN wins; -inf and +inf
 * when empty). Sums accumulate in double. */
XF_API void xf_reduce_op_f64(double *restrict y, const double *restrict x, int64_t outer, int64_t n1, int64_t mid,
                             int64_t n2, int64_t inner, int64_t op) {
    const double inf = (double)INFINITY;
    double init = op == 3 ? 1.0 : op == 5 || op == 8 ? -inf : op == 9 ? inf : 0.0;
    for (int64_t e = 0; e < outer * mid * inner; e++) y[e] = init;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r1 = 0; r1 < n1; r1++)
            for (int64_t m = 0; m < mid; m++) {
                double *ym = y + (o * mid + m) * inner;
                for (int64_t r2 = 0; r2 < n2; r2++) {
                    const double *xr = x + (((o * n1 + r1) * mid + m) * n2 + r2) * inner;
                    for (int64_t i = 0; i < inner; i++) {
                        double s = ym[i], v = xr[i], top = s > v ? s : v;
                        switch (op) {
                        case 0: s += fabs(v); break;
                        case 1: case 2: s += v * v; break;
                        case 3: s *= v; break;
                        case 5: s = top == -inf ? top : top + log1p(exp(-fabs(s - v))); break;
                        case 8: s = v > s || v != v ? v : s; break;
                        case 9: s = v < s || v != v ? v : s; break;
                        default: s += v; break; /* 4, 6, 7 */
                        }
                        ym[i] = s;
                    }
                }
            }
    for (int64_t e = 0; e < outer * mid * inner; e++)
        y[e] = op == 1 ? sqrt(y[e]) : op == 4 ? log(y[e]) : op == 7 ? y[e] / (double)(n1 * n2) : y[e];
}

/* @kernel xf_cumsum_f32 */
/* Running sums of x viewed as [outer, n, inner], along n. Each step adds a whole row of `inner`
 * elements to the previous result row, so the inner loop is contiguous. exclusive: element j sums
 * the elements before j, not including it; reverse: sums run from the end. */
XF_API void xf_cumsum_f32(float *restrict y, const float *restrict x, int64_t outer, int64_t n, int64_t inner,
                          int64_t exclusive, int64_t reverse) {
    for (int64_t o = 0; o < outer; o++) {
        const float *xo = x + o * n * inner;
        float *yo = y + o * n * inner;
        for (int64_t s = 0; s < n; s++) {
            int64_t j = reverse ? n - 1 - s : s, prev = reverse ? j + 1 : j - 1;
            float *yj = yo + j * inner;
            if (s == 0) {
                for (int64_t i = 0; i < inner; i++) yj[i] = exclusive ? 0.0f : xo[j * inner + i];
                continue;
            }
            const float *yp = yo + prev * inner, *xa = xo + (exclusive ? prev : j) * inner;
            for (int64_t i = 0; i < inner; i++) yj[i] = yp[i] + xa[i];
        }
    }
}

/* @kernel xf_cumsum_i64 */
/* xf_cumsum_f32 for int64. The additions are done unsigned so that overflow wraps instead of being
 * undefined behaviour. */
XF_API void xf_cumsum_i64(int64_t *restrict y, const int64_t *restrict x, int64_t outer, int64_t n, int64_t inner,
                          int64_t exclusive, int64_t reverse) {
    for (int64_t o = 0; o < outer; o++) {
        const int64_t *xo = x + o * n * inner;
        int64_t *yo = y + o * n * inner;
        for (int64_t s = 0; s < n; s++) {
            int64_t j = reverse ? n - 1 - s : s, prev = reverse ? j + 1 : j - 1;
            int64_t *yj = yo + j * inner;
            if (s == 0) {
                for (int64_t i = 0; i < inner; i++) yj[i] = exclusive ? 0 : xo[j * inner + i];
                continue;
            }
            const int64_t *yp = yo + prev * inner, *xa = xo + (exclusive ? prev : j) * inner;
            for (int64_t i = 0; i < inner; i++) yj[i] = (int64_t)((uint64_t)yp[i] + (uint64_t)xa[i]);
        }
    }
}

/* @kernel xf_cumsum_i32 */
/* xf_cumsum_f32 for int32. The additions are done unsigned so that overflow wraps instead of being
 * undefined behaviour. */
XF_API void xf_cumsum_i32(int32_t *restrict y, const int32_t *restrict x, int64_t outer, int64_t n, int64_t inner,
                          int64_t exclusive, int64_t reverse) {
    for (int64_t o = 0; o < outer; o++) {
        const int32_t *xo = x + o * n * inner;
        int32_t *yo = y + o * n * inner;
        for (int64_t s = 0; s < n; s++) {
            int64_t j = reverse ? n - 1 - s : s, prev = reverse ? j + 1 : j - 1;
            int32_t *yj = yo + j * inner;
            if (s == 0) {
                for (int64_t i = 0; i < inner; i++) yj[i] = exclusive ? 0 : xo[j * inner + i];
                continue;
            }
            const int32_t *yp = yo + prev * inner, *xa = xo + (exclusive ? prev : j) * inner;
            for (int64_t i = 0; i < inner; i++) yj[i] = (int32_t)((uint32_t)yp[i] + (uint32_t)xa[i]);
        }
    }
}

/* @kernel xf_cumsum_f64 */
/* xf_cumsum_f32 for float64. */
XF_API void xf_cumsum_f64(double *restrict y, const double *restrict x, int64_t outer, int64_t n, int64_t inner,
                          int64_t exclusive, int64_t reverse) {
    for (int64_t o = 0; o < outer; o++) {
        const double *xo = x + o * n * inner;
        double *yo = y + o * n * inner;
        for (int64_t s = 0; s < n; s++) {
            int64_t j = reverse ? n - 1 - s : s, prev = reverse ? j + 1 : j - 1;
            double *yj = yo + j * inner;
            if (s == 0) {
                for (int64_t i = 0; i < inner; i++) yj[i] = exclusive ? 0.0 : xo[j * inner + i];
                continue;
            }
            const double *yp = yo + prev * inner, *xa = xo + (exclusive ? prev : j) * inner;
            for (int64_t i = 0; i < inner; i++) yj[i] = yp[i] + xa[i];
        }
    }
}
