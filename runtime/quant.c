/* quant.c — runtime kernels of the quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the integer matrix products and convolutions. */
#include "xf_runtime.h"
