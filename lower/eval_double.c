/* eval_double.c — elementwise ops on float64 constants, for the constant folder (eval.c).
 *
 * ops.def writes each expression once, for float (expf, 1.0f). The C backend prints a float64 loop
 * with the double functions (it drops the f suffixes), so folding must compute the same: here the
 * float names are defined to the double ones and the expressions compiled again. Only a constant
 * written with more digits than a float holds (0.044715f in GELU) keeps its float value. */
#include <math.h>

#include "../ir/ir.h"

#define fmaxf fmax
#define fminf fmin
#define fmodf fmod
#define powf pow
#define expf exp
#define fabsf fabs
#define sqrtf sqrt
#define logf log
#define erff erf
#define tanhf tanh
#define sinf sin
#define cosf cos
#define floorf floor
#define ceilf ceil
#define log1pf log1p
#define tanf tan
#define asinf asin
#define acosf acos
#define atanf atan
#define sinhf sinh
#define coshf cosh
#define asinhf asinh
#define acoshf acosh
#define atanhf atanh
#define rintf rint

double xf_eval_double(int op, double a, double b, double c) {
    (void)a, (void)b, (void)c;
    switch (op) {
#define XF_EW(id, name, cat, arity, out, fexpr, iexpr) case XF_OP_##id: return (double)(fexpr);
#include "../ir/ops.def"
    }
    XF_ASSERT(!"not elementwise");
    return 0;
}
