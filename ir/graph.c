/* graph.c — building, querying and checking the IR graph: values, nodes, attributes, topological
 * order, the verifier and diagnostics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

bool xf_fail(xf_diag *d, const xf_graph *g, const xf_node *n, const char *fmt, ...) {
    if (!d || d->set) return false;
    size_t len = 0;
    if (g && g->path) len += (size_t)snprintf(d->msg, sizeof d->msg, "%s: ", g->path);
    if (n && len < sizeof d->msg)
        len += (size_t)snprintf(d->msg + len, sizeof d->msg - len, "node '%s' (%s): ", n->name,
                                xf_ops[n->op].name);
    if (len < sizeof d->msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg + len, sizeof d->msg - len, fmt, ap);
        va_end(ap);
    }
    d->set = true;
    return false;
}

/* ---- types ---- */

/* The conversions of the narrow formats are the runtime's own (runtime/lowp.c, linked into xfc as
 * part of the runtime library), so that what xfc reads from a constant is what generated code
 * would read, and the formats are defined once. */
int xf_lowp_get(const void *x, int64_t dtype, int64_t i, double *f, int64_t *k);
int64_t xf_lowp_to_int(double f);

size_t xf_dtype_size(int32_t t) {
    switch (t) {
    case XF_F32: case XF_I32: case XF_U32: return 4;
    case XF_U8: case XF_I8: case XF_BOOL: return 1;
    case XF_F8E4M3FN: case XF_F8E4M3FNUZ: case XF_F8E5M2: case XF_F8E5M2FNUZ: case XF_F8E8M0: return 1;
    case XF_U4: case XF_I4: case XF_F4E2M1: return 1; /* the byte holding an element: see xf_dtype_bytes */
    case XF_U16: case XF_I16: case XF_F16: case XF_BF16: return 2;
    case XF_I64: case XF_U64: case XF_F64: return 8;
    default: return 0;
    }
}

bool xf_dtype_is_packed(int32_t t) {
    return t == XF_U4 || t == XF_I4 || t == XF_F4E2M1;
}

int64_t xf_dtype_bytes(int32_t t, int64_t numel) {
    if (xf_dtype_is_packed(t)) return numel / 2 + numel % 2;
    return numel * (int64_t)xf_dtype_size(t);
}

bool xf_dtype_is_narrow(int32_t t) {
    return t == XF_F16 || t == XF_BF16 || (t >= XF_F8E4M3FN && t <= XF_F8E8M0);
}

int32_t xf_dtype_compute(int32_t t) {
    if (t == XF_U4) return XF_U8;
    if (t == XF_I4) return XF_I8;
    return xf_dtype_is_narrow(t) ? XF_F32 : t;
}

const char *xf_dtype_name(int32_t t) {
    switch (t) {
    case XF_F32: return "float32";
    case XF_U8: return "uint8";
    case XF_I8: return "int8";
    case XF_U16: return "uint16";
    case XF_I16: return "int16";
    case XF_I32: return "int32";
    case XF_I64: return "int64";
    case XF_STRING: return "string";
    case XF_BOOL: return "bool";
    case XF_F16: return "float16";
    case XF_F64: return "float64";
    case XF_U32: return "uint32";
    case XF_U64: return "uint64";
    case XF_BF16: return "bfloat16";
    case XF_F8E4M3FN: return "float8e4m3fn";
    case XF_F8E4M3FNUZ: return "float8e4m3fnuz";
    case XF_F8E5M2: return "float8e5m2";
    case XF_F8E5M2FNUZ: return "float8e5m2fnuz";
    case XF_U4: return "uint4";
    case XF_I4: return "int4";
    case XF_F4E2M1: return "float4e2m1";
    case XF_F8E8M0: return "float8e8m0";
    default: return "unknown";
    }
}

const char *xf_dtype_ctype(int32_t t) {
    switch (t) {
    case XF_F32: return "float";
    case XF_F64: return "double";
    case XF_U8: case XF_BOOL: return "uint8_t";
    case XF_I8: return "int8_t";
    case XF_U16: case XF_F16: case XF_BF16: return "uint16_t"; /* half floats: their bit patterns */
    case XF_I16: return "int16_t";
    case XF_I32: return "int32_t";
    case XF_I64: return "int64_t";
    case XF_U32: return "uint32_t";
    case XF_U64: return "uint64_t";
    /* one code per byte, or two 4-bit codes per byte */
    case XF_F8E4M3FN: case XF_F8E4M3FNUZ: case XF_F8E5M2: case XF_F8E5M2FNUZ: case XF_F8E8M0: return "uint8_t";
    case XF_U4: case XF_I4: case XF_F4E2M1: return "uint8_t";
    default: return NULL;
    }
}

