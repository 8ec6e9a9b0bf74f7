/* emit_c.c — the portable C backend: prints the planned IR as model.c and model.h.
 *
 * The output reads like llama2.c: the runtime kernels the model needs (copied from runtime/data.c and math.c),
 * the weights as named `static const` data, tensor-info tables, and one function <prefix>_run_ex in
 * which each node is one commented kernel call or one plain loop nest with constant bounds
 * (<prefix>_run calls it without an executor). Calls that the kernel table says can be split, and
 * large loops, also get a small static "part" function that runs a range of them, which _run_ex
 * hands to the caller's executor when it has more than one thread.
 * model.c carries its own copy of the declarations of model.h, so it compiles alone.
 *
 * Weights of a few elements are printed as numbers. Larger ones are bytes, in one of three forms
 * (--weights): string literals in model.c (the default: compilers read a string far faster than
 * an initializer list of numbers), or model.bin beside it, pulled in by the assembler (.incbin) or
 * provided by the program at run time. The bytes are the host's, so the generated code refuses to
 * compile for a target of the other byte order.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../ir/ops.h"
#include "../../lower/lower.h"
#include "../backend.h"

extern const char xf_kernel_text[];
/* codegen/c/freestanding.c: replaces <math.h> and <string.h> for freestanding targets; may mark
 * more kernels used (the math functions the code calls). */
void xf_emit_freestanding_prelude(FILE *out, bool *kernel_used); /* runtime/data.c and runtime/math.c, embedded at build time */

typedef struct emitter {
    const xf_graph *g;
    const xf_emit_options *o;
    xf_arena *a; /* scratch for this emission */
    FILE *f;
    char **name; /* C name of each value */
    int32_t *output_index; /* for graph outputs: the outputs[] slot that holds the value */
    bool *kernel_used;
    bool *referenced; /* values the body names: the weights to print */
    bool uses_status;
    FILE *parts;    /* the part functions of split calls and loops (printed before _run_ex) */
    int nparts;
    int64_t *file_offset; /* per value: its offset in model.bin, or -1 when it is in model.c */
    int64_t file_bytes;   /* the size of model.bin */
    unsigned char file_header[64];
    const char *bin_path, *bin_name; /* model.bin: as given (for .incbin), without its directory */
} emitter;

/* ---- literals ---- */

/* A float literal that reads back exactly: 9 significant digits for float, 17 for double. */
static void print_real(FILE *f, double x, bool dbl) {
    if (isnan(x)) fputs("NAN", f);
    else if (isinf(x)) fputs(x < 0 ? "-INFINITY" : "INFINITY", f);
    else {
        char buf[40];
        snprintf(buf, sizeof buf, dbl ? "%.17g" : "%.9g", x);
        fputs(buf, f);
        if (!strpbrk(buf, ".e")) fputs(".0", f);
        if (!dbl) fputc('f', f);
    }
}

static void print_float(FILE *f, double x) { print_real(f, x, false); }

static void print_int(FILE *f, int64_t x) {
    if (x == INT64_MIN) fputs("(-INT64_MAX - 1)", f);
    else if (x > INT32_MAX || x < -INT32_MAX) fprintf(f, "INT64_C(%" PRId64 ")", x);
    else fprintf(f, "%" PRId64, x);
}

/* Element i of a constant; for the narrow types (stored as their codes) the i-th stored unit: a
 * uint16_t bit pattern, or a byte (for the 4-bit types, a byte of two packed codes). */
static void print_element(FILE *f, const xf_value *v, int64_t i) {
    if (xf_dtype_is_narrow(v->dtype) || xf_dtype_is_packed(v->dtype)) {
        if (xf_dtype_size(v->dtype) == 2) fprintf(f, "0x%04x", ((const uint16_t *)v->data)[i]);
        else fprintf(f, "0x%02x", ((const uint8_t *)v->data)[i]);
        return;
    }
    switch (v->dtype) {
    case XF_F32: case XF_F64: print_real(f, xf_const_f64(v, i), v->dtype == XF_F64); break;
    case XF_U64: fprintf(f, "UINT64_C(%" PRIu64 ")", ((const uint64_t *)v->data)[i]); break;
    case XF_U32: fprintf(f, "%" PRIu32 "u", ((const uint32_t *)v->data)[i]); break;
    default: print_int(f, xf_const_i64(v, i));
    }
}

/* ---- names ---- */

static void assign_names(emitter *e) {
    const xf_graph *g = e->g;
    e->name = xf_alloc(e->a, sizeof(char *) * (size_t)(g->nvalues + 1));
    e->output_index = xf_alloc(e->a, sizeof(int32_t) * (size_t)(g->nvalues + 1));
    for (int32_t v = 0; v < g->nvalues; v++) e->output_index[v] = -1;
    for (int32_t i = g->noutputs - 1; i >= 0; i--) e->output_index[g->outputs[i]] = i;
    /* Names must be unique; suffixes keep them so without a hash table (n is small: a few thousand). */
    for (int32_t v = 0; v < g->nvalues; v++) {
        const xf_value *x = &g->values[v];
        const char *kind = x->is_input ? "in_" : e->output_index[v] >= 0 && !x->data ? "out_"
                         : x->data ? "w_" : "t_";
        e->name[v] = xf_c_ident(e->a, kind, x->name);
    }
    for (int32_t v = 0; v < g->nvalues; v++)
        for (int32_t u = 0, k = 2; u < v; u++)
            if (strcmp(e->name[u], e->name[v]) == 0) {
                e->name[v] = xf_sprintf(e->a, "%s_%d", e->name[v], k++);
                u = -1; /* rescan with the new name */
            }
}

/* ---- elementwise loops ---- */

/* The operand access for a loop position: a literal for scalar constants, else name[index]. */
static char *operand(emitter *e, int32_t v, const int64_t *strides, int rank) {
    const xf_value *x = &e->g->values[v];
    if (x->data && xf_value_numel(x) == 1) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        print_element(m, x, 0);
        fclose(m);
        char *s = (buf[0] == '-' || buf[0] == '(') ? xf_sprintf(e->a, "(%s)", buf) : xf_strdup(e->a, buf);
        free(buf);
        return s;
    }
    e->referenced[v] = true;
    char idx[256] = "";
    size_t len = 0;
    for (int i = 0; i < rank; i++) {
        if (!strides[i]) continue;
        if (strides[i] == 1) len += (size_t)snprintf(idx + len, sizeof idx - len, "%si%d", len ? " + " : "", i);
        else len += (size_t)snprintf(idx + len, sizeof idx - len, "%si%d * %" PRId64, len ? " + " : "", i, strides[i]);
    }
    return xf_sprintf(e->a, "%s[%s]", e->name[v], len ? idx : "0");
}

