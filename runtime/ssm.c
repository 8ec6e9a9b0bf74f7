/* ssm.c — runtime kernels of state-space (Mamba) layers: the selective scan and the causal
 * depthwise convolution in front of it. fuse_ssm makes them from the unrolled subgraphs the ONNX
 * exporters write, so the per-step tensors of those graphs ([batch, d, l, n] each) never exist. */
#include "kernels.h"

/* @kernel xf_selective_scan */
/* Mamba's selective scan, one channel at a time. Layouts (row-major), with d channels, l = length
 * time steps and a state of n = state_size values per channel:
 *   u, delta, z, y  [batch, d, l]    input, step size (softplus already applied), gate, output
 *   A               [d, n]           the decay rates, -exp(A_log)
 *   B, C            [batch, l, n]    input and output projections of the state, per time step
 *   D               [d]              skip weight (NULL: none);  z NULL: no gate
 * For each channel the state h[n] starts at zero and
 *   h = exp(delta_t * A) * h + delta_t * B_t * u_t,   y_t = C_t . h + D * u_t,   y_t *= silu(z_t).
 * The state lives on the stack, in slices of at most 64 values so any n fits: each slice runs over
 * all time steps and adds its part of C_t . h to y_t. The arithmetic follows the unrolled ONNX graph
 * operation by operation (with n <= 64 even the sums run in the same order), so fused and unfused
 * code agree to rounding. */
XF_API void xf_selective_scan(float *restrict y, const float *restrict u, const float *restrict delta,
                              const float *restrict A, const float *restrict B, const float *restrict C,
                              const float *restrict D, const float *restrict z, int64_t batch, int64_t channels,
                              int64_t length, int64_t state_size) {
    enum { SLICE = 64 };
    const int64_t l = length, n = state_size;
    float h[SLICE], decay[SLICE];
    for (int64_t b = 0; b < batch; b++)
        for (int64_t c = 0; c < channels; c++) {
            int64_t row = (b * channels + c) * l;
            const float *uc = u + row, *dc = delta + row, *ac = A + c * n;
            const float *bb = B + b * l * n, *cb = C + b * l * n;
            float *yc = y + row;
            for (int64_t t = 0; t < l; t++) yc[t] = 0.0f;
            for (int64_t s0 = 0; s0 < n; s0 += SLICE) {
                int64_t m = n - s0 < SLICE ? n - s0 : SLICE;
                for (int64_t s = 0; s < m; s++) h[s] = 0.0f;
                for (int64_t t = 0; t < l; t++) {
                    float dt = dc[t], ut = uc[t], acc = 0.0f;
                    const float *bt = bb + t * n + s0, *ct = cb + t * n + s0;
                    for (int64_t s = 0; s < m; s++) decay[s] = expf(ac[s0 + s] * dt);
                    for (int64_t s = 0; s < m; s++) h[s] = decay[s] * h[s] + dt * bt[s] * ut;
                    for (int64_t s = 0; s < m; s++) acc += h[s] * ct[s];
                    yc[t] += acc;
                }
            }
            if (D)
                for (int64_t t = 0; t < l; t++) yc[t] += uc[t] * D[c];
            if (z) {
                const float *zc = z + row;
                for (int64_t t = 0; t < l; t++) yc[t] *= zc[t] / (1.0f + expf(-zc[t]));
            }
        }
}

/* @kernel xf_ssd_scan */
/* Mamba-2's state-space step (SSD) computed as the recurrence it defines. The exporters write the
 * chunked form of the reference code -- per chunk, a [l, l] matrix of decays and einsum-style
 * products over every (position, source, head, channel, state) -- which is the same sum regrouped;
 * here each channel carries its state through time once. Layouts (row-major), with l = length time
 * steps, p = head_dim channels per head and n = state_size:
 *   x, y   [batch, l, heads, p]   input and output
 *   dt     [batch, l, heads]      step size (softplus and clamp already applied)
 *   A      [heads]                decay rate per head, -exp(A_log)
 *   B, C   [batch, l, groups, n]  input and output projections; head hd uses group hd / (heads / groups)
 *   D      [heads]                skip weight, or NULL
 * For each channel the state s[n] starts at zero and
 *   s = exp(dt_t * A) * s + B_t * (x_t * dt_t),   y_t = C_t . s + D * x_t.
 * As in xf_selective_scan the state lives on the stack in slices of at most 64 values. */