bool xf_dtype_is_float(int32_t t) {
    return t == XF_F32 || t == XF_F64 || t == XF_F16 || t == XF_BF16 || t == XF_F4E2M1 ||
           (t >= XF_F8E4M3FN && t <= XF_F8E5M2FNUZ) || t == XF_F8E8M0;
}

double xf_dtype_real(int32_t t, const void *data, int64_t i) {
    double f = 0;
    int64_t k = 0;
    if (xf_dtype_size(t) == 0) return NAN;
    return xf_lowp_get(data, t, i, &f, &k) ? f : (double)k;
}

/* ---- graph ---- */

xf_graph *xf_graph_new(const char *path) {
    xf_arena *a = xf_arena_new();
    xf_graph *g = xf_alloc(a, sizeof *g);
    g->arena = a;
    g->path = path ? xf_strdup(a, path) : NULL;
    return g;
}

void xf_graph_free(xf_graph *g) {
    if (g) xf_arena_free(g->arena);
}

/* Arrays grow inside the arena; the old copy is simply abandoned, which is cheap at IR sizes. */
static void *grow(xf_arena *a, void *old, size_t elem, int32_t used, int32_t *cap) {
    if (used < *cap) return old;
    int32_t ncap = *cap ? *cap * 2 : 64;
    void *p = xf_alloc(a, elem * (size_t)ncap);
    if (old) memcpy(p, old, elem * (size_t)used);
    *cap = ncap;
    return p;
}

int32_t xf_value_add(xf_graph *g, const char *name, int32_t dtype, int32_t rank, const int64_t *shape) {
    XF_ASSERT(rank <= XF_MAX_RANK);
    g->values = grow(g->arena, g->values, sizeof *g->values, g->nvalues, &g->cap_values);
    int32_t id = g->nvalues++;
    xf_value *v = &g->values[id];
    memset(v, 0, sizeof *v);
    v->name = xf_strdup(g->arena, name ? name : "");
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank && shape; i++) v->shape[i] = shape[i];
    v->producer = -1;
    v->transpose_of = -1;
    v->offset = -1;
    v->alias_of = -1;
    return id;
}

int32_t xf_value_find(const xf_graph *g, const char *name) {
    for (int32_t i = 0; i < g->nvalues; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

int32_t xf_const_add(xf_graph *g, const char *name, int32_t dtype, int32_t rank, const int64_t *shape,
                     const void *data) {
    int32_t id = xf_value_add(g, name, dtype, rank, shape);
    int64_t bytes = xf_value_bytes(&g->values[id]);
    XF_ASSERT(bytes >= 0);
    void *p = xf_alloc(g->arena, (size_t)bytes ? (size_t)bytes : 1);
    if (bytes) memcpy(p, data, (size_t)bytes);
    g->values[id].data = p;
    return id;
}

int32_t xf_node_add(xf_graph *g, int32_t op, const char *name, int32_t nin, const int32_t *in,
                    int32_t nout, const int32_t *out) {
    g->nodes = grow(g->arena, g->nodes, sizeof *g->nodes, g->nnodes, &g->cap_nodes);
    int32_t id = g->nnodes++;
    xf_node *n = &g->nodes[id];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = xf_strdup(g->arena, name ? name : "");
    n->nin = nin;
    n->nout = nout;
    n->in = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(nin + 1));
    n->out = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(nout + 1));
    if (nin) memcpy(n->in, in, sizeof(int32_t) * (size_t)nin);
    if (nout) memcpy(n->out, out, sizeof(int32_t) * (size_t)nout);
    for (int i = 0; i < nout; i++)
        if (out[i] >= 0) g->values[out[i]].producer = id;
    return id;
}

