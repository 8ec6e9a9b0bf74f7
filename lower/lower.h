/* lower.h — lowering: every node of the optimised IR becomes calls of kernels from the one kernel
 * table (runtime/kernels.def). It runs as the last step of the pipeline and stores the calls on the
 * graph; backends print or emit those calls and never lower anything themselves. Constant folding
 * executes the same calls (lower/eval.c), so a folded value is what the generated code computes.
 *
 * A lowering function builds each call by name, with the struct the table generates for the
 * kernel:
 *     XF_CALL(out, xf_matmul, .y = xf_t(n->out[0]), .a = xf_t(n->in[0]), .b = xf_t(n->in[1]),
 *             .batch = 1, .m = m, .k = k, .n = nn, .a_step = 0, .b_step = 0);
 * Every tensor parameter must be given (xf_none() for an absent optional one); integers left out
 * are 0.
 */
#ifndef XF_LOWER_H
#define XF_LOWER_H
#include "../ir/ir.h"

/* ---- the kernel table ---- */
enum {
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) XF_K_##name,
#define XF_HELPER(name, deps, ret, params) XF_K_##name,
#include "../runtime/kernels.def"
    XF_K_COUNT
};

enum { XF_C = 1 }; /* backends (bits): the portable C bodies of runtime/ */

/* Parameter kinds; 0 is "not set", so a tensor field forgotten in an XF_CALL is caught. */
typedef enum { XF_PARAM_OUT = 1, XF_PARAM_IN, XF_PARAM_INT, XF_PARAM_REAL, XF_PARAM_INTS } xf_param_kind;
typedef struct xf_param {
    xf_param_kind kind;
    const char *name;
    const char *ctype; /* tensors: the element type ("void" when type-generic) */
} xf_param;

struct xf_call;
struct xf_split;

typedef struct xf_kernel_info {
    const char *name;
    bool status;        /* returns an XFC_ERR_ code */
    bool helper;        /* called by kernels only: no parameters listed, never in a call */
    const char *deps;   /* space-separated names of the kernels and helpers it calls */
    int backends;       /* XF_C ... */
    int nparams;
    const xf_param *params;
    /* from the kernel's XF_PARALLEL rows: fills *s and returns true when the call can be split */
    bool (*split)(const struct xf_call *c, struct xf_split *s);
} xf_kernel_info;
extern const xf_kernel_info xf_kernels[XF_K_COUNT];

/* ---- calls ---- */
typedef struct xf_arg {
    xf_param_kind kind; /* OUT and IN are tensors */
    int32_t value;      /* tensor: value handle, or -1 for NULL */
    int64_t offset;     /* tensor: element offset added to the pointer */
    int64_t i;          /* INT */
    float f;            /* REAL */
    int32_t n;          /* INTS: count */
    const int64_t *ints;/* INTS */
} xf_arg;
#define XF_MAX_ARGS 24
typedef struct xf_call {
    int kernel;         /* XF_K_* */
    int nargs;
    xf_arg args[XF_MAX_ARGS];
} xf_call;

/* The calls one node lowers to. Lowering a node into more than max calls (a Concat of thousands of
 * parts, a MatMul broadcast over a huge batch) is refused by the op's lowering with a diagnostic. */
#define XF_MAX_CALLS 1024
typedef struct xf_calls {
    xf_graph *g;        /* INTS arguments are copied into its arena */
    xf_call *at;
    int count, max;
} xf_calls;

/* The kernel calls of every node, stored on the graph by xf_lower_graph: node i's calls are
 * calls[first[i] .. first[i] + count[i]). */
typedef struct xf_lowering {
    xf_call *calls;
    int32_t ncalls;
    int32_t *first, *count;
} xf_lowering;
static inline const xf_lowering *xf_lowered(const xf_graph *g) { return g->lowering; }

/* Tensor arguments: value v (+ an element offset), or NULL. */
xf_arg xf_t(int32_t value);
xf_arg xf_t_at(int32_t value, int64_t offset);
static inline xf_arg xf_none(void) { return xf_t(-1); }
/* An INTS argument: the array is copied into the graph's arena. */
xf_arg xf_ints(xf_graph *g, int32_t n, const int64_t *v);

/* One struct per kernel, a field per parameter: tensors and arrays as xf_arg, the rest as values. */
#define OUT(type, name) xf_arg name;
#define IN(type, name) xf_arg name;
#define INT(name) int64_t name;
#define REAL(name) float name;
#define INTS(name) xf_arg name;
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) typedef struct name##_args { params } name##_args;
#include "../runtime/kernels.def"
#define XF_KERNEL(name, status, deps, backends, flops, bytes, params) \
    void xf_pack_##name(xf_call *c, const name##_args *a);
#include "../runtime/kernels.def"

/* Appends a call of kernel to out (aborts past out->max: lowerings check their call count). */
xf_call *xf_calls_add(xf_calls *out, int kernel);
#define XF_CALL(out, kernel, ...) xf_pack_##kernel(xf_calls_add(out, XF_K_##kernel), &(kernel##_args){__VA_ARGS__})

/* ---- lowering ---- */
/* One function per op, named in ops.def: appends n's calls to out; returns -1 after xf_fail. */
#define XF_OP(id, name, cat, flags, shape_fn, lower_fn) int lower_fn(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d);
#include "../ir/ops.def"

/* The last step of the pipeline: lowers every live node that is not an elementwise loop or a view
 * sharing its input's storage, and stores the calls on the graph (g->lowering, in its arena).
 * Returns false after reporting an error. */
bool xf_lower_graph(xf_graph *g, xf_diag *d);

/* The stored calls as text, one a line under a `; node (Op)` line, parameters named: for tests and
 * for reading what a backend will be given. */
void xf_lowering_print(const xf_graph *g, void *file /* FILE* */);

/* Lowers node `node` into out (out->count calls). Returns false after reporting an error.
 * Elementwise ops are not lowered: backends print loops for them. */
bool xf_lower_node(xf_graph *g, int32_t node, xf_calls *out, xf_diag *d);

/* Computes n's outputs (all inputs constant) by running its kernel calls: allocates and fills
 * each output's data. Returns false after reporting (e.g. an index out of range found at compile
 * time). */
bool xf_eval_node(xf_graph *g, int32_t node, xf_diag *d);

/* ---- splitting over threads ---- */
/* How a call is split into ranges that threads run (the kernel's XF_PARALLEL row, kernels.def):
 * INT argument `param` (of value `count`) is cut into units of `grain`; a range [begin, end) of
 * units is the call with that argument set to its length and tensor argument i advanced by
 * step[i] elements per unit of count. */
typedef struct xf_split {
    int param;
    int64_t count, grain;
    int64_t step[XF_MAX_ARGS];
} xf_split;
/* Whether call c is worth splitting (a row fits, there are at least two units, and enough work
 * to pay for waking threads); fills *s. The C backend prints a parallel_for for such calls. */
bool xf_call_split(const xf_graph *g, const xf_call *c, xf_split *s);

/* ---- cost ---- */
typedef struct xf_cost { int64_t flops, bytes; } xf_cost;
xf_cost xf_call_cost(const xf_graph *g, const xf_call *c);

/* ---- shared by lowering functions ---- */
/* Row-major element strides of a shape. */
void xf_strides(int rank, const int64_t *shape, int64_t *strides);
#endif
