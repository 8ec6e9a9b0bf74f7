/* signal.c — runtime kernels of the signal-processing ops: DFT and STFT, and the determinant (Det).
 * The window functions and MelWeightMatrix need none: their outputs depend only on values known at
 * compile time, so xfc computes them (ir/ops_signal.c).
 *
 * The transforms are plain O(n^2) sums, one output bin at a time, readable and exact in their
 * indexing rather than fast: the twiddle factor of input k for bin j is taken at angle
 * 2*pi*((j*k) mod n)/n, the product reduced exactly in integers (then to the nearest quarter turn)
 * before it becomes a float, so long transforms lose no accuracy to large angles. As in the other kernel files, xfc settles every size
 * at compile time and passes plain numbers; arguments follow memcpy (outputs first, then inputs,
 * then sizes); everything is float32 and sums accumulate in float. Complex values are pairs
 * (real, imaginary) in the last dim, which has size 1 for real input.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_dft_row */
/* One discrete Fourier transform: the first n_out bins of the n-point DFT of the signal x, whose
 * element k (comps floats: real, then imaginary when comps is 2) is at x + k * xstride. Only the
 * first n_in elements exist: a signal shorter than n is zero-padded, a longer one truncated. Each
 * element is multiplied by window[k] first when there is a window. Bin j, the pair at y + j * ystride,
 * is sum_k x[k] e^(-2 pi i j k / n), or with inverse the conjugate sum divided by n. */
XF_API void xf_dft_row(float *y, int64_t ystride, const float *x, int64_t xstride, int64_t comps, const float *window,
                       int64_t n_in, int64_t n, int64_t n_out, int64_t inverse) {
    const float half_pi = 1.5707963267948966f;
    float sign = inverse ? 1.0f : -1.0f, scale = inverse ? 1.0f / (float)n : 1.0f;
    int64_t len = n_in < n ? n_in : n;
    for (int64_t j = 0; j < n_out; j++) {
        float re = 0.0f, im = 0.0f;
        int64_t m = 0; /* (j * k) mod n, stepped along with k */
        for (int64_t k = 0; k < len; k++) {
            /* 2*pi*m/n = q*pi/2 + a with q the nearest quarter turn and |a| <= pi/4: the cosine and
             * sine of a small angle are accurate, and multiples of a quarter turn come out exact, so
             * a real signal's bins that must be real (DC, Nyquist) get an imaginary part of 0 */
            int64_t q = (4 * m + n / 2) / n, rest = 4 * m - q * n;
            float a = half_pi * (float)rest / (float)n, ca = cosf(a), sa = sinf(a), c, s;
            switch (q % 4) {
            case 0: c = ca, s = sa; break;
            case 1: c = -sa, s = ca; break;
            case 2: c = -ca, s = -sa; break;
            default: c = sa, s = -ca; break;
            }
            s *= sign;
            float w = window ? window[k] : 1.0f;
            float xr = x[k * xstride] * w, xi = comps == 2 ? x[k * xstride + 1] * w : 0.0f;
            re += xr * c - xi * s;
            im += xr * s + xi * c;
            m += j; /* j < n, so one subtraction brings m back below n */
            if (m >= n) m -= n;
        }
        y[j * ystride] = re * scale;
        y[j * ystride + 1] = im * scale;
    }
}

/* @kernel xf_dft */
/* DFT along one axis: x viewed as [outer, n_in, inner, comps] (comps 1 for real, 2 for complex
 * input), y as [outer, n_out, inner, 2]; each of the outer * inner signals is transformed by
 * xf_dft_row. onesided keeps only the first n / 2 + 1 bins (n_out): the rest of a real signal's
 * spectrum mirrors them. */
XF_API void xf_dft(float *restrict y, const float *restrict x, int64_t outer, int64_t n_in, int64_t inner, int64_t comps,
                   int64_t n, int64_t n_out, int64_t inverse) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            xf_dft_row(y + (o * n_out * inner + i) * 2, inner * 2, x + (o * n_in * inner + i) * comps, inner * comps,
                       comps, NULL, n_in, n, n_out, inverse);
}

/* @kernel xf_stft */
/* Short-time Fourier transform of x [batch, length, comps]: frame f is the frame_length samples
 * starting at f * step, multiplied by window (optional: all ones), and transformed into the first
 * `bins` bins of its frame_length-point DFT: y is [batch, frames, bins, 2]. */
XF_API void xf_stft(float *restrict y, const float *restrict x, const float *restrict window, int64_t batch,
                    int64_t length, int64_t comps, int64_t frames, int64_t step, int64_t frame_length, int64_t bins) {
    for (int64_t b = 0; b < batch; b++)
        for (int64_t f = 0; f < frames; f++)
            xf_dft_row(y + (b * frames + f) * bins * 2, 2, x + (b * length + f * step) * comps, comps, comps, window,
                       frame_length, frame_length, bins, 0);
}

/* @kernel xf_det */
/* Determinants of the `batch` matrices size x size of x, into y. Gaussian elimination with partial
 * pivoting (the largest remaining element of each column is brought up, which keeps the
 * multipliers at most 1) on a copy in a local array, so size is at most 16 (xfc checks): the
 * determinant is the product of the pivots, its sign flipped at each row swap. A column with no
 * nonzero pivot makes the matrix singular: 0. */
XF_API void xf_det(float *restrict y, const float *restrict x, int64_t batch, int64_t size) {
    float a[16 * 16];
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t e = 0; e < size * size; e++) a[e] = x[b * size * size + e];
        float det = 1.0f;
        for (int64_t col = 0; col < size; col++) {
            int64_t pivot = col;
            for (int64_t r = col + 1; r < size; r++)
                if (fabsf(a[r * size + col]) > fabsf(a[pivot * size + col])) pivot = r;
            if (a[pivot * size + col] == 0.0f) {
                det = 0.0f;
                break;
            }
            if (pivot != col) {
                for (int64_t k = 0; k < size; k++) {
                    float t = a[col * size + k];
                    a[col * size + k] = a[pivot * size + k];
                    a[pivot * size + k] = t;
                }
                det = -det;
            }
            det *= a[col * size + col];
            for (int64_t r = col + 1; r < size; r++) {
                float f = a[r * size + col] / a[col * size + col];
                for (int64_t k = col; k < size; k++) a[r * size + k] -= f * a[col * size + k];
            }
        }
        y[b] = det;
    }
}
