/* xfc.c — the command-line driver: parses options, loads the model, runs the pass pipeline and a
 * backend. `xfc run` (tools/xfc_run.c) also builds and runs the generated code.
 * Every user error ends as one line "xfc: error: ..." on stderr and exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codegen/backend.h"
#include "../frontend/frontend.h"
#include "../passes/passes.h"
#include "xfc.h"

static const char usage[] =
    "usage: xfc MODEL.onnx [-o OUT.c] [options]      compile a model to C (OUT.c and OUT.h)\n"
    "       xfc run MODEL.onnx --input IN.pb... [--expect OUT.pb...] [options]\n"
    "                                                 compile, build with cc, run, compare\n"
    "       xfc report MODEL.onnx [--json] [--target T] [options]\n"
    "                                                 nodes, memory, FLOPs, fusions applied and missed\n"
    "       xfc compare MODEL.onnx [--input IN.pb...] [--repeat N] [options]\n"
    "                                                 build -O0 and -O2, compare speed, size, outputs\n"
    "       xfc --list-passes | --help | --version\n"
    "\n"
    "options:\n"
    "  -o FILE            output C file; the header is written beside it (default: MODEL's stem + .c)\n"
    "  --name PREFIX      symbol prefix (default: the output file's stem as a C identifier)\n"
    "  -O0 | -O1 | -O2    optimisation level (default -O2); -O0 only what correctness needs\n"
    "  --shape NAME=DIMS  fix the dimensions of input NAME, e.g. --shape input_ids=1x16\n"
    "  --bind NAME=F.pb   make input NAME a constant with the tensor in F.pb (for inputs that\n"
    "                     decide a shape: a Reshape's shape, a Slice's starts...)\n"
    "  --disable-pass P   skip pass P (see --list-passes)\n"
    "  --print-after P    print the IR to stderr after pass P\n"
    "  --dump-ir          print the IR after the pipeline to stderr\n"
    "  --target T         cortex-m0, cortex-m4, cortex-m7 or cortex-m33: freestanding firmware C\n"
    "  --freestanding     generated C needs no libc or libm (xfc supplies its math functions)\n"
    "  --weights-section .NAME  place the weights in that linker section\n"
    "  -v                 print a summary: nodes, weights, arena bytes\n"
    "run options:\n"
    "  --input FILE.pb    a TensorProto for the next graph input (in order)\n"
    "  --expect FILE.pb   the expected TensorProto for the next graph output (in order)\n"
    "  --output FILE.pb   write the next graph output to FILE.pb\n"
    "  --atol A, --rtol R tolerance |got - want| <= A + R*|want| (default 1e-4, 0)\n"
    "  --repeat N         run N times and print the median time\n"
    "\n"
    "exit status: 0 success, 1 outputs differ beyond the tolerance, 2 error in the model or input\n";

int xf_die(const xf_diag *d) {
    fprintf(stderr, "xfc: error: %s\n", d->msg);
    return 2;
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "xfc: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see xfc --help)\n");
    return 2;
}

/* "1x16" or "1,16" */
static bool parse_dims(const char *s, int64_t *dims, int *rank) {
    *rank = 0;
    while (*s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || *rank == XF_MAX_RANK) return false;
        dims[(*rank)++] = v;
        if (*end == 'x' || *end == ',') end++;
        else if (*end) return false;
        s = end;
    }
    return *rank > 0;
}

