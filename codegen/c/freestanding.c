/* freestanding.c — what generated code uses instead of <math.h> and <string.h> when it must need no
 * libc (not written yet). */
#include <stdio.h>
#include <string.h>

#include "../backend.h"

void xf_emit_freestanding_prelude(FILE *out, bool *kernel_used) {
    (void)kernel_used;
    fputs("\n#include <math.h>\n#include <string.h>\n\n", out);
}

static const xf_target targets[] = {
    {"cortex-m0", "-mcpu=cortex-m0 -mthumb -mfloat-abi=soft", false},
    {"cortex-m4", "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16", true},
    {"cortex-m7", "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16", true},
    {"cortex-m33", "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16", true},
};

const xf_target *xf_target_find(const char *name) {
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (strcmp(targets[i].name, name) == 0) return &targets[i];
    return NULL;
}
