/* xf_runtime.h — what runtime kernels may rely on. Generated code carries the same lines at its
 * top, so a kernel compiles the same inside xfc (constant folding) and inside model.c. Kernels use
 * only <stdint.h>, <stddef.h>, <string.h> and <math.h>: no allocation, no I/O, no globals. */
#ifndef XF_RUNTIME_H
#define XF_RUNTIME_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Marks the definition of a kernel or helper (kernels.def). In the runtime library it is empty: the
 * kernels are ordinary external functions that xfc calls to fold constants. The C backend prints
 * `static` in its place when it copies a kernel into generated code, so every model keeps its own
 * private copy. */
#ifndef XF_API
#define XF_API
#endif

/* Status codes returned by <name>_run and by kernels that can detect bad data. */
#define XFC_OK 0
#define XFC_ERR_ARGS 1  /* a NULL arena, inputs or outputs pointer */
#define XFC_ERR_ALIGN 2 /* arena not 64-byte aligned */
#define XFC_ERR_INDEX 3 /* an index input (Gather...) out of range */
#endif
