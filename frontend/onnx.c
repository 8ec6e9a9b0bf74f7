/* onnx.c — the ONNX model loader: a ModelProto file becomes an IR graph.
 *
 * The file is untrusted input: every count, size and name is checked before use, and message
 * nesting is checked before protobuf-c, which recurses without a limit, unpacks it.
 *
 * Nodes are read in two passes so that files listing nodes out of order still load: first every
 * node output gets a value, then each node is wired to values by name. Constant nodes become
 * constant values and calls of model-local functions are inlined, so the IR only ever holds ops of
 * ops.def. Control flow (If, Loop, Scan) is expanded the same way, when what it decides on is known
 * at load time (see "control flow" below). Opset differences the IR does not model are normalised here (Clip's min/max attributes
 * before opset 11, the Reduce ops' axes attribute, the 2-D Softmax and LogSoftmax before opset 13,
 * Slice's starts/ends/axes attributes before opset 10, Resize-10's inputs, attribute defaults that
 * changed; TopK, DFT, Hardmax and Tile in "older opsets" below). xf_graph_toposort puts the nodes
 * in order at the end.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_internal.h"
#include "../passes/passes.h"

#define MAX_NESTING 100          /* protobuf message nesting; real models stay far below */
#define MAX_CALL_DEPTH 32        /* nested function calls; deeper means a recursive function */
/* Inlining a call costs the size of the function's body plus a fixed overhead, and a model may
 * inline 16 MiB plus four times the size of all its functions: enough for any real model, but a
 * tree of functions each calling the next twice cannot make the IR explode. */
#define INLINE_BUDGET (16u << 20)
#define INLINE_CALL_COST 256

/* ---- reading the file ---- */

static uint8_t *read_file(const char *path, size_t *size, const xf_graph *where, xf_diag *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return xf_fail(d, where, NULL, "cannot open: %s", strerror(errno)), NULL;
    struct stat st;
    size_t cap = fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break; /* end of file or an error, told apart below */
        uint8_t *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (!buf) xf_fail(d, where, NULL, "out of memory reading the file");
    else if (ferror(f)) {
        xf_fail(d, where, NULL, "cannot read: %s", strerror(errno));
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = n;
    return buf;
}

enum { WIRE_OK, WIRE_TRUNCATED, WIRE_MALFORMED, WIRE_TOO_DEEP };

static bool read_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64 && *i < n; shift += 7) {
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

/* Walks the protobuf wire format of a message of type desc, descending into message fields, and
 * says whether protobuf-c can safely unpack it: not nested deeper than MAX_NESTING, no length
 * running past its end. Only these structural checks; protobuf-c does the rest. */
static int check_wire(const uint8_t *p, size_t n, const ProtobufCMessageDescriptor *desc, int depth) {
    if (depth > MAX_NESTING) return WIRE_TOO_DEEP;
    for (size_t i = 0; i < n;) {
        uint64_t key, len;
        if (!read_varint(p, n, &i, &key)) return i == n ? WIRE_TRUNCATED : WIRE_MALFORMED;
        switch (key & 7) {
        case 0:
            if (!read_varint(p, n, &i, &len)) return i == n ? WIRE_TRUNCATED : WIRE_MALFORMED;
            break;
        case 1:
            if (n - i < 8) return WIRE_TRUNCATED;
            i += 8;
            break;
        case 5:
            if (n - i < 4) return WIRE_TRUNCATED;
            i += 4;
            break;
        case 2: {
            if (!read_varint(p, n, &i, &len)) return i == n ? WIRE_TRUNCATED : WIRE_MALFORMED;
            if (len > n - i) return WIRE_TRUNCATED;
            unsigned field = key >> 3 <= UINT32_MAX ? (unsigned)(key >> 3) : 0;
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, field);
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int r = check_wire(p + i, (size_t)len, f->descriptor, depth + 1);
                /* inside a message the end is the message's length, not the file's: not truncation */
                if (r != WIRE_OK) return r == WIRE_TRUNCATED ? WIRE_MALFORMED : r;
            }
            i += (size_t)len;
            break;
        }
        default: return WIRE_MALFORMED; /* groups and undefined wire types */
        }
    }
    return WIRE_OK;
}

ProtobufCMessage *xf_onnx_unpack_file(const char *path, const ProtobufCMessageDescriptor *desc,
                                      const char *what, const xf_graph *where, xf_diag *d) {
    size_t size;
    uint8_t *buf = read_file(path, &size, where, d);
    if (!buf) return NULL;
    ProtobufCMessage *m = NULL;
    if (size == 0) {
        xf_fail(d, where, NULL, "the file is empty");
    } else {
        switch (check_wire(buf, size, desc, 0)) {
        case WIRE_TRUNCATED: xf_fail(d, where, NULL, "the file is truncated (an incomplete %s)", what); break;
        case WIRE_TOO_DEEP:
            xf_fail(d, where, NULL, "not a valid %s (messages nested too deeply)", what);
            break;
        case WIRE_MALFORMED: xf_fail(d, where, NULL, "not a valid %s (malformed protobuf)", what); break;
        default:
            m = protobuf_c_message_unpack(desc, NULL, size, buf);
            if (!m) xf_fail(d, where, NULL, "not a valid %s (the protobuf does not decode)", what);
        }
    }
    free(buf);
    return m;
}

/* ---- names ---- */

/* Open-addressing hash map from value names to handles; xf_value_find is a linear scan, too slow
 * for models with many thousands of values. Keys are not copied: they must outlive the map. */
typedef struct name_map {
    const char **keys;
    int32_t *vals;
    uint32_t cap, count; /* cap is a power of two, at most half full */
} name_map;

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static bool map_get(const name_map *m, const char *key, int32_t *val) {
    if (!m->cap) return false;
    for (uint32_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return false;
        if (!strcmp(m->keys[i], key)) {
            if (val) *val = m->vals[i];
            return true;
        }
    }
}

/* key must be absent */
static void map_put(xf_arena *a, name_map *m, const char *key, int32_t val) {
    if (2 * (m->count + 1) > m->cap) {
        name_map bigger = {.cap = m->cap ? 2 * m->cap : 16};
        bigger.keys = xf_alloc(a, sizeof *bigger.keys * bigger.cap);
        bigger.vals = xf_alloc(a, sizeof *bigger.vals * bigger.cap);
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->keys[i]) map_put(a, &bigger, m->keys[i], m->vals[i]);
        *m = bigger;
    }
    uint32_t i = hash(key) & (m->cap - 1);
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->vals[i] = val;
    m->count++;
}

/* ---- the loader ---- */

typedef struct loader {
    xf_graph *g;
    xf_diag *d;
    const Onnx__ModelProto *model;
    const char *dir;       /* the model's directory, for external data */
    bool has_opset;        /* the model imports the default ONNX domain */
    bool has_ml_opset;     /* the model imports domain ai.onnx.ml */
    name_map values;       /* every value name in the graph, for making fresh names unique */
    int32_t renamed;       /* suffixes handed out by new_value */
    name_map functions;    /* "domain\x01name\x01overload" -> index in model->functions */
    xf_onnx_bind_fn bind;  /* makes bound graph inputs constants before any node loads, or NULL */
    void *bind_ctx;
    size_t *fn_size;       /* packed size of each function, charged per inlined call */
    size_t inline_left;    /* what inlining may still cost (INLINE_BUDGET) */
} loader;

/* What a list of nodes sees: the main graph, or the body of one inlined function call. */
typedef struct scope {
    const struct scope *parent;
    name_map names;                 /* names of this body -> value handles (-1: an omitted input) */
    const char *prefix;             /* "" in the main graph, "<calling node>/" in a call */
    const Onnx__NodeProto *caller;  /* NULL in the main graph */
    const Onnx__FunctionProto *fn;
    int depth;
    bool sub;                       /* a subgraph of If, Loop or Scan: it sees its parent's names */
} scope;

/* The value a name stands for in s: subgraphs see the names of the scopes around them (a function
 * body does not: it sees only its formal inputs). */
static bool lookup(const scope *s, const char *name, int32_t *v) {
    for (; s; s = s->sub ? s->parent : NULL)
        if (map_get(&s->names, name, v)) return true;
    return false;
}

static const char *str(const char *s) {
    return s ? s : "";
}

static bool is_default_domain(const char *domain) {
    return !*domain || !strcmp(domain, "ai.onnx");
}

/* An error about a node that is not in the IR (yet): xf_fail wants an xf_node. */
__attribute__((format(printf, 4, 5)))
static bool node_fail(loader *l, const char *name, const char *op, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xf_fail(l->d, l->g, NULL, "node '%s' (%s): %s", name, op, msg);
}

/* A new value named name, or name_N when the name is taken (inlined bodies reuse names). N counts
 * up over the whole model, so that many calls from equally named nodes do not each search anew.
 * The dtype and shape are set later by the caller or by shape inference. */
static int32_t new_value(loader *l, const char *name) {
    const char *unique = name;
    while (map_get(&l->values, unique, NULL)) unique = xf_sprintf(l->g->arena, "%s_%d", name, ++l->renamed);
    int32_t v = xf_value_add(l->g, unique, 0, -1, NULL);
    map_put(l->g->arena, &l->values, l->g->values[v].name, v);
    return v;
}

static void set_const(xf_graph *g, int32_t v, const xf_tensor *t) {
    xf_value *x = &g->values[v];
    x->dtype = t->dtype;
    x->rank = t->rank;
    memcpy(x->shape, t->shape, sizeof x->shape);
    x->data = t->data;
}

/* A float32 or int64 tensor of n elements (rank 0 or 1) copied from src. */
static xf_tensor small_tensor(xf_arena *a, int32_t dtype, int rank, size_t n, const void *src) {
    xf_tensor t = {.dtype = dtype, .rank = rank, .shape = {(int64_t)n}};
    size_t bytes = n * xf_dtype_size(dtype);
    t.data = xf_alloc(a, bytes ? bytes : 1);
    if (bytes) memcpy(t.data, src, bytes);
    return t;
}