xf_attr *xf_node_add_attr(xf_graph *g, int32_t node, const char *name, int type) {
    xf_node *n = &g->nodes[node];
    /* Copies the array each time: passes add an attribute or two, and the frontend, which may
     * meet thousands, fills its arrays directly. */
    xf_attr *attrs = xf_alloc(g->arena, sizeof *attrs * (size_t)(n->nattr + 1));
    if (n->nattr) memcpy(attrs, n->attrs, sizeof *attrs * (size_t)n->nattr);
    n->attrs = attrs;
    xf_attr *a = &attrs[n->nattr++];
    a->name = xf_strdup(g->arena, name);
    a->type = type;
    a->tensor = -1;
    return a;
}

int64_t xf_value_numel(const xf_value *v) {
    if (v->rank < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++) {
        if (v->shape[i] < 0) return -1;
        if (__builtin_mul_overflow(n, v->shape[i], &n)) return -1;
    }
    return n;
}

int64_t xf_value_bytes(const xf_value *v) {
    int64_t n = xf_value_numel(v), b;
    if (n < 0 || __builtin_mul_overflow(n, (int64_t)xf_dtype_size(v->dtype), &b)) return -1;
    return xf_dtype_bytes(v->dtype, n);
}

bool xf_value_is_const(const xf_graph *g, int32_t v) {
    return v >= 0 && g->values[v].data != NULL;
}

int32_t xf_value_uses(const xf_graph *g, int32_t v) {
    int32_t uses = g->values[v].is_output;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->nin; j++) uses += n->in[j] == v;
    }
    return uses;
}

xf_value *xf_in(xf_graph *g, const xf_node *n, int k) {
    return k < n->nin && n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
}

xf_value *xf_out(xf_graph *g, const xf_node *n, int k) {
    return k < n->nout && n->out[k] >= 0 ? &g->values[n->out[k]] : NULL;
}

/* ---- attributes ---- */

