/* test_libm.c — accuracy of xfc's own math functions (runtime/libm.c), which freestanding generated
 * code uses instead of libm.
 *
 * Each function is sampled densely over its input range, against the host's double-precision libm
 * as the reference: a sweep over float bit patterns (uniform in the exponent, so every binade from
 * subnormals up is visited) and a linear sweep (dense where the function bends), plus the special
 * values (zeros of both signs, subnormals, infinities, NaN). The error is measured in units in the
 * last place of the correctly rounded float result. Each test prints the worst case it found and
 * asserts the bound documented in runtime/libm.c's header. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../runtime/libm.c"

/* ---- measuring ---- */

/* |got - want| in ulp of want rounded to float (for want = 0, of the smallest subnormal). NaN must
 * meet NaN, an infinity the same infinity, a zero the zero of the same sign; anything else
 * counts as an infinite error. */
static double ulp_error(float got, double want) {
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got) ? 0 : INFINITY;
    float w = (float)want;
    if (isinf(got) || isinf(w)) return got == w ? 0 : INFINITY;
    if (got == 0 && want == 0) return !signbit(got) == !signbit(want) ? 0 : INFINITY;
    int e;
    frexp(want, &e); /* |want| = m·2^e, m in [0.5, 1): one ulp is 2^(e-24) */
    if (want == 0 || e - 1 < -126) e = -125;
    return fabs((double)got - want) / ldexp(1.0, e - 24);
}

typedef struct worst {
    double err;
    float x, y;
} worst;

static void note(worst *w, double err, float x, float y) {
    if (err > w->err || (isinf(err) && !isinf(w->err))) *w = (worst){err, x, y};
}