/* Replaces the identifiers a, b, c of an ops.def expression by operand accesses. The expressions
 * are written for float; for double (dbl) the float suffixes go: expf -> exp, 1.0f -> 1.0. */
static char *substitute(emitter *e, const char *expr, char *const ops[3], bool dbl) {
    size_t longest = 0;
    for (int k = 0; k < 3; k++)
        if (ops[k] && strlen(ops[k]) > longest) longest = strlen(ops[k]);
    char *s = xf_alloc(e->a, strlen(expr) * (longest + 1) + 1), *p = s; /* each char at most one operand */
    for (const char *q = expr; *q;) {
        if (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')) {
            const char *start = q;
            while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')) q++;
            size_t n = (size_t)(q - start);
            if (n == 1 && *start >= 'a' && *start <= 'c' && ops[*start - 'a']) {
                size_t m = strlen(ops[*start - 'a']);
                memcpy(p, ops[*start - 'a'], m);
                p += m;
                continue;
            }
            /* libm's float functions (expf, log1pf, fmaxf...) end in f: every other name here does not */
            if (dbl && n > 2 && start[n - 1] == 'f' && start[0] >= 'a' && start[0] <= 'z') n--;
            memcpy(p, start, n);
            p += n;
        } else if (*q >= '0' && *q <= '9') { /* numbers like 1.0f stay whole */
            while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e') *p++ = *q++;
            if (*q == 'f' && q++ && !dbl) *p++ = 'f';
        } else {
            *p++ = *q++;
        }
    }
    *p = 0;
    return s;
}

/* One step of an elementwise computation as C, its operands already printed. */
static char *step_expr(emitter *e, int64_t op, int32_t compute_type, int32_t out_type, char *const args[3]) {
    if (op == XF_OP_CAST)
        return out_type == XF_BOOL ? xf_sprintf(e->a, "(%s != 0)", args[0])
                                   : xf_sprintf(e->a, "(%s)%s", xf_dtype_ctype(out_type), args[0]);
    return substitute(e, xf_dtype_is_float(compute_type) ? xf_ops[op].fexpr : xf_ops[op].iexpr, args,
                      compute_type == XF_F64);
}

#define MAX_OPERANDS 8 /* passes/fuse_elementwise.c keeps fused groups within this */

/* Elementwise loops of at least this many element steps are split over threads (cf. the kernels'
 * XF_SPLIT_MIN_FLOPS in lower/kernels.c). */
#define ELEMENTWISE_SPLIT_MIN (1 << 15)

static bool as_bytes(const emitter *e, int32_t v);

/* The loop nest of an elementwise node at indent `pad`: the outer loop over [0, dims[0]), or over
 * [lo, hi) inside a thunk (range set). */
static void print_loop_nest(emitter *e, FILE *f, int pad, const xf_node *n, int rank, const int64_t *dims,
                            char *const *leaves, const char *target, const int64_t *steps, int nsteps,
                            const char *range) {
    for (int i = 0; i < rank; i++) {
        if (i == 0 && range)
            fprintf(f, "%*sfor (int64_t i0 = lo; i0 < hi; i0++)%s\n", pad, "", rank == 1 && nsteps > 1 ? " {" : "");
        else
            fprintf(f, "%*s%*sfor (int64_t i%d = 0; i%d < %" PRId64 "; i%d++)%s\n", pad, "", 4 * i, "", i, i, dims[i],
                    i, i == rank - 1 && nsteps > 1 ? " {" : "");
    }
    /* A fused chain computes each step into a local (s0, s1, ...) in the loop body: readable, and
     * a value used twice is computed once. */
    int indent = 4 * rank + 4 * (nsteps > 1 && rank == 0);
    if (nsteps > 1 && rank == 0) fprintf(f, "%*s{\n", pad, "");
    for (int s = 0; s < nsteps; s++) {
        const int64_t *t = &steps[6 * s];
        char *args[3] = {NULL, NULL, NULL};
        for (int k = 0; k < 3; k++)
            if (t[1 + k] >= 0)
                args[k] = t[1 + k] < n->nin ? leaves[t[1 + k]] : xf_sprintf(e->a, "s%d", (int)(t[1 + k] - n->nin));
        char *expr = step_expr(e, t[0], (int32_t)t[4], (int32_t)t[5], args);
        if (s < nsteps - 1)
            fprintf(f, "%*s%*sconst %s s%d = %s;\n", pad, "", indent, "", xf_dtype_ctype((int32_t)t[5]), s, expr);
        else
            fprintf(f, "%*s%*s%s = %s;\n", pad, "", indent, "", target, expr);
    }
    if (nsteps > 1) fprintf(f, "%*s%*s}\n", pad, "", rank ? 4 * (rank - 1) : 0, "");
}

/* An elementwise node, or a fused chain of them (xfc.Elementwise, whose "program" attribute lists
 * the steps), printed as one loop nest over the output. */