static const char *node_name(loader *l, const scope *s, const Onnx__NodeProto *np, size_t index) {
    if (np->name && *np->name) return xf_sprintf(l->g->arena, "%s%s", s->prefix, np->name);
    return xf_sprintf(l->g->arena, "%s%s_%zu", s->prefix, str(np->op_type), index);
}

/* The attribute a node really gets. In a function body an attribute may refer (ref_attr_name) to
 * an attribute of the call: the caller's value (itself resolved, when the caller sits in another
 * function body), else the function's default, else none (NULL). */
static const Onnx__AttributeProto *resolve_attr(const scope *s, const Onnx__AttributeProto *a) {
    while (s->sub) s = s->parent; /* an expanded subgraph belongs to the body around it */
    if (!a || !a->ref_attr_name || !*a->ref_attr_name || !s->caller) return a;
    const char *ref = a->ref_attr_name;
    for (size_t i = 0; i < s->caller->n_attribute; i++) {
        if (strcmp(str(s->caller->attribute[i]->name), ref)) continue;
        const Onnx__AttributeProto *r = resolve_attr(s->parent, s->caller->attribute[i]);
        if (r) return r;
        break;
    }
    for (size_t i = 0; i < s->fn->n_attribute_proto; i++)
        if (!strcmp(str(s->fn->attribute_proto[i]->name), ref)) return s->fn->attribute_proto[i];
    return NULL;
}

/* Checks a resolved attribute: a reference left over means one outside any function. */
static bool attr_ok(loader *l, const char *name, const char *op, const Onnx__AttributeProto *a,
                    const char *aname) {
    if (a->ref_attr_name && *a->ref_attr_name)
        return node_fail(l, name, op, "attribute '%s' refers to '%s', but the node is not in a function",
                         aname, a->ref_attr_name);
    return true;
}

/* A protobuf bytes field as a C string (an embedded NUL ends it early, harmlessly). */
static const char *bytes_str(xf_arena *a, ProtobufCBinaryData b) {
    char *s = xf_alloc(a, b.len + 1);
    if (b.len) memcpy(s, b.data, b.len);
    return s;
}

/* Appends attribute a, named aname, to node, whose attrs array has room for it. */
static bool copy_attr(loader *l, xf_node *node, const char *aname, const Onnx__AttributeProto *a) {
    xf_graph *g = l->g;
    const char *name = node->name, *op = xf_ops[node->op].name;
    int type = a->has_type ? (int)a->type : 0;
    size_t n = 0;
    switch (type) {
    case XF_ATTR_FLOATS: n = a->n_floats; break;
    case XF_ATTR_INTS: n = a->n_ints; break;
    case XF_ATTR_STRINGS: n = a->n_strings; break;
    }
    if (n > INT32_MAX) return node_fail(l, name, op, "attribute '%s' has too many values", aname);

    int32_t tensor = -1;
    if (type == XF_ATTR_TENSOR) {
        xf_tensor t;
        if (!a->t) return node_fail(l, name, op, "attribute '%s' holds no tensor", aname);
        if (!xf_onnx_tensor_decode(g->arena, a->t, l->dir, g, &t, l->d)) return false;
        tensor = new_value(l, xf_sprintf(g->arena, "%s_%s", name, aname));
        set_const(g, tensor, &t);
    } else if (type != XF_ATTR_FLOAT && type != XF_ATTR_INT && type != XF_ATTR_STRING &&
               type != XF_ATTR_FLOATS && type != XF_ATTR_INTS && type != XF_ATTR_STRINGS) {
        const ProtobufCEnumValue *e =
            protobuf_c_enum_descriptor_get_value(&onnx__attribute_proto__attribute_type__descriptor, type);
        if (!type || !e) return node_fail(l, name, op, "attribute '%s' has no valid type", aname);
        return node_fail(l, name, op, "attribute '%s' has type %s, which is not supported", aname, e->name);
    }

    xf_attr *x = &node->attrs[node->nattr++];
    x->name = xf_strdup(g->arena, aname);
    x->type = type;
    x->tensor = tensor;
    x->n = (int32_t)n;
    switch (type) {
    case XF_ATTR_FLOAT: x->f = a->f; break;
    case XF_ATTR_INT: x->i = a->i; break;
    case XF_ATTR_STRING: x->s = bytes_str(g->arena, a->s); break;
    case XF_ATTR_FLOATS:
        x->floats = xf_alloc(g->arena, sizeof(float) * n + 1);
        if (n) memcpy(x->floats, a->floats, sizeof(float) * n);
        break;
    case XF_ATTR_INTS:
        x->ints = xf_alloc(g->arena, sizeof(int64_t) * n + 1);
        if (n) memcpy(x->ints, a->ints, sizeof(int64_t) * n);
        break;
    case XF_ATTR_STRINGS:
        x->strings = xf_alloc(g->arena, sizeof(char *) * n + 1);
        for (size_t i = 0; i < n; i++) x->strings[i] = bytes_str(g->arena, a->strings[i]);
        break;
    }
    return true;
}

/* A Constant node defines its output value directly; it leaves no node in the IR. */
static bool load_constant(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name) {
    xf_arena *a = l->g->arena;
    if (np->n_input) return node_fail(l, name, "Constant", "a Constant takes no inputs");
    if (np->n_output != 1) return node_fail(l, name, "Constant", "a Constant has exactly one output");
    xf_tensor t = {0};
    int found = 0;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const char *aname = str(np->attribute[i]->name);
        const Onnx__AttributeProto *at = resolve_attr(s, np->attribute[i]);
        if (!at) continue;
        if (!attr_ok(l, name, "Constant", at, aname)) return false;
        int type = at->has_type ? (int)at->type : 0, want = 0;
        if (!strcmp(aname, "value")) want = XF_ATTR_TENSOR;
        else if (!strcmp(aname, "value_float")) want = XF_ATTR_FLOAT;
        else if (!strcmp(aname, "value_floats")) want = XF_ATTR_FLOATS;
        else if (!strcmp(aname, "value_int")) want = XF_ATTR_INT;
        else if (!strcmp(aname, "value_ints")) want = XF_ATTR_INTS;
        else if (!strcmp(aname, "sparse_value") || !strcmp(aname, "value_string") ||
                 !strcmp(aname, "value_strings"))
            return node_fail(l, name, "Constant",
                             "attribute '%s' is not supported (only dense numeric constants are)", aname);
        else return node_fail(l, name, "Constant", "unknown attribute '%s'", aname);
        if (type != want || (want == XF_ATTR_TENSOR && !at->t))
            return node_fail(l, name, "Constant", "attribute '%s' has the wrong type", aname);
        if (found++) return node_fail(l, name, "Constant", "a Constant has exactly one value attribute");
        switch (want) {
        case XF_ATTR_TENSOR:
            if (!xf_onnx_tensor_decode(a, at->t, l->dir, l->g, &t, l->d)) return false;
            break;
        case XF_ATTR_FLOAT: t = small_tensor(a, XF_F32, 0, 1, &at->f); break;
        case XF_ATTR_FLOATS: t = small_tensor(a, XF_F32, 1, at->n_floats, at->floats); break;
        case XF_ATTR_INT: t = small_tensor(a, XF_I64, 0, 1, &at->i); break;
        case XF_ATTR_INTS: t = small_tensor(a, XF_I64, 1, at->n_ints, at->ints); break;
        }
    }
    if (!found) return node_fail(l, name, "Constant", "a Constant needs a value attribute");
    int32_t v;
    if (*str(np->output[0]) && map_get(&s->names, np->output[0], &v)) set_const(l->g, v, &t);
    return true;
}

/* The key of a function in loader.functions. A name holding \x01 could alias another key; such a
 * hit is rejected by find_function's comparison, so at worst a call of an absurd name fails. */
static const char *function_key(xf_arena *a, const char *domain, const char *name, const char *overload) {
    return xf_sprintf(a, "%s\x01%s\x01%s", is_default_domain(domain) ? "" : domain, name, overload);
}

static const Onnx__FunctionProto *find_function(loader *l, const char *domain, const char *name,
                                                const char *overload, size_t *index) {
    int32_t i;
    if (!map_get(&l->functions, function_key(l->g->arena, domain, name, overload), &i)) return NULL;
    const Onnx__FunctionProto *f = l->model->functions[i];
    const char *fd = str(f->domain);
    bool same_domain = !strcmp(fd, domain) || (is_default_domain(fd) && is_default_domain(domain));
    if (!same_domain || strcmp(str(f->name), name) || strcmp(str(f->overload), overload)) return NULL;
    *index = (size_t)i;
    return f;
}

static bool load_nodes(loader *l, scope *s, Onnx__NodeProto *const *nodes, size_t n);

/* Inlines a call of function fn: its body is loaded in a scope of its own where the formal
 * inputs and outputs name the caller's values and every other name gets a fresh value. */
static bool inline_call(loader *l, const scope *s, const Onnx__NodeProto *np, const Onnx__FunctionProto *fn,
                        size_t fn_index, const char *name) {
    xf_arena *a = l->g->arena;
    const char *op = np->op_type, *fname = str(fn->name);
    if (s->depth >= MAX_CALL_DEPTH)
        return node_fail(l, name, op, "function calls nest more than %d deep (is function '%s' recursive?)",
                         MAX_CALL_DEPTH, fname);
    size_t cost = l->fn_size[fn_index] + INLINE_CALL_COST;
    if (cost > l->inline_left)
        return node_fail(l, name, op, "inlining the model's functions makes it too large");
    l->inline_left -= cost;
    if (np->n_input > fn->n_input)
        return node_fail(l, name, op, "%zu inputs given, but function '%s' takes %zu", np->n_input, fname,
                         fn->n_input);
    if (np->n_output > fn->n_output)
        return node_fail(l, name, op, "%zu outputs given, but function '%s' has %zu", np->n_output, fname,
                         fn->n_output);

    scope c = {.parent = s, .caller = np, .fn = fn, .depth = s->depth + 1};
    c.prefix = xf_sprintf(a, "%s/", name);
    for (size_t i = 0; i < fn->n_input; i++) {
        const char *formal = str(fn->input[i]);
        int32_t v = -1;
        if (!*formal) return node_fail(l, name, op, "function '%s' has an unnamed input", fname);
        if (i < np->n_input && *str(np->input[i]) && !lookup(s, np->input[i], &v))
            return node_fail(l, name, op,
                             "input '%s' is not produced by any node, initializer or graph input",
                             np->input[i]);
        if (map_get(&c.names, formal, NULL))
            return node_fail(l, name, op, "function '%s' declares input '%s' twice", fname, formal);
        map_put(a, &c.names, formal, v);
    }
    if (!load_nodes(l, &c, fn->node, fn->n_node)) return false;

    /* Outputs the body produced are already the caller's values; one that merely passes an input
     * through needs a copy. */
    for (size_t i = 0; i < np->n_output; i++) {
        int32_t want, got;
        if (!*str(np->output[i])) continue;
        map_get(&s->names, np->output[i], &want);
        if (!map_get(&c.names, str(fn->output[i]), &got))
            return node_fail(l, name, op, "function '%s' does not compute its output '%s'", fname,
                             str(fn->output[i]));
        if (got == want) continue;
        if (got < 0)
            return node_fail(l, name, op, "output '%s' of function '%s' is an omitted input", np->output[i],
                             fname);
        xf_node_add(l->g, XF_OP_IDENTITY, xf_sprintf(a, "%s/output_%zu", name, i), 1, &got, 1, &want);
    }
    return true;
}

