/* lowp.c — runtime conversions between float32 and the narrow number formats ONNX stores: float16, bfloat16, the float8 and float4 formats and the packed 4-bit integers. */
#include "xf_runtime.h"
