/* cli.c — what the xfc command's subcommands share: the command line parsed into the library's
 * options (xfc_options, xfc_c_options), compiling through the library, the one-line error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    xfc_options_default(&cli->opts);
    cli->opts.shapes = cli->shapes;
    cli->opts.bindings = cli->bindings;
    cli->opts.disabled_passes = cli->disabled;
    cli->atol = 1e-4;
    cli->repeat = 1;
    cli->threads = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG() \
    do { if (!next) return usage_error("option %s needs an argument", a); i++; } while (0)
        if (strcmp(a, "-o") == 0) { NEED_ARG(); cli->out = next; }
        else if (strcmp(a, "--name") == 0) { NEED_ARG(); cli->name = next; }
        else if (strcmp(a, "-O0") == 0 || strcmp(a, "-O1") == 0 || strcmp(a, "-O2") == 0) cli->opts.opt_level = a[2] - '0';
        else if (strcmp(a, "--dump-ir") == 0) cli->dump_ir = true;
        else if (strcmp(a, "--freestanding") == 0) cli->c.freestanding = true;
        else if (strcmp(a, "--json") == 0) cli->json = true;
        else if (strcmp(a, "--target") == 0) {
            NEED_ARG();
            if (!xf_target_find(next)) return usage_error("unknown target '%s' (cortex-m0, cortex-m4, cortex-m7, cortex-m33)", next);
            cli->c.target = next;
            cli->c.freestanding = true;
        } else if (strcmp(a, "--weights-section") == 0) {
            NEED_ARG();
            if (next[0] != '.' || strlen(next) < 2) return usage_error("bad --weights-section '%s': expected .NAME", next);
            cli->c.weights_section = next;
        } else if (strcmp(a, "--weights") == 0) {
            NEED_ARG();
            if (strcmp(next, "inline") == 0) cli->c.weights = XFC_WEIGHTS_INLINE;
            else if (strcmp(next, "incbin") == 0) cli->c.weights = XFC_WEIGHTS_INCBIN;
            else if (strcmp(next, "external") == 0) cli->c.weights = XFC_WEIGHTS_EXTERNAL;
            else return usage_error("bad --weights '%s': expected inline, incbin or external", next);
        }
        else if (strcmp(a, "-v") == 0) cli->verbose = true;
        else if (strcmp(a, "--disable-pass") == 0) {
            NEED_ARG();
            if (cli->opts.ndisabled == 16) return usage_error("too many %s options", a);
            cli->disabled[cli->opts.ndisabled++] = next;
        } else if (strcmp(a, "--print-after") == 0) { NEED_ARG(); cli->opts.print_after = next; }
        else if (strcmp(a, "--shape") == 0) {
            NEED_ARG();
            const char *eq = strrchr(next, '=');
            int k = cli->opts.nshapes;
            if (!eq || k == XF_CLI_MAX) return usage_error("bad --shape '%s': expected NAME=1x16", next);
            snprintf(cli->shape_names[k], sizeof cli->shape_names[k], "%.*s", (int)(eq - next), next);
            cli->shapes[k].name = cli->shape_names[k];
            if (!parse_dims(eq + 1, cli->shapes[k].dims, &cli->shapes[k].rank))
                return usage_error("bad --shape '%s': expected NAME=1x16", next);
            cli->opts.nshapes++;
        } else if (strcmp(a, "--bind") == 0) {
            NEED_ARG();
            const char *eq = strchr(next, '=');
            int k = cli->opts.nbindings;
            if (!eq || eq == next || !eq[1] || k == XF_CLI_MAX)
                return usage_error("bad --bind '%s': expected NAME=FILE.pb", next);
            snprintf(cli->binding_names[k], sizeof cli->binding_names[k], "%.*s", (int)(eq - next), next);
            cli->bindings[k] = (xfc_binding){cli->binding_names[k], eq + 1};
            cli->opts.nbindings++;
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
        } else if (run && strcmp(a, "--threads") == 0) {
            NEED_ARG();
            char *end;
            long v = strtol(next, &end, 10);
            if (end == next || *end || v < 1 || v > 1024) return usage_error("bad --threads '%s' (1 to 1024)", next);
            cli->threads = (int)v;
        } else if (a[0] == '-' && a[1]) return usage_error("unknown option '%s'", a);
        else if (cli->model) return usage_error("unexpected argument '%s': one model at a time", a);
        else cli->model = a;
#undef NEED_ARG
    }
    if (!cli->model) return usage_error("%s", "no model given");
    return 0;
}

/* The file name without directory and extension. */
char *xf_path_stem(xf_arena *a, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return xf_sprintf(a, "%.*s", (int)(dot && dot != base ? dot - base : (long)strlen(base)), base);
}

char *xf_default_prefix(xf_arena *a, const char *out_path) {
    return xf_c_ident(a, "", xf_path_stem(a, out_path));
}

xfc_model *xf_cli_compile(const xf_cli *cli) {
    xfc_error err;
    xfc_model *m = xfc_compile(cli->model, &cli->opts, &err);
    if (!m) fprintf(stderr, "xfc: error: %s\n", err.message);
    return m;
}

void xf_print_summary(const xfc_model *m, FILE *f) {
    const xf_graph *g = m->g;
    xfc_stats s = xfc_model_stats(m);
    int64_t intermediates = 0;
    for (int32_t v = 0; v < g->nvalues; v++) {
        const xf_value *x = &g->values[v];
        if (x->offset >= 0 && x->alias_of < 0) intermediates += (xf_value_bytes(x) + 63) / 64 * 64;
    }
    fprintf(f, "xfc: %d nodes, %lld weight bytes, arena %lld bytes (sum of intermediates %lld bytes)\n", s.nodes_out,
            (long long)s.weight_bytes, (long long)s.arena_bytes, (long long)intermediates);
}
