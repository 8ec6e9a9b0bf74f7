/* nn.c — runtime kernels of the convolutional-network ops: pooling, transposed and deformable
 * convolution, the batch / instance / group / Lp / mean-variance normalisations, local response
 * normalisation and resampling (Resize, Upsample).
 *
 * As in math.c, xfc settles all geometry at compile time and passes plain numbers: in model.c the
 * arguments are literals, so once a kernel is inlined its loops have constant bounds. Windowed ops
 * (the pools, ConvTranspose) always see three spatial dims, [depth, height, width]: a 1-D or 2-D
 * op arrives with leading dims of 1, which cost nothing. Per-dim geometry comes as arrays of three.
 * Arguments follow memcpy: outputs first, then inputs, then sizes; optional tensors may be NULL.
 * Everything is float32, except that xf_max_pool takes the element type as an argument (dtype);
 * sums accumulate in float.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_max_pool */
/* Max pooling of `planes` images of in[0] x in[1] x in[2] (batch times channels) into images of
 * out[0] x out[1] x out[2]. Output (a, b, c) looks at input (a*stride[0] + i*dilation[0] - pad[0],
 * ...) for each tap (i, j, l) of the ksize[0] x ksize[1] x ksize[2] window; taps in the padding are
 * skipped. indices (optional, int64) receives where each maximum came from, as an offset into the
 * whole of x: row major, or with the spatial dims in column-major order when column_major is set
 * (MaxPool's storage_order).
 *
 * dtype is the ONNX type number of x and y: float32, and also the integer types and float64, which
 * MaxPool takes because it only compares. Elements are compared in their own type, exactly, so no
 * value is rounded on the way; the first of equal maxima wins, and a NaN once taken stays. The
 * window walk below is expanded once per type, so the inner loop compares plain values. A window
 * wholly in the padding (pads as large as the kernel, which ONNX does not allow) gives 0. */
#define XF_MAX_POOL_AS(T)                                                                                \
    do {                                                                                                 \
        const T *xt = x;                                                                                 \
        T *yt = y;                                                                                       \
        for (int64_t p = 0; p < planes; p++)                                                             \
            for (int64_t a = 0; a < out[0]; a++)                                                         \
                for (int64_t b = 0; b < out[1]; b++)                                                     \
                    for (int64_t c = 0; c < out[2]; c++) {                                               \
                        T best = 0;                                                                      \
                        int64_t where = -1; /* offset of best in the plane */                            \
                        for (int64_t i = 0; i < ksize[0]; i++) {                                         \
                            int64_t zd = a * stride[0] + i * dilation[0] - pad[0];                       \
                            if (zd < 0 || zd >= in[0]) continue;                                         \
                            for (int64_t j = 0; j < ksize[1]; j++) {                                     \
                                int64_t zh = b * stride[1] + j * dilation[1] - pad[1];                   \
                                if (zh < 0 || zh >= in[1]) continue;                                     \
                                for (int64_t l = 0; l < ksize[2]; l++) {                                 \
                                    int64_t zw = c * stride[2] + l * dilation[2] - pad[2];               \
                                    if (zw < 0 || zw >= in[2]) continue;                                 \
                                    T v = xt[p * in_size + (zd * in[1] + zh) * in[2] + zw];              \
                                    if (where < 0 || v > best) {                                         \
                                        best = v;                                                        \
                                        where = column_major ? zd + in[0] * (zh + in[1] * zw)            \
                                                             : (zd * in[1] + zh) * in[2] + zw;           \
                                    }                                                                    \
                                }                                                                        \
                            }                                                                            \
                        }                                                                                \
                        int64_t e = p * out_size + (a * out[1] + b) * out[2] + c;                        \
                        yt[e] = best;                                                                    \
                        if (indices) indices[e] = p * in_size + where;                                   \
                    }                                                                                    \
    } while (0)

