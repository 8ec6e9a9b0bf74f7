/* passes.h — the optimisation pipeline. Each pass is one file with one entry point
 * `bool xf_pass_NAME(xf_graph *, const xf_options *, xf_diag *)` returning whether it changed the
 * graph; a user error is reported through the diag (the pipeline stops at the first). */
#ifndef XF_PASSES_H
#define XF_PASSES_H
#include "../ir/ir.h"

/* What the fusion passes did, for `xfc report`: fusions applied per kind, and near misses with the
 * reason each did not fuse (strings in the graph's arena). */
#define XF_FUSIONS(X) X(rms_norm) X(layer_norm) X(attention) X(rope) X(gelu) X(silu) X(swiglu) \
    X(selective_scan) X(causal_conv1d) X(matmul_epilogue) X(elementwise) X(flash_norm)
enum {
#define XF_FUSION_ENUM(name) XF_FUSION_##name,
    XF_FUSIONS(XF_FUSION_ENUM)
#undef XF_FUSION_ENUM
    XF_FUSION_COUNT
};
extern const char *const xf_fusion_names[XF_FUSION_COUNT];
typedef struct xf_missed {
    const char *pattern, *node, *reason;
} xf_missed;
typedef struct xf_fusion_stats {
    int32_t fused[XF_FUSION_COUNT];
    xf_missed *missed;
    int32_t nmissed, cap_missed;
} xf_fusion_stats;

typedef struct xf_options {
    int opt_level;               /* 0, 1, 2 */
    const char *disabled[16];    /* --disable-pass NAME */
    int ndisabled;
    const char *print_after;     /* --print-after NAME: print the IR to stderr after that pass */
    xf_fusion_stats *stats;      /* where the passes count what they fused and missed; NULL: nowhere */
} xf_options;

#define XF_PASS(name, level, summary) bool xf_pass_##name(xf_graph *g, const xf_options *o, xf_diag *d);
#include "passes.def"
#undef XF_PASS

typedef struct xf_pass_info { const char *name; int min_level; const char *summary; } xf_pass_info;
extern const xf_pass_info xf_passes[];
extern const int xf_npasses;

/* The narrow storage types (passes/legalize_types.c), called by fold around each node's shape
 * inference: converts node's narrow inputs to their compute type (*narrow: the first such type, 0
 * when none), then converts the outputs that came out in that compute type back to it. */
bool xf_legalize_inputs(xf_graph *g, int32_t node, const xf_options *o, int32_t *narrow, xf_diag *d);
bool xf_legalize_outputs(xf_graph *g, int32_t node, int32_t narrow, const xf_options *o, xf_diag *d);

/* Whether node n, all of whose inputs are constants, is worth computing at compile time: the one
 * folding policy, of fold and of the frontend's folding while it expands control flow. */
bool xf_fold_worth(const xf_graph *g, const xf_node *n);

/* Runs the pipeline for o->opt_level, then lowers the graph (g->lowering). Returns false after
 * reporting an error. */
bool xf_run_pipeline(xf_graph *g, const xf_options *o, xf_diag *d);
/* Runs the one pass of passes.def called name, whatever o->opt_level (the golden tests do this).
 * Returns false after reporting an error or an unknown name. */
bool xf_run_pass(xf_graph *g, const char *name, const xf_options *o, xf_diag *d);
#endif
