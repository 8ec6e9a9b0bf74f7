/* freestanding.c — what generated code uses instead of <math.h> and <string.h> when it must need no
 * C library (--freestanding, implied by --target), and the table of microcontroller targets.
 *
 * Firmware links no libm, or one that is slow or large, and its compiler may not ship <math.h> at
 * all. So in freestanding mode model.c includes only <stddef.h> and <stdint.h>, declares the four
 * memory functions every C toolchain provides (GCC itself may emit calls to them), takes INFINITY
 * and NAN from compiler builtins, and maps the math functions the kernels and elementwise loops call
 * (expf, sqrtf, ...) onto xfc's own float-only versions in runtime/libm.c. The kernels are copied
 * unchanged: a #define renames their calls. */
#include <stdio.h>
#include <string.h>

#include "../../lower/lower.h"
#include "../backend.h"

/* The libm.c functions standing in for <math.h>: the C name and the parameter list. */
static const struct {
    const char *name, *params;
} math_functions[] = {
    {"fabsf", "float"}, {"floorf", "float"}, {"ceilf", "float"}, {"rintf", "float"},
    {"fminf", "float, float"}, {"fmaxf", "float, float"}, {"fmodf", "float, float"},
    {"sqrtf", "float"}, {"expf", "float"}, {"logf", "float"}, {"log1pf", "float"}, {"powf", "float, float"},
    {"erff", "float"}, {"tanhf", "float"}, {"sinhf", "float"}, {"coshf", "float"},
    {"asinhf", "float"}, {"acoshf", "float"}, {"atanhf", "float"},
    {"sinf", "float"}, {"cosf", "float"}, {"tanf", "float"}, {"asinf", "float"}, {"acosf", "float"},
    {"atanf", "float"},
};

void xf_emit_freestanding_prelude(FILE *out, bool *kernel_used) {
    fputs("\n/* Freestanding: no <math.h> or <string.h>. The program supplies memcpy, memmove, memset and\n"
          " * memcmp (every C library and most firmware SDKs have them); the math functions are xfc's own,\n"
          " * in float only, below with the runtime kernels. */\n"
          "void *memcpy(void *restrict dst, const void *restrict src, size_t n);\n"
          "void *memmove(void *dst, const void *src, size_t n);\n"
          "void *memset(void *dst, int c, size_t n);\n"
          "int memcmp(const void *a, const void *b, size_t n);\n"
          "#define INFINITY (__builtin_inff())\n"
          "#define NAN (__builtin_nanf(\"\"))\n",
          out);
    /* Kernels come before the libm functions in the output, so declare these first. All of them are
     * emitted: which ones the elementwise loops call is not known here. The compiler drops those not
     * called; `unused` keeps it from warning about them (clang warns even for static inline). */
    for (size_t i = 0; i < sizeof math_functions / sizeof math_functions[0]; i++)
        fprintf(out, "static inline float xf_%s(%s) __attribute__((unused));\n#define %s xf_%s\n",
                math_functions[i].name, math_functions[i].params, math_functions[i].name, math_functions[i].name);
    fputc('\n', out);
    for (int k = 0; k < XF_K_COUNT; k++) {
        const char *name = xf_kernels[k].name;
        for (size_t i = 0; i < sizeof math_functions / sizeof math_functions[0]; i++)
            if (strncmp(name, "xf_", 3) == 0 && strcmp(name + 3, math_functions[i].name) == 0) kernel_used[k] = true;
    }
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
