/* xfc.c — the library behind include/xfc.h: compile (load with bindings and shapes, check that
 * every input is static, run the pipeline), emit, statistics. It translates between the public
 * types and the internal ones, so the headers of ir/, passes/ and codegen/ stay private. */
#include <stdlib.h>
#include <string.h>

#include "../codegen/backend.h"
#include "../frontend/frontend.h"
#include "../lower/lower.h"
#include "../passes/passes.h"
#include "model.h"

#define XF_MAX_DISABLED ((int)(sizeof ((xf_options *)0)->disabled / sizeof(char *)))

void xfc_options_default(xfc_options *o) {
    memset(o, 0, sizeof *o);
    o->opt_level = 2;
}

bool xfc_pass_info(int i, const char **name, int *min_level, const char **summary) {
    if (i < 0 || i >= xf_npasses) return false;
    *name = xf_passes[i].name;
    *min_level = xf_passes[i].min_level;
    *summary = xf_passes[i].summary;
    return true;
}

static void set_error(xfc_error *err, const xf_diag *d) {
    if (err) snprintf(err->message, sizeof err->message, "%s", d->msg);
}

/* --bind NAME=FILE.pb: the input becomes a constant holding the file's tensor, so whatever depends on
 * it (a Reshape's shape, a Slice's starts) is known at compile time. */
static bool bind_inputs(xf_graph *g, void *ctx, xf_diag *d) {
    const xfc_options *o = ctx;
    for (int i = 0; i < o->nbindings; i++) {
        const xfc_binding *b = &o->bindings[i];
        int32_t k = 0;
        while (k < g->ninputs && strcmp(g->values[g->inputs[k]].name, b->name) != 0) k++;
        if (k == g->ninputs) return xf_fail(d, g, NULL, "--bind names '%s', which is not a graph input", b->name);
        xf_value *v = &g->values[g->inputs[k]];
        xf_tensor t;
        if (!xf_tensor_load_pb(g->arena, b->tensor_file, &t, d)) return false;
        if (t.dtype != v->dtype) /* narrow types included: the file's bytes are kept as they are */
            return xf_fail(d, g, NULL, "--bind %s: the file holds %s, the input is %s", v->name, xf_dtype_name(t.dtype),
                           xf_dtype_name(v->dtype));
        if (v->rank >= 0 && v->rank != t.rank)
            return xf_fail(d, g, NULL, "--bind %s: the file has rank %d, the input %d", v->name, t.rank, v->rank);
        v->dtype = t.dtype;
        v->rank = t.rank;
        memcpy(v->shape, t.shape, sizeof v->shape);
        v->data = t.data;
        v->is_input = false;
        memmove(&g->inputs[k], &g->inputs[k + 1], sizeof(int32_t) * (size_t)(g->ninputs - k - 1));
        g->ninputs--;
    }
    return true;
}

/* Loads the model with o's bindings and shapes, checks that every input is static, and runs the
 * pipeline. */
static xf_graph *compile(const char *path, const xfc_options *o, xf_fusion_stats *stats, xf_diag *d) {
    if (o->opt_level < 0 || o->opt_level > 2) return xf_fail(d, NULL, NULL, "optimisation level %d is not 0, 1 or 2", o->opt_level), NULL;
    if (o->ndisabled > XF_MAX_DISABLED) return xf_fail(d, NULL, NULL, "more than %d disabled passes", XF_MAX_DISABLED), NULL;
    if (o->nshapes < 0 || o->nbindings < 0 || o->ndisabled < 0) return xf_fail(d, NULL, NULL, "a negative count in the options"), NULL;
    /* inputs are bound while the model loads, before its nodes: If conditions and Loop trip counts
     * may depend on them */
    xf_graph *g = xf_onnx_load_bound(path, bind_inputs, (void *)o, d);
    if (!g) return NULL;
    g->nodes_in = g->nnodes;
    for (int i = 0; i < o->nshapes; i++) {
        const xfc_input_shape *s = &o->shapes[i];
        int32_t found = -1;
        for (int32_t k = 0; k < g->ninputs; k++)
            if (strcmp(g->values[g->inputs[k]].name, s->name) == 0) found = g->inputs[k];
        if (found < 0) {
            xf_fail(d, g, NULL, "--shape names '%s', which is not a graph input", s->name);
            goto fail;
        }
        xf_value *v = &g->values[found];
        if (s->rank < 0 || s->rank > XF_MAX_RANK) {
            xf_fail(d, g, NULL, "--shape gives input '%s' %d dimensions", s->name, s->rank);
            goto fail;
        }
        if (v->rank >= 0 && v->rank != s->rank) {
            xf_fail(d, g, NULL, "--shape gives input '%s' %d dimensions, the model says %d", s->name, s->rank, v->rank);
            goto fail;
        }
        for (int k = 0; k < s->rank; k++) {
            if (v->rank >= 0 && v->shape[k] >= 0 && v->shape[k] != s->dims[k]) {
                xf_fail(d, g, NULL, "--shape sets dimension %d of input '%s' to %lld, but the model fixes it to %lld",
                        k, s->name, (long long)s->dims[k], (long long)v->shape[k]);
                goto fail;
            }
            v->shape[k] = s->dims[k];
        }
        v->rank = s->rank;
    }
    for (int32_t k = 0; k < g->ninputs; k++) {
        xf_value *v = &g->values[g->inputs[k]];
        if (v->rank < 0) {
            xf_fail(d, g, NULL, "input '%s' has no shape in the model: give it one with --shape %s=...", v->name, v->name);
            goto fail;
        }
        for (int i = 0; i < v->rank; i++)
            if (v->shape[i] < 0) {
                xf_fail(d, g, NULL, "input '%s' has dynamic dimension %d ('%s'): fix it with --shape %s=...", v->name,
                        i, v->dim_param[i] ? v->dim_param[i] : "?", v->name);
                goto fail;
            }
        if (xf_value_bytes(v) < 0) {
            xf_fail(d, g, NULL, "input '%s' has dimensions whose product overflows", v->name);
            goto fail;
        }
    }
    xf_options po = {.opt_level = o->opt_level, .ndisabled = o->ndisabled, .print_after = o->print_after,
                     .stats = stats};
    for (int i = 0; i < o->ndisabled; i++) po.disabled[i] = o->disabled_passes[i];
    if (!xf_run_pipeline(g, &po, d)) goto fail;
    return g;
fail:
    xf_graph_free(g);
    return NULL;
}

