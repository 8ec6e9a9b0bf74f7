/* image.c — runtime kernels of the image and grid ops: GridSample, AffineGrid, Col2Im, RoiAlign and
 * ReverseSequence. (CenterCropPad needs none of its own: it is a fill and a strided copy from
 * data.c.)
 *
 * As in nn.c, xfc settles all geometry at compile time and passes plain numbers; what only the data
 * can tell (where a grid point or a region of interest falls) is worked out here, per element.
 * Spatial dims come as arrays of `dims` sizes, slowest first, like the tensor's own dims. Arguments
 * follow memcpy: outputs first, then inputs, then sizes. Everything is float32; sums accumulate in
 * float. ReverseSequence only moves elements and takes any type (esize bytes each).
 *
 * Coordinates read from data (grid points, regions of interest) may be anything, NaN included;
 * before one becomes an index it is clamped to a range where the conversion to an integer is
 * defined, so bad data gives wrong numbers, never undefined behaviour or an access out of bounds.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_grid_reflect */
/* Folds coordinate v back into [lo, hi] by reflecting it off the borders as often as needed (a
 * mirror image of the input repeats with period 2 * (hi - lo)). A degenerate range (one pixel with
 * align_corners) holds only lo. */
XF_API float xf_grid_reflect(float v, float lo, float hi) {
    float range = hi - lo;
    if (range <= 0.0f) return lo;
    if (v < lo) {
        float dist = lo - v, turns = floorf(dist / range), rest = dist - turns * range;
        return fmodf(turns, 2.0f) == 0.0f ? lo + rest : hi - rest;
    }
    if (v > hi) {
        float dist = v - hi, turns = floorf(dist / range), rest = dist - turns * range;
        return fmodf(turns, 2.0f) == 0.0f ? hi - rest : lo + rest;
    }
    return v;
}

/* @kernel xf_grid_sample */
/* GridSample of x [batch, channels, in[0..dims)] at the points of grid [batch, out[0..dims), dims],
 * into y [batch, channels, out[0..dims)]. A grid point holds normalised coordinates in [-1, 1],
 * fastest dim first (x, y, z: width, height, depth), so component j addresses spatial dim
 * dims-1-j.
 *
 * Each coordinate g is mapped to a pixel position: with align_corners, -1 and 1 are the centres of
 * the first and last pixel, p = (g + 1) / 2 * (size - 1); without, they are the outer edges of those
 * pixels, p = ((g + 1) * size - 1) / 2. mode 0 (linear) weights the 2 pixels around p by distance,
 * mode 1 (nearest) takes the pixel at p rounded half to even, mode 2 (cubic) weights 4 pixels with
 * Keys' cubic convolution kernel (a = -0.75); in several dims the taps are the products of the
 * per-dim ones. Padding decides what lies outside: 0 zeros (those taps add nothing), 1 border (positions and
 * taps are clamped to the edge pixels), 2 reflection (positions and taps are mirrored off the
 * borders: the outer pixel edges, or with align_corners the edge pixels' centres). */
