/* index.c — runtime kernels (none yet). */
#include "xf_runtime.h"
