/* cli.h — what the xfc command's subcommands share: the parsed command line and its helpers
 * (tools/cli.c). Compiling is the library's (include/xfc.h); the subcommands look inside the
 * compiled model (api/model.h). */
#ifndef XF_CLI_H
#define XF_CLI_H
#include <stdio.h>

#include "../api/model.h"
#include "../codegen/backend.h"

#define XF_CLI_MAX 64

typedef struct xf_cli {
    const char *model, *out, *name;
    xfc_options opts;    /* -O, --shape, --bind, --disable-pass, --print-after (arrays below) */
    xfc_c_options c;     /* --target, --freestanding, --weights-section, --weights; the prefix is
                            chosen per command */
    bool json;           /* report --json */
    bool dump_ir, verbose;
    xfc_input_shape shapes[XF_CLI_MAX];
    char shape_names[XF_CLI_MAX][256];
    xfc_binding bindings[XF_CLI_MAX];
    char binding_names[XF_CLI_MAX][256];
    const char *disabled[16];
    const char *inputs[XF_CLI_MAX], *expect[XF_CLI_MAX], *save[XF_CLI_MAX];
    int ninputs, nexpect, nsave;
    double atol, rtol;
    int repeat;
    int threads;         /* run, compare --threads */
} xf_cli;

/* tools/cli.c: what every subcommand shares. */
/* Parses argv (after the command word); returns 0, or 2 after printing a usage error. cli must not
 * be copied afterwards: opts points into it. */
int xf_parse_args(xf_cli *cli, int argc, char **argv, bool run);
/* Compiles cli->model with cli->opts. NULL after printing the error. */
xfc_model *xf_cli_compile(const xf_cli *cli);
char *xf_path_stem(xf_arena *a, const char *path); /* "dir/model.onnx" -> "model" */
char *xf_default_prefix(xf_arena *a, const char *out_path);
void xf_print_summary(const xfc_model *m, FILE *f);
int xf_die(const xf_diag *d); /* prints the diagnostic, returns 2 */
int xf_run_main(int argc, char **argv);
int xf_compare_main(int argc, char **argv);
int xf_report_main(int argc, char **argv);

/* Firmware footprint of a compiled model for cli->c.target (tools/xfc_footprint.c). */
typedef struct xf_footprint {
    int64_t flash; /* code + weights + other read-only data */
    int64_t ram;   /* arena + static data + worst-case stack */
    int64_t code, stack;
} xf_footprint;
bool xf_firmware_footprint(const xfc_model *m, const xf_cli *cli, xf_footprint *fp, xf_diag *d);
#endif