static void emit_elementwise(emitter *e, const xf_node *n) {
    const xf_graph *g = e->g;
    const xf_value *y = &g->values[n->out[0]];
    XF_ASSERT(n->nin <= MAX_OPERANDS);
    /* Broadcast strides per operand, then merge dims that every operand walks contiguously (or
     * not at all), so a same-shape op becomes one flat loop. Row MAX_OPERANDS is the output. */
    int rank = 0;
    int64_t dims[XF_MAX_RANK], st[MAX_OPERANDS + 1][XF_MAX_RANK], full[MAX_OPERANDS][XF_MAX_RANK];
    for (int k = 0; k < n->nin; k++) xf_broadcast_strides(y, &g->values[n->in[k]], full[k]);
    for (int i = 0; i < y->rank; i++) {
        if (y->shape[i] == 1) continue;
        bool merge = rank > 0;
        for (int k = 0; k < n->nin && merge; k++) {
            int64_t outer = st[k][rank - 1], inner = full[k][i];
            merge = (outer == 0 && inner == 0) || (inner != 0 && outer == inner * y->shape[i]);
        }
        if (merge) {
            dims[rank - 1] *= y->shape[i];
            for (int k = 0; k < n->nin; k++) st[k][rank - 1] = full[k][i];
        } else {
            dims[rank] = y->shape[i];
            for (int k = 0; k < n->nin; k++) st[k][rank] = full[k][i];
            rank++;
        }
    }
    int64_t ys = 1; /* the output is contiguous */
    for (int i = rank - 1; i >= 0; i--) {
        st[MAX_OPERANDS][i] = ys;
        ys *= dims[i];
    }
    char *leaves[MAX_OPERANDS];
    for (int k = 0; k < n->nin; k++) leaves[k] = operand(e, n->in[k], st[k], rank);

    const xf_attr *prog = xf_attr_get(n, "program");
    int64_t single[6] = {n->op, 0, n->nin > 1 ? 1 : -1, n->nin > 2 ? 2 : -1, 0, y->dtype};
    if (!prog) single[4] = g->values[n->in[n->op == XF_OP_WHERE ? 1 : 0]].dtype;
    const int64_t *steps = prog ? prog->ints : single;
    int nsteps = prog ? prog->n / 6 : 1;
    char *target = operand(e, n->out[0], st[MAX_OPERANDS], rank);
    /* Loops big enough to pay for waking threads are split over the executor along their outer
     * dimension, as kernel calls are: in grains of 64 elements when that is the only loop, so each
     * range starts at the same alignment and vectorises the same way, else of whole rows. */
    int64_t work = xf_value_numel(y) * nsteps, grain = rank == 1 ? 64 : 1;
    if (rank == 0 || (dims[0] + grain - 1) / grain < 2 || work < ELEMENTWISE_SPLIT_MIN) {
        print_loop_nest(e, e->f, 4, n, rank, dims, leaves, target, steps, nsteps, NULL);
        return;
    }
    /* the thunk gets the tensors the loop names that are locals of _run_ex, under the same names */
    const char *p = e->o->prefix;
    int part = e->nparts++;
    int32_t local[MAX_OPERANDS + 1];
    int nlocal = 0;
    for (int k = 0; k <= n->nin; k++) {
        int32_t v = k < n->nin ? n->in[k] : n->out[0];
        const xf_value *x = &g->values[v];
        bool is_local = !x->data || x->is_input || (e->o->weights != XF_WEIGHTS_INLINE && as_bytes(e, v));
        bool seen = false;
        for (int j = 0; j < nlocal; j++) seen |= local[j] == v;
        if (is_local && !seen && e->referenced[v]) local[nlocal++] = v;
    }
    fprintf(e->parts, "struct %s_part%d_args {", p, part);
    for (int j = 0; j < nlocal; j++)
        fprintf(e->parts, " %s%s *%s;", local[j] == n->out[0] ? "" : "const ",
                xf_dtype_ctype(g->values[local[j]].dtype), e->name[local[j]]);
    fprintf(e->parts, " };\nstatic void %s_part%d(void *arg, int64_t begin, int64_t end) {\n"
                      "    const struct %s_part%d_args *p = arg;\n", p, part, p, part);
    for (int j = 0; j < nlocal; j++)
        fprintf(e->parts, "    %s%s *%s = p->%s;\n", local[j] == n->out[0] ? "" : "const ",
                xf_dtype_ctype(g->values[local[j]].dtype), e->name[local[j]], e->name[local[j]]);
    fprintf(e->parts, "    const int64_t lo = begin * %" PRId64 ", hi = end * %" PRId64 " < %" PRId64 " ? end * %" PRId64
                      " : %" PRId64 ";\n", grain, grain, dims[0], grain, dims[0]);
    print_loop_nest(e, e->parts, 4, n, rank, dims, leaves, target, steps, nsteps, "lo");
    fputs("}\n\n", e->parts);
    fprintf(e->f, "    if (parallel) {\n        struct %s_part%d_args part = {", p, part);
    for (int j = 0; j < nlocal; j++) fprintf(e->f, "%s%s", j ? ", " : "", e->name[local[j]]);
    fprintf(e->f, "};\n        ex->parallel_for(ex->ctx, %" PRId64 ", %s_part%d, &part);\n    } else {\n",
            (dims[0] + grain - 1) / grain, p, part);
    print_loop_nest(e, e->f, 8, n, rank, dims, leaves, target, steps, nsteps, NULL);
    fputs("    }\n", e->f);
}

/* ---- kernel calls ---- */

/* A tensor argument as the body names it: NULL, a value, or a value at an offset. */
static void print_tensor(emitter *e, FILE *f, const xf_arg *a) {
    if (a->value >= 0) e->referenced[a->value] = true;
    if (a->value < 0) fputs("NULL", f);
    else if (a->offset) fprintf(f, "%s + %" PRId64, e->name[a->value], a->offset);
    else fputs(e->name[a->value], f);
}

/* One kernel call, its scalars and arrays labelled with the parameter names from the kernel
 * table, so the line reads like a call with named arguments:
 *     xf_matmul(t_y, in_x, w_w, (batch) 1, (m) 16, ...), each label in a comment.
 * With a split s, the call as a thunk prints it for the range [lo, hi) of the split parameter:
 * tensors come from the thunk's struct p, advanced by their steps. */
static void print_call(emitter *e, FILE *f, const xf_call *c, const xf_split *s) {
    const xf_kernel_info *k = &xf_kernels[c->kernel];
    fprintf(f, "    %s%s(", k->status ? "if ((rc = " : "", k->name);
    for (int i = 0; i < c->nargs; i++) {
        const xf_arg *a = &c->args[i];
        if (i) fputs(", ", f);
        if (a->kind != XF_PARAM_OUT && a->kind != XF_PARAM_IN) fprintf(f, "/* %s */ ", k->params[i].name);
        if (s && i == s->param) {
            fputs("hi - lo", f);
            continue;
        }
        switch (a->kind) {
        case XF_PARAM_OUT: case XF_PARAM_IN:
            if (!s) print_tensor(e, f, a);
            else if (a->value < 0) fputs("NULL", f);
            else if (s->step[i]) fprintf(f, "p->%s + lo * %" PRId64, k->params[i].name, s->step[i]);
            else fprintf(f, "p->%s", k->params[i].name);
            break;
        case XF_PARAM_INT: print_int(f, a->i); break;
        case XF_PARAM_REAL: print_float(f, a->f); break;
        case XF_PARAM_INTS:
            fputs("(const int64_t[]){", f);
            for (int j = 0; j < a->n; j++) {
                if (j) fputs(", ", f);
                print_int(f, a->ints[j]);
            }
            if (!a->n) fputs("0", f);
            fputs("}", f);
            break;
        }
    }
    fputs(k->status ? ")) != 0) return rc;\n" : ");\n", f);
}

/* A call the kernel table says can be split (xf_call_split): when _run_ex was given an executor of
 * more than one thread, the executor runs a thunk over ranges of units (grains of the split
 * parameter); the thunk gets the call's tensors through a struct on the stack. Otherwise, and for
 * every other call, the call runs whole. */