/* ---- control flow ----
 *
 * The IR has no subgraphs: If, Loop and Scan are expanded here, while the model loads, the way
 * function calls are inlined. An If whose condition is known keeps only the branch it takes; a Loop
 * whose trip count and conditions are known is unrolled; a Scan is unrolled over its scan axis,
 * whose length is a static dimension. Each copy of a body is loaded in a scope of its own (names
 * get fresh values, outer names stay visible), so nothing clashes. What decides the expansion must
 * be known now, before the passes run: settle() does the little shape inference and constant
 * folding that this takes (Size(x) == 4, Ceil((limit - start) / delta), ...), on the nodes loaded
 * so far. Inputs bound with --bind are constants by then (xf_onnx_load_bound). */

#define MAX_UNROLL 65536       /* Loop iterations and Scan steps, before the inline budget even */
#define MAX_CONCAT 512         /* parts of one stacking Concat (lowering caps the calls per node) */
#define SETTLE_DEPTH 512       /* how far back settle() follows producers */

static bool shape_known(const xf_value *x) {
    if (x->rank < 0) return false;
    for (int i = 0; i < x->rank; i++)
        if (x->shape[i] < 0) return false;
    return true;
}

/* Tries to give v a shape and, where its inputs allow, contents, by inferring and evaluating the
 * nodes behind it that are already loaded. Speculative: a node that cannot be inferred or
 * evaluated yet stays as it is (with a scratch diagnostic), and the passes report it later if it
 * really is wrong. A node whose outputs all become constants is marked dead, as the fold pass
 * does; load_model compacts the graph at the end. seen has a flag per node. */
static void settle(loader *l, int32_t v, uint8_t *seen, int depth) {
    xf_graph *g = l->g;
    if (v < 0 || depth > SETTLE_DEPTH) return;
    int32_t p = g->values[v].producer;
    if (g->values[v].data || p < 0 || seen[p] || g->nodes[p].dead) return;
    seen[p] = 1;
    for (int k = 0; k < g->nodes[p].nin; k++) settle(l, g->nodes[p].in[k], seen, depth + 1);
    const xf_node *n = &g->nodes[p];
    bool all_const = true;
    for (int k = 0; k < n->nin; k++) {
        if (n->in[k] < 0) continue;
        const xf_value *x = &g->values[n->in[k]];
        /* narrow types need the conversions legalize_types inserts: left to the passes */
        if (!shape_known(x) || xf_dtype_is_narrow(x->dtype)) return;
        all_const &= x->data != NULL;
    }
    xf_diag scratch = {0};
    if (!xf_infer_node(g, p, &scratch)) return;
    bool known = true;
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k] < 0) continue;
        const xf_value *y = &g->values[n->out[k]];
        if (xf_dtype_is_narrow(y->dtype)) return;
        known &= y->data != NULL;
    }
    /* the passes' folding policy: what fold would not compute stays for run time here too */
    if (!known && all_const && xf_fold_worth(g, n)) known = xf_eval_node(g, p, &scratch);
    if (known) g->nodes[p].dead = true;
}

static void settle_value(loader *l, int32_t v) {
    uint8_t *seen = calloc((size_t)l->g->nnodes + 1, 1);
    if (!seen) xf_abort(__FILE__, __LINE__, "out of memory");
    settle(l, v, seen, 0);
    free(seen);
}

/* The graph inputs v depends on, as "a, b", for the --bind hint (budget bounds the walk). */
static void inputs_behind(const xf_graph *g, int32_t v, char *buf, size_t size, int depth, int *budget) {
    if (v < 0 || depth > 64 || --*budget < 0) return;
    const xf_value *x = &g->values[v];
    if (x->is_input) {
        size_t len = strlen(buf), nlen = strlen(x->name);
        for (const char *at = buf; (at = strstr(at, x->name)) != NULL; at += nlen) /* listed already? */
            if ((at == buf || at[-1] == ' ') && (at[nlen] == ',' || at[nlen] == '\0')) return;
        snprintf(buf + len, size - len, "%s%s", len ? ", " : "", x->name);
        return;
    }
    if (x->producer < 0) return;
    const xf_node *p = &g->nodes[x->producer];
    for (int k = 0; k < p->nin; k++) inputs_behind(g, p->in[k], buf, size, depth + 1, budget);
}

/* Input k of node np (named name in s) as a constant of exactly one element: its value handle in
 * *v, or false after reporting, in xf_require_const's words, that it must be known at compile time
 * (conformance/run.py retries with the --bind it suggests). */
static bool known_scalar(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name, size_t k,
                         int32_t *v) {
    const char *op = str(np->op_type), *in = str(np->input[k]);
    if (!lookup(s, in, v))
        return node_fail(l, name, op, "input '%s' is not produced by any node, initializer or graph input", in);
    settle_value(l, *v);
    const xf_value *x = &l->g->values[*v];
    if (!x->data) {
        char deps[256] = "";
        int budget = 10000;
        inputs_behind(l->g, *v, deps, sizeof deps, 0, &budget);
        if (x->is_input)
            return node_fail(l, name, op, "input %zu ('%s') must be known at compile time: bind it with --bind %s=FILE.pb",
                             k, x->name, x->name);
        if (deps[0])
            return node_fail(l, name, op, "input %zu ('%s') must be known at compile time; it depends on the graph "
                             "input(s) %s: bind them with --bind NAME=FILE.pb", k, x->name, deps);
        return node_fail(l, name, op, "input %zu ('%s') must be known at compile time", k, x->name);
    }
    if (xf_value_numel(x) != 1 || xf_dtype_is_narrow(x->dtype) || !xf_dtype_size(x->dtype))
        return node_fail(l, name, op, "input %zu ('%s') must hold a single number", k, x->name);
    return true;
}

/* The subgraph held by attribute aname of np, or NULL. */
static const Onnx__GraphProto *graph_attr(const scope *s, const Onnx__NodeProto *np, const char *aname) {
    for (size_t i = 0; i < np->n_attribute; i++)
        if (!strcmp(str(np->attribute[i]->name), aname)) {
            const Onnx__AttributeProto *a = resolve_attr(s, np->attribute[i]);
            return a ? a->g : NULL;
        }
    return NULL;
}

/* An int64 constant: a scalar (rank 0) or a vector of n values. */
static int32_t const_i64(loader *l, const char *name, int rank, size_t n, const int64_t *vals) {
    xf_tensor t = small_tensor(l->g->arena, XF_I64, rank, n, vals);
    int32_t v = new_value(l, name);
    set_const(l->g, v, &t);
    return v;
}

/* Loads one copy of body gp (an If branch, a Loop iteration, a Scan step) as a child scope of s:
 * the body's inputs stand for the values in[], its initializers become constants, names of the
 * scopes around it stay visible, and every name it defines gets a fresh value (prefixed by prefix).
 * out[i] receives the value of the body's output i. */
static bool expand_body(loader *l, const scope *s, const Onnx__GraphProto *gp, const char *name,
                        const char *prefix, const int32_t *in, size_t nin, int32_t *out) {
    xf_arena *a = l->g->arena;
    const char *op = "subgraph";
    if (s->depth >= MAX_CALL_DEPTH)
        return node_fail(l, name, op, "subgraphs and function calls nest more than %d deep", MAX_CALL_DEPTH);
    size_t cost = protobuf_c_message_get_packed_size(&gp->base) + INLINE_CALL_COST;
    if (cost > l->inline_left) return node_fail(l, name, op, "expanding the control flow makes the model too large");
    l->inline_left -= cost;
    if (gp->n_input != nin)
        return node_fail(l, name, op, "the body takes %zu inputs, but %zu are given", gp->n_input, nin);
    if (gp->n_sparse_initializer) return node_fail(l, name, op, "sparse initializers are not supported");

    scope c = {.parent = s, .prefix = prefix, .depth = s->depth + 1, .sub = true};
    for (size_t i = 0; i < nin; i++) {
        const char *formal = str(gp->input[i]->name);
        if (!*formal) return node_fail(l, name, op, "the body has an unnamed input");
        if (map_get(&c.names, formal, NULL))
            return node_fail(l, name, op, "the body declares input '%s' twice", formal);
        map_put(a, &c.names, formal, in[i]);
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const char *iname = str(gp->initializer[i]->name);
        xf_tensor t;
        if (!*iname) return node_fail(l, name, op, "an initializer of the body has no name");
        if (map_get(&c.names, iname, NULL))
            return node_fail(l, name, op, "the body defines '%s' twice", iname);
        if (!xf_onnx_tensor_decode(a, gp->initializer[i], l->dir, l->g, &t, l->d)) return false;
        int32_t v = new_value(l, xf_sprintf(a, "%s%s", prefix, iname));
        set_const(l->g, v, &t);
        map_put(a, &c.names, iname, v);
    }
    if (!load_nodes(l, &c, gp->node, gp->n_node)) return false;
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *oname = str(gp->output[i]->name);
        if (!lookup(&c, oname, &out[i]) || out[i] < 0)
            return node_fail(l, name, op, "the body does not compute its output '%s'", oname);
    }
    return true;
}

