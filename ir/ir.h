/* ir.h — the one intermediate representation of xfc.
 *
 * A graph is a list of nodes in topological order plus a table of values (tensors). Nodes and values
 * refer to each other by index ("handles"), never by pointer, so passes can grow the arrays freely.
 * Every allocation of a compilation comes from one arena (g->arena) and is released at once.
 *
 * A value is either a graph input, a compile-time constant (data != NULL: an initializer or a folded
 * result), or an intermediate produced by exactly one node. Shapes are static once shape inference
 * has run; -1 marks a dimension not known yet (dim_param names it, for diagnostics).
 */
#ifndef XF_IR_H
#define XF_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XF_MAX_RANK 8
#define XF_VERSION "0.1.0"

/* Element types use the ONNX TensorProto.DataType numbers so no table is needed at the boundary. */
enum {
    XF_F32 = 1, XF_U8 = 2, XF_I8 = 3, XF_U16 = 4, XF_I16 = 5, XF_I32 = 6, XF_I64 = 7,
    XF_STRING = 8, XF_BOOL = 9, XF_F16 = 10, XF_F64 = 11, XF_U32 = 12, XF_U64 = 13, XF_BF16 = 16,
    XF_F8E4M3FN = 17, XF_F8E4M3FNUZ = 18, XF_F8E5M2 = 19, XF_F8E5M2FNUZ = 20, XF_U4 = 21, XF_I4 = 22,
    XF_F4E2M1 = 23, XF_F8E8M0 = 24,
};
/* The narrow types (float16 ... float8e8m0 above) are storage types: values keep ONNX's bytes
 * (float16/bfloat16 as uint16_t bit patterns, float8 as uint8_t, uint4/int4/float4e2m1 packed two
 * per byte, low nibble first), only Cast converts them (runtime/lowp.c), and every other op reads
 * them through a conversion to their compute type (passes/legalize_types.c). */
size_t xf_dtype_size(int32_t dtype);      /* bytes per element; 1 for the packed 4-bit types; 0 for
                                             types xfc cannot hold */
int64_t xf_dtype_bytes(int32_t dtype, int64_t numel); /* bytes of numel elements (4-bit: rounded up) */
bool xf_dtype_is_packed(int32_t dtype);   /* uint4, int4, float4e2m1 */
bool xf_dtype_is_narrow(int32_t dtype);   /* a storage type: float16, bfloat16, float8*, 4-bit */
int32_t xf_dtype_compute(int32_t dtype);  /* the type ops compute a narrow type in: float32, or
                                             int8/uint8 for int4/uint4; dtype itself otherwise */
const char *xf_dtype_name(int32_t dtype); /* "float32", "int64", ... */
const char *xf_dtype_ctype(int32_t dtype); /* "float", "int64_t", "uint8_t" (bool), "uint16_t"
                                              (float16 bits) ... */
bool xf_dtype_is_float(int32_t dtype);    /* narrow float formats included */
/* Element i of data, of type dtype, as a double (narrow formats decoded; 4-bit packed). */
double xf_dtype_real(int32_t dtype, const void *data, int64_t i);

/* ---- arena ---- */
typedef struct xf_arena xf_arena;
xf_arena *xf_arena_new(void);
void xf_arena_free(xf_arena *a);
void *xf_alloc(xf_arena *a, size_t bytes);          /* zeroed, 16-byte aligned; aborts on OOM */
char *xf_strdup(xf_arena *a, const char *s);
char *xf_sprintf(xf_arena *a, const char *fmt, ...);

/* ---- ops ---- */
typedef enum {
    XF_CAT_ELEMENTWISE, /* out[i] = f(in[i]) — same shape */
    XF_CAT_BROADCAST,   /* elementwise with numpy broadcasting */
    XF_CAT_INJECTIVE,   /* each output element reads one input element: reshape, transpose, slice */
    XF_CAT_REDUCTION,   /* reduces along axes: reduce*, softmax, norms */
    XF_CAT_OPAQUE,      /* anything else: matmul, conv, gather */
} xf_fusion_cat;

typedef enum {
#define XF_OP(id, name, cat, flags, shape_fn, lower_fn) XF_OP_##id,
#define XF_EW(id, name, cat, arity, out, fexpr, iexpr) XF_OP_##id,
#include "ops.def"
    XF_OP_COUNT
} xf_op;