static void emit_call(emitter *e, const xf_call *c) {
    const xf_kernel_info *k = &xf_kernels[c->kernel];
    XF_ASSERT(k->backends & XF_C && c->nargs == k->nparams);
    e->kernel_used[c->kernel] = true;
    xf_split s;
    if (!xf_call_split(e->g, c, &s)) {
        print_call(e, e->f, c, NULL);
        return;
    }
    const char *p = e->o->prefix;
    int part = e->nparts++;
    fprintf(e->parts, "struct %s_part%d_args {", p, part);
    for (int i = 0; i < c->nargs; i++)
        if (c->args[i].kind <= XF_PARAM_IN && c->args[i].value >= 0)
            fprintf(e->parts, " %s%s *%s;", c->args[i].kind == XF_PARAM_IN ? "const " : "", k->params[i].ctype,
                    k->params[i].name);
    fprintf(e->parts, " };\nstatic void %s_part%d(void *arg, int64_t begin, int64_t end) {\n"
                      "    const struct %s_part%d_args *p = arg;\n", p, part, p, part);
    fprintf(e->parts, "    const int64_t lo = begin * %" PRId64 ", hi = end * %" PRId64 " < %" PRId64 " ? end * %" PRId64
                      " : %" PRId64 ";\n", s.grain, s.grain, s.count, s.grain, s.count);
    print_call(e, e->parts, c, &s);
    fputs("}\n\n", e->parts);

    fprintf(e->f, "    if (parallel) {\n        struct %s_part%d_args part = {", p, part);
    bool first = true;
    for (int i = 0; i < c->nargs; i++)
        if (c->args[i].kind <= XF_PARAM_IN && c->args[i].value >= 0) {
            fputs(first ? "" : ", ", e->f);
            print_tensor(e, e->f, &c->args[i]);
            first = false;
        }
    fprintf(e->f, "};\n        ex->parallel_for(ex->ctx, %" PRId64 ", %s_part%d, &part);\n    } else {\n    ",
            (s.count + s.grain - 1) / s.grain, p, part);
    print_call(e, e->f, c, NULL);
    fputs("    }\n", e->f);
}

static void node_comment(emitter *e, const xf_node *n) {
    char buf[128];
    fprintf(e->f, "    /* node '%s' (%s):", n->name, xf_ops[n->op].name);
    for (int k = 0; k < n->nin; k++) {
        if (n->in[k] < 0) continue;
        const xf_value *x = &e->g->values[n->in[k]];
        fprintf(e->f, "%s %s%s", k ? "," : "", xf_dtype_name(x->dtype), xf_shape_str(x, buf, sizeof buf));
    }
    fputs(" ->", e->f);
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k] < 0) continue;
        const xf_value *x = &e->g->values[n->out[k]];
        fprintf(e->f, "%s %s%s", k ? "," : "", xf_dtype_name(x->dtype), xf_shape_str(x, buf, sizeof buf));
    }
    fputs(" */\n", e->f);
}

/* Prints the body of <prefix>_run into a memory buffer first: which kernels are needed is known
 * only after every call was printed, and the kernels must come before the function. */
static void emit_body(emitter *e) {
    const xf_graph *g = e->g;
    const xf_lowering *l = xf_lowered(g);
    XF_ASSERT(l); /* the pipeline's last step lowers the graph */
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        if (n->dead) continue;
        node_comment(e, n);
        if (xf_ops[n->op].arity || n->op == XF_OP_FUSED_ELEMENTWISE) {
            emit_elementwise(e, n);
            continue;
        }
        if (n->nout == 1 && n->out[0] >= 0 && g->values[n->out[0]].alias_of >= 0) {
            fprintf(e->f, "    /* %s shares the storage of %s */\n", e->name[n->out[0]],
                    e->name[g->values[n->out[0]].alias_of]);
            continue;
        }
        for (int32_t c = l->first[i]; c < l->first[i] + l->count[i]; c++) {
            emit_call(e, &l->calls[c]);
            e->uses_status |= xf_kernels[l->calls[c].kernel].status;
        }
    }
    /* Outputs not written by a node: constants, graph inputs, or a value listed twice. */
    for (int32_t i = 0; i < g->noutputs; i++) {
        int32_t v = g->outputs[i];
        const xf_value *x = &g->values[v];
        if (e->output_index[v] == i && !x->data && !x->is_input) continue;
        e->referenced[v] = true;
        fprintf(e->f, "    memcpy(outputs[%d], %s, %" PRId64 ");\n", i, e->name[v], xf_value_bytes(x));
    }
}

/* ---- the runtime kernels used, dependencies first ---- */

static void emit_kernel(emitter *e, int k, bool *done) {
    if (done[k]) return;
    done[k] = true;
    const char *deps = xf_kernels[k].deps;
    while (*deps) { /* space-separated kernel names */
        while (*deps == ' ') deps++;
        size_t n = strcspn(deps, " ");
        for (int j = 0; j < XF_K_COUNT && n; j++)
            if (strlen(xf_kernels[j].name) == n && strncmp(xf_kernels[j].name, deps, n) == 0) emit_kernel(e, j, done);
        deps += n;
    }
    char marker[128];
    snprintf(marker, sizeof marker, "/* @kernel %s */", xf_kernels[k].name);
    const char *start = strstr(xf_kernel_text, marker);
    XF_ASSERT(start);
    start += strlen(marker);
    while (*start == '\n') start++;
    const char *end = strstr(start, "/* @kernel "), *file_end = strstr(start, "/* @file ");
    if (!end || (file_end && file_end < end)) end = file_end;
    if (!end) end = start + strlen(start);
    while (end > start && (end[-1] == '\n' || end[-1] == ' ')) end--;
    /* the definition's XF_API (empty in the runtime library) becomes static: each model keeps
     * private copies, so two models link into one program */
    for (const char *api; (api = strstr(start, "XF_API ")) && api < end; start = api + strlen("XF_API ")) {
        fprintf(e->f, "%.*sstatic ", (int)(api - start), start);
    }
    fprintf(e->f, "%.*s\n\n", (int)(end - start), start);
}

/* ---- the header, printed into both files ---- */

/* With --weights external the weights come first: the model, then scratch memory, then the data. */
static const char *run_params(const emitter *e) {
    return e->o->weights == XF_WEIGHTS_EXTERNAL
               ? "const void *weights, size_t weights_bytes, void *arena, const void *const inputs[], void *const outputs[]"
               : "void *arena, const void *const inputs[], void *const outputs[]";
}