XF_API void xf_max_pool(void *restrict y, int64_t *restrict indices, const void *restrict x, int64_t dtype,
                        int64_t planes, const int64_t *in, const int64_t *out, const int64_t *ksize,
                        const int64_t *stride, const int64_t *pad, const int64_t *dilation, int64_t column_major) {
    int64_t in_size = in[0] * in[1] * in[2], out_size = out[0] * out[1] * out[2];
    switch (dtype) {
    case 1: XF_MAX_POOL_AS(float); break;
    case 2: XF_MAX_POOL_AS(uint8_t); break;
    case 3: XF_MAX_POOL_AS(int8_t); break;
    case 4: XF_MAX_POOL_AS(uint16_t); break;
    case 5: XF_MAX_POOL_AS(int16_t); break;
    case 6: XF_MAX_POOL_AS(int32_t); break;
    case 7: XF_MAX_POOL_AS(int64_t); break;
    case 11: XF_MAX_POOL_AS(double); break;
    case 12: XF_MAX_POOL_AS(uint32_t); break;
    case 13: XF_MAX_POOL_AS(uint64_t); break;
    }
}
#undef XF_MAX_POOL_AS

/* @kernel xf_avg_pool */
/* Average pooling; the windows are those of xf_max_pool. Taps in the padding add nothing; whether
 * they count in the divisor is AveragePool's count_include_pad: with count_pad set, taps in the
 * explicit padding count (those before the input and up to pad_end[] after it), but not those that
 * ceil_mode adds beyond the padding. */
XF_API void xf_avg_pool(float *restrict y, const float *restrict x, int64_t planes, const int64_t *in,
                        const int64_t *out, const int64_t *ksize, const int64_t *stride, const int64_t *pad,
                        const int64_t *pad_end, const int64_t *dilation, int64_t count_pad) {
    int64_t in_size = in[0] * in[1] * in[2], out_size = out[0] * out[1] * out[2];
    for (int64_t p = 0; p < planes; p++)
        for (int64_t a = 0; a < out[0]; a++)
            for (int64_t b = 0; b < out[1]; b++)
                for (int64_t c = 0; c < out[2]; c++) {
                    float sum = 0.0f;
                    int64_t count = 0;
                    for (int64_t i = 0; i < ksize[0]; i++) {
                        int64_t zd = a * stride[0] + i * dilation[0] - pad[0];
                        for (int64_t j = 0; j < ksize[1]; j++) {
                            int64_t zh = b * stride[1] + j * dilation[1] - pad[1];
                            for (int64_t l = 0; l < ksize[2]; l++) {
                                int64_t zw = c * stride[2] + l * dilation[2] - pad[2];
                                if (zd >= 0 && zd < in[0] && zh >= 0 && zh < in[1] && zw >= 0 && zw < in[2]) {
                                    sum += x[p * in_size + (zd * in[1] + zh) * in[2] + zw];
                                    count++;
                                } else if (count_pad && zd < in[0] + pad_end[0] && zh < in[1] + pad_end[1] &&
                                           zw < in[2] + pad_end[2]) {
                                    count++;
                                }
                            }
                        }
                    }
                    y[p * out_size + (a * out[1] + b) * out[2] + c] = count ? sum / (float)count : 0.0f;
                }
}

/* @kernel xf_lp_pool */
/* Lp pooling, (sum of |x|^p over the window)^(1/p) with p = p_norm; the windows are those of
 * xf_max_pool, and padding contributes zeros. */
XF_API void xf_lp_pool(float *restrict y, const float *restrict x, int64_t planes, const int64_t *in,
                       const int64_t *out, const int64_t *ksize, const int64_t *stride, const int64_t *pad,
                       const int64_t *dilation, float p_norm) {
    int64_t in_size = in[0] * in[1] * in[2], out_size = out[0] * out[1] * out[2];
    for (int64_t p = 0; p < planes; p++)
        for (int64_t a = 0; a < out[0]; a++)
            for (int64_t b = 0; b < out[1]; b++)
                for (int64_t c = 0; c < out[2]; c++) {
                    float sum = 0.0f;
                    for (int64_t i = 0; i < ksize[0]; i++) {
                        int64_t zd = a * stride[0] + i * dilation[0] - pad[0];
                        if (zd < 0 || zd >= in[0]) continue;
                        for (int64_t j = 0; j < ksize[1]; j++) {
                            int64_t zh = b * stride[1] + j * dilation[1] - pad[1];
                            if (zh < 0 || zh >= in[1]) continue;
                            for (int64_t l = 0; l < ksize[2]; l++) {
                                int64_t zw = c * stride[2] + l * dilation[2] - pad[2];
                                if (zw < 0 || zw >= in[2]) continue;
                                sum += powf(fabsf(x[p * in_size + (zd * in[1] + zh) * in[2] + zw]), p_norm);
                            }
                        }
                    }
                    y[p * out_size + (a * out[1] + b) * out[2] + c] = powf(sum, 1.0f / p_norm);
                }
}

