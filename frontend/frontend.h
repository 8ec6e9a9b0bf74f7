/* frontend.h — readers that turn files into IR: ONNX models and ONNX TensorProto files. */
#ifndef XF_FRONTEND_H
#define XF_FRONTEND_H

#include "../ir/ir.h"

/* Loads an ONNX model into a new graph in topological order. Returns NULL after reporting. */
xf_graph *xf_onnx_load(const char *path, xf_diag *d);
/* The same, calling bind(g, ctx, d) once the graph inputs are read and before any node is: inputs
 * it turns into constants (--bind) are then known to the expansion of If, Loop and Scan, which
 * happens while the nodes load. A false return aborts the load. */
typedef bool (*xf_onnx_bind_fn)(xf_graph *g, void *ctx, xf_diag *d);
xf_graph *xf_onnx_load_bound(const char *path, xf_onnx_bind_fn bind, void *ctx, xf_diag *d);

/* A dense tensor outside a graph: inputs and reference outputs of `xfc run`. */
typedef struct xf_tensor {
    const char *name;
    int32_t dtype;
    int32_t rank;
    int64_t shape[XF_MAX_RANK];
    void *data; /* ONNX's bytes: narrow types keep their bit patterns, 4-bit types stay packed */
} xf_tensor;

/* Reads a serialized TensorProto (the input_N.pb / output_N.pb files). Memory comes from a. */
bool xf_tensor_load_pb(xf_arena *a, const char *path, xf_tensor *t, xf_diag *d);
/* Writes a TensorProto; writes to a temporary file then renames, so a failure loses nothing. */
bool xf_tensor_save_pb(const char *path, const xf_tensor *t, xf_diag *d);

#endif
