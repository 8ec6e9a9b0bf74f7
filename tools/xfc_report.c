/* xfc_report.c — `xfc report`: what the pipeline did to a model. Node counts before and after,
 * arena and weight bytes, an estimate of the floating-point work, the fusions applied and the near
 * misses with their reasons, as text or as JSON (--json) for scripts. With --target, also the
 * firmware footprint (tools/xfc_footprint.c). */
#include <stdio.h>
#include <string.h>

#include "../codegen/backend.h"
#include "../lower/lower.h"
#include "xfc.h"

/* The work of one node: its kernel calls' costs from the kernel table, or for an elementwise loop
 * one operation per output element and step. An estimate for comparing builds, not a cycle count. */
static int64_t node_flops(const xf_graph *g, int32_t i) {
    const xf_node *n = &g->nodes[i];
    const xf_lowering *l = xf_lowered(g);
    int64_t flops = 0;
    for (int32_t c = l->first[i]; c < l->first[i] + l->count[i]; c++) flops += xf_call_cost(g, &l->calls[c]).flops;
    if (xf_ops[n->op].arity || n->op == XF_OP_FUSED_ELEMENTWISE) {
        const xf_attr *program = xf_attr_get(n, "program");
        flops = xf_value_numel(&g->values[n->out[0]]) * (program ? program->n / 6 : 1);
    }
    return flops;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

int xf_report_main(int argc, char **argv) {
    xf_cli cli;
    int rc = xf_parse_args(&cli, argc, argv, false);
    if (rc) return rc;
    xf_diag d = {0};
    xf_graph *g = xf_compile(&cli, &d);
    if (!g) return xf_die(&d);
    int32_t nodes_out = 0;
    int64_t flops = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        nodes_out++;
        flops += node_flops(g, i);
    }
    int64_t weights = xf_weight_bytes(g);
    xf_footprint fp = {0};
    if (cli.target && !xf_firmware_footprint(g, &cli, &fp, &d)) {
        xf_graph_free(g);
        return xf_die(&d);
    }
    FILE *f = stdout;
    if (cli.json) {
        fputs("{\"model\": ", f);
        json_str(f, cli.model);
        fprintf(f, ", \"opt_level\": %d, \"nodes_in\": %d, \"nodes_out\": %d, \"arena_bytes\": %lld, "
                   "\"weight_bytes\": %lld, \"flops\": %lld,\n \"fusions\": {",
                cli.opts.opt_level, g->nodes_in, nodes_out, (long long)g->arena_bytes, (long long)weights,
                (long long)flops);
        for (int k = 0; k < XF_FUSION_COUNT; k++)
            fprintf(f, "%s\"%s\": %d", k ? ", " : "", xf_fusion_names[k], g->fused[k]);
        fputs("},\n \"missed\": [", f);
        for (int32_t i = 0; i < g->nmissed; i++) {
            fputs(i ? ",\n   {\"pattern\": " : "\n   {\"pattern\": ", f);
            json_str(f, g->missed[i].pattern);
            fputs(", \"node\": ", f);
            json_str(f, g->missed[i].node);
            fputs(", \"reason\": ", f);
            json_str(f, g->missed[i].reason);
            fputs("}", f);
        }
        fputs("]", f);
        if (cli.target) {
            fputs(",\n \"target\": ", f);
            json_str(f, cli.target);
            fprintf(f, ", \"flash_bytes\": %lld, \"ram_bytes\": %lld, \"code_bytes\": %lld, \"stack_bytes\": %lld",
                    (long long)fp.flash, (long long)fp.ram, (long long)fp.code, (long long)fp.stack);
        }
        fputs("}\n", f);
    } else {
        fprintf(f, "model         %s (-O%d)\n", cli.model, cli.opts.opt_level);
        fprintf(f, "nodes         %d in, %d out\n", g->nodes_in, nodes_out);
        fprintf(f, "arena         %lld bytes\n", (long long)g->arena_bytes);
        fprintf(f, "weights       %lld bytes\n", (long long)weights);
        fprintf(f, "flops         %lld (estimate, one inference)\n", (long long)flops);
        fputs("fusions      ", f);
        bool any = false;
        for (int k = 0; k < XF_FUSION_COUNT; k++)
            if (g->fused[k]) {
                fprintf(f, " %s %d", xf_fusion_names[k], g->fused[k]);
                any = true;
            }
        fputs(any ? "\n" : " none\n", f);
        for (int32_t i = 0; i < g->nmissed; i++)
            fprintf(f, "missed        %s at '%s': %s\n", g->missed[i].pattern, g->missed[i].node, g->missed[i].reason);
        if (cli.target)
            fprintf(f, "%-13s flash %lld bytes (code %lld + weights %lld), ram %lld bytes (arena %lld + stack %lld)\n",
                    cli.target, (long long)fp.flash, (long long)fp.code, (long long)weights, (long long)fp.ram,
                    (long long)g->arena_bytes, (long long)fp.stack);
    }
    xf_graph_free(g);
    return 0;
}