/* op flags (ops.def) */
enum {
    XF_FLAG_VIEW = 1,      /* output is the input's bytes reinterpreted (reshape family): may alias */
    XF_FLAG_FLOAT_ONLY = 2,/* elementwise op defined for floating types only */
    XF_FLAG_INT_ONLY = 4,
    XF_FLAG_NARROW_IO = 8, /* reads and writes the narrow storage types itself: legalize_types
                              inserts no conversions around it (QuantizeLinear...) */
};
/* output type rule of elementwise ops */
enum { XF_OUT_SAME, XF_OUT_BOOL, XF_OUT_ARG1, XF_OUT_CAST };

typedef struct xf_op_info {
    const char *name; /* ONNX op type (or xfc name for composite ops) */
    xf_fusion_cat cat;
    int flags;
    int arity;        /* elementwise ops: number of operands; others 0 */
    int out_type;     /* elementwise ops: XF_OUT_* */
    const char *fexpr, *iexpr; /* elementwise ops: C expression over a, b, c for float / integer types */
} xf_op_info;
extern const xf_op_info xf_ops[XF_OP_COUNT];
int xf_op_lookup(const char *onnx_name); /* -1 when unknown */

/* ---- graph ---- */
typedef enum { XF_ATTR_FLOAT = 1, XF_ATTR_INT = 2, XF_ATTR_STRING = 3, XF_ATTR_TENSOR = 4,
               XF_ATTR_FLOATS = 6, XF_ATTR_INTS = 7, XF_ATTR_STRINGS = 8 } xf_attr_type;

typedef struct xf_attr {
    const char *name;
    int type;
    int64_t i;
    float f;
    const char *s;
    int32_t n;          /* count of ints / floats / strings */
    int64_t *ints;
    float *floats;
    const char **strings;
    int32_t tensor;     /* value handle of a tensor attribute, -1 otherwise */
} xf_attr;

typedef struct xf_value {
    const char *name;    /* ONNX name, unique in the graph */
    int32_t dtype;
    int32_t rank;        /* -1 = unknown */
    int64_t shape[XF_MAX_RANK];
    const char *dim_param[XF_MAX_RANK];
    void *data;          /* constant contents (dense, row-major), or NULL */
    int32_t producer;    /* node handle, or -1 */
    bool is_input, is_output;
    int32_t transpose_of; /* a constant holding the 2-D transpose of constant transpose_of, -1 otherwise:
                             a reader may read that one in place instead of this copy */
    /* set by plan_memory */
    int64_t offset;      /* byte offset in the arena, -1 when not in the arena */
    int32_t alias_of;    /* value whose storage this one shares (views), -1 otherwise */
} xf_value;

typedef struct xf_node {
    int32_t op;
    const char *name;    /* ONNX node name (made up when empty) */
    int32_t nin, nout;
    int32_t *in, *out;   /* value handles; -1 for an omitted optional input/output */
    int32_t nattr;
    xf_attr *attrs;
    bool dead;           /* removed; compacted away by xf_graph_compact */
} xf_node;

typedef struct xf_graph {
    xf_arena *arena;
    const char *path;    /* model file, for diagnostics */
    xf_value *values;
    int32_t nvalues, cap_values;
    xf_node *nodes;      /* topological order */
    int32_t nnodes, cap_nodes;
    int32_t *inputs, ninputs;
    int32_t *outputs, noutputs;
    int64_t opset;
    int64_t arena_bytes; /* set by plan_memory */
    int32_t nodes_in;    /* node count as loaded */
    struct xf_lowering *lowering; /* the kernel calls of every node, set by the last step of the
                                     pipeline (lower/); NULL before */
} xf_graph;

/* ---- diagnostics ----
 * User errors travel up as an xf_diag; internal invariants use XF_ASSERT (abort with file:line). */
typedef struct xf_diag {
    bool set;
    char msg[1024];
} xf_diag;
/* Formats "FILE: node 'NAME' (Op): message" (parts omitted when g/n are NULL). Returns false so
 * callers can write `return xf_fail(...)`. Only the first error is kept. */
