/* roundtrip.c — the text IR loses nothing: `roundtrip MODEL.onnx WORKDIR`.
 *
 * The model is loaded, printed and parsed back; the parsed graph must equal the loaded one field by
 * field (every attribute, every constant's bytes), printing it again must give the same text, and
 * compiling each at -O2 must give the same C. The compiled graph (fused ops, their attributes,
 * arena offsets) goes through the text again, and the C emitted from what was parsed must equal the
 * C emitted from the graph itself. Any difference is printed and the exit status is 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "read_text.h"
#include "lower/lower.h"

static const char *model_path;
static int failures;

static void mismatch(const char *stage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(const char *stage, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", model_path, stage);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static char *print_to_string(const xf_graph *g) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) xf_abort(__FILE__, __LINE__, "open_memstream");
    xf_graph_print(g, f);
    fclose(f);
    return text;
}

/* The first line where a and b differ, both versions shown. */
static void show_difference(const char *stage, const char *a, const char *b) {
    int line = 1;
    while (*a && *a == *b) line += *a++ == '\n', b++;
    while (line > 1 && a[-1] != '\n') a--, b--;
    mismatch(stage, "texts differ at line %d:\n  - %.*s\n  + %.*s", line, (int)strcspn(a, "\n"), a,
             (int)strcspn(b, "\n"), b);
}

/* ---- graph equality: what the parsed graph must have kept ---- */

static bool same_value(const char *stage, const xf_graph *g, int32_t x, const xf_graph *h, int32_t y) {
    if (x < 0 || y < 0) {
        if (x != y) mismatch(stage, "a value is present in one graph and absent in the other");
        return x == y;
    }
    const xf_value *a = &g->values[x], *b = &h->values[y];
    const char *n = a->name;
    if (strcmp(a->name, b->name) != 0) return mismatch(stage, "value '%s' became '%s'", a->name, b->name), false;
    if (a->dtype != b->dtype || a->rank != b->rank)
        return mismatch(stage, "value '%s': type %d rank %d became type %d rank %d", n, a->dtype, a->rank, b->dtype,
                        b->rank), false;
    for (int i = 0; i < a->rank; i++) {
        if (a->shape[i] != b->shape[i]) return mismatch(stage, "value '%s': dimension %d differs", n, i), false;
        const char *pa = a->dim_param[i] ? a->dim_param[i] : "", *pb = b->dim_param[i] ? b->dim_param[i] : "";
        if (a->shape[i] < 0 && strcmp(pa, pb) != 0)
            return mismatch(stage, "value '%s': dimension %d named '%s' became '%s'", n, i, pa, pb), false;
    }
    if (a->is_input != b->is_input || a->is_output != b->is_output || a->offset != b->offset)
        return mismatch(stage, "value '%s': input/output flag or arena offset differs", n), false;
    if ((a->alias_of < 0) != (b->alias_of < 0) ||
        (a->alias_of >= 0 && strcmp(g->values[a->alias_of].name, h->values[b->alias_of].name) != 0))
        return mismatch(stage, "value '%s': alias differs", n), false;
    if (!a->data != !b->data) return mismatch(stage, "value '%s': constant in one graph only", n), false;
    if (a->data && memcmp(a->data, b->data, (size_t)xf_value_bytes(a)) != 0)
        return mismatch(stage, "value '%s': constant bytes differ", n), false;
    return true;
}

static bool same_attr(const char *stage, const xf_node *n, const xf_graph *g, const xf_attr *a, const xf_graph *h,
                      const xf_attr *b) {
    if (strcmp(a->name, b->name) != 0 || a->type != b->type)
        return mismatch(stage, "node '%s': attribute '%s' became '%s' (type %d -> %d)", n->name, a->name, b->name,
                        a->type, b->type), false;
    bool same = true;
    switch (a->type) {
    case XF_ATTR_INT: same = a->i == b->i; break;
    case XF_ATTR_FLOAT: same = memcmp(&a->f, &b->f, sizeof a->f) == 0; break;
    case XF_ATTR_STRING: same = strcmp(a->s ? a->s : "", b->s ? b->s : "") == 0; break;
    case XF_ATTR_TENSOR: return same_value(stage, g, a->tensor, h, b->tensor);
    case XF_ATTR_INTS: same = a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, sizeof *a->ints * (size_t)a->n)); break;
    case XF_ATTR_FLOATS:
        same = a->n == b->n && (!a->n || !memcmp(a->floats, b->floats, sizeof *a->floats * (size_t)a->n));
        break;
    case XF_ATTR_STRINGS:
        same = a->n == b->n;
        for (int i = 0; same && i < a->n; i++) same = strcmp(a->strings[i], b->strings[i]) == 0;
        break;
    }
    if (!same) mismatch(stage, "node '%s': attribute '%s' changed value", n->name, a->name);
    return same;
}