XF_API void xf_grid_sample(float *restrict y, const float *restrict x, const float *restrict grid, int64_t batch,
                           int64_t channels, int64_t dims, const int64_t *in, const int64_t *out, int64_t mode,
                           int64_t padding, int64_t align_corners) {
    const float a = -0.75f;
    int64_t in_size = 1, out_size = 1, xstride[8]; /* xfc tensors have rank <= 8 */
    for (int64_t d = dims - 1; d >= 0; d--) {
        xstride[d] = in_size;
        in_size *= in[d];
        out_size *= out[d];
    }
    int64_t ntaps = mode == 1 ? 1 : mode == 0 ? 2 : 4, combos = 1;
    for (int64_t d = 0; d < dims; d++) combos *= ntaps;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t e = 0; e < out_size; e++) {
            /* per spatial dim: the taps' pixel indices (-1 for a tap in zero padding) and weights */
            int64_t tap[8][4];
            float w[8][4];
            const float *gp = grid + (b * out_size + e) * dims;
            for (int64_t d = 0; d < dims; d++) {
                float size = (float)in[d], g = gp[dims - 1 - d];
                float p = align_corners ? (g + 1.0f) / 2.0f * (size - 1.0f) : ((g + 1.0f) * size - 1.0f) / 2.0f;
                float lo = align_corners ? 0.0f : -0.5f, hi = align_corners ? size - 1.0f : size - 0.5f;
                if (mode == 1) p = rintf(p);
                if (p < lo || p > hi) {
                    if (padding == 1) p = p < 0.0f ? 0.0f : p > size - 1.0f ? size - 1.0f : p;
                    if (padding == 2) p = xf_grid_reflect(p, lo, hi);
                }
                /* only zero padding leaves p far outside, where every tap reads 0; the clamp keeps the
                 * float-to-int conversions below defined (fmaxf also turns NaN into the bound) */
                p = fminf(fmaxf(p, -4.0f - size), 2.0f * size + 4.0f);
                float f = mode == 1 ? p : floorf(p), t = p - f;
                int64_t first = (int64_t)f - (mode == 2);
                if (mode == 1) {
                    w[d][0] = 1.0f;
                } else if (mode == 0) {
                    w[d][0] = 1.0f - t;
                    w[d][1] = t;
                } else { /* the cubic kernel at distances 1 + t, t, 1 - t, 2 - t */
                    float s = 1.0f + t, u = 1.0f - t, v = 2.0f - t;
                    w[d][0] = ((a * s - 5.0f * a) * s + 8.0f * a) * s - 4.0f * a;
                    w[d][1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
                    w[d][2] = ((a + 2.0f) * u - (a + 3.0f)) * u * u + 1.0f;
                    w[d][3] = ((a * v - 5.0f * a) * v + 8.0f * a) * v - 4.0f * a;
                }
                for (int64_t k = 0; k < ntaps; k++) {
                    int64_t i = first + k;
                    if (i < 0 || i >= in[d]) {
                        if (padding == 0) i = -1;
                        else if (padding == 1) i = i < 0 ? 0 : in[d] - 1;
                        else i = (int64_t)xf_grid_reflect((float)i, lo, hi);
                        if (padding != 0) i = i < 0 ? 0 : i >= in[d] ? in[d] - 1 : i; /* rounding cannot escape */
                    }
                    tap[d][k] = i;
                }
            }
            for (int64_t c = 0; c < channels; c++) {
                const float *xc = x + (b * channels + c) * in_size;
                float acc = 0.0f;
                for (int64_t t = 0; t < combos; t++) { /* t's digits in base ntaps pick one tap per dim */
                    float weight = 1.0f;
                    int64_t off = 0, rest = t;
                    for (int64_t d = dims - 1; d >= 0; d--) {
                        int64_t k = rest % ntaps, i = tap[d][k];
                        rest /= ntaps;
                        if (i < 0) weight = 0.0f;
                        else off += i * xstride[d];
                        weight *= w[d][k];
                    }
                    if (weight != 0.0f) acc += weight * xc[off];
                }
                y[(b * channels + c) * out_size + e] = acc;
            }
        }
}

/* @kernel xf_affine_grid */
/* AffineGrid: the sampling grid [batch, size[0..dims), dims] that GridSample reads, for dims = 2
 * (size [H, W], theta [batch, 2, 3]) or 3 (size [D, H, W], theta [batch, 3, 4]). Each output point is
 * theta times the homogeneous base point (x, y[, z], 1) of its position, with x from the width
 * index, y from the height index and z from the depth index. Along a dim of n points the base
 * coordinates span [-1, 1]: the points' centres with align_corners (-1 + 2i / (n - 1)), else the
 * outer edges of n equal cells ((2i + 1) / n - 1); a single point sits at 0. */
XF_API void xf_affine_grid(float *restrict grid, const float *restrict theta, int64_t batch, int64_t dims,
                           const int64_t *size, int64_t align_corners) {
    int64_t total = 1;
    for (int64_t d = 0; d < dims; d++) total *= size[d];
    for (int64_t b = 0; b < batch; b++) {
        const float *th = theta + b * dims * (dims + 1);
        int64_t idx[3] = {0, 0, 0};
        for (int64_t e = 0; e < total; e++) {
            float base[4];
            for (int64_t j = 0; j < dims; j++) { /* component j comes from spatial dim dims-1-j */
                int64_t n = size[dims - 1 - j], i = idx[dims - 1 - j];
                base[j] = n <= 1 ? 0.0f
                        : align_corners ? -1.0f + 2.0f * (float)i / (float)(n - 1)
                                        : (2.0f * (float)i + 1.0f) / (float)n - 1.0f;
            }
            base[dims] = 1.0f;
            for (int64_t k = 0; k < dims; k++) {
                float acc = 0.0f;
                for (int64_t j = 0; j <= dims; j++) acc += th[k * (dims + 1) + j] * base[j];
                grid[(b * total + e) * dims + k] = acc;
            }
            for (int64_t d = dims - 1; d >= 0 && ++idx[d] == size[d]; d--) idx[d] = 0;
        }
    }
}