static float from_bits(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

#define SWEEP 2000000 /* samples per sweep; a few seconds for all the functions */

/* Visits sign·x for x over [a, b], 0 <= a <= b, stepping through the bit patterns. */
static void sweep_bits(float a, float b, float sign, void (*visit)(float x, void *ctx), void *ctx) {
    uint32_t u0 = bits(a), u1 = bits(b), step = (u1 - u0) / SWEEP + 1;
    for (uint32_t u = u0; u <= u1; u += step) visit(sign * from_bits(u), ctx);
    visit(sign * b, ctx);
}

/* Calls visit(x) for x sampled over [lo, hi], for the special values in that range, and for NaN
 * and the infinities. */
static void sample(float lo, float hi, void (*visit)(float x, void *ctx), void *ctx) {
    static const float specials[] = {0.0f, -0.0f, 1.4e-45f, -1.4e-45f, FLT_MIN, -FLT_MIN, 1.0f, -1.0f,
                                     FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if (!(specials[i] < lo || specials[i] > hi) || isinf(specials[i])) visit(specials[i], ctx);
    if (hi >= 0) sweep_bits(lo > 0 ? lo : 0, hi, 1, visit, ctx);
    if (lo < 0) sweep_bits(hi < 0 ? -hi : 0, -lo, -1, visit, ctx);
    for (int i = 0; i <= SWEEP; i++) visit((float)(lo + ((double)hi - lo) * i / SWEEP), ctx);
}

typedef struct unary {
    float (*f)(float);
    double (*ref)(double);
    worst w;
} unary;

static void visit_unary(float x, void *ctx) {
    unary *u = ctx;
    note(&u->w, ulp_error(u->f(x), u->ref((double)x)), x, 0);
}

/* The worst error of f over [lo, hi]; prints it and asserts it is within bound ulp. */
static void check_unary(const char *name, float (*f)(float), double (*ref)(double), float lo, float hi,
                        double bound) {
    unary u = {f, ref, {0, 0, 0}};
    sample(lo, hi, visit_unary, &u);
    printf("%-8s on [%g, %g]: max error %.3f ulp at x = %.9g (bound %g)\n", name, lo, hi, u.w.err, u.w.x, bound);
    ck_assert_msg(u.w.err <= bound, "%s(%.9g) = %.9g, want %.9g: %.3f ulp > %g", name, u.w.x, f(u.w.x),
                  ref((double)u.w.x), u.w.err, bound);
}

/* ---- the functions ---- */

START_TEST(test_exact) {
    check_unary("fabsf", xf_fabsf, fabs, -FLT_MAX, FLT_MAX, 0);
    check_unary("floorf", xf_floorf, floor, -FLT_MAX, FLT_MAX, 0);
    check_unary("floorf", xf_floorf, floor, -2e7f, 2e7f, 0);
    check_unary("ceilf", xf_ceilf, ceil, -FLT_MAX, FLT_MAX, 0);
    check_unary("ceilf", xf_ceilf, ceil, -2e7f, 2e7f, 0);
    check_unary("sqrtf", xf_sqrtf, sqrt, -1, FLT_MAX, 0.5);
    /* The software square root sees only the significand and whether the exponent is odd, so
     * checking every float in [1, 4) proves it correctly rounded for all normal inputs. */
    for (uint32_t u = bits(1.0f); u < bits(4.0f); u++) {
        float x = from_bits(u), r = xf_sqrtf(x);
        if (ulp_error(r, sqrt((double)x)) > 0.5) ck_abort_msg("sqrtf(%.9g) = %.9g", x, r);
    }
}
END_TEST

START_TEST(test_exp_log) {
    check_unary("expf", xf_expf, exp, -104, 89, 1.05);
    check_unary("logf", xf_logf, log, -1, FLT_MAX, 1);
    check_unary("logf", xf_logf, log, 0.5f, 2, 1);
    check_unary("log1pf", xf_log1pf, log1p, -1, FLT_MAX, 1.5);
    check_unary("log1pf", xf_log1pf, log1p, -1, 4, 1.5);
}
END_TEST

START_TEST(test_tanh_erf) {
    check_unary("tanhf", xf_tanhf, tanh, -FLT_MAX, FLT_MAX, 1.5);
    check_unary("tanhf", xf_tanhf, tanh, -12, 12, 1.5);
    check_unary("erff", xf_erff, erf, -FLT_MAX, FLT_MAX, 1.25);
    check_unary("erff", xf_erff, erf, -5, 5, 1.25);
}
END_TEST

/* sin and cos in ulp near the origin, where RoPE and positional encodings mostly are; farther out
 * the absolute error, which is what a near-zero result can promise. */
typedef struct trig {
    float (*f)(float);
    double (*ref)(double);
    double max_abs;
    float at;
} trig;

static void visit_trig(float x, void *ctx) {
    trig *t = ctx;
    double want = t->ref((double)x), err = fabs((double)t->f(x) - want);
    if (isnan(want)) err = isnan(t->f(x)) ? 0 : INFINITY;
    if (!(err <= t->max_abs)) t->max_abs = err, t->at = x;
}

START_TEST(test_sin_cos) {
    check_unary("sinf", xf_sinf, sin, -64, 64, 2.5);
    check_unary("cosf", xf_cosf, cos, -64, 64, 2.5);
    for (int c = 0; c < 2; c++) {
        trig t = {c ? xf_cosf : xf_sinf, c ? cos : sin, 0, 0};
        sample(-65536, 65536, visit_trig, &t);
        printf("%s on [-65536, 65536]: max absolute error %.3g at x = %.9g (bound 1.2e-7)\n", c ? "cosf" : "sinf",
               t.max_abs, t.at);
        ck_assert_msg(t.max_abs <= 1.2e-7, "%s(%.9g): absolute error %.3g", c ? "cosf" : "sinf", t.at, t.max_abs);
    }
    /* beyond the documented range results degrade but stay in [-1, 1] */
    for (float x = 1e5f; x < 1e30f; x *= 1.37f) {
        ck_assert(fabsf(xf_sinf(x)) <= 1 && fabsf(xf_cosf(x)) <= 1);
        ck_assert(fabsf(xf_sinf(-x)) <= 1 && fabsf(xf_cosf(-x)) <= 1);
    }
}
END_TEST

/* The functions of the rarer elementwise ops. */
START_TEST(test_more) {
    check_unary("rintf", xf_rintf, rint, -FLT_MAX, FLT_MAX, 0);
    check_unary("rintf", xf_rintf, rint, -1e7f, 1e7f, 0);
    check_unary("tanf", xf_tanf, tan, -64, 64, 4.5);
    check_unary("atanf", xf_atanf, atan, -FLT_MAX, FLT_MAX, 2);
    check_unary("atanf", xf_atanf, atan, -4, 4, 2);
    check_unary("asinf", xf_asinf, asin, -1.5f, 1.5f, 3);
    check_unary("acosf", xf_acosf, acos, -1.5f, 1.5f, 3);
    check_unary("sinhf", xf_sinhf, sinh, -FLT_MAX, FLT_MAX, 3);
    check_unary("sinhf", xf_sinhf, sinh, -12, 12, 3);
    check_unary("coshf", xf_coshf, cosh, -FLT_MAX, FLT_MAX, 3);
    check_unary("coshf", xf_coshf, cosh, -12, 12, 3);
    check_unary("asinhf", xf_asinhf, asinh, -FLT_MAX, FLT_MAX, 2.5);
    check_unary("asinhf", xf_asinhf, asinh, -8, 8, 2.5);
    check_unary("acoshf", xf_acoshf, acosh, -2, FLT_MAX, 3);
    check_unary("acoshf", xf_acoshf, acosh, 1, 8, 3);
    check_unary("atanhf", xf_atanhf, atanh, -1.5f, 1.5f, 3);
    /* fmodf is exact; fminf and fmaxf return the other operand when one is NaN */
    uint32_t state = 1;
    for (int i = 0; i < 2000000; i++) {
        state = state * 1664525u + 1013904223u;
        float x = from_bits(state & 0xff7fffffu), y; /* no NaN or infinity: the exponent is < 255 */
        state = state * 1664525u + 1013904223u;
        y = i % 2 ? from_bits(state & 0xff7fffffu) : (float)(int32_t)(state % 2001) - 1000.0f;
        double err = ulp_error(xf_fmodf(x, y), fmod((double)x, (double)y));
        ck_assert_msg(err == 0, "fmodf(%.9g, %.9g) = %.9g, want %.9g", x, y, xf_fmodf(x, y), fmod(x, y));
    }
    static const float specials[] = {0, -0.0f, 1, -1, 2.5f, 1e-45f, FLT_MAX, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        for (size_t j = 0; j < sizeof specials / sizeof specials[0]; j++) {
            float x = specials[i], y = specials[j];
            ck_assert_msg(ulp_error(xf_fmodf(x, y), fmod(x, y)) == 0, "fmodf(%g, %g)", x, y);
            /* (of two zeros, either may come back) */
            float lo = xf_fminf(x, y), hi = xf_fmaxf(x, y);
            ck_assert_msg(lo == fminf(x, y) || (lo != lo && x != x && y != y), "fminf(%g, %g) = %g", x, y, lo);
            ck_assert_msg(hi == fmaxf(x, y) || (hi != hi && x != x && y != y), "fmaxf(%g, %g) = %g", x, y, hi);
        }
    printf("fmodf: exact; fminf, fmaxf: as C99\n");
}
END_TEST

/* powf: x = ±2^(-20..20) sampled by bit pattern, and special values, to the power of small integers
 * (the multiplying path), simple fractions and a spread of other exponents. The error of the
 * general path grows with |y·log x|: it must stay within the documented 2 + 2·|y·log x| ulp. */
START_TEST(test_pow) {
    static const float ys[] = {2, 3, 4, -1, -2, -3, -4, 1, 0.5f, -0.5f, 1.5f, 2.5f, -1.5f, 0.25f, 0.333333343f,
                               -0.333333343f, 0.1f, 5, 6, 7, -7, 10, 17, 64, -64, 0.9f, 1.1f, 3.7f, -2.3f, 8.5f,
                               0, -0.0f, INFINITY, -INFINITY, NAN, 1e-6f, 100, -100, 3e9f, -3e9f};
    static const float specials[] = {0, -0.0f, 1, -1, INFINITY, -INFINITY, NAN, FLT_MAX, -FLT_MAX, 1.4e-45f};
    const int n = 40000, nspecial = (int)(sizeof specials / sizeof specials[0]);
    const uint32_t lo = bits(9.5367432e-7f), hi = bits(1048576.0f);
    worst small = {0, 0, 0}, general = {0, 0, 0}; /* general: the error over the bound's scale */
    double general_max = 0;
    for (size_t j = 0; j < sizeof ys / sizeof ys[0]; j++)
        for (int i = 0; i < n + nspecial; i++) {
            float y = ys[j], x = i >= n ? specials[i - n] : from_bits(lo + (uint32_t)((uint64_t)(hi - lo) * (uint64_t)(i / 2) / (uint64_t)(n / 2)));
            if (i < n && i % 2) x = -x;
            double err = ulp_error(xf_powf(x, y), pow((double)x, (double)y));
            if (fabsf(y) <= 4 && floorf(y) == y) {
                note(&small, err, x, y);
                continue;
            }
            double scale = isfinite(x) && x != 0 && isfinite(y) ? fabs((double)y * log(fabs((double)x))) : 0;
            note(&general, err / (2 + 2 * scale), x, y);
            if (err > general_max && isfinite(err)) general_max = err;
        }
    printf("powf, integer |y| <= 4: max error %.3f ulp at x = %.9g, y = %g (bound 2.5)\n", small.err, small.x, small.y);
    ck_assert_msg(small.err <= 2.5, "powf(%.9g, %g): %.3f ulp", small.x, small.y, small.err);
    printf("powf, other y: max error %.3f ulp; at most %.3f of the bound 2 + 2·|y·log x| ulp, at x = %.9g, "
           "y = %g\n", general_max, general.err, general.x, general.y);
    ck_assert_msg(general.err <= 1, "powf(%.9g, %g) exceeds its bound: %.3f of it", general.x, general.y, general.err);
}
END_TEST

static Suite *libm_suite(void) {
    Suite *s = suite_create("libm");
    TCase *t = tcase_create("accuracy");
    tcase_set_timeout(t, 120); /* dense sampling; slower still under the sanitizers */
    tcase_add_test(t, test_exact);
    tcase_add_test(t, test_exp_log);
    tcase_add_test(t, test_tanh_erf);
    tcase_add_test(t, test_sin_cos);
    tcase_add_test(t, test_more);
    tcase_add_test(t, test_pow);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(libm_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
