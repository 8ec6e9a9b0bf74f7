/* norm.c — runtime kernels of the normalisation ops that fusion makes: RMSNormalization (layer
 * normalisation, an ONNX op from the start, lives in math.c).
 *
 * As in math.c: shapes are settled at compile time and arrive as arguments, outputs come first,
 * optional tensors may be NULL, and everything is float32. */
#include "kernels.h"

/* @kernel xf_rms_norm */
/* Divides each of `rows` rows of `cols` elements by its root mean square sqrt(mean(x²) + epsilon),
 * then multiplies by scale (optional): `period` values repeated along the row, period dividing
 * cols (the full row, the last dims of it, or one value). The squares are summed in eight
 * independent lanes, added at the end: a single running sum would be a dependency chain the
 * compiler may not split (float addition does not reassociate), while eight lanes vectorise. */
XF_API void xf_rms_norm(float *restrict y, const float *restrict x, const float *restrict scale, int64_t rows,
                        int64_t cols, int64_t period, float epsilon) {
    int64_t body = cols - cols % 8; /* the part summed in lanes */
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        for (int64_t j = 0; j < body; j += 8)
            for (int k = 0; k < 8; k++) lane[k] += xr[j + k] * xr[j + k];
        float sum = 0.0f;
        for (int64_t j = body; j < cols; j++) sum += xr[j] * xr[j];
        for (int k = 0; k < 8; k++) sum += lane[k];
        float inv = 1.0f / sqrtf(sum / (float)cols + epsilon);
        if (!scale || period == 1) {
            float s = scale ? inv * scale[0] : inv;
            for (int64_t j = 0; j < cols; j++) yr[j] = xr[j] * s;
            continue;
        }
        for (int64_t b = 0; b < cols; b += period) {
            const float *xb = xr + b;
            float *yb = yr + b;
            for (int64_t j = 0; j < period; j++) yb[j] = xb[j] * inv * scale[j];
        }
    }
}
