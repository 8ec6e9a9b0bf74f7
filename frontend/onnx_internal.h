/* onnx_internal.h — what the model loader (onnx.c) and the tensor reader (tensor.c) share: reading
 * and unpacking an untrusted protobuf file, and decoding a TensorProto into dense native data.
 * Private to frontend/. */
#ifndef XF_ONNX_INTERNAL_H
#define XF_ONNX_INTERNAL_H

#include "frontend.h"
#include "onnx.pb-c.h"
#include "../lower/lower.h"

/* Reads the file at path and unpacks it as a message of type desc ("what" names the expected
 * content in messages, e.g. "ONNX model"). Errors are reported against where (only its path is
 * read). Free the result with protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *xf_onnx_unpack_file(const char *path, const ProtobufCMessageDescriptor *desc,
                                      const char *what, const xf_graph *where, xf_diag *d);

/* Decodes tp into t: name, shape, dtype and data (allocated from a; float16 and bfloat16 become
 * float32). Data comes from raw_data, the typed fields, or an external file relative to dir (NULL
 * refuses external data). Checks that the data matches the shape. */
bool xf_onnx_tensor_decode(xf_arena *a, const Onnx__TensorProto *tp, const char *dir,
                           const xf_graph *where, xf_tensor *t, xf_diag *d);

/* "float32", "complex64", "unknown (99)": names ONNX element types in messages. */
const char *xf_onnx_dtype_name(xf_arena *a, int32_t dtype);

/* The directory part of path ("." when it has none), allocated from a. */
char *xf_onnx_dirname(xf_arena *a, const char *path);

#endif