/* @kernel xf_max_unpool */
/* MaxUnpool: y starts as zeros and each of the count elements of x goes where its index says. The
 * indices are offsets into a tensor of shape `pooled` (what MaxPool's Indices address); y, of shape
 * `out`, is that tensor with extra room at the end of some dims, so an offset is split into a
 * position in `pooled` and rebuilt in `out`. An index outside `pooled` is an error. */
XF_API int xf_max_unpool(float *restrict y, const float *restrict x, const int64_t *restrict indices, int64_t count,
                         int64_t rank, const int64_t *pooled, const int64_t *out) {
    int64_t pooled_size = 1, out_size = 1;
    for (int64_t d = 0; d < rank; d++) {
        pooled_size *= pooled[d];
        out_size *= out[d];
    }
    for (int64_t e = 0; e < out_size; e++) y[e] = 0.0f;
    for (int64_t i = 0; i < count; i++) {
        int64_t k = indices[i], off = 0, step = 1;
        if (k < 0 || k >= pooled_size) return XFC_ERR_INDEX;
        for (int64_t d = rank - 1; d >= 0; d--) {
            off += k % pooled[d] * step;
            k /= pooled[d];
            step *= out[d];
        }
        y[off] = x[i];
    }
    return XFC_OK;
}

/* @kernel xf_conv_transpose */
/* Transposed convolution (the gradient of xf_conv), NC + 3 spatial dims: x is [batch, c_in, in...],
 * weight is [c_in, c_out/groups, ksize...], bias (optional) is [c_out], y is [batch, c_out, out...].
 * Each input element (a, b, c) scatters x * w into output (a*stride[0] + i*dilation[0] - pad[0], ...)
 * for each tap (i, j, l); outputs outside y are cropped away by the padding. Output positions no
 * input reaches (a large output_shape or output_padding) hold just the bias. */
XF_API void xf_conv_transpose(float *restrict y, const float *restrict x, const float *restrict weight,
                              const float *restrict bias, int64_t batch, int64_t groups, int64_t c_in,
                              int64_t c_out, const int64_t *in, const int64_t *out, const int64_t *ksize,
                              const int64_t *stride, const int64_t *pad, const int64_t *dilation) {
    int64_t cg_in = c_in / groups, cg_out = c_out / groups;
    int64_t in_size = in[0] * in[1] * in[2], out_size = out[0] * out[1] * out[2];
    int64_t k_size = ksize[0] * ksize[1] * ksize[2];
    for (int64_t e = 0; e < batch * c_out; e++)
        for (int64_t o = 0; o < out_size; o++) y[e * out_size + o] = bias ? bias[e % c_out] : 0.0f;
    for (int64_t n = 0; n < batch; n++)
        for (int64_t ic = 0; ic < c_in; ic++)
            for (int64_t jc = 0; jc < cg_out; jc++) {
                const float *xc = x + (n * c_in + ic) * in_size;
                const float *wc = weight + (ic * cg_out + jc) * k_size;
                float *yc = y + (n * c_out + ic / cg_in * cg_out + jc) * out_size;
                for (int64_t a = 0; a < in[0]; a++)
                    for (int64_t b = 0; b < in[1]; b++)
                        for (int64_t c = 0; c < in[2]; c++) {
                            float xv = xc[(a * in[1] + b) * in[2] + c];
                            for (int64_t i = 0; i < ksize[0]; i++) {
                                int64_t zd = a * stride[0] + i * dilation[0] - pad[0];
                                if (zd < 0 || zd >= out[0]) continue;
                                for (int64_t j = 0; j < ksize[1]; j++) {
                                    int64_t zh = b * stride[1] + j * dilation[1] - pad[1];
                                    if (zh < 0 || zh >= out[1]) continue;
                                    for (int64_t l = 0; l < ksize[2]; l++) {
                                        int64_t zw = c * stride[2] + l * dilation[2] - pad[2];
                                        if (zw < 0 || zw >= out[2]) continue;
                                        yc[(zd * out[1] + zh) * out[2] + zw] +=
                                            xv * wc[(i * ksize[1] + j) * ksize[2] + l];
                                    }
                                }
                            }
                        }
            }
}