const xf_attr *xf_attr_get(const xf_node *n, const char *name) {
    for (int i = 0; i < n->nattr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t xf_attr_int(const xf_node *n, const char *name, int64_t dflt) {
    const xf_attr *a = xf_attr_get(n, name);
    return a && a->type == XF_ATTR_INT ? a->i : dflt;
}

float xf_attr_float(const xf_node *n, const char *name, float dflt) {
    const xf_attr *a = xf_attr_get(n, name);
    if (a && a->type == XF_ATTR_FLOAT) return a->f;
    if (a && a->type == XF_ATTR_INT) return (float)a->i;
    return dflt;
}

const char *xf_attr_str(const xf_node *n, const char *name, const char *dflt) {
    const xf_attr *a = xf_attr_get(n, name);
    return a && a->type == XF_ATTR_STRING ? a->s : dflt;
}

int64_t xf_const_i64(const xf_value *v, int64_t i) {
    const void *p = v->data;
    switch (v->dtype) {
    case XF_I64: return ((const int64_t *)p)[i];
    case XF_I32: return ((const int32_t *)p)[i];
    case XF_I16: return ((const int16_t *)p)[i];
    case XF_I8: return ((const int8_t *)p)[i];
    case XF_U8: case XF_BOOL: return ((const uint8_t *)p)[i];
    case XF_U16: return ((const uint16_t *)p)[i];
    case XF_U32: return ((const uint32_t *)p)[i];
    case XF_U64: return (int64_t)((const uint64_t *)p)[i];
    case XF_F32: return (int64_t)((const float *)p)[i];
    case XF_F64: return (int64_t)((const double *)p)[i];
    case XF_U4: case XF_I4: return (int64_t)xf_dtype_real(v->dtype, p, i);
    default:
        XF_ASSERT(xf_dtype_is_narrow(v->dtype));
        return xf_lowp_to_int(xf_dtype_real(v->dtype, p, i)); /* NaN and huge values: INT64_MIN */
    }
    return 0;
}

double xf_const_f64(const xf_value *v, int64_t i) {
    if (v->dtype == XF_F32) return ((const float *)v->data)[i];
    if (v->dtype == XF_F64) return ((const double *)v->data)[i];
    if (xf_dtype_is_float(v->dtype)) return xf_dtype_real(v->dtype, v->data, i);
    return (double)xf_const_i64(v, i);
}

/* The graph inputs v depends on, as "a, b" (empty when none), for --bind hints. */
static void inputs_behind(const xf_graph *g, int32_t v, char *buf, size_t size, int depth) {
    if (v < 0 || depth > 64) return;
    const xf_value *x = &g->values[v];
    if (x->is_input) {
        if (strstr(buf, x->name)) return;
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", len ? ", " : "", x->name);
        return;
    }
    if (x->producer < 0) return;
    const xf_node *p = &g->nodes[x->producer];
    for (int k = 0; k < p->nin; k++) inputs_behind(g, p->in[k], buf, size, depth + 1);
}

bool xf_require_const(xf_graph *g, const xf_node *n, int input, xf_diag *d) {
    xf_value *v = xf_in(g, n, input);
    if (!v || v->data) return true;
    char deps[256] = "";
    inputs_behind(g, n->in[input], deps, sizeof deps, 0);
    if (v->is_input)
        return xf_fail(d, g, n, "input %d ('%s') must be known at compile time: bind it with --bind %s=FILE.pb", input,
                       v->name, v->name);
    if (deps[0])
        return xf_fail(d, g, n, "input %d ('%s') must be known at compile time; it depends on the graph input(s) %s: "
                       "bind them with --bind NAME=FILE.pb", input, v->name, deps);
    return xf_fail(d, g, n, "input %d ('%s') must be known at compile time", input, v->name);
}

int xf_node_ints(xf_graph *g, const xf_node *n, const char *attr, int input, int64_t *out, int max,
                 xf_diag *d) {
    const xf_attr *a = attr ? xf_attr_get(n, attr) : NULL;
    if (a && a->type == XF_ATTR_INTS) {
        if (a->n > max) return xf_fail(d, g, n, "attribute '%s' has %d values, at most %d supported", attr, a->n, max), -1;
        for (int i = 0; i < a->n; i++) out[i] = a->ints[i];
        return a->n;
    }
    if (a && a->type == XF_ATTR_INT) {
        out[0] = a->i;
        return 1;
    }
    xf_value *v = input >= 0 ? xf_in(g, n, input) : NULL;
    if (!v) return 0;
    if (!xf_require_const(g, n, input, d)) return -1;
    int64_t count = xf_value_numel(v);
    if (count > max) return xf_fail(d, g, n, "input '%s' has %lld values, at most %d supported", v->name, (long long)count, max), -1;
    if (xf_dtype_is_float(v->dtype) || xf_dtype_size(v->dtype) == 0)
        return xf_fail(d, g, n, "input '%s' must hold integers, not %s", v->name, xf_dtype_name(v->dtype)), -1;
    for (int64_t i = 0; i < count; i++) out[i] = xf_const_i64(v, i);
    return (int)count;
}

/* ---- order and invariants ---- */

void xf_graph_compact(xf_graph *g) {
    int32_t k = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) { /* what it computed, if anything, is now a constant or unused */
            for (int j = 0; j < g->nodes[i].nout; j++)
                if (g->nodes[i].out[j] >= 0) g->values[g->nodes[i].out[j]].producer = -1;
            continue;
        }
        g->nodes[k] = g->nodes[i];
        for (int j = 0; j < g->nodes[k].nout; j++)
            if (g->nodes[k].out[j] >= 0) g->values[g->nodes[k].out[j]].producer = k;
        k++;
    }
    g->nnodes = k;
}

/* Kahn's algorithm, stable: among ready nodes the earliest in file order goes first, so the
 * generated code follows the exporter's order where it can. */
