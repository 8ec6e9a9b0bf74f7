/* backend.h — the small interface every backend implements. Backends only print the IR that the
 * passes produced; they never pattern-match (fusion is decided once, in passes). */
#ifndef XF_BACKEND_H
#define XF_BACKEND_H
#include <stdio.h>

#include "../ir/ir.h"

/* Where the C backend puts the weights (--weights). */
typedef enum xf_weights_form {
    XF_WEIGHTS_INLINE,   /* in model.c, as string literals of their bytes: portable, quick to compile */
    XF_WEIGHTS_INCBIN,   /* in model.bin beside model.c, pulled into the object by the assembler's .incbin */
    XF_WEIGHTS_EXTERNAL, /* in model.bin, which the program loads and passes to model_run */
} xf_weights_form;

typedef struct xf_emit_options {
    const char *prefix;  /* C identifier prefixing every public symbol */
    const char *source;  /* model path, named in the generated file's header */
    int opt_level;
    const char *target;          /* --target cortex-m4 ..., NULL for the host */
    bool freestanding;           /* no libc/libm: xfc's own math functions (--freestanding, any --target) */
    const char *weights_section; /* --weights-section .NAME: put weights in that linker section */
    xf_weights_form weights;     /* --weights inline|incbin|external */
} xf_emit_options;

typedef struct xf_backend {
    const char *name;
    /* Writes the output for `path` (the backend derives companion files, e.g. model.h, model.bin).
     * Nothing is left at `path` or its companions unless everything was written. Path "-" means
     * standard output, for backends that write one self-contained file. */
    bool (*emit)(const xf_graph *g, const xf_emit_options *o, const char *path, xf_diag *d);
} xf_backend;

const xf_backend *xf_backend_find(const char *name); /* NULL when unknown */

/* Microcontroller targets (codegen/c/freestanding.c). */
typedef struct xf_target {
    const char *name;     /* "cortex-m4" */
    const char *cpu_flags;/* arm-none-eabi-gcc flags: "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" */
    bool has_fpu;         /* single-precision FPU */
} xf_target;
const xf_target *xf_target_find(const char *name); /* NULL when unknown */

/* ---- helpers shared by backends (codegen/output.c) ---- */
/* An output file written to a temporary name beside its destination, renamed by xf_file_commit. */
typedef struct xf_file {
    FILE *f;
    char *path, *tmp;
} xf_file;
bool xf_file_open(xf_file *file, const char *path, xf_diag *d);
bool xf_file_commit(xf_file *file, xf_diag *d); /* closes and renames; on failure removes the temp */
void xf_file_discard(xf_file *file);            /* closes and removes the temp */

/* Writes the thread pool for _run_ex, xfc_pool.h and xfc_pool.c, into dir (codegen/c/emit_pool.c). */
bool xf_emit_pool(const char *dir, xf_diag *d);

/* C identifier from an arbitrary name: [A-Za-z0-9_], no leading digit, no runs of '_'. */
char *xf_c_ident(xf_arena *a, const char *prefix, const char *name);
#endif