/* @kernel xf_deform_conv */
/* The value of plane (h x w) at the fractional point (py, px), bilinear between the four pixels
 * around it; pixels outside the plane count as zeros (GridSample's zeros padding with aligned
 * corners). A point at -1 or beyond, or NaN, reads nothing, which also keeps the conversions to
 * integers below in range whatever the offsets hold. */
static float xf_deform_sample(const float *plane, int64_t h, int64_t w, float py, float px) {
    if (!(py > -1.0f && py < (float)h && px > -1.0f && px < (float)w)) return 0.0f;
    float fy = floorf(py), fx = floorf(px), ly = py - fy, lx = px - fx;
    int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
    float v = 0.0f;
    for (int64_t dy = 0; dy < 2; dy++)
        for (int64_t dx = 0; dx < 2; dx++) {
            int64_t yy = y0 + dy, xx = x0 + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            v += (dy ? ly : 1.0f - ly) * (dx ? lx : 1.0f - lx) * plane[yy * w + xx];
        }
    return v;
}

/* Deformable 2-D convolution, NCHW: x is [batch, c_in, in[0], in[1]], weight [c_out, c_in/groups,
 * ksize[0], ksize[1]], bias (optional) [c_out], y [batch, c_out, out[0], out[1]]. Tap (i, j) of
 * output (r, c) reads x at row r*stride[0] - pad[0] + i*dilation[0] + dy and column
 * c*stride[1] - pad[1] + j*dilation[1] + dx, where (dy, dx) is
 * offset[b, ((g*ksize[0] + i)*ksize[1] + j)*2 + {0, 1}, r, c] for the offset group g of the input
 * channel (c_in / offset_groups consecutive channels per group), and the product is scaled by
 * mask[b, (g*ksize[0] + i)*ksize[1] + j, r, c] when a mask is given. */
XF_API void xf_deform_conv(float *restrict y, const float *restrict x, const float *restrict weight,
                           const float *restrict offset, const float *restrict bias, const float *restrict mask,
                           int64_t batch, int64_t groups, int64_t offset_groups, int64_t c_in, int64_t c_out,
                           const int64_t *in, const int64_t *out, const int64_t *ksize, const int64_t *stride,
                           const int64_t *pad, const int64_t *dilation) {
    int64_t cg_in = c_in / groups, cg_out = c_out / groups, c_per_offset = c_in / offset_groups;
    int64_t in_size = in[0] * in[1], out_size = out[0] * out[1], taps = ksize[0] * ksize[1];
    for (int64_t b = 0; b < batch; b++)
        for (int64_t oc = 0; oc < c_out; oc++) {
            float *yc = y + (b * c_out + oc) * out_size;
            for (int64_t e = 0; e < out_size; e++) yc[e] = bias ? bias[oc] : 0.0f;
            for (int64_t icg = 0; icg < cg_in; icg++) {
                int64_t ic = oc / cg_out * cg_in + icg; /* the input channel within all of x */
                int64_t og = ic / c_per_offset;
                const float *xc = x + (b * c_in + ic) * in_size;
                const float *wc = weight + (oc * cg_in + icg) * taps;
                for (int64_t i = 0; i < ksize[0]; i++)
                    for (int64_t j = 0; j < ksize[1]; j++) {
                        int64_t tap = (og * ksize[0] + i) * ksize[1] + j;
                        const float *dy = offset + ((b * offset_groups * taps + tap) * 2) * out_size;
                        const float *dx = dy + out_size;
                        const float *m = mask ? mask + (b * offset_groups * taps + tap) * out_size : NULL;
                        float wv = wc[i * ksize[1] + j];
                        for (int64_t r = 0; r < out[0]; r++)
                            for (int64_t c = 0; c < out[1]; c++) {
                                int64_t e = r * out[1] + c;
                                float py = (float)(r * stride[0] - pad[0] + i * dilation[0]) + dy[e];
                                float px = (float)(c * stride[1] - pad[1] + j * dilation[1]) + dx[e];
                                float v = xf_deform_sample(xc, in[0], in[1], py, px);
                                yc[e] += wv * (m ? m[e] * v : v);
                            }
                    }
            }
        }
}

/* @kernel xf_batch_norm */
/* BatchNormalization for inference: x is [batch, channels, spatial] and each channel is normalised
 * with the stored statistics mean and var: y = (x - mean) / sqrt(var + epsilon) * scale + bias. */
