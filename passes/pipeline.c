/* pipeline.c — runs the passes of passes.def in order for the chosen -O level, with the verifier
 * between passes in checking builds, then lowers the graph to kernel calls (lower/). */
#include <stdio.h>
#include <string.h>

#include "../lower/lower.h"
#include "passes.h"

const xf_pass_info xf_passes[] = {
#define XF_PASS(name, level, summary) {#name, level, summary},
#include "passes.def"
#undef XF_PASS
};
const int xf_npasses = sizeof xf_passes / sizeof xf_passes[0];

const char *const xf_fusion_names[XF_FUSION_COUNT] = {
#define XF_FUSION_NAME(name) #name,
    XF_FUSIONS(XF_FUSION_NAME)
#undef XF_FUSION_NAME
};

typedef bool (*pass_fn)(xf_graph *, const xf_options *, xf_diag *);
static const pass_fn pass_fns[] = {
#define XF_PASS(name, level, summary) xf_pass_##name,
#include "passes.def"
#undef XF_PASS
};

static bool disabled(const xf_options *o, const char *name) {
    for (int i = 0; i < o->ndisabled; i++)
        if (strcmp(o->disabled[i], name) == 0) return true;
    return false;
}

bool xf_run_pipeline(xf_graph *g, const xf_options *o, xf_diag *d) {
    for (int i = 0; i < xf_npasses; i++) {
        const xf_pass_info *p = &xf_passes[i];
        /* fold and plan_memory are what make the graph compilable at all: never skipped */
        bool required = strcmp(p->name, "fold") == 0 || strcmp(p->name, "plan_memory") == 0;
        if (!required && (o->opt_level < p->min_level || disabled(o, p->name))) continue;
        pass_fns[i](g, o, d);
        if (d->set) return false;
#ifdef XF_VERIFY
        xf_graph_verify(g);
#endif
        if (o->print_after && strcmp(o->print_after, p->name) == 0) {
            fprintf(stderr, "; IR after %s\n", p->name);
            xf_graph_dump(g, stderr);
        }
    }
    /* the last step: every node to kernel calls, which backends print */
    return xf_lower_graph(g, d);
}

bool xf_run_pass(xf_graph *g, const char *name, const xf_options *o, xf_diag *d) {
    for (int i = 0; i < xf_npasses; i++)
        if (strcmp(xf_passes[i].name, name) == 0) {
            pass_fns[i](g, o, d);
            return !d->set;
        }
    return xf_fail(d, NULL, NULL, "unknown pass '%s' (xfc --list-passes lists them)", name);
}