XF_API void xf_ssd_scan(float *restrict y, const float *restrict x, const float *restrict dt,
                        const float *restrict A, const float *restrict B, const float *restrict C,
                        const float *restrict D, int64_t batch, int64_t length, int64_t heads, int64_t head_dim,
                        int64_t groups, int64_t state_size) {
    enum { SLICE = 64 };
    const int64_t l = length, p = head_dim, n = state_size;
    float s[SLICE];
    int64_t per_group = heads / groups, row = heads * p; /* row: one time step of x or y */
    for (int64_t b = 0; b < batch; b++)
        for (int64_t hd = 0; hd < heads; hd++) {
            const float *dth = dt + b * l * heads + hd;
            const float *bg = B + (b * l * groups + hd / per_group) * n, *cg = C + (b * l * groups + hd / per_group) * n;
            for (int64_t c = 0; c < p; c++) {
                const float *xc = x + b * l * row + hd * p + c;
                float *yc = y + b * l * row + hd * p + c;
                for (int64_t t = 0; t < l; t++) yc[t * row] = D ? D[hd] * xc[t * row] : 0.0f;
                for (int64_t s0 = 0; s0 < n; s0 += SLICE) {
                    int64_t m = n - s0 < SLICE ? n - s0 : SLICE;
                    for (int64_t k = 0; k < m; k++) s[k] = 0.0f;
                    for (int64_t t = 0; t < l; t++) {
                        float step = dth[t * heads], decay = expf(step * A[hd]), xdt = xc[t * row] * step, acc = 0.0f;
                        const float *bt = bg + t * groups * n + s0, *ct = cg + t * groups * n + s0;
                        for (int64_t k = 0; k < m; k++) s[k] = decay * s[k] + bt[k] * xdt;
                        for (int64_t k = 0; k < m; k++) acc += ct[k] * s[k];
                        yc[t * row] += acc;
                    }
                }
            }
        }
}

/* @kernel xf_causal_conv1d */
/* Causal depthwise 1-D convolution: x and y are [batch, channels, length], w is [channels, width]
 * (the ONNX weight [channels, 1, width]), bias [channels] or NULL:
 *   y[b,c,t] = bias[c] + sum_j w[c,j] * x[b,c,t-(width-1)+j],   x of negative time being 0,
 * so output t sees the window of the `width` inputs ending at t. The window is summed tap by tap,
 * each tap sliding over the whole row, which keeps the inner loop contiguous and free of tests.
 * activation: 0 none, 4 SiLU (the codes of xfc.Linear). */
XF_API void xf_causal_conv1d(float *restrict y, const float *restrict x, const float *restrict w,
                             const float *restrict bias, int64_t batch, int64_t channels, int64_t length,
                             int64_t width, int64_t activation) {
    for (int64_t b = 0; b < batch; b++)
        for (int64_t c = 0; c < channels; c++) {
            const float *xc = x + (b * channels + c) * length, *wc = w + c * width;
            float *yc = y + (b * channels + c) * length;
            for (int64_t t = 0; t < length; t++) yc[t] = bias ? bias[c] : 0.0f;
            for (int64_t j = 0; j < width; j++) {
                int64_t lag = width - 1 - j; /* tap j reads the input lag steps back */
                float wj = wc[j];
                for (int64_t t = lag; t < length; t++) yc[t] += wj * xc[t - lag];
            }
            if (activation == 4)
                for (int64_t t = 0; t < length; t++) yc[t] = yc[t] / (1.0f + expf(-yc[t]));
        }
}
