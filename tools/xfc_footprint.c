/* xfc_footprint.c — firmware footprint for `xfc report --target` (not written yet). */
#include "xfc.h"

bool xf_firmware_footprint(const xf_graph *g, const xf_cli *cli, xf_footprint *fp, xf_diag *d) {
    (void)fp, (void)cli;
    return xf_fail(d, g, NULL, "footprint for --target is not supported yet");
}