static void emit_declarations(emitter *e) {
    const xf_graph *g = e->g;
    const char *p = e->o->prefix;
    char *up = xf_strdup(e->a, p);
    for (char *q = up; *q; q++)
        if (*q >= 'a' && *q <= 'z') *q = (char)(*q - 'a' + 'A');
    FILE *f = e->f;
    fprintf(f, "#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n", up, up);
    fputs("#include <stddef.h>\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", f);
    fputs("#ifndef XFC_TENSOR_INFO_DEFINED\n#define XFC_TENSOR_INFO_DEFINED\n"
          "/* dtype is the ONNX TensorProto.DataType number (1 float, 7 int64, 9 bool...). Narrow types hold\n"
          " * ONNX's bytes: float16 (10) and bfloat16 (16) as uint16_t bit patterns, the float8 types (17-20,\n"
          " * 24) as one uint8_t code each, uint4/int4/float4e2m1 (21-23) packed two per byte, low nibble\n"
          " * first, (n + 1) / 2 bytes. */\n"
          "typedef struct xfc_tensor_info { const char *name; int32_t dtype; int32_t rank; const int64_t *shape; } "
          "xfc_tensor_info;\n#endif\n\n", f);
    fputs("#ifndef XFC_EXECUTOR_DEFINED\n#define XFC_EXECUTOR_DEFINED\n"
          "/* Threads for _run_ex, from the caller: parallel_for(ctx, n, fn, arg) calls fn(arg, begin, end) on\n"
          " * ranges that cover [0, n) exactly once, possibly at once on several threads, and returns when\n"
          " * all are done. threads: how many run at once (1 or less: _run_ex does not split its work).\n"
          " * xfc --emit-pool writes a pthread pool that provides one. */\n"
          "typedef struct xfc_executor {\n    void *ctx; int threads;\n"
          "    void (*parallel_for)(void *ctx, int64_t n, void (*fn)(void *arg, int64_t begin, int64_t end), void *arg);\n"
          "} xfc_executor;\n#endif\n\n", f);
    fputs("#ifndef XFC_OK\n/* Return values of the _run functions. */\n#define XFC_OK 0\n"
          "#define XFC_ERR_ARGS 1  /* a NULL arena, inputs, outputs or tensor pointer */\n"
          "#define XFC_ERR_ALIGN 2 /* the arena (or the weights) is not 64-byte aligned */\n"
          "#define XFC_ERR_INDEX 3 /* an index input (e.g. of Gather) is out of range */\n"
          "#define XFC_ERR_WEIGHTS 4 /* the weights are missing, short, or not the ones the code was made with */\n"
          "#endif\n\n", f);
    fprintf(f, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", up, g->ninputs, up, g->noutputs);
    fprintf(f, "#define %s_ARENA_BYTES %" PRId64 " /* exact bytes of scratch memory %s_run needs */\n", up,
            g->arena_bytes, p);
    if (e->o->weights == XF_WEIGHTS_EXTERNAL)
        fprintf(f, "#define %s_WEIGHTS_BYTES %" PRId64 " /* the size of the weights file %s */\n"
                   "#define %s_WEIGHTS_ALIGN 64 /* the alignment %s_run needs of the weights */\n",
                up, e->file_bytes, e->bin_name, up, p);
    fputc('\n', f);
    fprintf(f, "size_t %s_arena_bytes(void);\n", p);
    /* a model without inputs still gets a one-entry table: C has no empty arrays */
    if (g->ninputs) fprintf(f, "extern const xfc_tensor_info %s_inputs[%s_NUM_INPUTS];\n", p, up);
    else fprintf(f, "extern const xfc_tensor_info %s_inputs[1];\n", p);
    if (g->noutputs) fprintf(f, "extern const xfc_tensor_info %s_outputs[%s_NUM_OUTPUTS];\n", p, up);
    else fprintf(f, "extern const xfc_tensor_info %s_outputs[1];\n", p);
    if (e->o->weights == XF_WEIGHTS_EXTERNAL)
        fprintf(f, "/* weights: the contents of the file %s, as xfc wrote it (read into memory, mapped, or\n"
                   " * in flash), %s_WEIGHTS_ALIGN-byte aligned; weights_bytes: its length, at least\n"
                   " * %s_WEIGHTS_BYTES. Only read, never written, so threads may share it. %s_run checks the length\n"
                   " * and the file's header (XFC_ERR_WEIGHTS when they do not match the file this code was made\n"
                   " * with), not every byte. */\n", e->bin_name, up, up, p);
    fprintf(f, "/* Runs the model. arena: %s_ARENA_BYTES bytes, 64-byte aligned; inputs/outputs: dense\n"
               " * row-major tensors in the order of %s_inputs/%s_outputs. Returns XFC_OK or an XFC_ERR_ code.\n"
               " * Reentrant: no globals are written, so threads may run it at once with separate arenas. */\n",
            up, p, p);
    fprintf(f, "int %s_run(%s);\n", p, run_params(e));
    fprintf(f, "/* %s_run with its larger calls split over the threads of ex (NULL: the calling thread\n"
               " * alone, as %s_run). The results do not depend on the number of threads. */\n", p, p);
    fprintf(f, "int %s_run_ex(%s, const xfc_executor *ex);\n\n", p, run_params(e));
    fprintf(f, "#ifdef __cplusplus\n}\n#endif\n#endif /* %s_H_INCLUDED */\n", up);
}

static void emit_info(emitter *e, const char *what, const int32_t *vals, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        const xf_value *x = &e->g->values[vals[i]];
        fprintf(e->f, "static const int64_t %s_%s%d_shape[%d] = {", e->o->prefix, what, i, x->rank ? x->rank : 1);
        for (int j = 0; j < x->rank; j++) fprintf(e->f, "%s%" PRId64, j ? ", " : "", x->shape[j]);
        fputs(x->rank ? "};\n" : "0};\n", e->f);
    }
    fprintf(e->f, "const xfc_tensor_info %s_%ss[%d] = {\n", e->o->prefix, what, n ? n : 1);
    for (int32_t i = 0; i < n; i++) {
        const xf_value *x = &e->g->values[vals[i]];
        fprintf(e->f, "    {\"%s\", %d, %d, %s_%s%d_shape},\n", x->name, x->dtype, x->rank, e->o->prefix, what, i);
    }
    if (!n) fputs("    {0, 0, 0, 0},\n", e->f);
    fputs("};\n", e->f);
}

/* ---- weights ---- */

/* Weights of at most this many elements are printed as numbers, in every form: scalars, shapes and
 * small tables stay readable. Larger ones are stored as bytes. */
#define SMALL_WEIGHT 16
/* model.bin: a header of this size, then each weight at a multiple of it */
#define FILE_ALIGN 64
/* The header's first 24 bytes, which _run compares: "XFCW", the byte-order mark 0x01020304 as a
 * uint32_t, then as uint64_t the file's size and an FNV-1a hash of everything after the header.
 * All in the byte order of the weights themselves. The rest is zero. */
#define FILE_HEADER_CHECKED 24

static bool is_weight(const emitter *e, int32_t v) {
    const xf_value *x = &e->g->values[v];
    return x->data && !x->is_input;
}