XF_API void xf_batch_norm(float *restrict y, const float *restrict x, const float *restrict scale,
                          const float *restrict bias, const float *restrict mean, const float *restrict var,
                          int64_t batch, int64_t channels, int64_t spatial, float epsilon) {
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < channels; c++) {
            float a = scale[c] / sqrtf(var[c] + epsilon), m = mean[c], b = bias[c];
            const float *xc = x + (n * channels + c) * spatial;
            float *yc = y + (n * channels + c) * spatial;
            for (int64_t i = 0; i < spatial; i++) yc[i] = (xc[i] - m) * a + b;
        }
}

/* @kernel xf_batch_norm_train */
/* BatchNormalization in training mode: each channel of x [batch, channels, spatial] is normalised
 * with the mean and (biased) variance of this batch, and the running statistics are updated:
 * run_mean = mean * momentum + batch_mean * (1 - momentum), likewise run_var (both optional). */
XF_API void xf_batch_norm_train(float *restrict y, float *restrict run_mean, float *restrict run_var,
                                const float *restrict x, const float *restrict scale, const float *restrict bias,
                                const float *restrict mean, const float *restrict var, int64_t batch,
                                int64_t channels, int64_t spatial, float epsilon, float momentum) {
    float count = (float)(batch * spatial);
    for (int64_t c = 0; c < channels; c++) {
        float sum = 0.0f, sq = 0.0f;
        for (int64_t n = 0; n < batch; n++)
            for (int64_t i = 0; i < spatial; i++) sum += x[(n * channels + c) * spatial + i];
        float m = sum / count;
        for (int64_t n = 0; n < batch; n++)
            for (int64_t i = 0; i < spatial; i++) {
                float dv = x[(n * channels + c) * spatial + i] - m;
                sq += dv * dv;
            }
        float v = sq / count, a = scale[c] / sqrtf(v + epsilon);
        for (int64_t n = 0; n < batch; n++)
            for (int64_t i = 0; i < spatial; i++)
                y[(n * channels + c) * spatial + i] = (x[(n * channels + c) * spatial + i] - m) * a + bias[c];
        if (run_mean) run_mean[c] = mean[c] * momentum + m * (1.0f - momentum);
        if (run_var) run_var[c] = var[c] * momentum + v * (1.0f - momentum);
    }
}

/* @kernel xf_group_norm */
/* GroupNormalization, and InstanceNormalization as its case groups = channels: x is [batch,
 * channels, spatial]; the channels of each group, consecutive in memory, are normalised together
 * to zero mean and unit variance (taken around the mean in a second pass), then each channel c is
 * scaled and shifted by scale[c / per_scale] and bias[c / per_scale] (per_scale is 1 for one value
 * per channel, channels/groups for GroupNormalization-18's one value per group). */
XF_API void xf_group_norm(float *restrict y, const float *restrict x, const float *restrict scale,
                          const float *restrict bias, int64_t batch, int64_t groups, int64_t channels,
                          int64_t spatial, int64_t per_scale, float epsilon) {
    int64_t cg = channels / groups, len = cg * spatial;
    for (int64_t t = 0; t < batch * groups; t++) {
        const float *xg = x + t * len;
        float *yg = y + t * len;
        float sum = 0.0f, sq = 0.0f;
        for (int64_t i = 0; i < len; i++) sum += xg[i];
        float m = sum / (float)len;
        for (int64_t i = 0; i < len; i++) sq += (xg[i] - m) * (xg[i] - m);
        float inv_std = 1.0f / sqrtf(sq / (float)len + epsilon);
        for (int64_t j = 0; j < cg; j++) {
            int64_t c = t % groups * cg + j;
            float a = scale[c / per_scale] * inv_std, b = bias[c / per_scale];
            for (int64_t i = 0; i < spatial; i++) yg[j * spatial + i] = (xg[j * spatial + i] - m) * a + b;
        }
    }
}

/* @kernel xf_lp_norm */
/* LpNormalization of x viewed as [outer, n, inner] along n: y = x / ||x||_p for p = p_norm 1 (sum of
 * |x|) or 2 (Euclidean). A zero norm divides 0 by 0, giving NaN, as the ONNX node tests expect. */
