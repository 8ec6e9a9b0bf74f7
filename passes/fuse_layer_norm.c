/* fuse_layer_norm.c — not written yet: the pass changes nothing. */
#include "match.h"

bool xf_pass_fuse_layer_norm(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)g, (void)o, (void)d;
    return false;
}