/* Elements as the C type counts them: for the 4-bit types, bytes. */
static int64_t weight_count(const xf_value *x) { return xf_value_bytes(x) / (int64_t)xf_dtype_size(x->dtype); }

static bool as_bytes(const emitter *e, int32_t v) {
    return is_weight(e, v) && weight_count(&e->g->values[v]) > SMALL_WEIGHT;
}

/* A weight kept in model.c as bytes is a union of the bytes and the typed elements, so it has the
 * element type's alignment; the code reads its elements through member v: w_name.v[i]. Named
 * before the body is printed, which uses the names. */
static void name_weights(emitter *e) {
    if (e->o->weights != XF_WEIGHTS_INLINE) return;
    for (int32_t v = 0; v < e->g->nvalues; v++)
        if (as_bytes(e, v)) e->name[v] = xf_sprintf(e->a, "%s.v", e->name[v]);
}

/* Whether this machine stores the low byte of an integer first. */
static bool host_little_endian(void) {
    const uint32_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

/* Lays out model.bin (--weights incbin and external): the header, then the weights the body reads
 * that are stored as bytes, in value order, each at a multiple of FILE_ALIGN; and fills the header. */
static void plan_weights_file(emitter *e) {
    const xf_graph *g = e->g;
    e->file_offset = xf_alloc(e->a, sizeof(int64_t) * (size_t)(g->nvalues + 1));
    int64_t at = FILE_ALIGN;
    uint64_t hash = 0xcbf29ce484222325u; /* FNV-1a, 64 bits */
    for (int32_t v = 0; v < g->nvalues; v++) {
        e->file_offset[v] = -1;
        if (e->o->weights == XF_WEIGHTS_INLINE || !e->referenced[v] || !as_bytes(e, v)) continue;
        int64_t n = xf_value_bytes(&g->values[v]);
        for (; at % FILE_ALIGN; at++) hash *= 0x100000001b3u; /* padding: zero bytes */
        e->file_offset[v] = at;
        const unsigned char *p = g->values[v].data;
        for (int64_t i = 0; i < n; i++) hash = (hash ^ p[i]) * 0x100000001b3u;
        at += n;
    }
    for (; at % FILE_ALIGN; at++) hash *= 0x100000001b3u;
    e->file_bytes = at;
    const uint32_t bom = 0x01020304u;
    const uint64_t size = (uint64_t)at;
    memset(e->file_header, 0, sizeof e->file_header);
    memcpy(e->file_header, "XFCW", 4);
    memcpy(e->file_header + 4, &bom, 4);
    memcpy(e->file_header + 8, &size, 8);
    memcpy(e->file_header + 16, &hash, 8);
}

static void write_weights_file(const emitter *e, FILE *f) {
    static const unsigned char zeros[FILE_ALIGN];
    const xf_graph *g = e->g;
    fwrite(e->file_header, 1, sizeof e->file_header, f);
    int64_t at = FILE_ALIGN;
    for (int32_t v = 0; v < g->nvalues; v++) {
        if (e->file_offset[v] < 0) continue;
        fwrite(zeros, 1, (size_t)(e->file_offset[v] - at), f);
        int64_t n = xf_value_bytes(&g->values[v]);
        fwrite(g->values[v].data, 1, (size_t)n, f);
        at = e->file_offset[v] + n;
    }
    fwrite(zeros, 1, (size_t)(e->file_bytes - at), f);
}

/* Bytes as a C string literal split into lines. Printable characters stand for themselves; the rest
 * are octal escapes of one to three digits (three when a digit 0-7 follows, which would otherwise
 * continue the escape); '"', '\\' and '?' are escaped ("??=" would be a trigraph in C99). */
static void print_bytes_literal(FILE *f, const unsigned char *p, int64_t n) {
    enum { WIDTH = 100 };
    char line[WIDTH + 16];
    for (int64_t i = 0; i < n;) {
        size_t len = 0;
        memcpy(line, "    \"", 5);
        len = 5;
        while (i < n && len < WIDTH) {
            unsigned c = p[i++];
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
                line[len++] = (char)c;
            } else if (c == '"' || c == '\\' || c == '?') {
                line[len++] = '\\';
                line[len++] = (char)c;
            } else {
                bool digit_next = i < n && p[i] >= '0' && p[i] <= '7';
                line[len++] = '\\';
                if (c >= 64 || digit_next) line[len++] = (char)('0' + (c >> 6));
                if (c >= 8 || digit_next) line[len++] = (char)('0' + ((c >> 3) & 7));
                line[len++] = (char)('0' + (c & 7));
            }
        }
        line[len++] = '"';
        line[len++] = '\n';
        fwrite(line, 1, len, f);
    }
}

/* The compile-time check that the target stores numbers in the byte order of the weights' bytes
 * (GCC, Clang and compilers like them say so in __BYTE_ORDER__). */
static void emit_byte_order_check(emitter *e) {
    const char *order = host_little_endian() ? "LITTLE" : "BIG";
    const char *other = host_little_endian() ? "big" : "little";
    fprintf(e->f, "#if defined(__BYTE_ORDER__) && defined(__ORDER_%s_ENDIAN__) && __BYTE_ORDER__ != __ORDER_%s_ENDIAN__\n"
                  "#error \"the weights are stored %s-endian; this target is %s-endian: run xfc on a %s-endian machine\"\n"
                  "#endif\n\n",
            order, order, host_little_endian() ? "little" : "big", other, other);
}

/* --weights incbin: the assembler pulls model.bin into the object, aligned like the arena, between
 * the labels <prefix>_weights_file and _end, which _run compares with the size xfc wrote (Clang's
 * assembler cannot compare them itself). Its pointers are read by the C code. */
static void emit_incbin(emitter *e) {
    FILE *f = e->f;
    const char *p = e->o->prefix;
    char *up = xf_strdup(e->a, p);
    for (char *q = up; *q; q++)
        if (*q >= 'a' && *q <= 'z') *q = (char)(*q - 'a' + 'A');
    fprintf(f, "#if !defined(__ELF__) && !defined(__APPLE__)\n"
               "#error \"the weights come in through the assembler's .incbin, for ELF or Mach-O targets: "
               "use xfc --weights inline or external\"\n#endif\n");
    fprintf(f, "/* The weights file, as the assembler finds it: relative to the directory the compiler runs in.\n"
               " * Define %s_WEIGHTS_FILE (a string) to give another path. */\n"
               "#ifndef %s_WEIGHTS_FILE\n#define %s_WEIGHTS_FILE \"%s\"\n#endif\n", up, up, up, e->bin_path);
    if (e->o->weights_section)
        fprintf(f, "#define %s_WEIGHTS_SECTION \"%s,\\\"a\\\"\"\n", up, e->o->weights_section);
    else
        fprintf(f, "#ifdef __APPLE__\n#define %s_WEIGHTS_SECTION \"__TEXT,__const\"\n#else\n"
                   "#define %s_WEIGHTS_SECTION \".rodata\"\n#endif\n", up, up);
    fprintf(f, "__asm__(\".pushsection \" %s_WEIGHTS_SECTION \"\\n\"\n"
               "        \".balign 64\\n\"\n"
               "        \"%s_weights_file:\\n\"\n"
               "        \".incbin \\\"\" %s_WEIGHTS_FILE \"\\\"\\n\"\n"
               "        \"%s_weights_file_end:\\n\"\n"
               "        \".popsection\\n\");\n",
            up, p, up, p);
    fprintf(f, "extern const unsigned char %s_weights_file[] __asm__(\"%s_weights_file\");\n", p, p);
    fprintf(f, "extern const unsigned char %s_weights_file_end[] __asm__(\"%s_weights_file_end\");\n", p, p);
}