/* Makes want (an output of the expanded node, -1 when unused) a copy of got. */
static void connect(loader *l, const char *name, size_t i, int32_t got, int32_t want) {
    if (want < 0 || got == want) return;
    xf_node_add(l->g, XF_OP_IDENTITY, xf_sprintf(l->g->arena, "%s/output_%zu", name, i), 1, &got, 1, &want);
}

/* The value output i of np stands for, or -1 when the output is omitted. */
static int32_t node_output(const scope *s, const Onnx__NodeProto *np, size_t i) {
    int32_t v = -1;
    if (i < np->n_output && *str(np->output[i])) map_get(&s->names, np->output[i], &v);
    return v;
}

/* parts[0..n) stacked along a new axis (Unsqueeze each, then Concat; in groups of MAX_CONCAT so
 * that no Concat has more parts than lowering takes). Returns the stacked value. */
static int32_t stack(loader *l, const char *name, const int32_t *parts, int64_t n, int64_t axis) {
    xf_graph *g = l->g;
    xf_arena *a = g->arena;
    int32_t axes = const_i64(l, xf_sprintf(a, "%s/axes", name), 1, 1, &axis);
    int32_t *level = xf_alloc(a, sizeof *level * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        level[i] = new_value(l, xf_sprintf(a, "%s/unsqueezed_%lld", name, (long long)i));
        xf_node_add(g, XF_OP_UNSQUEEZE, xf_sprintf(a, "%s/unsqueeze_%lld", name, (long long)i), 2,
                    (int32_t[]){parts[i], axes}, 1, &level[i]);
    }
    for (int round = 0;; round++) {
        int64_t groups = (n + MAX_CONCAT - 1) / MAX_CONCAT;
        for (int64_t k = 0; k < groups; k++) {
            int64_t from = k * MAX_CONCAT, count = n - from < MAX_CONCAT ? n - from : MAX_CONCAT;
            int32_t out = new_value(l, xf_sprintf(a, "%s/stacked_%d_%lld", name, round, (long long)k));
            int32_t node = xf_node_add(g, XF_OP_CONCAT, xf_sprintf(a, "%s/concat_%d_%lld", name, round, (long long)k),
                                       (int32_t)count, level + from, 1, &out);
            xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = axis;
            level[k] = out;
        }
        if (groups == 1) return level[0];
        n = groups;
    }
}

/* If: only the branch the condition picks is loaded. */
static bool expand_if(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name) {
    if (np->n_input != 1 || !*str(np->input[0]))
        return node_fail(l, name, "If", "an If takes exactly one input, its condition");
    int32_t cond;
    if (!known_scalar(l, s, np, name, 0, &cond)) return false;
    bool taken = xf_const_f64(&l->g->values[cond], 0) != 0;
    const Onnx__GraphProto *branch = graph_attr(s, np, taken ? "then_branch" : "else_branch");
    if (!branch)
        return node_fail(l, name, "If", "attribute '%s' (a graph) is missing", taken ? "then_branch" : "else_branch");
    if (np->n_output > branch->n_output)
        return node_fail(l, name, "If", "%zu outputs, but the %s branch computes %zu", np->n_output,
                         taken ? "then" : "else", branch->n_output);
    int32_t *out = xf_alloc(l->g->arena, sizeof *out * branch->n_output + 1);
    const char *prefix = xf_sprintf(l->g->arena, "%s/%s/", name, taken ? "then" : "else");
    if (!expand_body(l, s, branch, name, prefix, NULL, 0, out)) return false;
    for (size_t i = 0; i < np->n_output; i++) connect(l, name, i, out[i], node_output(s, np, i));
    return true;
}

/* Loop: unrolled. The rule: the trip count M, when given, must be known at compile time, and so
 * must the condition before each iteration: the initial one (an input, omitted meaning true) and
 * the one each iteration's body computes (typically an Identity of its condition input, which is
 * then known, or a constant). Iterations stop at M or at the first false condition; a condition
 * that depends on runtime values is refused. */
static bool expand_loop(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name) {
    xf_graph *g = l->g;
    xf_arena *a = g->arena;
    const Onnx__GraphProto *body = graph_attr(s, np, "body");
    if (!body) return node_fail(l, name, "Loop", "attribute 'body' (a graph) is missing");
    if (np->n_input < 2) return node_fail(l, name, "Loop", "a Loop takes at least the inputs M and cond");
    size_t ncarried = np->n_input - 2;
    if (body->n_input != ncarried + 2 || body->n_output < ncarried + 1)
        return node_fail(l, name, "Loop", "the body must take %zu inputs and compute at least %zu outputs", ncarried + 2,
                         ncarried + 1);
    size_t nscan = body->n_output - 1 - ncarried;
    if (np->n_output > ncarried + nscan)
        return node_fail(l, name, "Loop", "%zu outputs, but the body computes %zu", np->n_output, ncarried + nscan);

    bool has_m = *str(np->input[0]), has_cond = *str(np->input[1]);
    if (!has_m && !has_cond)
        return node_fail(l, name, "Loop", "a Loop with neither a trip count nor a condition never ends");
    int64_t trips = MAX_UNROLL + 1; /* without M, the conditions must end the loop before this */
    int32_t v, cond;
    if (has_m) {
        if (!known_scalar(l, s, np, name, 0, &v)) return false;
        if (xf_dtype_is_float(g->values[v].dtype))
            return node_fail(l, name, "Loop", "the trip count M must be an integer, not %s",
                             xf_dtype_name(g->values[v].dtype));
        trips = xf_const_i64(&g->values[v], 0);
        if (trips > MAX_UNROLL)
            return node_fail(l, name, "Loop", "%lld iterations are too many to unroll (at most %d)", (long long)trips,
                             MAX_UNROLL);
    }
    if (has_cond) {
        if (!known_scalar(l, s, np, name, 1, &cond)) return false;
    } else {
        uint8_t yes = 1;
        xf_tensor t = small_tensor(a, XF_BOOL, 0, 1, &yes);
        cond = new_value(l, xf_sprintf(a, "%s/cond", name));
        set_const(g, cond, &t);
    }

    int32_t *in = xf_alloc(a, sizeof *in * (ncarried + 2));
    int32_t *out = xf_alloc(a, sizeof *out * body->n_output);
    for (size_t k = 0; k < ncarried; k++)
        if (!*str(np->input[k + 2]) || !lookup(s, np->input[k + 2], &in[k + 2]))
            return node_fail(l, name, "Loop", "loop-carried input %zu ('%s') is not produced by any node, initializer "
                             "or graph input", k, str(np->input[k + 2]));
    int64_t cap = 16, iters = 0;
    int32_t **scans = xf_alloc(a, sizeof *scans * nscan + 1);
    for (size_t k = 0; k < nscan; k++) scans[k] = xf_alloc(a, sizeof **scans * (size_t)cap);

    while (iters < trips && xf_const_f64(&g->values[cond], 0) != 0) {
        if (iters == MAX_UNROLL)
            return node_fail(l, name, "Loop", "the loop runs more than %d iterations, too many to unroll", MAX_UNROLL);
        in[0] = const_i64(l, xf_sprintf(a, "%s/iter_%lld", name, (long long)iters), 0, 1, &iters);
        in[1] = cond;
        const char *prefix = xf_sprintf(a, "%s/iter_%lld/", name, (long long)iters);
        if (!expand_body(l, s, body, name, prefix, in, ncarried + 2, out)) return false;
        cond = out[0];
        settle_value(l, cond);
        const xf_value *c = &g->values[cond];
        if (!c->data || xf_value_numel(c) != 1 || xf_dtype_is_narrow(c->dtype))
            return node_fail(l, name, "Loop",
                             "the condition the body computes ('%s') is not known at compile time: only loops "
                             "that run a fixed number of times can be unrolled", c->name);
        for (size_t k = 0; k < ncarried; k++) in[k + 2] = out[k + 1];
        if (iters == cap) {
            for (size_t k = 0; k < nscan; k++) {
                int32_t *bigger = xf_alloc(a, sizeof *bigger * (size_t)cap * 2);
                memcpy(bigger, scans[k], sizeof *bigger * (size_t)cap);
                scans[k] = bigger;
            }
            cap *= 2;
        }
        for (size_t k = 0; k < nscan; k++) scans[k][iters] = out[1 + ncarried + k];
        iters++;
    }

    for (size_t k = 0; k < ncarried; k++) connect(l, name, k, in[k + 2], node_output(s, np, k));
    for (size_t k = 0; k < nscan; k++) {
        int32_t want = node_output(s, np, ncarried + k);
        if (want < 0) continue;
        if (!iters)
            return node_fail(l, name, "Loop", "the loop runs zero times, so the shape of scan output %zu is unknown", k);
        const char *sname = xf_sprintf(a, "%s/scan_%zu", name, k);
        connect(l, name, ncarried + k, stack(l, sname, scans[k], iters, 0), want);
    }
    return true;
}

/* The ints of attribute aname of np: n values, default dflt each; false after reporting. */
static bool scan_ints(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name, const char *aname,
                      size_t n, int64_t dflt, int64_t *vals) {
    for (size_t i = 0; i < n; i++) vals[i] = dflt;
    for (size_t i = 0; i < np->n_attribute; i++) {
        if (strcmp(str(np->attribute[i]->name), aname)) continue;
        const Onnx__AttributeProto *at = resolve_attr(s, np->attribute[i]);
        if (!at) return true;
        if (!at->has_type || at->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS || at->n_ints != n)
            return node_fail(l, name, "Scan", "attribute '%s' must hold %zu integers", aname, n);
        memcpy(vals, at->ints, sizeof *vals * n);
    }
    return true;
}

