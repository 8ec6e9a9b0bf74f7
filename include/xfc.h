/* xfc.h — the xfc compiler as a library: load an ONNX model, run the optimisation pipeline, write
 * standalone C. The xfc command is a front end over these functions; another tool (a build system
 * plugin, a model server that compiles on deploy) links libxfc and calls them the same way.
 *
 *     xfc_options o;
 *     xfc_options_default(&o);                 // -O2
 *     xfc_error err;
 *     xfc_model *m = xfc_compile("model.onnx", &o, &err);
 *     if (!m) { fprintf(stderr, "%s\n", err.message); ... }
 *     xfc_c_options c = {.prefix = "model"};
 *     if (!xfc_emit_c(m, "out/model.c", &c, &err)) ...   // writes out/model.c and out/model.h
 *     xfc_model_free(m);
 *
 * Errors in the model or the options come back as one line in err.message, in the form the xfc
 * command prints ("FILE: node 'NAME' (Op): what is wrong"); nothing is written then. The library
 * keeps no global state: compilations in different threads do not interfere.
 */
#ifndef XFC_H
#define XFC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XFC_VERSION "0.1.0"
#define XFC_MAX_RANK 8

/* A compiled model: loaded, optimised, its memory planned and every node lowered to kernel calls. */
typedef struct xfc_model xfc_model;

typedef struct xfc_error {
    char message[1024];
} xfc_error;

/* Fixes the dimensions of a graph input whose shape the model leaves dynamic. */
typedef struct xfc_input_shape {
    const char *name;
    int rank;
    int64_t dims[XFC_MAX_RANK];
} xfc_input_shape;

/* Makes a graph input a compile-time constant holding the tensor in an ONNX TensorProto file: for
 * inputs that decide a shape (a Reshape's shape, a Slice's starts) or control flow. */
typedef struct xfc_binding {
    const char *name;
    const char *tensor_file;
} xfc_binding;

typedef struct xfc_options {
    int opt_level;                          /* 0, 1 or 2 */
    const xfc_input_shape *shapes;          /* nshapes entries */
    int nshapes;
    const xfc_binding *bindings;            /* nbindings entries */
    int nbindings;
    const char *const *disabled_passes;     /* pass names (xfc --list-passes), ndisabled entries */
    int ndisabled;
    const char *print_after;                /* print the IR to stderr after this pass, or NULL */
} xfc_options;

/* -O2 and nothing else. */
void xfc_options_default(xfc_options *o);

/* Pass i of the pipeline, in order: its name (for disabled_passes and print_after), the lowest
 * optimisation level that runs it, and what it does. Returns false past the last pass. */
bool xfc_pass_info(int i, const char **name, int *min_level, const char **summary);

/* Loads and compiles an ONNX model. Returns NULL and fills *err on an error in the model or the
 * options. */
xfc_model *xfc_compile(const char *model_path, const xfc_options *o, xfc_error *err);
void xfc_model_free(xfc_model *m);

typedef enum xfc_weights_form {
    XFC_WEIGHTS_INLINE,   /* in model.c, as string literals of their bytes (the default) */
    XFC_WEIGHTS_INCBIN,   /* in model.bin beside model.c, pulled into the object by .incbin */
    XFC_WEIGHTS_EXTERNAL, /* in model.bin, which the program loads and passes to model_run */
} xfc_weights_form;

typedef struct xfc_c_options {
    const char *prefix;          /* C identifier before every public symbol; required */
    const char *target;          /* "cortex-m4" ... for firmware C, or NULL for the host */
    bool freestanding;           /* no libc or libm (implied by a target) */
    const char *weights_section; /* ".NAME": the linker section of every weight, or NULL */
    xfc_weights_form weights;
} xfc_c_options;

/* Writes the portable C backend's output: c_path, the header beside it (.c replaced by .h) and,
 * for the incbin and external forms, the weights file (.bin). "-" writes the C alone to standard
 * output. Every file is written to a temporary name and renamed at the end, so a failure leaves
 * nothing behind and clobbers nothing. */
bool xfc_emit_c(const xfc_model *m, const char *c_path, const xfc_c_options *o, xfc_error *err);

/* Writes xfc_pool.h and xfc_pool.c into dir: a pthread pool whose xfc_pool_new(threads) gives the
 * executor the generated _run_ex functions take. Like xfc_emit_c, nothing half-written is left. */
bool xfc_emit_pool(const char *dir, xfc_error *err);

typedef struct xfc_stats {
    int32_t nodes_in;     /* as loaded */
    int32_t nodes_out;    /* after the pipeline */
    int64_t arena_bytes;  /* scratch memory one run needs */
    int64_t weight_bytes; /* constants the generated code keeps */
    int64_t flops;        /* an estimate of one run's floating-point work, from the kernel costs */
} xfc_stats;
xfc_stats xfc_model_stats(const xfc_model *m);

#ifdef __cplusplus
}
#endif
#endif
