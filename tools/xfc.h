/* xfc.h — what the driver's commands share: parsed options and the compile step. */
#ifndef XF_TOOL_H
#define XF_TOOL_H
#include <stdio.h>

#include "../codegen/backend.h"
#include "../passes/passes.h"

#define XF_CLI_MAX 64

typedef struct xf_shape_opt {
    char name[256];
    int64_t dims[XF_MAX_RANK];
    int rank;
} xf_shape_opt;

typedef struct xf_cli {
    const char *model, *out, *name;
    const char *target;          /* --target cortex-m4 ... */
    bool freestanding;           /* --freestanding (implied by --target) */
    const char *weights_section; /* --weights-section .NAME */
    xf_weights_form weights;     /* --weights inline|incbin|external */
    bool json;                   /* report --json */
    xf_options opts;
    bool dump_ir, verbose;
    xf_shape_opt shapes[XF_CLI_MAX];
    int nshapes;
    char bind_name[XF_CLI_MAX][256]; /* --bind NAME=FILE.pb */
    const char *bind_file[XF_CLI_MAX];
    int nbind;
    const char *inputs[XF_CLI_MAX], *expect[XF_CLI_MAX], *save[XF_CLI_MAX];
    int ninputs, nexpect, nsave;
    double atol, rtol;
    int repeat;
} xf_cli;

/* Parses argv (after the command word); returns 0, or 2 after printing a usage error. */
int xf_parse_args(xf_cli *cli, int argc, char **argv, bool run);
/* Loads cli->model, applies --shape and runs the pipeline. NULL after reporting. */
xf_graph *xf_compile(const xf_cli *cli, xf_diag *d);
char *xf_default_prefix(xf_arena *a, const char *out_path);
void xf_print_summary(const xf_graph *g, FILE *f);
int xf_die(const xf_diag *d); /* prints the diagnostic, returns 2 */
int xf_run_main(int argc, char **argv);
int xf_compare_main(int argc, char **argv);
int xf_report_main(int argc, char **argv);
/* Bytes of the constants the generated code keeps (read by a live node or returned). */
int64_t xf_weight_bytes(const xf_graph *g);

/* Firmware footprint of a compiled graph for cli->target (tools/xfc_footprint.c). */
typedef struct xf_footprint {
    int64_t flash; /* code + weights + other read-only data */
    int64_t ram;   /* arena + static data + worst-case stack */
    int64_t code, stack;
} xf_footprint;
bool xf_firmware_footprint(const xf_graph *g, const xf_cli *cli, xf_footprint *fp, xf_diag *d);
#endif