/* One Scan over states[0..nstate) and scan inputs xs[0..nin): the body runs once per step along
 * each input's axis (axes[], reversed where dirs[] says 1), the states thread through, and the
 * body's scan outputs are stacked along out_axes[] (reversed where out_dirs[] says 1). Results: the
 * final states in states[], the stacked scan outputs in ys[0..nout). */
static bool scan_steps(loader *l, const scope *s, const Onnx__GraphProto *body, const char *name, int32_t *states,
                       size_t nstate, const int32_t *xs, size_t nin, const int64_t *axes, const int64_t *dirs,
                       size_t nout, const int64_t *out_axes, const int64_t *out_dirs, int32_t *ys) {
    xf_graph *g = l->g;
    xf_arena *a = g->arena;
    int64_t steps = -1;
    for (size_t j = 0; j < nin; j++) {
        settle_value(l, xs[j]);
        const xf_value *x = &g->values[xs[j]];
        int64_t axis = axes[j] < 0 ? axes[j] + x->rank : axes[j];
        if (x->rank < 0 || axis < 0 || axis >= x->rank || x->shape[axis] < 0)
            return node_fail(l, name, "Scan", "the length of scan input '%s' along axis %lld is not known at compile "
                             "time", x->name, (long long)axes[j]);
        if (steps >= 0 && x->shape[axis] != steps)
            return node_fail(l, name, "Scan", "the scan inputs have different lengths (%lld and %lld)",
                             (long long)steps, (long long)x->shape[axis]);
        steps = x->shape[axis];
    }
    if (steps <= 0) return node_fail(l, name, "Scan", "a scan of zero steps is not supported");
    if (steps > MAX_UNROLL)
        return node_fail(l, name, "Scan", "%lld steps are too many to unroll (at most %d)", (long long)steps, MAX_UNROLL);

    int32_t *in = xf_alloc(a, sizeof *in * (nstate + nin) + 1);
    int32_t *out = xf_alloc(a, sizeof *out * (nstate + nout) + 1);
    int32_t *parts = xf_alloc(a, sizeof *parts * (size_t)steps * nout + 1); /* [output][step] */
    for (int64_t t = 0; t < steps; t++) {
        memcpy(in, states, sizeof *in * nstate);
        for (size_t j = 0; j < nin; j++) { /* Gather of one index drops the scan axis */
            int64_t at = dirs[j] ? steps - 1 - t : t;
            int32_t idx = const_i64(l, xf_sprintf(a, "%s/index_%zu_%lld", name, j, (long long)t), 0, 1, &at);
            in[nstate + j] = new_value(l, xf_sprintf(a, "%s/step_%lld/input_%zu", name, (long long)t, j));
            int32_t node = xf_node_add(g, XF_OP_GATHER, xf_sprintf(a, "%s/gather_%zu_%lld", name, j, (long long)t), 2,
                                       (int32_t[]){xs[j], idx}, 1, &in[nstate + j]);
            xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = axes[j];
        }
        const char *prefix = xf_sprintf(a, "%s/step_%lld/", name, (long long)t);
        if (!expand_body(l, s, body, name, prefix, in, nstate + nin, out)) return false;
        memcpy(states, out, sizeof *states * nstate);
        for (size_t k = 0; k < nout; k++) parts[k * (size_t)steps + (size_t)t] = out[nstate + k];
    }
    for (size_t k = 0; k < nout; k++) {
        int32_t *p = parts + k * (size_t)steps;
        if (out_dirs[k]) /* reversed: the last step's output comes first */
            for (int64_t i = 0, j = steps - 1; i < j; i++, j--) {
                int32_t tmp = p[i];
                p[i] = p[j];
                p[j] = tmp;
            }
        ys[k] = stack(l, xf_sprintf(a, "%s/scan_%zu", name, k), p, steps, out_axes[k]);
    }
    return true;
}

/* Scan: unrolled over the scan axis. Opset 8's Scan has a batch axis first (and optional
 * sequence lengths, not supported): each batch entry is scanned on its own and the results are
 * stacked again. */
static bool expand_scan(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name) {
    xf_graph *g = l->g;
    xf_arena *a = g->arena;
    const Onnx__GraphProto *body = graph_attr(s, np, "body");
    if (!body) return node_fail(l, name, "Scan", "attribute 'body' (a graph) is missing");
    int64_t nin = -1;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *at = resolve_attr(s, np->attribute[i]);
        if (at && !strcmp(str(np->attribute[i]->name), "num_scan_inputs") && at->has_type &&
            at->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
            nin = at->i;
    }
    bool batched = g->opset < 9;
    size_t first = batched ? 1 : 0; /* opset 8: input 0 is sequence_lens */
    if (nin < 1 || np->n_input < first || (uint64_t)nin > np->n_input - first)
        return node_fail(l, name, "Scan", "attribute 'num_scan_inputs' must be between 1 and the number of inputs");
    if (batched && *str(np->input[0]))
        return node_fail(l, name, "Scan", "input 'sequence_lens' is not supported (sequences of different lengths)");
    size_t nscan_in = (size_t)nin, nstate = np->n_input - first - nscan_in;
    if (body->n_input != nstate + nscan_in || body->n_output < nstate)
        return node_fail(l, name, "Scan", "the body must take %zu inputs and compute at least %zu outputs",
                         nstate + nscan_in, nstate);
    size_t nout = body->n_output - nstate;
    if (np->n_output > nstate + nout)
        return node_fail(l, name, "Scan", "%zu outputs, but the body computes %zu", np->n_output, nstate + nout);

    int32_t *states = xf_alloc(a, sizeof *states * (nstate + nscan_in) + 1), *xs = states + nstate;
    for (size_t i = 0; i < nstate + nscan_in; i++)
        if (!*str(np->input[first + i]) || !lookup(s, np->input[first + i], &states[i]))
            return node_fail(l, name, "Scan", "input '%s' is not produced by any node, initializer or graph input",
                             str(np->input[first + i]));
    int64_t *axes = xf_alloc(a, sizeof *axes * (nscan_in + 2 * nout) + 8), *dirs = xf_alloc(a, sizeof *dirs * nscan_in + 8);
    int64_t *out_axes = axes + nscan_in, *out_dirs = out_axes + nout;
    int32_t *ys = xf_alloc(a, sizeof *ys * nout + 1);
    if (!scan_ints(l, s, np, name, batched ? "directions" : "scan_input_directions", nscan_in, 0, dirs) ||
        (!batched && (!scan_ints(l, s, np, name, "scan_input_axes", nscan_in, 0, axes) ||
                      !scan_ints(l, s, np, name, "scan_output_axes", nout, 0, out_axes) ||
                      !scan_ints(l, s, np, name, "scan_output_directions", nout, 0, out_dirs))))
        return false;

    if (!batched) {
        if (!scan_steps(l, s, body, name, states, nstate, xs, nscan_in, axes, dirs, nout, out_axes, out_dirs, ys))
            return false;
        for (size_t k = 0; k < nstate; k++) connect(l, name, k, states[k], node_output(s, np, k));
        for (size_t k = 0; k < nout; k++) connect(l, name, nstate + k, ys[k], node_output(s, np, nstate + k));
        return true;
    }

    /* opset 8: per batch entry b, Gather(·, b) of every state and scan input, then stack the results */
    settle_value(l, xs[0]);
    int64_t batch = g->values[xs[0]].rank > 0 ? g->values[xs[0]].shape[0] : -1;
    if (batch <= 0 || batch > MAX_UNROLL)
        return node_fail(l, name, "Scan", "the batch size of scan input '%s' must be known at compile time",
                         g->values[xs[0]].name);
    size_t nres = nstate + nout;
    int32_t *res = xf_alloc(a, sizeof *res * nres * (size_t)batch + 1); /* [result][batch] */
    int32_t *sub = xf_alloc(a, sizeof *sub * (nstate + nscan_in) + 1);
    for (int64_t b = 0; b < batch; b++) {
        const char *bname = xf_sprintf(a, "%s/batch_%lld", name, (long long)b);
        int32_t idx = const_i64(l, xf_sprintf(a, "%s/index", bname), 0, 1, &b);
        for (size_t i = 0; i < nstate + nscan_in; i++) {
            sub[i] = new_value(l, xf_sprintf(a, "%s/input_%zu", bname, i));
            xf_node_add(g, XF_OP_GATHER, xf_sprintf(a, "%s/gather_%zu", bname, i), 2, (int32_t[]){states[i], idx}, 1,
                        &sub[i]);
        }
        if (!scan_steps(l, s, body, bname, sub, nstate, sub + nstate, nscan_in, axes, dirs, nout, out_axes, out_dirs,
                        ys))
            return false;
        for (size_t k = 0; k < nres; k++) res[k * (size_t)batch + (size_t)b] = k < nstate ? sub[k] : ys[k - nstate];
    }
    for (size_t k = 0; k < nres; k++) {
        int32_t want = node_output(s, np, k);
        if (want >= 0)
            connect(l, name, k, stack(l, xf_sprintf(a, "%s/batched_%zu", name, k), res + k * (size_t)batch, batch, 0),
                    want);
    }
    return true;
}

/* Clip before opset 11 takes its bounds as attributes min and max; the IR takes inputs 1 and 2. */
static bool clip_bounds(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name, int32_t *in,
                        int32_t *nin) {
    for (size_t i = 0; i < np->n_attribute; i++) {
        const char *aname = str(np->attribute[i]->name);
        int k = !strcmp(aname, "min") ? 1 : !strcmp(aname, "max") ? 2 : 0;
        const Onnx__AttributeProto *a = resolve_attr(s, np->attribute[i]);
        if (!k || !a) continue;
        if (!attr_ok(l, name, "Clip", a, aname)) return false;
        if (!a->has_type || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
            return node_fail(l, name, "Clip", "attribute '%s' must be a float", aname);
        xf_tensor t = small_tensor(l->g->arena, XF_F32, 0, 1, &a->f);
        while (*nin <= k) in[(*nin)++] = -1;
        in[k] = new_value(l, xf_sprintf(l->g->arena, "%s_%s", name, aname));
        set_const(l->g, in[k], &t);
    }
    return true;
}

/* The Reduce ops take their axes as an attribute before opset 18 (13 for ReduceSum) and as input 1
 * since; the IR has the input only, so an `axes` attribute becomes a constant int64 input. */
static bool is_reduce(int op) {
    static const int ops[] = {XF_OP_REDUCE_MEAN, XF_OP_REDUCE_SUM, XF_OP_REDUCE_MAX, XF_OP_REDUCE_MIN,
                              XF_OP_REDUCE_L1, XF_OP_REDUCE_L2, XF_OP_REDUCE_SUM_SQUARE, XF_OP_REDUCE_PROD,
                              XF_OP_REDUCE_LOG_SUM, XF_OP_REDUCE_LOG_SUM_EXP};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i] == op) return true;
    return false;
}