int xf_parse_args(xf_cli *cli, int argc, char **argv, bool run) {
    memset(cli, 0, sizeof *cli);
    cli->opts.opt_level = 2;
    cli->atol = 1e-4;
    cli->repeat = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG() \
    do { if (!next) return usage_error("option %s needs an argument", a); i++; } while (0)
        if (strcmp(a, "-o") == 0) { NEED_ARG(); cli->out = next; }
        else if (strcmp(a, "--name") == 0) { NEED_ARG(); cli->name = next; }
        else if (strcmp(a, "-O0") == 0 || strcmp(a, "-O1") == 0 || strcmp(a, "-O2") == 0) cli->opts.opt_level = a[2] - '0';
        else if (strcmp(a, "--dump-ir") == 0) cli->dump_ir = true;
        else if (strcmp(a, "--freestanding") == 0) cli->freestanding = true;
        else if (strcmp(a, "--json") == 0) cli->json = true;
        else if (strcmp(a, "--target") == 0) {
            NEED_ARG();
            if (!xf_target_find(next)) return usage_error("unknown target '%s' (cortex-m0, cortex-m4, cortex-m7, cortex-m33)", next);
            cli->target = next;
            cli->freestanding = true;
        } else if (strcmp(a, "--weights-section") == 0) {
            NEED_ARG();
            if (next[0] != '.' || strlen(next) < 2) return usage_error("bad --weights-section '%s': expected .NAME", next);
            cli->weights_section = next;
        }
        else if (strcmp(a, "-v") == 0) cli->verbose = true;
        else if (strcmp(a, "--disable-pass") == 0) {
            NEED_ARG();
            if (cli->opts.ndisabled == 16) return usage_error("too many %s options", a);
            cli->opts.disabled[cli->opts.ndisabled++] = next;
        } else if (strcmp(a, "--print-after") == 0) { NEED_ARG(); cli->opts.print_after = next; }
        else if (strcmp(a, "--shape") == 0) {
            NEED_ARG();
            const char *eq = strrchr(next, '=');
            if (!eq || cli->nshapes == XF_CLI_MAX) return usage_error("bad --shape '%s': expected NAME=1x16", next);
            xf_shape_opt *s = &cli->shapes[cli->nshapes++];
            snprintf(s->name, sizeof s->name, "%.*s", (int)(eq - next), next);
            if (!parse_dims(eq + 1, s->dims, &s->rank)) return usage_error("bad --shape '%s': expected NAME=1x16", next);
        } else if (strcmp(a, "--bind") == 0) {
            NEED_ARG();
            const char *eq = strchr(next, '=');
            if (!eq || eq == next || !eq[1] || cli->nbind == XF_CLI_MAX)
                return usage_error("bad --bind '%s': expected NAME=FILE.pb", next);
            snprintf(cli->bind_name[cli->nbind], sizeof cli->bind_name[0], "%.*s", (int)(eq - next), next);
            cli->bind_file[cli->nbind++] = eq + 1;
        } else if (run && strcmp(a, "--input") == 0) {
            NEED_ARG();
            if (cli->ninputs == XF_CLI_MAX) return usage_error("too many %s options", a);
            cli->inputs[cli->ninputs++] = next;
        } else if (run && strcmp(a, "--expect") == 0) {
            NEED_ARG();
            if (cli->nexpect == XF_CLI_MAX) return usage_error("too many %s options", a);
            cli->expect[cli->nexpect++] = next;
        } else if (run && strcmp(a, "--output") == 0) {
            NEED_ARG();
            if (cli->nsave == XF_CLI_MAX) return usage_error("too many %s options", a);
            cli->save[cli->nsave++] = next;
        } else if (run && (strcmp(a, "--atol") == 0 || strcmp(a, "--rtol") == 0)) {
            NEED_ARG();
            char *end;
            double v = strtod(next, &end);
            if (*end || v < 0) return usage_error("bad tolerance '%s'", next);
            *(a[2] == 'a' ? &cli->atol : &cli->rtol) = v;
        } else if (run && strcmp(a, "--repeat") == 0) {
            NEED_ARG();
            cli->repeat = atoi(next);
            if (cli->repeat < 1 || cli->repeat > 100000) return usage_error("bad --repeat '%s'", next);
        } else if (a[0] == '-' && a[1]) return usage_error("unknown option '%s'", a);
        else if (cli->model) return usage_error("unexpected argument '%s': one model at a time", a);
        else cli->model = a;
#undef NEED_ARG
    }
    if (!cli->model) return usage_error("%s", "no model given");
    return 0;
}

/* The file name without directory and extension. */
static char *stem(xf_arena *a, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return xf_sprintf(a, "%.*s", (int)(dot && dot != base ? dot - base : (long)strlen(base)), base);
}

char *xf_default_prefix(xf_arena *a, const char *out_path) {
    return xf_c_ident(a, "", stem(a, out_path));
}

/* --bind NAME=FILE.pb: the input becomes a constant holding the file's tensor, so whatever depends on
 * it (a Reshape's shape, a Slice's starts) is known at compile time. */