static void emit_weights(emitter *e) {
    const xf_graph *g = e->g;
    bool any_bytes = false;
    for (int32_t v = 0; v < g->nvalues; v++) any_bytes |= e->referenced[v] && as_bytes(e, v);
    if (any_bytes) emit_byte_order_check(e);
    /* a string of more than 4095 characters is beyond what C99 promises; GCC and Clang take any */
    if (any_bytes && e->o->weights == XF_WEIGHTS_INLINE)
        fputs("#ifdef __GNUC__\n#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n#endif\n\n", e->f);
    /* --weights-section: a linker script can then place the weights, e.g. in external flash */
    const char *section = e->o->weights_section
                              ? xf_sprintf(e->a, " __attribute__((section(\"%s\")))", e->o->weights_section) : "";
    for (int32_t v = 0; v < g->nvalues; v++) {
        const xf_value *x = &g->values[v];
        if (!e->referenced[v] || !is_weight(e, v) || e->file_offset[v] >= 0) continue;
        int64_t n = weight_count(x);
        char buf[128];
        fprintf(e->f, "/* %s: %s%s */\n", x->name, xf_dtype_name(x->dtype), xf_shape_str(x, buf, sizeof buf));
        if (as_bytes(e, v)) {
            /* the byte array has room for the literal's terminating zero */
            const char *name = e->name[v];
            fprintf(e->f, "static const union { unsigned char b[%" PRId64 "]; %s v[%" PRId64 "]; } %.*s%s = {\n",
                    xf_value_bytes(x) + 1, xf_dtype_ctype(x->dtype), n, (int)(strlen(name) - 2), name, section);
            print_bytes_literal(e->f, x->data, xf_value_bytes(x));
            fputs("};\n", e->f);
            continue;
        }
        fprintf(e->f, "static const %s %s[%" PRId64 "]%s = {", xf_dtype_ctype(x->dtype), e->name[v], n ? n : 1, section);
        for (int64_t i = 0; i < n; i++) {
            fputs(i % 8 ? ", " : i ? ",\n    " : "\n    ", e->f);
            print_element(e->f, x, i);
        }
        fputs(n ? "\n};\n" : "0};\n", e->f);
    }
    if (e->o->weights == XF_WEIGHTS_INLINE) return;
    if (e->o->weights == XF_WEIGHTS_INCBIN) emit_incbin(e);
    fprintf(e->f, "/* The first bytes of %s, which %s_run checks. */\n"
                  "static const unsigned char %s_weights_header[%d] = {",
            e->bin_name, e->o->prefix, e->o->prefix, FILE_HEADER_CHECKED);
    for (int i = 0; i < FILE_HEADER_CHECKED; i++) fprintf(e->f, "%s%d", i ? ", " : "", e->file_header[i]);
    fputs("};\n", e->f);
}

