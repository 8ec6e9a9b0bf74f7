/* ml.c — runtime kernels of the classical machine-learning ops of domain ai.onnx.ml. */
#include "xf_runtime.h"