static void compare_graphs(const char *stage, const xf_graph *g, const xf_graph *h) {
    if (g->opset != h->opset || g->arena_bytes != h->arena_bytes || g->ninputs != h->ninputs ||
        g->noutputs != h->noutputs)
        return mismatch(stage, "opset, arena, inputs or outputs differ");
    for (int32_t i = 0; i < g->ninputs; i++)
        if (!same_value(stage, g, g->inputs[i], h, h->inputs[i])) return;
    for (int32_t i = 0; i < g->noutputs; i++)
        if (!same_value(stage, g, g->outputs[i], h, h->outputs[i])) return;
    int32_t j = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *a = &g->nodes[i];
        if (a->dead) continue;
        while (j < h->nnodes && h->nodes[j].dead) j++;
        if (j == h->nnodes) return mismatch(stage, "node '%s' is missing", a->name);
        const xf_node *b = &h->nodes[j++];
        if (a->op != b->op || strcmp(a->name, b->name) || a->nin != b->nin || a->nout != b->nout || a->nattr != b->nattr)
            return mismatch(stage, "node '%s' (%s) became '%s' (%s), or its arity differs", a->name, xf_ops[a->op].name,
                            b->name, xf_ops[b->op].name);
        for (int k = 0; k < a->nin; k++)
            if (!same_value(stage, g, a->in[k], h, b->in[k])) return;
        for (int k = 0; k < a->nout; k++)
            if (!same_value(stage, g, a->out[k], h, b->out[k])) return;
        for (int k = 0; k < a->nattr; k++)
            if (!same_attr(stage, a, g, &a->attrs[k], h, &b->attrs[k])) return;
    }
    while (j < h->nnodes && h->nodes[j].dead) j++;
    if (j != h->nnodes) mismatch(stage, "the parsed graph has extra nodes");
}

/* ---- the stages ---- */

static xf_graph *reparse(const char *stage, const xf_graph *g) {
    char *text = print_to_string(g);
    xf_diag d = {0};
    xf_graph *h = xf_graph_parse(text, model_path, &d);
    if (!h) {
        mismatch(stage, "the printed IR does not parse: %s", d.msg);
        free(text);
        return NULL;
    }
    compare_graphs(stage, g, h);
    char *again = print_to_string(h);
    if (strcmp(text, again) != 0) show_difference(stage, text, again);
    free(text);
    free(again);
    return h;
}

static char *emit(const xf_graph *g, const char *work, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.c", work, name);
    xf_emit_options eo = {.prefix = "model", .source = model_path, .opt_level = 2};
    xf_diag d = {0};
    if (!xf_backend_find("c")->emit(g, &eo, path, &d)) {
        mismatch("emit", "%s", d.msg);
        return NULL;
    }
    return xf_read_text(path);
}

static bool compile(xf_graph *g) {
    xf_options o = {.opt_level = 2};
    xf_diag d = {0};
    if (xf_run_pipeline(g, &o, &d)) return true;
    mismatch("compile", "%s", d.msg);
    return false;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: roundtrip MODEL.onnx WORKDIR\n");
        return 2;
    }
    model_path = argv[1];
    xf_diag d = {0};
    xf_graph *loaded = xf_onnx_load(model_path, &d);
    if (!loaded) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    /* as loaded: the parsed copy compiles to the same C */
    xf_graph *parsed = reparse("as loaded", loaded);
    if (parsed && compile(loaded) && compile(parsed)) {
        char *a = emit(loaded, argv[2], "loaded"), *b = emit(parsed, argv[2], "parsed");
        if (a && b && strcmp(a, b) != 0) show_difference("C of the loaded and the parsed graph", a, b);
        /* compiled: fused ops and planned memory read back, and the C emitted from them is the same */
        xf_graph *compiled = reparse("compiled", loaded);
        /* the kernel calls are not part of the text: lower the parsed graph again, as the pipeline's
         * last step does */
        xf_diag ld = {0};
        if (compiled && !xf_lower_graph(compiled, &ld)) mismatch("lower", "%s", ld.msg);
        char *c = compiled && !ld.set ? emit(compiled, argv[2], "compiled") : NULL;
        if (a && c && strcmp(a, c) != 0) show_difference("C of the compiled graph and its parsed text", a, c);
        free(a);
        free(b);
        free(c);
        xf_graph_free(compiled);
    }
    xf_graph_free(parsed);
    xf_graph_free(loaded);
    if (!failures) printf("%s: the text IR round-trips\n", model_path);
    return failures ? 1 : 0;
}