static void emit_source(emitter *e, FILE *out) {
    const xf_graph *g = e->g;
    const char *p = e->o->prefix;
    char *body = NULL;
    size_t body_size = 0;
    char *parts = NULL;
    size_t parts_size = 0;
    e->f = open_memstream(&body, &body_size);
    e->parts = open_memstream(&parts, &parts_size);
    emit_body(e);
    fclose(e->f);
    fclose(e->parts);
    e->f = out;
    plan_weights_file(e);
    fprintf(out, "/* %s.c — generated by xfc %s from %s (opset %" PRId64 ", -O%d). Do not edit: regenerate.\n"
                 " * %s */\n\n",
            p, XF_VERSION, e->o->source, g->opset, e->o->opt_level,
            e->o->freestanding ? "Freestanding: needs only <stdint.h>, <stddef.h> and memcpy/memmove/memset/memcmp."
                               : "Needs only <stdint.h>, <stddef.h>, <string.h> and <math.h>.");
    emit_declarations(e);
    if (e->o->freestanding) xf_emit_freestanding_prelude(out, e->kernel_used);
    else fputs("\n#include <math.h>\n#include <string.h>\n\n", out);
    bool *done = xf_alloc(e->a, XF_K_COUNT + 1);
    bool any = false;
    for (int k = 0; k < XF_K_COUNT; k++) any |= e->kernel_used[k];
    if (any) fputs("/* ---- runtime kernels ---- */\n\n", out);
    for (int k = 0; k < XF_K_COUNT; k++)
        if (e->kernel_used[k]) emit_kernel(e, k, done);
    fputs("/* ---- weights ---- */\n\n", out);
    emit_weights(e);
    /* after the weights, which elementwise parts may read */
    if (e->nparts) {
        fputs("\n/* ---- split calls and loops: each part runs on a range of units ---- */\n\n", out);
        fwrite(parts, 1, parts_size, out);
    }
    free(parts);
    fputs("\n/* ---- tensor info ---- */\n\n", out);
    emit_info(e, "input", g->inputs, g->ninputs);
    emit_info(e, "output", g->outputs, g->noutputs);
    fprintf(out, "\nsize_t %s_arena_bytes(void) { return %" PRId64 "; }\n\n", p, g->arena_bytes);

    fprintf(out, "int %s_run(%s) {\n    return %s_run_ex(%sarena, inputs, outputs, NULL);\n}\n\n", p,
            run_params(e), p, e->o->weights == XF_WEIGHTS_EXTERNAL ? "weights, weights_bytes, " : "");
    fprintf(out, "int %s_run_ex(%s, const xfc_executor *ex) {\n", p, run_params(e));
    fprintf(out, "    if (%s!inputs || !outputs) return XFC_ERR_ARGS;\n", g->arena_bytes ? "!arena || " : "");
    fputs("    if ((uintptr_t)arena % 64) return XFC_ERR_ALIGN;\n", out);
    if (e->o->weights == XF_WEIGHTS_EXTERNAL) {
        fprintf(out, "    if (!weights || weights_bytes < %" PRId64 ") return XFC_ERR_WEIGHTS;\n", e->file_bytes);
        fputs("    if ((uintptr_t)weights % 64) return XFC_ERR_ALIGN;\n", out);
    }
    if (e->o->weights == XF_WEIGHTS_INCBIN)
        fprintf(out, "    if ((uintptr_t)%s_weights_file_end - (uintptr_t)%s_weights_file != %" PRId64 ") return XFC_ERR_WEIGHTS;\n",
                p, p, e->file_bytes);
    if (e->o->weights != XF_WEIGHTS_INLINE)
        fprintf(out, "    const unsigned char *wmem = %s;\n"
                     "    if (memcmp(wmem, %s_weights_header, %d) != 0) return XFC_ERR_WEIGHTS;\n",
                e->o->weights == XF_WEIGHTS_EXTERNAL ? "weights" : xf_sprintf(e->a, "%s_weights_file", p), p,
                FILE_HEADER_CHECKED);
    for (int32_t i = 0; i < g->ninputs; i++) fprintf(out, "    if (!inputs[%d]) return XFC_ERR_ARGS;\n", i);
    for (int32_t i = 0; i < g->noutputs; i++) fprintf(out, "    if (!outputs[%d]) return XFC_ERR_ARGS;\n", i);
    fputs("    unsigned char *mem = arena;\n    (void)mem;\n", out);
    if (e->uses_status) fputs("    int rc;\n", out);
    if (e->nparts) fputs("    const int parallel = ex && ex->threads > 1 && ex->parallel_for;\n", out);
    else fputs("    (void)ex; /* no call is worth splitting */\n", out);
    for (int32_t i = 0; i < g->ninputs; i++) {
        int32_t v = g->inputs[i];
        const char *t = xf_dtype_ctype(g->values[v].dtype);
        fprintf(out, "    const %s *%s = (const %s *)inputs[%d];\n    (void)%s;\n", t, e->name[v], t, i, e->name[v]);
    }
    for (int32_t i = 0; i < g->noutputs; i++) {
        int32_t v = g->outputs[i];
        const xf_value *x = &g->values[v];
        if (e->output_index[v] != i || x->data || x->is_input) continue;
        const char *t = xf_dtype_ctype(x->dtype);
        fprintf(out, "    %s *%s = (%s *)outputs[%d];\n", t, e->name[v], t, i);
    }
    for (int32_t v = 0; v < g->nvalues; v++) {
        const xf_value *x = &g->values[v];
        if (x->offset < 0 || x->data || x->is_input || x->is_output || !e->referenced[v]) continue;
        const char *t = xf_dtype_ctype(x->dtype);
        fprintf(out, "    %s *%s = (%s *)(mem + %" PRId64 ");\n", t, e->name[v], t, x->offset);
    }
    for (int32_t v = 0; v < g->nvalues; v++) {
        if (e->file_offset[v] < 0) continue;
        const char *t = xf_dtype_ctype(g->values[v].dtype);
        fprintf(out, "    const %s *%s = (const %s *)(wmem + %" PRId64 ");\n", t, e->name[v], t, e->file_offset[v]);
    }
    fputc('\n', out);
    fwrite(body, 1, body_size, out);
    fputs("    return XFC_OK;\n}\n", out);
    free(body);
}

/* path "dir/model.c" -> "dir/model.h" (ext ".h"), "dir/model.bin" */
static char *beside(xf_arena *a, const char *path, const char *ext) {
    size_t n = strlen(path);
    if (n > 2 && strcmp(path + n - 2, ".c") == 0) return xf_sprintf(a, "%.*s%s", (int)(n - 2), path, ext);
    return xf_sprintf(a, "%s%s", path, ext);
}

/* -o -: model.c alone, on standard output. It holds the declarations of model.h, so the header
 * adds nothing; a weights file cannot go there too. */
static bool emit_to_stdout(emitter *e, xf_diag *d) {
    if (e->o->weights != XF_WEIGHTS_INLINE)
        return xf_fail(d, NULL, NULL, "-o -: --weights %s writes a weights file beside the C; give -o FILE.c",
                       e->o->weights == XF_WEIGHTS_INCBIN ? "incbin" : "external");
    emit_source(e, stdout);
    if (fflush(stdout) != 0 || ferror(stdout))
        return xf_fail(d, NULL, NULL, "cannot write the C to standard output: %s", strerror(errno));
    return true;
}

bool xf_emit_c(const xf_graph *g, const xf_emit_options *o, const char *path, xf_diag *d) {
    emitter e = {.g = g, .o = o, .a = xf_arena_new()};
    e.kernel_used = xf_alloc(e.a, XF_K_COUNT + 1);
    e.referenced = xf_alloc(e.a, (size_t)g->nvalues + 1);
    assign_names(&e);
    name_weights(&e);
    xf_file c, h, bin = {0};
    bool ok = false;
    if (strcmp(path, "-") == 0) {
        ok = emit_to_stdout(&e, d);
        goto out;
    }
    /* the assembler reads the path from a string: no quotes, backslashes or control characters */
    e.bin_path = beside(e.a, path, ".bin");
    e.bin_name = strrchr(e.bin_path, '/') ? strrchr(e.bin_path, '/') + 1 : e.bin_path;
    for (const char *q = e.bin_path; o->weights == XF_WEIGHTS_INCBIN && *q; q++)
        if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20) {
            xf_fail(d, NULL, NULL, "%s: --weights incbin cannot name this path in assembly; choose another -o",
                    e.bin_path);
            goto out;
        }
    if (!xf_file_open(&c, path, d)) goto out;
    if (!xf_file_open(&h, beside(e.a, path, ".h"), d)) {
        xf_file_discard(&c);
        goto out;
    }
    if (o->weights != XF_WEIGHTS_INLINE && !xf_file_open(&bin, e.bin_path, d)) {
        xf_file_discard(&c);
        xf_file_discard(&h);
        goto out;
    }
    emit_source(&e, c.f);
    fprintf(h.f, "/* %s.h — generated by xfc %s from %s. Do not edit: regenerate. */\n\n", o->prefix, XF_VERSION,
            o->source);
    e.f = h.f;
    emit_declarations(&e);
    if (bin.f) write_weights_file(&e, bin.f);
    ok = !bin.f || xf_file_commit(&bin, d);
    ok = ok && xf_file_commit(&h, d);
    ok = ok && xf_file_commit(&c, d);
    xf_file_discard(&h); /* after a commit these do nothing */
    xf_file_discard(&c);
out:
    xf_arena_free(e.a);
    return ok;
}