/* @kernel xf_col2im */
/* Col2Im, the inverse of im2col: x [planes, K, L] holds, for each of the L block positions, the
 * K = prod(block) values of one block; y [planes, image[0..dims)] is the image they were cut from,
 * with overlapping blocks summed. Block position l (blocks[d] positions along dim d) and offset k
 * within the block land on pixel l*stride - pad + k*dilation of each dim; pixels in the padding
 * are dropped. */
XF_API void xf_col2im(float *restrict y, const float *restrict x, int64_t planes, int64_t dims, const int64_t *image,
                      const int64_t *block, const int64_t *blocks, const int64_t *strides, const int64_t *pads,
                      const int64_t *dilations) {
    int64_t pixels = 1, kn = 1, ln = 1;
    for (int64_t d = 0; d < dims; d++) {
        pixels *= image[d];
        kn *= block[d];
        ln *= blocks[d];
    }
    memset(y, 0, (size_t)(planes * pixels) * sizeof *y);
    for (int64_t p = 0; p < planes; p++) {
        int64_t k[8] = {0};
        for (int64_t kk = 0; kk < kn; kk++) {
            int64_t l[8] = {0};
            for (int64_t ll = 0; ll < ln; ll++) {
                int64_t off = 0, inside = 1;
                for (int64_t d = 0; d < dims; d++) {
                    int64_t i = l[d] * strides[d] - pads[d] + k[d] * dilations[d];
                    inside &= i >= 0 && i < image[d];
                    off = off * image[d] + i;
                }
                if (inside) y[p * pixels + off] += x[(p * kn + kk) * ln + ll];
                for (int64_t d = dims - 1; d >= 0 && ++l[d] == blocks[d]; d--) l[d] = 0;
            }
            for (int64_t d = dims - 1; d >= 0 && ++k[d] == block[d]; d--) k[d] = 0;
        }
    }
}

/* @kernel xf_roi_align */
/* RoiAlign: for each region of interest rois[i] = (x1, y1, x2, y2) (in input pixels once multiplied
 * by scale) on image batch_indices[i] (index_size 4 or 8 bytes) of x [batch, channels, height,
 * width], an out_height x out_width map y[i, channels] of the region's bins. Each bin averages (or,
 * with is_max, takes the largest of) a grid of bilinear samples: sampling_ratio per side, or when
 * that is 0 as many as the bin is pixels wide, rounded up. With half_pixel the region is shifted by
 * half a pixel; without (output_half_pixel), a region smaller than a pixel is widened to one. A
 * sample more than a pixel outside the image counts as 0; one just outside reads the edge. In max
 * mode a sample's value is the largest of its four weighted taps, as the ONNX reference and
 * onnxruntime compute it. */
