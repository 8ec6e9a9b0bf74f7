/* model.h — what an xfc_model is, for the xfc command's own subcommands (run, report, compare),
 * which look inside a compiled model. Programs using the library see only include/xfc.h. */
#ifndef XF_API_MODEL_H
#define XF_API_MODEL_H
#include "../include/xfc.h"
#include "../ir/ir.h"
#include "../passes/passes.h"

struct xfc_model {
    xf_graph *g;        /* optimised, planned and lowered */
    int opt_level;
    const char *source; /* the model's path, named in generated files */
    xf_fusion_stats fusions; /* what the passes fused and missed, for xfc report */
};
#endif
