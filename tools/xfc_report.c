/* xfc_report.c — `xfc report`: what the pipeline did to a model. Node counts before and after,
 * arena and weight bytes, an estimate of the floating-point work, the fusions applied and the near
 * misses with their reasons, as text or as JSON (--json) for scripts. With --target, also the
 * firmware footprint (tools/xfc_footprint.c). */
#include <stdio.h>
#include <string.h>

#include "../codegen/backend.h"
#include "xfc.h"

static int64_t numel(const xf_graph *g, int32_t v) {
    return v < 0 ? 0 : xf_value_numel(&g->values[v]);
}

/* Multiply-adds count two. An estimate for comparing builds, not a cycle count. */
static int64_t node_flops(const xf_graph *g, const xf_node *n) {
    const xf_value *x = xf_in((xf_graph *)g, n, 0), *y = xf_out((xf_graph *)g, n, 0);
    int64_t out = y ? xf_value_numel(y) : 0;
    switch (n->op) {
    case XF_OP_MATMUL: case XF_OP_LINEAR: case XF_OP_MATMUL_INTEGER: return 2 * out * x->shape[x->rank - 1];
    case XF_OP_QLINEAR_MATMUL: return 2 * out * x->shape[x->rank - 1] + 4 * out; /* + requantization */
    case XF_OP_GEMM: {
        int64_t k = xf_attr_int(n, "transA", 0) ? x->shape[0] : x->shape[1];
        return 2 * out * k;
    }
    case XF_OP_CONV: case XF_OP_CONV_INTEGER: case XF_OP_QLINEAR_CONV: case XF_OP_DEFORM_CONV: {
        const xf_value *w = xf_in((xf_graph *)g, n, n->op == XF_OP_QLINEAR_CONV ? 3 : 1);
        int64_t per = 1;
        for (int i = 1; i < w->rank; i++) per *= w->shape[i];
        return 2 * out * per;
    }
    case XF_OP_ATTENTION: { /* q k^T and p v, plus the softmax */
        const xf_value *k = xf_in((xf_graph *)g, n, 1);
        int64_t keys = k->shape[k->rank - 2];
        return 4 * out * keys + 5 * (out / y->shape[y->rank - 1]) * keys;
    }
    case XF_OP_SSD_SCAN: /* per step and state: decay, input, output multiply-add */
        return 6 * out * g->values[n->in[3]].shape[g->values[n->in[3]].rank - 1];
    case XF_OP_SELECTIVE_SCAN: return 8 * out * (n->nin > 2 ? g->values[n->in[2]].shape[g->values[n->in[2]].rank - 1] : 1);
    case XF_OP_SOFTMAX: case XF_OP_LOG_SOFTMAX: case XF_OP_LAYER_NORM: case XF_OP_RMS_NORM: return 5 * out;
    case XF_OP_REDUCE_MEAN: case XF_OP_REDUCE_SUM: case XF_OP_REDUCE_MAX: case XF_OP_REDUCE_MIN:
    case XF_OP_CUMSUM: case XF_OP_CAUSAL_CONV1D: return numel(g, n->in[0]) * (n->op == XF_OP_CAUSAL_CONV1D ? 8 : 1);
    case XF_OP_FUSED_ELEMENTWISE: {
        const xf_attr *p = xf_attr_get(n, "program");
        return out * (p ? p->n / 6 : 1);
    }
    default: return xf_ops[n->op].arity ? out : 0; /* data movement computes nothing */
    }
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
    xf_fusion_stats stats = {.nmissed = 0};
    cli.opts.stats = &stats;
    xf_graph *g = xf_compile(&cli, &d);
    if (!g) return xf_die(&d);
    int32_t nodes_out = 0;
    int64_t flops = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead) continue;
        nodes_out++;
        flops += node_flops(g, &g->nodes[i]);
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
            fprintf(f, "%s\"%s\": %d", k ? ", " : "", xf_fusion_names[k], stats.fused[k]);
        fputs("},\n \"missed\": [", f);
        for (int32_t i = 0; i < stats.nmissed; i++) {
            fputs(i ? ",\n   {\"pattern\": " : "\n   {\"pattern\": ", f);
            json_str(f, stats.missed[i].pattern);
            fputs(", \"node\": ", f);
            json_str(f, stats.missed[i].node);
            fputs(", \"reason\": ", f);
            json_str(f, stats.missed[i].reason);
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
            if (stats.fused[k]) {
                fprintf(f, " %s %d", xf_fusion_names[k], stats.fused[k]);
                any = true;
            }
        fputs(any ? "\n" : " none\n", f);
        for (int32_t i = 0; i < stats.nmissed; i++)
            fprintf(f, "missed        %s at '%s': %s\n", stats.missed[i].pattern, stats.missed[i].node,
                    stats.missed[i].reason);
        if (cli.target)
            fprintf(f, "%-13s flash %lld bytes (code %lld + weights %lld), ram %lld bytes (arena %lld + stack %lld)\n",
                    cli.target, (long long)fp.flash, (long long)fp.code, (long long)weights, (long long)fp.ram,
                    (long long)g->arena_bytes, (long long)fp.stack);
    }
    xf_graph_free(g);
    return 0;
}