XF_API void xf_lp_norm(float *restrict y, const float *restrict x, int64_t outer, int64_t n, int64_t inner,
                       int64_t p_norm) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xr = x + o * n * inner + i;
            float *yr = y + o * n * inner + i;
            float norm = 0.0f;
            for (int64_t j = 0; j < n; j++)
                norm += p_norm == 1 ? fabsf(xr[j * inner]) : xr[j * inner] * xr[j * inner];
            if (p_norm == 2) norm = sqrtf(norm);
            for (int64_t j = 0; j < n; j++) yr[j * inner] = xr[j * inner] / norm;
        }
}

/* @kernel xf_mvn */
/* MeanVarianceNormalization of x viewed as [outer, n1, mid, n2, inner] over n1 and n2 (the layout
 * of xf_reduce_sum): y = (x - mean) / (sqrt(variance) + 1e-9), as ONNX defines the op. */
XF_API void xf_mvn(float *restrict y, const float *restrict x, int64_t outer, int64_t n1, int64_t mid, int64_t n2,
                   int64_t inner) {
    float count = (float)(n1 * n2);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t m = 0; m < mid; m++)
            for (int64_t i = 0; i < inner; i++) {
                const float *xb = x + (o * n1 * mid + m) * n2 * inner + i;
                float *yb = y + (o * n1 * mid + m) * n2 * inner + i;
                int64_t step1 = mid * n2 * inner, step2 = inner;
                float sum = 0.0f, sq = 0.0f;
                for (int64_t a = 0; a < n1; a++)
                    for (int64_t b = 0; b < n2; b++) sum += xb[a * step1 + b * step2];
                float mean = sum / count;
                for (int64_t a = 0; a < n1; a++)
                    for (int64_t b = 0; b < n2; b++) {
                        float dv = xb[a * step1 + b * step2] - mean;
                        sq += dv * dv;
                    }
                float denom = sqrtf(sq / count) + 1e-9f;
                for (int64_t a = 0; a < n1; a++)
                    for (int64_t b = 0; b < n2; b++)
                        yb[a * step1 + b * step2] = (xb[a * step1 + b * step2] - mean) / denom;
            }
}

/* @kernel xf_lrn */
/* Local response normalisation across channels of x [batch, channels, spatial]: each element is
 * divided by (bias + alpha/size * sum of squares)^beta, the sum running over the channels from
 * c - (size-1)/2 to c + size/2 that exist. */
XF_API void xf_lrn(float *restrict y, const float *restrict x, int64_t batch, int64_t channels, int64_t spatial,
                   int64_t size, float alpha, float beta, float bias) {
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < channels; c++) {
            int64_t lo = c - (size - 1) / 2, hi = c + size / 2;
            if (lo < 0) lo = 0;
            if (hi > channels - 1) hi = channels - 1;
            for (int64_t i = 0; i < spatial; i++) {
                float sq = 0.0f;
                for (int64_t j = lo; j <= hi; j++) {
                    float v = x[(n * channels + j) * spatial + i];
                    sq += v * v;
                }
                int64_t e = (n * channels + c) * spatial + i;
                y[e] = x[e] / powf(bias + alpha / (float)size * sq, beta);
            }
        }
}

/* @kernel xf_resize_nearest */
/* Nearest-neighbour resampling of a rank-`rank` tensor: output element (o0, o1, ...) copies input
 * element (src[o0], src[out[0] + o1], ...). xfc works out the source index of every output index
 * along every dim at compile time (src holds them dim after dim), so this is a gather. */
XF_API void xf_resize_nearest(float *restrict y, const float *restrict x, int64_t rank, const int64_t *in,
                              const int64_t *out, const int64_t *src) {
    int64_t idx[8] = {0}, total = 1; /* xfc tensors have rank <= 8 */
    for (int64_t d = 0; d < rank; d++) total *= out[d];
    for (int64_t e = 0; e < total; e++) {
        int64_t off = 0, base = 0;
        for (int64_t d = 0; d < rank; d++) {
            off = off * in[d] + src[base + idx[d]];
            base += out[d];
        }
        y[e] = x[off];
        for (int64_t d = rank - 1; d >= 0 && ++idx[d] == out[d]; d--) idx[d] = 0;
    }
}

/* @kernel xf_resize */
/* Weight of a tap at distance t from the sampling point: the triangle of linear interpolation, or
 * the cubic convolution kernel with parameter cubic_a (Keys; ONNX's default is -0.75). */
