/* xfc.c — the command-line driver: dispatches to a subcommand, and compiles a model to C through
 * the library (include/xfc.h). `xfc run` (tools/xfc_run.c) also builds and runs the generated code.
 * Every user error ends as one line "xfc: error: ..." on stderr and exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: xfc MODEL.onnx [-o OUT.c] [options]      compile a model to C (OUT.c and OUT.h)\n"
    "       xfc run MODEL.onnx --input IN.pb... [--expect OUT.pb...] [options]\n"
    "                                                 compile, build with cc, run, compare\n"
    "       xfc report MODEL.onnx [--json] [--target T] [options]\n"
    "                                                 nodes, memory, FLOPs, fusions applied and missed\n"
    "       xfc compare MODEL.onnx [--input IN.pb...] [--repeat N] [options]\n"
    "                                                 build -O0 and -O2, compare speed, size, outputs\n"
    "       xfc --emit-pool DIR                      write xfc_pool.h and xfc_pool.c, a pthread\n"
    "                                                 executor for the generated _run_ex, into DIR\n"
    "       xfc --list-passes | --help | --version\n"
    "\n"
    "options:\n"
    "  -o FILE            output C file; the header is written beside it (default: MODEL's stem + .c);\n"
    "                     -o - writes the C alone to standard output\n"
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
    "  --weights FORM     inline: in the C as string literals (default); incbin: in OUT.bin, pulled\n"
    "                     in by the assembler; external: in OUT.bin, which the program passes to _run\n"
    "  -v                 print a summary: nodes, weights, arena bytes\n"
    "run options:\n"
    "  --input FILE.pb    a TensorProto for the next graph input (in order)\n"
    "  --expect FILE.pb   the expected TensorProto for the next graph output (in order)\n"
    "  --output FILE.pb   write the next graph output to FILE.pb\n"
    "  --atol A, --rtol R tolerance |got - want| <= A + R*|want| (default 1e-4, 0)\n"
    "  --repeat N         run N times and print the median time\n"
    "  --threads N        run (and compare) with N threads through the pool of --emit-pool (default 1)\n"
    "\n"
    "exit status: 0 success, 1 outputs differ beyond the tolerance, 2 error in the model or input\n";

static int compile_main(int argc, char **argv) {
    xf_cli cli;
    int rc = xf_parse_args(&cli, argc, argv, false);
    if (rc) return rc;
    xf_arena *a = xf_arena_new();
    const char *out = cli.out ? cli.out : xf_sprintf(a, "%s.c", xf_path_stem(a, cli.model));
    /* -o - (standard output) names nothing: the prefix comes from the model's name */
    const char *prefix = cli.name ? cli.name : xf_default_prefix(a, strcmp(out, "-") == 0 ? cli.model : out);
    if (cli.name && strcmp(xf_c_ident(a, "", cli.name), cli.name) != 0) {
        fprintf(stderr, "xfc: error: --name '%s' is not a C identifier\n", cli.name);
        xf_arena_free(a);
        return 2;
    }
    xfc_model *m = xf_cli_compile(&cli);
    if (!m) {
        xf_arena_free(a);
        return 2;
    }
    if (cli.dump_ir) xf_graph_dump(m->g, stderr);
    if (cli.verbose) xf_print_summary(m, stderr);
    cli.c.prefix = prefix;
    xfc_error err;
    bool ok = xfc_emit_c(m, out, &cli.c, &err);
    if (!ok) fprintf(stderr, "xfc: error: %s\n", err.message);
    xfc_model_free(m);
    xf_arena_free(a);
    return ok ? 0 : 2;
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
        const char *name, *summary;
        int level;
        for (int i = 0; xfc_pass_info(i, &name, &level, &summary); i++) printf("%-16s -O%d  %s\n", name, level, summary);
        return 0;
    }
    if (strcmp(argv[1], "--emit-pool") == 0) {
        if (argc != 3) {
            fputs("xfc: error: --emit-pool takes one argument, the directory\n", stderr);
            return 2;
        }
        xfc_error err;
        if (xfc_emit_pool(argv[2], &err)) return 0;
        fprintf(stderr, "xfc: error: %s\n", err.message);
        return 2;
    }
    if (strcmp(argv[1], "run") == 0) return xf_run_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "report") == 0) return xf_report_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "compare") == 0) return xf_compare_main(argc - 2, argv + 2);
    return compile_main(argc - 1, argv + 1);
}