static int64_t weight_bytes(const xf_graph *g) {
    int64_t weights = 0;
    bool *used = calloc((size_t)g->nvalues + 1, 1);
    if (!used) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int32_t i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i].nin; k++)
            if (g->nodes[i].in[k] >= 0) used[g->nodes[i].in[k]] = true;
    for (int32_t i = 0; i < g->noutputs; i++) used[g->outputs[i]] = true;
    for (int32_t v = 0; v < g->nvalues; v++)
        if (used[v] && g->values[v].data) weights += xf_value_bytes(&g->values[v]);
    free(used);
    return weights;
}

xfc_model *xfc_compile(const char *model_path, const xfc_options *o, xfc_error *err) {
    xf_diag d = {0};
    xfc_options dflt;
    if (!o) xfc_options_default(&dflt);
    xfc_model *m = calloc(1, sizeof *m);
    if (!m) xf_abort(__FILE__, __LINE__, "out of memory");
    xf_graph *g = compile(model_path, o ? o : &dflt, &m->fusions, &d);
    if (!g) {
        set_error(err, &d);
        free(m);
        return NULL;
    }
    m->g = g;
    m->opt_level = o ? o->opt_level : dflt.opt_level;
    m->source = xf_strdup(g->arena, model_path);
    return m;
}

void xfc_model_free(xfc_model *m) {
    if (!m) return;
    xf_graph_free(m->g);
    free(m);
}

bool xfc_emit_c(const xfc_model *m, const char *c_path, const xfc_c_options *o, xfc_error *err) {
    xf_diag d = {0};
    if (!o->prefix || !*o->prefix) {
        xf_fail(&d, NULL, NULL, "a symbol prefix is required");
    } else if (o->target && !xf_target_find(o->target)) {
        xf_fail(&d, NULL, NULL, "unknown target '%s'", o->target);
    } else if ((unsigned)o->weights > XFC_WEIGHTS_EXTERNAL) {
        xf_fail(&d, NULL, NULL, "unknown weights form %d", (int)o->weights);
    } else {
        static const xf_weights_form forms[] = {[XFC_WEIGHTS_INLINE] = XF_WEIGHTS_INLINE,
                                                [XFC_WEIGHTS_INCBIN] = XF_WEIGHTS_INCBIN,
                                                [XFC_WEIGHTS_EXTERNAL] = XF_WEIGHTS_EXTERNAL};
        xf_emit_options eo = {.prefix = o->prefix, .source = m->source, .opt_level = m->opt_level,
                              .target = o->target, .freestanding = o->freestanding || o->target,
                              .weights_section = o->weights_section, .weights = forms[o->weights]};
        if (xf_backend_find("c")->emit(m->g, &eo, c_path, &d)) return true;
    }
    set_error(err, &d);
    return false;
}

bool xfc_emit_pool(const char *dir, xfc_error *err) {
    xf_diag d = {0};
    if (xf_emit_pool(dir, &d)) return true;
    set_error(err, &d);
    return false;
}

/* The work of one node: its kernel calls' costs from the kernel table, or for an elementwise loop
 * one operation per output element and step. An estimate for comparing builds, not a cycle count. */
static int64_t node_flops(const xf_graph *g, int32_t i) {
    const xf_node *n = &g->nodes[i];
    if (xf_ops[n->op].arity || n->op == XF_OP_FUSED_ELEMENTWISE) {
        const xf_attr *program = xf_attr_get(n, "program");
        return xf_value_numel(&g->values[n->out[0]]) * (program ? program->n / 6 : 1);
    }
    const xf_lowering *l = xf_lowered(g);
    int64_t flops = 0;
    for (int32_t c = l->first[i]; c < l->first[i] + l->count[i]; c++) flops += xf_call_cost(g, &l->calls[c]).flops;
    return flops;
}

xfc_stats xfc_model_stats(const xfc_model *m) {
    const xf_graph *g = m->g;
    xfc_stats s = {.nodes_in = g->nodes_in, .arena_bytes = g->arena_bytes, .weight_bytes = weight_bytes(g)};
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        s.nodes_out++;
        s.flops += node_flops(g, i);
    }
    return s;
}