bool xf_graph_toposort(xf_graph *g, xf_diag *d) {
    int32_t nn = g->nnodes;
    int32_t *pending = calloc((size_t)nn + 1, sizeof *pending);
    int32_t *order = calloc((size_t)nn + 1, sizeof *order);
    int32_t *first_use = calloc((size_t)g->nvalues + 1, sizeof *first_use); /* CSR of consumers */
    int32_t *users = NULL;
    bool ok = false;
    if (!pending || !order || !first_use) xf_abort(__FILE__, __LINE__, "out of memory");
    int64_t nedges = 0;
    for (int32_t i = 0; i < nn; i++)
        for (int j = 0; j < g->nodes[i].nin; j++) {
            int32_t v = g->nodes[i].in[j];
            if (v >= 0 && g->values[v].producer >= 0) {
                pending[i]++;
                first_use[v]++;
                nedges++;
            }
        }
    users = calloc((size_t)nedges + 1, sizeof *users);
    if (!users) xf_abort(__FILE__, __LINE__, "out of memory");
    int32_t sum = 0;
    for (int32_t v = 0; v < g->nvalues; v++) {
        int32_t c = first_use[v];
        first_use[v] = sum;
        sum += c;
    }
    int32_t *fill = calloc((size_t)g->nvalues + 1, sizeof *fill);
    if (!fill) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int32_t i = 0; i < nn; i++)
        for (int j = 0; j < g->nodes[i].nin; j++) {
            int32_t v = g->nodes[i].in[j];
            if (v >= 0 && g->values[v].producer >= 0) users[first_use[v] + fill[v]++] = i;
        }
    /* A min-heap would give strict file order; a simple scan pointer is enough because nodes
     * become ready mostly in order. */
    bool *done = calloc((size_t)nn + 1, sizeof *done);
    if (!done) xf_abort(__FILE__, __LINE__, "out of memory");
    int32_t count = 0, scan = 0;
    while (count < nn) {
        while (scan < nn && (done[scan] || pending[scan])) scan++;
        if (scan == nn) {
            int32_t bad = 0;
            while (bad < nn && done[bad]) bad++;
            xf_fail(d, g, &g->nodes[bad], "the graph has a cycle through this node");
            goto out;
        }
        int32_t i = scan;
        done[i] = true;
        order[count++] = i;
        for (int j = 0; j < g->nodes[i].nout; j++) {
            int32_t v = g->nodes[i].out[j];
            if (v < 0) continue;
            for (int32_t u = 0; u < fill[v]; u++) {
                int32_t c = users[first_use[v] + u]; /* once per input slot reading v */
                if (--pending[c] == 0 && c < scan) scan = c;
            }
        }
    }
    xf_node *sorted = xf_alloc(g->arena, sizeof *sorted * (size_t)(nn + 1));
    for (int32_t i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
    g->nodes = sorted;
    g->cap_nodes = nn + 1;
    for (int32_t i = 0; i < nn; i++)
        for (int j = 0; j < g->nodes[i].nout; j++)
            if (g->nodes[i].out[j] >= 0) g->values[g->nodes[i].out[j]].producer = i;
    ok = true;
out:
    free(pending);
    free(order);
    free(first_use);
    free(users);
    free(fill);
    free(done);
    return ok;
}

void xf_graph_verify(const xf_graph *g) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        XF_ASSERT(n->op >= 0 && n->op < XF_OP_COUNT);
        if (n->dead) continue;
        for (int j = 0; j < n->nin; j++) {
            int32_t v = n->in[j];
            if (v < 0) continue;
            XF_ASSERT(v < g->nvalues);
            int32_t p = g->values[v].producer;
            /* inputs come from earlier nodes: the topological invariant every pass keeps */
            XF_ASSERT(p < i);
            XF_ASSERT(p < 0 || !g->nodes[p].dead || g->values[v].data);
        }
        for (int j = 0; j < n->nout; j++)
            XF_ASSERT(n->out[j] < 0 || g->values[n->out[j]].producer == i);
    }
}

const char *xf_shape_str(const xf_value *v, char *buf, size_t size) {
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < v->rank && len < size; i++) {
        if (v->shape[i] >= 0)
            len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)v->shape[i]);
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                                    v->dim_param[i] ? v->dim_param[i] : "?");
    }
    if (len < size) snprintf(buf + len, size - len, "]");
    return buf;
}

bool xf_attr_list(xf_graph *g, const xf_node *n, const char *name, int want, int64_t lo, int64_t dflt, int64_t *out,
                  xf_diag *d) {
    int count = xf_node_ints(g, n, name, -1, out, 2 * XF_MAX_RANK, d);
    if (count < 0) return false;
    if (count == 0)
        for (int i = 0; i < want; i++) out[i] = dflt;
    else if (count != want)
        return xf_fail(d, g, n, "attribute '%s' has %d values, expected %d", name, count, want);
    for (int i = 0; i < want; i++)
        if (out[i] < lo || out[i] >= XF_DIM_MAX)
            return xf_fail(d, g, n, "attribute '%s' holds %lld, out of range", name, (long long)out[i]);
    return true;
}