static float xf_resize_weight(float t, int64_t cubic, float cubic_a) {
    t = fabsf(t);
    if (!cubic) return t < 1.0f ? 1.0f - t : 0.0f;
    if (t <= 1.0f) return ((cubic_a + 2.0f) * t - (cubic_a + 3.0f)) * t * t + 1.0f;
    if (t < 2.0f) return ((cubic_a * t - 5.0f * cubic_a) * t + 8.0f * cubic_a) * t - 4.0f * cubic_a;
    return 0.0f;
}

/* Linear or cubic resampling of x [outer, ih, iw] into y [outer, oh, ow]. Output row r samples
 * the input at row coordinate z = (r + h_pre) * h_num / h_den + h_post, a form that expresses each
 * of Resize's coordinate transformation modes with the constants xfc passes (columns likewise, with
 * the w_ ones). The taps are the rows floor(z) + t, t in [1 - n, n] with n = ceil(support /
 * h_filter): all rows within support / h_filter of z, weighted xf_resize_weight((row - z) *
 * h_filter) and normalised to sum 1. h_filter is 1, or the scale when antialiasing a downsampling,
 * which widens the filter. Rows outside the input
 * repeat the edge, or with exclude_outside get weight 0. With extrapolate (tf_crop_and_resize), a
 * coordinate outside the input gives the value extrapolation instead. */
XF_API void xf_resize(float *restrict y, const float *restrict x, int64_t outer, int64_t ih, int64_t iw,
                      int64_t oh, int64_t ow, float h_pre, float h_num, float h_den, float h_post, float h_filter,
                      float w_pre, float w_num, float w_den, float w_post, float w_filter, int64_t cubic,
                      float cubic_a, int64_t exclude_outside, int64_t extrapolate, float extrapolation) {
    float support = cubic ? 2.0f : 1.0f;
    int64_t hn = (int64_t)ceilf(support / h_filter), wn = (int64_t)ceilf(support / w_filter); /* taps a side */
    for (int64_t r = 0; r < oh; r++) {
        float zr = ((float)r + h_pre) * h_num / h_den + h_post;
        int64_t r0 = (int64_t)floorf(zr);
        for (int64_t c = 0; c < ow; c++) {
            float zc = ((float)c + w_pre) * w_num / w_den + w_post;
            int64_t c0 = (int64_t)floorf(zc);
            if (extrapolate && (zr < 0.0f || zr > (float)(ih - 1) || zc < 0.0f || zc > (float)(iw - 1))) {
                for (int64_t o = 0; o < outer; o++) y[(o * oh + r) * ow + c] = extrapolation;
                continue;
            }
            float hsum = 0.0f, wsum = 0.0f;
            for (int64_t t = 1 - hn; t <= hn; t++) {
                int64_t row = r0 + t;
                if (!exclude_outside || (row >= 0 && row < ih))
                    hsum += xf_resize_weight(((float)row - zr) * h_filter, cubic, cubic_a);
            }
            for (int64_t t = 1 - wn; t <= wn; t++) {
                int64_t col = c0 + t;
                if (!exclude_outside || (col >= 0 && col < iw))
                    wsum += xf_resize_weight(((float)col - zc) * w_filter, cubic, cubic_a);
            }
            for (int64_t o = 0; o < outer; o++) {
                float acc = 0.0f;
                for (int64_t t = 1 - hn; t <= hn; t++) {
                    int64_t row = r0 + t;
                    if (exclude_outside && (row < 0 || row >= ih)) continue;
                    float wr = xf_resize_weight(((float)row - zr) * h_filter, cubic, cubic_a) / hsum;
                    if (wr == 0.0f) continue;
                    const float *xr = x + (o * ih + (row < 0 ? 0 : row >= ih ? ih - 1 : row)) * iw;
                    float line = 0.0f;
                    for (int64_t u = 1 - wn; u <= wn; u++) {
                        int64_t col = c0 + u;
                        if (exclude_outside && (col < 0 || col >= iw)) continue;
                        float wc = xf_resize_weight(((float)col - zc) * w_filter, cubic, cubic_a) / wsum;
                        line += wc * xr[col < 0 ? 0 : col >= iw ? iw - 1 : col];
                    }
                    acc += wr * line;
                }
                y[(o * oh + r) * ow + c] = acc;
            }
        }
    }
}
