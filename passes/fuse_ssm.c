/* fuse_ssm.c — not written yet: the pass changes nothing. */
#include "match.h"

bool xf_pass_fuse_ssm(xf_graph *g, const xf_options *o, xf_diag *d) {
    (void)g, (void)o, (void)d;
    return false;
}
