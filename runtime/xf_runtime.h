/* xf_runtime.h — what runtime kernels may rely on. Generated code carries the same lines at its
 * top, so a kernel compiles the same inside xfc (constant folding) and inside model.c. Kernels use
 * only <stdint.h>, <stddef.h>, <string.h> and <math.h>: no allocation, no I/O, no globals. */
#ifndef XF_RUNTIME_H
#define XF_RUNTIME_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Status codes returned by <name>_run and by kernels that can detect bad data. */
#define XFC_OK 0
#define XFC_ERR_ARGS 1  /* a NULL arena, inputs or outputs pointer */
#define XFC_ERR_ALIGN 2 /* arena not 64-byte aligned */
#define XFC_ERR_INDEX 3 /* an index input (Gather...) out of range */
#endif