XF_API int xf_roi_align(float *restrict y, const float *restrict x, const float *restrict rois,
                        const void *batch_indices, int64_t index_size, int64_t nrois, int64_t batch, int64_t channels,
                        int64_t height, int64_t width, int64_t out_height, int64_t out_width, int64_t sampling_ratio,
                        float scale, int64_t half_pixel, int64_t is_max) {
    for (int64_t i = 0; i < nrois; i++) {
        int64_t b = index_size == 8 ? ((const int64_t *)batch_indices)[i] : ((const int32_t *)batch_indices)[i];
        if (b < 0 || b >= batch) return XFC_ERR_INDEX;
        float shift = half_pixel ? 0.5f : 0.0f;
        float x0 = rois[i * 4 + 0] * scale - shift, y0 = rois[i * 4 + 1] * scale - shift;
        float rw = rois[i * 4 + 2] * scale - shift - x0, rh = rois[i * 4 + 3] * scale - shift - y0;
        if (!half_pixel) {
            rw = rw > 1.0f ? rw : 1.0f;
            rh = rh > 1.0f ? rh : 1.0f;
        }
        float bin_h = rh / (float)out_height, bin_w = rw / (float)out_width;
        /* samples per bin side; bounded (and NaN taken to 0) so bad regions cannot overflow the count */
        float fgh = sampling_ratio > 0 ? (float)sampling_ratio : ceilf(bin_h);
        float fgw = sampling_ratio > 0 ? (float)sampling_ratio : ceilf(bin_w);
        int64_t gh = fgh >= 1.0f ? (int64_t)fminf(fgh, 65536.0f) : 0, gw = fgw >= 1.0f ? (int64_t)fminf(fgw, 65536.0f) : 0;
        float count = gh * gw > 1 ? (float)(gh * gw) : 1.0f;
        for (int64_t c = 0; c < channels; c++) {
            const float *xc = x + (b * channels + c) * height * width;
            for (int64_t ph = 0; ph < out_height; ph++)
                for (int64_t pw = 0; pw < out_width; pw++) {
                    float acc = 0.0f;
                    int first = 1;
                    for (int64_t iy = 0; iy < gh; iy++)
                        for (int64_t ix = 0; ix < gw; ix++) {
                            float sy = y0 + (float)ph * bin_h + ((float)iy + 0.5f) * bin_h / (float)gh;
                            float sx = x0 + (float)pw * bin_w + ((float)ix + 0.5f) * bin_w / (float)gw;
                            float v1 = 0.0f, v2 = 0.0f, v3 = 0.0f, v4 = 0.0f;
                            if (sy >= -1.0f && sy <= (float)height && sx >= -1.0f && sx <= (float)width) {
                                sy = sy > 0.0f ? sy : 0.0f;
                                sx = sx > 0.0f ? sx : 0.0f;
                                int64_t ylo = (int64_t)sy, xlo = (int64_t)sx, yhi, xhi;
                                if (ylo >= height - 1) {
                                    yhi = ylo = height - 1;
                                    sy = (float)ylo;
                                } else {
                                    yhi = ylo + 1;
                                }
                                if (xlo >= width - 1) {
                                    xhi = xlo = width - 1;
                                    sx = (float)xlo;
                                } else {
                                    xhi = xlo + 1;
                                }
                                float ly = sy - (float)ylo, lx = sx - (float)xlo, hy = 1.0f - ly, hx = 1.0f - lx;
                                v1 = hy * hx * xc[ylo * width + xlo];
                                v2 = hy * lx * xc[ylo * width + xhi];
                                v3 = ly * hx * xc[yhi * width + xlo];
                                v4 = ly * lx * xc[yhi * width + xhi];
                            }
                            if (!is_max) {
                                acc += v1 + v2 + v3 + v4;
                            } else {
                                float m = fmaxf(fmaxf(v1, v2), fmaxf(v3, v4));
                                acc = first || m > acc ? m : acc;
                                first = 0;
                            }
                        }
                    y[((i * channels + c) * out_height + ph) * out_width + pw] = is_max ? acc : acc / count;
                }
        }
    }
    return XFC_OK;
}

/* @kernel xf_reverse_sequence */
/* ReverseSequence: x and y are [time, batch, inner] or [batch, time, inner], element (t, b) at
 * t * time_stride + b * batch_stride. The first lens[b] time steps of sequence b are reversed, the
 * rest copied. A length outside [0, time] stops the kernel with XFC_ERR_INDEX. */
XF_API int xf_reverse_sequence(void *y, const void *x, const int64_t *lens, int64_t time, int64_t batch,
                               int64_t time_stride, int64_t batch_stride, int64_t inner, int64_t esize) {
    for (int64_t b = 0; b < batch; b++) {
        int64_t len = lens[b];
        if (len < 0 || len > time) return XFC_ERR_INDEX;
        for (int64_t t = 0; t < time; t++) {
            int64_t src = t < len ? len - 1 - t : t;
            memcpy((char *)y + (t * time_stride + b * batch_stride) * esize,
                   (const char *)x + (src * time_stride + b * batch_stride) * esize, (size_t)(inner * esize));
        }
    }
    return XFC_OK;
}