static bool reduce_axes_input(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name, int32_t *in,
                              int32_t *nin) {
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = resolve_attr(s, np->attribute[i]);
        if (!a || strcmp(str(np->attribute[i]->name), "axes")) continue;
        const char *op = str(np->op_type);
        if (!attr_ok(l, name, op, a, "axes")) return false;
        if (!a->has_type || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS || a->n_ints > XF_MAX_RANK)
            return node_fail(l, name, op, "attribute 'axes' must be a list of at most %d integers", XF_MAX_RANK);
        if (*nin > 1 && in[1] >= 0) return node_fail(l, name, op, "axes are given both as attribute and as input");
        xf_tensor t = small_tensor(l->g->arena, XF_I64, 1, a->n_ints, a->ints);
        in[1] = new_value(l, xf_sprintf(l->g->arena, "%s_axes", name));
        set_const(l->g, in[1], &t);
        if (*nin < 2) *nin = 2;
    }
    return true;
}

/* Slice before opset 10 takes starts, ends and axes as attributes; the IR takes inputs 1 to 3, as
 * later opsets have them. Returns the input an attribute moves to, 0 for the others. */
static int slice_list_input(const char *aname) {
    return !strcmp(aname, "starts") ? 1 : !strcmp(aname, "ends") ? 2 : !strcmp(aname, "axes") ? 3 : 0;
}

static bool slice_lists(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name, int32_t *in,
                        int32_t *nin) {
    for (size_t i = 0; i < np->n_attribute; i++) {
        const char *aname = str(np->attribute[i]->name);
        int k = slice_list_input(aname);
        const Onnx__AttributeProto *a = resolve_attr(s, np->attribute[i]);
        if (!k || !a) continue;
        if (!attr_ok(l, name, "Slice", a, aname)) return false;
        if (!a->has_type || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
            return node_fail(l, name, "Slice", "attribute '%s' must be a list of integers", aname);
        xf_tensor t = small_tensor(l->g->arena, XF_I64, 1, a->n_ints, a->ints);
        while (*nin <= k) in[(*nin)++] = -1;
        in[k] = new_value(l, xf_sprintf(l->g->arena, "%s_%s", name, aname));
        set_const(l->g, in[k], &t);
    }
    return true;
}

/* Softmax and LogSoftmax before opset 13 flatten x to 2-D at `axis` (default 1) and normalise each
 * row; since, they work along the one dim `axis` (default -1), which is the IR's meaning. The old
 * form becomes x reshaped to keep the dims before axis and merge the rest into one, the op along
 * that last dim, and the result reshaped to x's shape. When axis is the last dim both reshapes
 * change nothing and simplify removes them, so fusions still see the op itself. A negative axis
 * other than -1 (the last dim alone: the meanings agree) is a Flatten to 2-D instead. The op itself
 * gets axis -1. Rewires in[0] and out[0] to the op's own input and output; returns false after
 * reporting. */
static bool softmax_2d(loader *l, const scope *s, const Onnx__NodeProto *np, const char *name, int32_t *in,
                       int32_t nin, int32_t *out, int32_t nout) {
    xf_graph *g = l->g;
    int64_t axis = 1;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = resolve_attr(s, np->attribute[i]);
        if (!a || strcmp(str(np->attribute[i]->name), "axis")) continue;
        if (!a->has_type || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
            return node_fail(l, name, str(np->op_type), "attribute 'axis' must be an integer");
        axis = a->i;
    }
    if (axis == -1 || nin < 1 || in[0] < 0 || nout < 1 || out[0] < 0) return true;
    if (axis < -XF_MAX_RANK || axis >= XF_MAX_RANK)
        return node_fail(l, name, str(np->op_type), "axis %lld is out of range", (long long)axis);
    int32_t x = in[0], flat = new_value(l, xf_sprintf(g->arena, "%s/rows", name));
    if (axis >= 0) { /* Reshape's 0 keeps a dim, -1 takes the rest */
        int64_t shape[XF_MAX_RANK + 1] = {0};
        shape[axis] = -1;
        xf_tensor t = small_tensor(g->arena, XF_I64, 1, (size_t)axis + 1, shape);
        int32_t sv = new_value(l, xf_sprintf(g->arena, "%s/rows_shape", name));
        set_const(g, sv, &t);
        xf_node_add(g, XF_OP_RESHAPE, xf_sprintf(g->arena, "%s/rows", name), 2, (int32_t[]){x, sv}, 1, &flat);
    } else {
        int32_t f = xf_node_add(g, XF_OP_FLATTEN, xf_sprintf(g->arena, "%s/rows", name), 1, &x, 1, &flat);
        xf_node_add_attr(g, f, "axis", XF_ATTR_INT)->i = axis;
    }
    int32_t shape = new_value(l, xf_sprintf(g->arena, "%s/shape", name));
    int32_t result = new_value(l, xf_sprintf(g->arena, "%s/result", name));
    xf_node_add(g, XF_OP_SHAPE, xf_sprintf(g->arena, "%s/shape", name), 1, &x, 1, &shape);
    xf_node_add(g, XF_OP_RESHAPE, xf_sprintf(g->arena, "%s/restore", name), 2, (int32_t[]){result, shape}, 1, out);
    in[0] = flat;
    out[0] = result;
    return true;
}

/* Resize-10 is Upsample-9 by another name: inputs X and scales, asymmetric coordinates, nearest
 * rounding down when enlarging and up when shrinking. The IR's Resize is that of opset 11 and
 * later, so the node gets an empty roi input before scales (see load_node) and the attributes that
 * say so; nearest_mode "simple" is onnxruntime's name for that rounding. */
static bool old_resize_attr(const char *aname) {
    return !strcmp(aname, "coordinate_transformation_mode") || !strcmp(aname, "nearest_mode");
}

static void set_str_attr(xf_graph *g, int32_t node, const char *aname, const char *value) {
    xf_node_add_attr(g, node, aname, XF_ATTR_STRING)->s = xf_strdup(g->arena, value);
}

/* Attributes whose default changed between opsets are set explicitly, with the default of the
 * model's opset, so that the IR has one meaning for each op. */
static void set_opset_defaults(xf_graph *g, int32_t node) {
    xf_node *n = &g->nodes[node];
    /* RoiAlign: coordinate_transformation_mode arrived in opset 16 with default half_pixel; before,
     * regions were not shifted */
    if (n->op == XF_OP_ROI_ALIGN && g->opset < 16 && !xf_attr_get(n, "coordinate_transformation_mode"))
        set_str_attr(g, node, "coordinate_transformation_mode", "output_half_pixel");
}

static bool load_variadic(loader *l, int op, const char *name, int32_t nin, const int32_t *in, int32_t out, bool mean);
static bool normalise_opset(loader *l, int32_t node);

static bool load_node(loader *l, const scope *s, const Onnx__NodeProto *np, size_t index) {
    xf_graph *g = l->g;
    const char *op_type = str(np->op_type), *domain = str(np->domain);
    const char *name = node_name(l, s, np, index);
    if (!*op_type) return xf_fail(l->d, g, NULL, "node '%s' has no operator type", name);
    bool std = is_default_domain(domain);
    bool is_if = std && !strcmp(op_type, "If"), is_loop = std && !strcmp(op_type, "Loop"),
         is_scan = std && !strcmp(op_type, "Scan");
    if (is_if || is_loop || is_scan) { /* expanded: their subgraphs never reach the IR */
        if (!l->has_opset) return node_fail(l, name, op_type, "the model does not import the default ONNX opset");
        return is_if ? expand_if(l, s, np, name) : is_loop ? expand_loop(l, s, np, name) : expand_scan(l, s, np, name);
    }
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (a->g || a->n_graphs ||
            (a->has_type &&
             (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ||
              a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS)))
            return node_fail(l, name, op_type, "subgraph attribute '%s': only If, Loop and Scan may hold subgraphs",
                             str(a->name));
    }
    if (std && !strcmp(op_type, "Constant")) return load_constant(l, s, np, name);
    /* ops of domain ai.onnx.ml are rows "ai.onnx.ml.<op_type>" of ops.def, a name no node of the
     * default domain can ask for */
    bool ml = !strcmp(domain, "ai.onnx.ml") && l->has_ml_opset;
    int op = std ? xf_op_lookup(op_type) : ml ? xf_op_lookup(xf_sprintf(g->arena, "ai.onnx.ml.%s", op_type)) : -1;
    bool mean = std && !strcmp(op_type, "Mean"), sum = std && !strcmp(op_type, "Sum");
    if (mean || sum) op = XF_OP_ADD; /* variadic: see load_variadic */
    if (std && !strcmp(op_type, "CastLike")) op = XF_OP_CAST; /* the type comes from input 1 */
    if (op < 0) {
        size_t fi;
        const Onnx__FunctionProto *fn = find_function(l, domain, op_type, str(np->overload), &fi);
        if (fn) return inline_call(l, s, np, fn, fi, name);
        if (!strcmp(domain, "ai.onnx.ml") && !l->has_ml_opset)
            return node_fail(l, name, op_type, "the model does not import domain 'ai.onnx.ml'");
        return node_fail(l, name, op_type, "unsupported operator '%s' (domain '%s')", op_type, domain);
    }
    if (!l->has_opset && !ml) return node_fail(l, name, op_type, "the model does not import the default ONNX opset");
    if (np->n_input > INT32_MAX - 3 || np->n_output > INT32_MAX)
        return node_fail(l, name, op_type, "too many inputs or outputs");

    int32_t nin = (int32_t)np->n_input, nout = (int32_t)np->n_output;
    int32_t *in = xf_alloc(g->arena, sizeof *in * (size_t)(nin + 3)); /* room for Clip's bounds, Slice's lists */
    int32_t *out = xf_alloc(g->arena, sizeof *out * (size_t)nout + 1);
    for (int32_t i = 0; i < nin; i++) {
        const char *v = str(np->input[i]);
        in[i] = -1;
        if (*v && !lookup(s, v, &in[i]))
            return node_fail(l, name, op_type,
                             "input '%s' is not produced by any node, initializer or graph input", v);
    }
    for (int32_t i = 0; i < nout; i++) {
        out[i] = -1;
        if (*str(np->output[i])) map_get(&s->names, np->output[i], &out[i]); /* made by load_nodes */
    }
    bool old_clip = op == XF_OP_CLIP && g->opset < 11;
    if (old_clip && !clip_bounds(l, s, np, name, in, &nin)) return false;
    if (is_reduce(op) && !reduce_axes_input(l, s, np, name, in, &nin)) return false;
    bool old_softmax = (op == XF_OP_SOFTMAX || op == XF_OP_LOG_SOFTMAX) && g->opset < 13;
    if (old_softmax && !softmax_2d(l, s, np, name, in, nin, out, nout)) return false;
    bool old_slice = op == XF_OP_SLICE && g->opset < 10 && nin == 1; /* other input counts: refused later */
    if (old_slice && !slice_lists(l, s, np, name, in, &nin)) return false;
    bool old_resize = op == XF_OP_RESIZE && g->opset < 11;
    if (old_resize && nin >= 2) { /* X, scales -> X, roi (none), scales */
        memmove(in + 2, in + 1, sizeof *in * (size_t)(nin - 1));
        in[1] = -1;
        nin++;
    }

    bool variadic = mean || ((sum || op == XF_OP_MAX || op == XF_OP_MIN) && nin != 2);
    if (variadic) return load_variadic(l, op, name, nin, in, nout ? out[0] : -1, mean);

    int32_t node = xf_node_add(g, op, name, nin, in, nout, out);
    xf_node *n = &g->nodes[node]; /* stays valid: nothing below adds nodes */
    /* One array for all attributes: xf_node_add_attr copies the array for each one it adds, which
     * a node with thousands of attributes would turn into gigabytes. */
    n->attrs = xf_alloc(g->arena, sizeof *n->attrs * np->n_attribute + 1);
    for (size_t i = 0; i < np->n_attribute; i++) {
        const char *aname = str(np->attribute[i]->name);
        const Onnx__AttributeProto *a = resolve_attr(s, np->attribute[i]);
        if (!a || (old_clip && (!strcmp(aname, "min") || !strcmp(aname, "max"))) ||
            (old_slice && slice_list_input(aname)))
            continue;
        if ((is_reduce(op) && !strcmp(aname, "axes")) || (old_softmax && !strcmp(aname, "axis"))) continue;
        if (old_resize && old_resize_attr(aname)) continue;
        if (!*aname) return xf_fail(l->d, g, n, "an attribute has no name");
        if (!attr_ok(l, name, op_type, a, aname) || !copy_attr(l, n, aname, a)) return false;
    }
    /* explicit, so that no later reader applies the old opset's default (1) */
    if (old_softmax) xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = -1;
    if (old_resize) {
        set_str_attr(g, node, "coordinate_transformation_mode", "asymmetric");
        set_str_attr(g, node, "nearest_mode", "simple");
    }
    set_opset_defaults(g, node);
    /* Softmax, LogSoftmax and Hardmax work along axis -1 since opset 13 unless told otherwise (the
     * older 2-D forms are rewritten above and in normalise_opset): the axis is made explicit, so
     * that no pass has to know the default to read it */
    if ((op == XF_OP_SOFTMAX || op == XF_OP_LOG_SOFTMAX || op == XF_OP_HARDMAX) && g->opset >= 13 &&
        !xf_attr_get(n, "axis"))
        xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = -1;
    return normalise_opset(l, node);
}

