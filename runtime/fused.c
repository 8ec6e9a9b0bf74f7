/* fused.c — runtime kernels of ops that fusion passes make from several ONNX nodes. */
#include "kernels.h"

/* @kernel xf_linear */
/* y[m,n] = activation(x[m,k] @ w[k,n] + bias[n]), the MatMul with its epilogue, which
 * xf_matmul_blocked applies to each output tile while it is in cache: the bias seeds the tile and
 * the activation runs over it once it is finished: 0 none, 1 Relu, 2 Gelu (erf), 3 Gelu (tanh),
 * 4 SiLU, 5 Sigmoid, 6 Tanh.
 * w_nk: w is stored [n, k], the transpose, and each output is a dot product with a row of it. That is
 * how a weight shared with another reader is used (a tied embedding, also read by Gather), so it
 * is stored once rather than once per layout. */
XF_API void xf_linear(float *restrict y, const float *restrict x, const float *restrict w,
                      const float *restrict bias, int64_t m, int64_t k, int64_t n, int64_t activation, int64_t w_nk) {
    xf_matmul_blocked(y, x, w, bias, m, k, n, w_nk, activation);
}