static bool bind_inputs(xf_graph *g, void *ctx, xf_diag *d) {
    const xf_cli *cli = ctx;
    for (int i = 0; i < cli->nbind; i++) {
        int32_t k = 0;
        while (k < g->ninputs && strcmp(g->values[g->inputs[k]].name, cli->bind_name[i]) != 0) k++;
        if (k == g->ninputs) return xf_fail(d, g, NULL, "--bind names '%s', which is not a graph input", cli->bind_name[i]);
        xf_value *v = &g->values[g->inputs[k]];
        xf_tensor t;
        if (!xf_tensor_load_pb(g->arena, cli->bind_file[i], &t, d)) return false;
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

xf_graph *xf_compile(const xf_cli *cli, xf_diag *d) {
    /* inputs are bound while the model loads, before its nodes: If conditions and Loop trip counts
     * may depend on them */
    xf_graph *g = xf_onnx_load_bound(cli->model, bind_inputs, (void *)cli, d);
    if (!g) return NULL;
    g->nodes_in = g->nnodes;
    for (int i = 0; i < cli->nshapes; i++) {
        const xf_shape_opt *s = &cli->shapes[i];
        int32_t found = -1;
        for (int32_t k = 0; k < g->ninputs; k++)
            if (strcmp(g->values[g->inputs[k]].name, s->name) == 0) found = g->inputs[k];
        if (found < 0) {
            xf_fail(d, g, NULL, "--shape names '%s', which is not a graph input", s->name);
            goto fail;
        }
        xf_value *v = &g->values[found];
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
    if (!xf_run_pipeline(g, &cli->opts, d)) goto fail;
    return g;
fail:
    xf_graph_free(g);
    return NULL;
}

int64_t xf_weight_bytes(const xf_graph *g) {
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

void xf_print_summary(const xf_graph *g, FILE *f) {
    int64_t intermediates = 0, weights = xf_weight_bytes(g);
    int32_t live = 0;
    for (int32_t i = 0; i < g->nnodes; i++) live += !g->nodes[i].dead;
    for (int32_t v = 0; v < g->nvalues; v++) {
        const xf_value *x = &g->values[v];
        if (x->offset >= 0 && x->alias_of < 0) intermediates += (xf_value_bytes(x) + 63) / 64 * 64;
    }
    fprintf(f, "xfc: %d nodes, %lld weight bytes, arena %lld bytes (sum of intermediates %lld bytes)\n", live,
            (long long)weights, (long long)g->arena_bytes, (long long)intermediates);
}

static int compile_main(int argc, char **argv) {
    xf_cli cli;
    int rc = xf_parse_args(&cli, argc, argv, false);
    if (rc) return rc;
    xf_arena *a = xf_arena_new();
    const char *out = cli.out ? cli.out : xf_sprintf(a, "%s.c", stem(a, cli.model));
    const char *prefix = cli.name ? cli.name : xf_default_prefix(a, out);
    xf_diag d = {0};
    if (cli.name && strcmp(xf_c_ident(a, "", cli.name), cli.name) != 0) {
        fprintf(stderr, "xfc: error: --name '%s' is not a C identifier\n", cli.name);
        xf_arena_free(a);
        return 2;
    }
    xf_graph *g = xf_compile(&cli, &d);
    if (!g) {
        xf_arena_free(a);
        return xf_die(&d);
    }
    if (cli.dump_ir) xf_graph_dump(g, stderr);
    if (cli.verbose) xf_print_summary(g, stderr);
    xf_emit_options eo = {.prefix = prefix, .source = cli.model, .opt_level = cli.opts.opt_level,
                          .target = cli.target, .freestanding = cli.freestanding,
                          .weights_section = cli.weights_section};
    bool ok = xf_backend_find("c")->emit(g, &eo, out, &d);
    xf_graph_free(g);
    xf_arena_free(a);
    return ok ? 0 : xf_die(&d);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("xfc %s\n", XF_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--list-passes") == 0) {
        for (int i = 0; i < xf_npasses; i++)
            printf("%-12s -O%d  %s\n", xf_passes[i].name, xf_passes[i].min_level, xf_passes[i].summary);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0) return xf_run_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "report") == 0) return xf_report_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "compare") == 0) return xf_compare_main(argc - 2, argv + 2);
    return compile_main(argc - 1, argv + 1);
}