/* ---- older opsets, in the IR's one form ---- */

static void drop_attr(xf_node *n, const char *name) {
    int kept = 0;
    for (int i = 0; i < n->nattr; i++)
        if (strcmp(n->attrs[i].name, name) != 0) n->attrs[kept++] = n->attrs[i];
    n->nattr = kept;
}

/* The node's inputs, with input k (added past the end when needed) set to v. */
static void set_input(xf_graph *g, xf_node *n, int k, int32_t v) {
    int32_t nin = n->nin > k ? n->nin : k + 1;
    int32_t *in = xf_alloc(g->arena, sizeof *in * (size_t)nin);
    for (int32_t i = 0; i < nin; i++) in[i] = i < n->nin ? n->in[i] : -1;
    in[k] = v;
    n->in = in;
    n->nin = nin;
}

/* An int64 constant holding v, of rank 0 or of shape [1]. */
static int32_t int_const(loader *l, const char *name, int rank, int64_t v) {
    int32_t c = new_value(l, name);
    xf_tensor t = small_tensor(l->g->arena, XF_I64, rank, 1, &v);
    set_const(l->g, c, &t);
    return c;
}

/* Attribute `attr` of an older opset (or that opset's default dflt when has_dflt) as the constant
 * input k the IR takes: TopK's k before opset 10, DFT's axis before opset 20. */
static bool attr_to_input(loader *l, int32_t node, const char *attr, bool has_dflt, int64_t dflt, int k, int rank) {
    xf_graph *g = l->g;
    xf_node *n = &g->nodes[node];
    const xf_attr *a = xf_attr_get(n, attr);
    if (!a && !has_dflt) return xf_fail(l->d, g, n, "attribute '%s' is missing", attr);
    if (a && a->type != XF_ATTR_INT) return xf_fail(l->d, g, n, "attribute '%s' must be an int", attr);
    int32_t c = int_const(l, xf_sprintf(g->arena, "%s_%s", n->name, attr), rank, a ? a->i : dflt);
    n = &g->nodes[node];
    drop_attr(n, attr);
    set_input(g, n, k, c);
    return true;
}

/* Hardmax before opset 13 flattened x to 2-D at axis (default 1) and took the maximum over the
 * whole second part; since then it works along one axis. The old form is the new one along the
 * last axis of that 2-D view: x -> Flatten(axis) -> Hardmax -> Reshape(Shape(x)). Flatten and
 * Reshape are views, so this costs no copy. */
static bool legacy_hardmax(loader *l, int32_t node) {
    xf_graph *g = l->g;
    xf_node *n = &g->nodes[node];
    if (n->nin < 1 || n->in[0] < 0 || n->nout < 1 || n->out[0] < 0) return true; /* the shape rule reports */
    const char *name = n->name;
    int32_t x = n->in[0], y = n->out[0];
    int64_t axis = xf_attr_int(n, "axis", 1);
    drop_attr(n, "axis");
    xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = -1; /* the last dim of the 2-D view */
    n = &g->nodes[node];
    int32_t flat = new_value(l, xf_sprintf(g->arena, "%s/flat", name));
    int32_t max = new_value(l, xf_sprintf(g->arena, "%s/2d", name));
    int32_t shape = new_value(l, xf_sprintf(g->arena, "%s/shape", name));
    n->in = xf_alloc(g->arena, sizeof *n->in);
    n->in[0] = flat;
    n->out[0] = max;
    g->values[max].producer = node;
    int32_t f = xf_node_add(g, XF_OP_FLATTEN, xf_sprintf(g->arena, "%s/flatten", name), 1, &x, 1, &flat);
    xf_node_add_attr(g, f, "axis", XF_ATTR_INT)->i = axis;
    xf_node_add(g, XF_OP_SHAPE, xf_sprintf(g->arena, "%s/input_shape", name), 1, &x, 1, &shape);
    xf_node_add(g, XF_OP_RESHAPE, xf_sprintf(g->arena, "%s/reshape", name), 2, (int32_t[]){max, shape}, 1, &y);
    return true;
}

/* Tile before opset 6 took inputs (input, tiles, axis) and repeated the input `tiles` times along
 * axis: a Concat of that many copies, when both are constants. The schema types them like the
 * input (float), exporters wrote int64: either holds an integer. */
static bool legacy_tile(loader *l, int32_t node) {
    xf_graph *g = l->g;
    xf_node *n = &g->nodes[node];
    xf_value *tiles = xf_in(g, n, 1), *axis = xf_in(g, n, 2);
    if (!xf_in(g, n, 0) || !tiles || !axis) return xf_fail(l->d, g, n, "expects inputs input, tiles and axis");
    bool known = tiles->data && axis->data && xf_value_numel(tiles) == 1 && xf_value_numel(axis) == 1;
    double count_f = known ? xf_const_f64(tiles, 0) : 0, axis_f = known ? xf_const_f64(axis, 0) : 0;
    if (!known || count_f != floor(count_f) || axis_f != floor(axis_f) || fabs(axis_f) > XF_MAX_RANK)
        return xf_fail(l->d, g, n, "tiles and axis must be constant integers (Tile before opset 6)");
    int64_t count = count_f >= 1 && count_f <= MAX_CONCAT ? (int64_t)count_f : 0;
    if (!count) return xf_fail(l->d, g, n, "tiles = %g is out of range (1 to %d)", count_f, MAX_CONCAT);
    int32_t *in = xf_alloc(g->arena, sizeof *in * (size_t)count);
    for (int64_t i = 0; i < count; i++) in[i] = n->in[0];
    xf_node_add_attr(g, node, "axis", XF_ATTR_INT)->i = (int64_t)axis_f;
    n = &g->nodes[node];
    n->op = XF_OP_CONCAT;
    n->in = in;
    n->nin = (int32_t)count;
    return true;
}