bool xf_fail(xf_diag *d, const xf_graph *g, const xf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define XF_ASSERT(c) ((c) ? (void)0 : xf_abort(__FILE__, __LINE__, #c))
_Noreturn void xf_abort(const char *file, int line, const char *what);

xf_graph *xf_graph_new(const char *path);
void xf_graph_free(xf_graph *g);
int32_t xf_value_add(xf_graph *g, const char *name, int32_t dtype, int32_t rank, const int64_t *shape);
int32_t xf_value_find(const xf_graph *g, const char *name); /* -1 when absent */
int32_t xf_const_add(xf_graph *g, const char *name, int32_t dtype, int32_t rank, const int64_t *shape,
                     const void *data); /* copies data */
int32_t xf_node_add(xf_graph *g, int32_t op, const char *name, int32_t nin, const int32_t *in,
                    int32_t nout, const int32_t *out); /* sets producer of outputs */
xf_attr *xf_node_add_attr(xf_graph *g, int32_t node, const char *name, int type);

int64_t xf_value_numel(const xf_value *v);          /* -1 when a dim is unknown */
int64_t xf_value_bytes(const xf_value *v);
bool xf_value_is_const(const xf_graph *g, int32_t v);
int32_t xf_value_uses(const xf_graph *g, int32_t v); /* live consumer count (+1 if graph output) */

const xf_attr *xf_attr_get(const xf_node *n, const char *name);
int64_t xf_attr_int(const xf_node *n, const char *name, int64_t dflt);
float xf_attr_float(const xf_node *n, const char *name, float dflt);
const char *xf_attr_str(const xf_node *n, const char *name, const char *dflt);

/* Integer list given either as attribute `attr` or as constant input `input` (opsets moved many
 * lists from attributes to inputs). Returns the count (0 when neither is present), -1 after
 * reporting a non-constant input. Values are converted to int64. */
int xf_node_ints(xf_graph *g, const xf_node *n, const char *attr, int input, int64_t *out, int max,
                 xf_diag *d);
/* Sizes, strides, pads and counts read from a model are refused from XF_DIM_MAX on: larger ones are
 * surely a broken model, and refusing them keeps the output-size arithmetic far from overflow. */
#define XF_DIM_MAX ((int64_t)1 << 31)
/* An optional list attribute of `want` values each in [lo, XF_DIM_MAX), or dflt for all when absent
 * (strides, dilations, pads, kernel shapes). Returns false after reporting. */
bool xf_attr_list(xf_graph *g, const xf_node *n, const char *name, int want, int64_t lo, int64_t dflt, int64_t *out,
                  xf_diag *d);
/* True when input `input` of n is absent or a constant; otherwise reports that it must be known at
 * compile time, naming the graph inputs it depends on for --bind. */
bool xf_require_const(xf_graph *g, const xf_node *n, int input, xf_diag *d);
/* Reads element i of a constant as int64 / double, whatever its integer or float type. */
int64_t xf_const_i64(const xf_value *v, int64_t i);
double xf_const_f64(const xf_value *v, int64_t i);

/* Removes dead nodes; renumbers nothing else (value handles stay valid). */
void xf_graph_compact(xf_graph *g);
/* Orders nodes topologically; reports a cycle. */
bool xf_graph_toposort(xf_graph *g, xf_diag *d);
/* Checks structural invariants (debug builds run it between passes). Aborts on violation. */
void xf_graph_verify(const xf_graph *g);
/* The text IR (ir/text.c), one statement a line: `%y : float32[1,16,64] = MatMul(%x, $w)`. What
 * xf_graph_print writes, xf_graph_parse reads back into the same graph; xf_graph_dump elides large
 * constants (for people: it does not read back). xf_graph_parse reports malformed text as
 * "PATH:LINE: message" and returns NULL. */
/* s in double quotes with the text IR's escapes (\" \\ \n \t \xNN), as the printer writes odd names. */
void xf_print_quoted(void *file /* FILE* */, const char *s);
void xf_graph_print(const xf_graph *g, void *file /* FILE* */);
void xf_graph_dump(const xf_graph *g, void *file /* FILE* */);
xf_graph *xf_graph_parse(const char *text, const char *path, xf_diag *d);
/* "[1,16,64]" into buf */
const char *xf_shape_str(const xf_value *v, char *buf, size_t size);

/* Shape helpers for shape functions. xf_set_out sets dtype/rank/shape of output k of n. */
void xf_set_out(xf_graph *g, const xf_node *n, int k, int32_t dtype, int32_t rank, const int64_t *shape);
/* Element strides of x read along y's index space under numpy broadcasting (0 where x has no
 * such dim or has it as 1). */
void xf_broadcast_strides(const xf_value *y, const xf_value *x, int64_t *strides);
/* Normalises a possibly negative axis against rank; reports and returns false when out of range. */
bool xf_axis(xf_graph *g, const xf_node *n, int64_t axis, int rank, int *out, xf_diag *d);
/* Input k of n, or NULL when absent. */
xf_value *xf_in(xf_graph *g, const xf_node *n, int k);
xf_value *xf_out(xf_graph *g, const xf_node *n, int k);

/* ---- shape inference (ir/shape.c) ---- */
/* Infers dtype and shape of n's outputs from its inputs (constant inputs may be read). */
bool xf_infer_node(xf_graph *g, int32_t node, xf_diag *d);

#endif
