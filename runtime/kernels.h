/* kernels.h — the prototypes of every kernel and helper, generated from kernels.def. The runtime
 * files include it, so the compiler checks each definition against its row in the table; lower/
 * includes it to call kernels when folding constants. Generated code does not: there the kernels
 * are copied in as static functions. */
#ifndef XF_KERNELS_H
#define XF_KERNELS_H
#include "xf_runtime.h"

/* "a, b, c" from ", a, b, c": parameter lists are generated with a comma before each item. */
#define XF_DROP_FIRST(...) XF_DROP_FIRST_(__VA_ARGS__)
#define XF_DROP_FIRST_(first, ...) __VA_ARGS__
#define XF_RETURN_0 void
#define XF_RETURN_1 int

#define OUT(type, name) , type *name
#define IN(type, name) , const type *name
#define INT(name) , int64_t name
#define REAL(name) , float name
#define INTS(name) , const int64_t *name
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) \
    XF_RETURN_##status name(XF_DROP_FIRST(params));
#define XF_HELPER(name, deps, ret, params) ret name params;
#include "kernels.def"
#endif