/* Rewrites a node read from an older opset into the one form the IR has for its op. */
static bool normalise_opset(loader *l, int32_t node) {
    int op = l->g->nodes[node].op;
    int64_t opset = l->g->opset;
    if (op == XF_OP_TOP_K && opset < 10) return attr_to_input(l, node, "k", false, 0, 1, 1);
    if (op == XF_OP_DFT && opset < 20) return attr_to_input(l, node, "axis", true, 1, 2, 0);
    if (op == XF_OP_HARDMAX && opset < 13) return legacy_hardmax(l, node);
    if (op == XF_OP_TILE && opset < 6) return legacy_tile(l, node);
    return true;
}

/* Sum, Mean, Max and Min take any number of inputs; the IR's ops are binary, so n inputs become a
 * chain of n - 1 nodes (one input: an Identity), and Mean ends with xfc.DivN, which divides by n. */
static bool load_variadic(loader *l, int op, const char *name, int32_t nin, const int32_t *in, int32_t out, bool mean) {
    xf_graph *g = l->g;
    if (nin < 1 || out < 0) return node_fail(l, name, xf_ops[op].name, "expects at least one input and one output");
    for (int32_t k = 0; k < nin; k++)
        if (in[k] < 0) return node_fail(l, name, xf_ops[op].name, "input %d is missing", k);
    int32_t acc = in[0];
    if (nin == 1 && !mean) {
        xf_node_add(g, XF_OP_IDENTITY, name, 1, &acc, 1, &out);
        return true;
    }
    for (int32_t k = 1; k < nin; k++) {
        int32_t next = k == nin - 1 && !mean ? out : new_value(l, xf_sprintf(g->arena, "%s/partial_%d", name, k));
        xf_node_add(g, op, k == nin - 1 && !mean ? name : xf_sprintf(g->arena, "%s/%d", name, k), 2,
                    (int32_t[]){acc, in[k]}, 1, &next);
        acc = next;
    }
    if (mean) {
        int32_t node = xf_node_add(g, XF_OP_DIV_N, name, 1, &acc, 1, &out);
        xf_node_add_attr(g, node, "n", XF_ATTR_INT)->i = nin;
    }
    return true;
}

/* The value a body's output name stands for: the caller's value when it is a formal output the
 * caller uses, else a fresh one. */
static int32_t output_value(loader *l, const scope *s, const char *out) {
    if (s->caller)
        for (size_t i = 0; i < s->caller->n_output; i++) {
            int32_t v;
            if (!strcmp(str(s->fn->output[i]), out) && *str(s->caller->output[i]) &&
                map_get(&s->parent->names, s->caller->output[i], &v))
                return v;
        }
    return new_value(l, xf_sprintf(l->g->arena, "%s%s", s->prefix, out));
}

static bool load_nodes(loader *l, scope *s, Onnx__NodeProto *const *nodes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const Onnx__NodeProto *np = nodes[i];
        for (size_t j = 0; j < np->n_output; j++) {
            const char *out = str(np->output[j]);
            int32_t v;
            if (!*out) continue;
            if (map_get(&s->names, out, &v)) {
                const xf_value *x = v >= 0 ? &l->g->values[v] : NULL;
                const char *what = s->caller ? "another value of the function"
                                   : x && x->is_input ? "a graph input"
                                   : x && x->data ? "an initializer"
                                   : "another node";
                return node_fail(l, node_name(l, s, np, i), str(np->op_type),
                                 "output '%s' is already defined by %s", out, what);
            }
            map_put(l->g->arena, &s->names, out, output_value(l, s, out));
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!load_node(l, s, nodes[i], i)) return false;
    return true;
}

static bool load_input(loader *l, scope *top, const Onnx__ValueInfoProto *vi) {
    xf_graph *g = l->g;
    const char *name = str(vi->name);
    int32_t v;
    if (!*name) return xf_fail(l->d, g, NULL, "a graph input has no name");
    if (map_get(&top->names, name, &v)) {
        if (g->values[v].data) return true; /* an initializer also listed as input (IR < 4 style) */
        return xf_fail(l->d, g, NULL, "graph input '%s' is listed twice", name);
    }
    const Onnx__TypeProto *tp = vi->type;
    if (!tp) return xf_fail(l->d, g, NULL, "graph input '%s' has no type", name);
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return xf_fail(l->d, g, NULL,
                       "graph input '%s' is not a tensor (sequences, maps and optionals are not supported)",
                       name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int32_t dtype = tt->has_elem_type ? tt->elem_type : 0;
    if (!xf_dtype_size(dtype) || !xf_dtype_ctype(dtype))
        return xf_fail(l->d, g, NULL, "graph input '%s' has type %s, which is not supported", name,
                       xf_onnx_dtype_name(g->arena, dtype));
    const Onnx__TensorShapeProto *sp = tt->shape;
    if (sp && sp->n_dim > XF_MAX_RANK)
        return xf_fail(l->d, g, NULL, "graph input '%s' has rank %zu; at most %d is supported", name,
                       sp->n_dim, XF_MAX_RANK);

    v = new_value(l, name);
    map_put(g->arena, &top->names, name, v);
    xf_value *x = &g->values[v];
    x->dtype = dtype;
    x->rank = sp ? (int32_t)sp->n_dim : -1;
    for (int32_t i = 0; i < x->rank; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = sp->dim[i];
        x->shape[i] = -1;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return xf_fail(l->d, g, NULL, "graph input '%s' has a negative dimension (%lld)", name,
                               (long long)dim->dim_value);
            x->shape[i] = dim->dim_value;
        } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   dim->dim_param) {
            x->dim_param[i] = xf_strdup(g->arena, dim->dim_param);
        }
    }
    x->is_input = true;
    g->inputs[g->ninputs++] = v;
    return true;
}

static bool load_model(loader *l, const Onnx__ModelProto *m) {
    xf_graph *g = l->g;
    xf_arena *a = g->arena;
    const Onnx__GraphProto *gp = m->graph;
    if (!m->has_ir_version) return xf_fail(l->d, g, NULL, "not an ONNX model (no IR version)");
    if (m->ir_version < 3)
        return xf_fail(l->d, g, NULL, "IR version %lld is not supported (xfc reads IR version 3 and newer)",
                       (long long)m->ir_version);
    if (!gp) return xf_fail(l->d, g, NULL, "the model has no graph");
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!strcmp(str(o->domain), "ai.onnx.ml")) l->has_ml_opset = true;
        if (!is_default_domain(str(o->domain))) continue;
        if (!l->has_opset || o->version > g->opset) g->opset = o->version;
        l->has_opset = true;
    }
    if (l->has_opset && g->opset < 1)
        return xf_fail(l->d, g, NULL, "opset %lld is not a valid opset", (long long)g->opset);
    if (gp->n_sparse_initializer) return xf_fail(l->d, g, NULL, "sparse initializers are not supported");
    if (!gp->n_output) return xf_fail(l->d, g, NULL, "the graph has no outputs");
    if (gp->n_input > INT32_MAX || gp->n_output > INT32_MAX)
        return xf_fail(l->d, g, NULL, "too many graph inputs or outputs");

    l->fn_size = xf_alloc(a, sizeof *l->fn_size * m->n_functions + 1);
    l->inline_left = INLINE_BUDGET;
    if (m->n_functions > INT32_MAX) return xf_fail(l->d, g, NULL, "too many functions");
    for (size_t i = 0; i < m->n_functions; i++) {
        const Onnx__FunctionProto *f = m->functions[i];
        const char *key = function_key(a, str(f->domain), str(f->name), str(f->overload));
        if (!map_get(&l->functions, key, NULL))
            map_put(a, &l->functions, key, (int32_t)i); /* the first wins */
        l->fn_size[i] = protobuf_c_message_get_packed_size(&f->base);
        l->inline_left += 4 * l->fn_size[i];
    }

    scope top = {.prefix = ""};
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = str(tp->name);
        xf_tensor t;
        if (!*name) return xf_fail(l->d, g, NULL, "an initializer has no name");
        if (map_get(&top.names, name, NULL))
            return xf_fail(l->d, g, NULL, "initializer '%s' is defined twice", name);
        if (!xf_onnx_tensor_decode(a, tp, l->dir, g, &t, l->d)) return false;
        int32_t v = new_value(l, name);
        set_const(g, v, &t);
        map_put(a, &top.names, name, v);
    }
    g->inputs = xf_alloc(a, sizeof *g->inputs * gp->n_input + 1);
    for (size_t i = 0; i < gp->n_input; i++)
        if (!load_input(l, &top, gp->input[i])) return false;
    /* bound inputs must be constants before the nodes load: control flow is expanded on them */
    if (l->bind && !l->bind(g, l->bind_ctx, l->d)) return false;
    if (!load_nodes(l, &top, gp->node, gp->n_node)) return false;

    g->outputs = xf_alloc(a, sizeof *g->outputs * gp->n_output + 1);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = str(gp->output[i]->name);
        int32_t v;
        if (!map_get(&top.names, name, &v))
            return xf_fail(l->d, g, NULL,
                           "graph output '%s' is not produced by any node, initializer or graph input", name);
        if (g->values[v].is_output) return xf_fail(l->d, g, NULL, "graph output '%s' is listed twice", name);
        g->values[v].is_output = true;
        g->outputs[g->noutputs++] = v;
    }
    xf_graph_compact(g); /* nodes that expanding control flow folded (settle) */
    return xf_graph_toposort(g, l->d);
}

xf_graph *xf_onnx_load(const char *path, xf_diag *d) {
    return xf_onnx_load_bound(path, NULL, NULL, d);
}

xf_graph *xf_onnx_load_bound(const char *path, xf_onnx_bind_fn bind, void *ctx, xf_diag *d) {
    if (!path) return xf_fail(d, NULL, NULL, "no model path given"), NULL;
    xf_graph *g = xf_graph_new(path);
    loader l = {.g = g, .d = d, .dir = xf_onnx_dirname(g->arena, path), .bind = bind, .bind_ctx = ctx};
    Onnx__ModelProto *m =
        (Onnx__ModelProto *)xf_onnx_unpack_file(path, &onnx__model_proto__descriptor, "ONNX model", g, d);
    l.model = m;
    bool ok = m && load_model(&l, m);
    if (m) protobuf_c_message_free_unpacked(&m->base, NULL);
    if (!ok) {
        xf_graph_free(g);
        return NULL;
    }
    return g;
}
