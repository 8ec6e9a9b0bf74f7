/* fused.c — runtime kernels of ops that fusion passes make from several ONNX nodes. */
#include "kernels.h"

/* @kernel xf_linear */
/* y[m,n] = activation(x[m,k] @ w[k,n] + bias[n]), the MatMul with its epilogue: the bias seeds each
 * output row and the activation runs over the finished row while it is still in cache: 0 none,
 * 1 Relu, 2 Gelu (erf), 3 Gelu (tanh), 4 SiLU, 5 Sigmoid, 6 Tanh.
 * w_nk: w is stored [n, k], the transpose, and each output is a dot product with a row of it. That is
 * how a weight shared with another reader is used (a tied embedding, also read by Gather), so it
 * is stored once rather than once per layout. */
XF_API void xf_linear(float *restrict y, const float *restrict x, const float *restrict w,
                      const float *restrict bias, int64_t m, int64_t k, int64_t n, int64_t activation, int64_t w_nk) {
    for (int64_t i = 0; i < m; i++) {
        float *yi = y + i * n;
        for (int64_t j = 0; j < n; j++) yi[j] = bias ? bias[j] : 0.0f;
        for (int64_t j = 0; w_nk && j < n; j++) yi[j] += xf_dot(x + i * k, w + j * k, k);
        for (int64_t p = 0; !w_nk && p < k; p++) {
            float xv = x[i * k + p];
            const float *wp = w + p * n;
            for (int64_t j = 0; j < n; j++) yi[j] += xv * wp[j];
        }
        switch (activation) {
        case 1: for (int64_t j = 0; j < n; j++) yi[j] = yi[j] > 0.0f ? yi[j] : 0.0f; break;
        case 2: for (int64_t j = 0; j < n; j++) yi[j] = 0.5f * yi[j] * (1.0f + erff(yi[j] * 0.707106781f)); break;
        case 3:
            for (int64_t j = 0; j < n; j++) {
                float v = yi[j];
                yi[j] = 0.5f * v * (1.0f + tanhf(0.797884561f * (v + 0.044715f * v * v * v)));
            }
            break;
        case 4: for (int64_t j = 0; j < n; j++) yi[j] = yi[j] / (1.0f + expf(-yi[j])); break;
        case 5: for (int64_t j = 0; j < n; j++) yi[j] = 1.0f / (1.0f + expf(-yi[j])); break;
        case 6: for (int64_t j = 0; j < n; j++) yi[j] = tanhf(yi[j]); break;
        default: break;
        }
    }
}
