/* xfc_report.c — `xfc report`: what the pipeline did to a model. Node counts before and after,
 * arena and weight bytes, an estimate of the floating-point work, the fusions applied and the near
 * misses with their reasons, as text or as JSON (--json) for scripts. With --target, also the
 * firmware footprint (tools/xfc_footprint.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
    xfc_model *m = xf_cli_compile(&cli);
    if (!m) return 2;
    const xf_fusion_stats *fusions = &m->fusions;
    xfc_stats stats = xfc_model_stats(m);
    int64_t weights = stats.weight_bytes;
    xf_footprint fp = {0};
    if (cli.c.target && !xf_firmware_footprint(m, &cli, &fp, &d)) {
        xfc_model_free(m);
        return xf_die(&d);
    }
    FILE *f = stdout;
    if (cli.json) {
        fputs("{\"model\": ", f);
        json_str(f, cli.model);
        fprintf(f, ", \"opt_level\": %d, \"nodes_in\": %d, \"nodes_out\": %d, \"arena_bytes\": %lld, "
                   "\"weight_bytes\": %lld, \"flops\": %lld,\n \"fusions\": {",
                cli.opts.opt_level, stats.nodes_in, stats.nodes_out, (long long)stats.arena_bytes, (long long)weights,
                (long long)stats.flops);
        for (int k = 0; k < XF_FUSION_COUNT; k++)
            fprintf(f, "%s\"%s\": %d", k ? ", " : "", xf_fusion_names[k], fusions->fused[k]);
        fputs("},\n \"missed\": [", f);
        for (int32_t i = 0; i < fusions->nmissed; i++) {
            fputs(i ? ",\n   {\"pattern\": " : "\n   {\"pattern\": ", f);
            json_str(f, fusions->missed[i].pattern);
            fputs(", \"node\": ", f);
            json_str(f, fusions->missed[i].node);
            fputs(", \"reason\": ", f);
            json_str(f, fusions->missed[i].reason);
            fputs("}", f);
        }
        fputs("]", f);
        if (cli.c.target) {
            fputs(",\n \"target\": ", f);
            json_str(f, cli.c.target);
            fprintf(f, ", \"flash_bytes\": %lld, \"ram_bytes\": %lld, \"code_bytes\": %lld, \"stack_bytes\": %lld",
                    (long long)fp.flash, (long long)fp.ram, (long long)fp.code, (long long)fp.stack);
        }
        fputs("}\n", f);
    } else {
        fprintf(f, "model         %s (-O%d)\n", cli.model, cli.opts.opt_level);
        fprintf(f, "nodes         %d in, %d out\n", stats.nodes_in, stats.nodes_out);
        fprintf(f, "arena         %lld bytes\n", (long long)stats.arena_bytes);
        fprintf(f, "weights       %lld bytes\n", (long long)weights);
        fprintf(f, "flops         %lld (estimate, one inference)\n", (long long)stats.flops);
        fputs("fusions      ", f);
        bool any = false;
        for (int k = 0; k < XF_FUSION_COUNT; k++)
            if (fusions->fused[k]) {
                fprintf(f, " %s %d", xf_fusion_names[k], fusions->fused[k]);
                any = true;
            }
        fputs(any ? "\n" : " none\n", f);
        for (int32_t i = 0; i < fusions->nmissed; i++)
            fprintf(f, "missed        %s at '%s': %s\n", fusions->missed[i].pattern, fusions->missed[i].node,
                    fusions->missed[i].reason);
        if (cli.c.target)
            fprintf(f, "%-13s flash %lld bytes (code %lld + weights %lld), ram %lld bytes (arena %lld + stack %lld)\n",
                    cli.c.target, (long long)fp.flash, (long long)fp.code, (long long)weights, (long long)fp.ram,
                    (long long)stats.arena_bytes, (long long)fp.stack);
    }
    xfc_model_free(m);
    return 0;
}
