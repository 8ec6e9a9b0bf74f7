/* libm.c — single-precision math for freestanding targets (none yet). */
#include "xf_runtime.h"
