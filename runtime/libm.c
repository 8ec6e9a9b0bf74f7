/* libm.c — xfc's own single-precision math functions, for generated code that must not need a C
 * library (--freestanding, --target cortex-m*).
 *
 * Firmware often links no libm, or one whose float functions are slow wrappers around double ones:
 * on a Cortex-M4 or M33, whose FPU is single precision, double arithmetic is emulated in software.
 * So everything here computes in float and integers only, and uses nothing but memcpy (bit casts,
 * which compilers turn into register moves). In freestanding mode the generated code maps expf,
 * logf, ... onto these functions with #defines (codegen/c/freestanding.c); xfc itself still folds
 * constants with the host's libm, so folded and computed values may differ in the last bit.
 *
 * The method is the classic one: reduce the argument to a small interval with exact steps, evaluate
 * a short polynomial there, and undo the reduction by scaling with a power of two. Coefficients are
 * Taylor coefficients where the series converges fast enough, elsewhere least-squares fits (made
 * with numpy on Chebyshev nodes, refined towards minimax, rounded to float one at a time).
 *
 * Worst-case errors, in units in the last place (ulp) of the exact result, against double-precision
 * libm; tests/unit/test_libm.c samples each function densely and asserts these bounds. In
 * parentheses, the largest error found when every float of the range was tried once.
 *   exact: fabsf floorf ceilf rintf fminf fmaxf fmodf; sqrtf correctly rounded (0.5)
 *   expf    1.05 (1.023)    tanhf   1.5 (1.459)    sinf, cosf  2.5 (2.331)  for |x| <= 64
 *   logf    1    (0.954)    sinhf   3   (2.503)    tanf        4.5 (4.254)  for |x| <= 64
 *   log1pf  1.5  (1.438)    coshf   3   (2.503)    asinf       3   (2.929)
 *   erff    1.25 (1.228)    asinhf  2.5 (2.136)    acosf       3   (2.673)
 *                           acoshf  3   (2.487)    atanf       2   (1.922)
 *                           atanhf  3   (2.507)
 *   sinf, cosf  beyond |x| = 64: within 1.2e-7 absolute (1.061e-7) up to |x| = 65536, then
 *               degrading, but staying in [-1, 1]
 *   powf        integer |y| <= 4 (x², x³, 1/x...): 2.5 ulp, y = 2 exactly rounded; other y:
 *               2 + 2·|y·ln x| ulp, since y·log x is rounded to float before the exponential
 *
 * Generated code carries all of them (freestanding.c declares them `unused`, so that compilers drop
 * the ones it does not call without a warning); `static inline` invites inlining the small ones.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c; the same
 * text is compiled into xfc. */
#include "kernels.h"

/* @kernel xf_f2u */
/* The bits of a float and back. */
XF_API uint32_t xf_f2u(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float xf_u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 2^k for -126 <= k <= 127, built from its exponent field. */
static inline float xf_pow2i(int32_t k) {
    return xf_u2f((uint32_t)(k + 127) << 23);
}

/* @kernel xf_fabsf */
XF_API float xf_fabsf(float x) {
    return xf_u2f(xf_f2u(x) & 0x7fffffffu);
}

/* @kernel xf_floorf */
/* Floats of magnitude 2^23 or more are integers (as are infinities; NaN passes through), smaller
 * ones fit an int32, whose conversion truncates towards zero. floor and ceil keep the sign of x
 * (floorf(-0.0f) is -0.0f, ceilf(-0.5f) is -0.0f), so the sign bit of x is copied over. */
XF_API float xf_floorf(float x) {
    if (!(xf_fabsf(x) < 8388608.0f)) return x;
    float t = (float)(int32_t)x;
    if (t > x) t -= 1.0f;
    return xf_u2f(xf_f2u(t) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_ceilf */
XF_API float xf_ceilf(float x) {
    if (!(xf_fabsf(x) < 8388608.0f)) return x;
    float t = (float)(int32_t)x;
    if (t < x) t += 1.0f;
    return xf_u2f(xf_f2u(t) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_sqrtf */
/* With a single-precision FPU, vsqrt.f32: correctly rounded, 14 cycles. (__builtin_sqrtf would also
 * compile to it, but then calls libm's sqrtf for negative inputs, to set errno.) Without one, the
 * square root of the significand is taken digit by digit in integers and rounded to nearest, which
 * is also correctly rounded: x = M·4^k with M a 47- or 48-bit integer, so sqrt(M) has 24 bits. */
XF_API float xf_sqrtf(float x) {
#if defined(__ARM_FP) && (__ARM_FP & 4)
    float r;
    __asm__("vsqrt.f32 %0, %1" : "=t"(r) : "t"(x));
    return r;
#else
    if (x == 0.0f || x != x || x == INFINITY) return x; /* keeps the sign of -0 */
    if (x < 0.0f) return NAN;
    uint32_t u = xf_f2u(x), m = u & 0x7fffffu;
    int32_t e = (int32_t)(u >> 23); /* x = m·2^(e-150) once m has its leading bit */
    if (e == 0) { /* subnormal: normalise */
        e = 1;
        while (!(m & 0x800000u)) {
            m <<= 1;
            e--;
        }
    } else {
        m |= 0x800000u;
    }
    int32_t shift = (e - 150 - 23) % 2 == 0 ? 23 : 24; /* makes the exponent left even */
    uint64_t rem = (uint64_t)m << shift, root = 0;
    for (uint64_t bit = (uint64_t)1 << 46; bit; bit >>= 2) {
        if (rem >= root + bit) {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
    }
    if (rem > root) root++; /* M > (root + 1/2)²: round up; a tie is impossible */
    return (float)root * xf_pow2i((e - 150 - shift) / 2);
#endif
}

/* @kernel xf_expf */
/* x = k·ln2 + r with |r| <= ln2/2: ln2 is split in a part with 16 significant bits, so that k·hi is
 * exact for every k that matters, and the rest. e^r is its Taylor series to degree 7 (the next
 * term is below 0.1 ulp), and 2^k goes into the exponent, in two steps where e^x is subnormal or
 * near overflow. */
XF_API float xf_expf(float x) {
    if (x != x) return x;
    if (x > 88.7228317f) return INFINITY;
    if (x < -103.972084f) return 0.0f;
    const float ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-6f;
    int32_t k = (int32_t)(x * 1.44269502f + (x < 0.0f ? -0.5f : 0.5f));
    float r = (x - (float)k * ln2_hi) - (float)k * ln2_lo;
    /* 1 + (r + r²·q): the small part is accurate to a fraction of its own ulp, so the one rounding
     * that matters is the final addition */
    float p = 1.0f + (r + r * r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 +
                  r * (1.0f / 5040)))))));
    if (k > 127) return p * xf_pow2i(127) * xf_pow2i(k - 127);
    if (k < -126) return p * xf_pow2i(k + 64) * xf_pow2i(-64);
    return p * xf_pow2i(k);
}

/* @kernel xf_logf */
/* x = 2^e·m with sqrt(1/2) <= m < sqrt(2), so f = m - 1 is exact and small. log(1 + f) = 2·atanh(s)
 * with s = f/(2 + f), |s| < 0.172: 2s + s·R(s²), R an odd series whose terms fall by 34x each. Since
 * 2s = f - s·f, log(1 + f) = f - s·(f - R): f is exact, and the rounding falls on the smaller term.
 * e·ln2 is added in two parts, as in expf. */
XF_API float xf_logf(float x) {
    if (x != x || x == INFINITY) return x;
    if (x < 0.0f) return NAN;
    if (x == 0.0f) return -INFINITY;
    int32_t e = 0;
    if (x < 1.17549435e-38f) { /* subnormal: scale into the normal range first */
        x *= 33554432.0f;      /* 2^25 */
        e = -25;
    }
    uint32_t u = xf_f2u(x);
    e += (int32_t)(u >> 23) - 127;
    float m = xf_u2f((u & 0x7fffffu) | 0x3f800000u); /* in [1, 2) */
    if (m > 1.41421354f) {
        m *= 0.5f;
        e++;
    }
    float f = m - 1.0f, s = f / (2.0f + f), z = s * s;
    float R = z * (2.0f / 3 + z * (2.0f / 5 + z * (2.0f / 7 + z * (2.0f / 9 + z * (2.0f / 11)))));
    const float ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-6f;
    return (float)e * ln2_hi + ((f - s * (f - R)) + (float)e * ln2_lo);
}

/* @kernel xf_log1pf */
/* log(1 + x) without losing the low bits of x when it is small: u = 1 + x is rounded, but the
 * rounding c = (u - 1) - x is exact, and log(1 + x) = log(u - c) = log(u) - c/u to well within an
 * ulp. Softplus needs it for log(1 + e^-|a|). */
XF_API float xf_log1pf(float x) {
    float u = 1.0f + x;
    if (u == 1.0f) return x; /* |x| < 2^-24: log1p(x) rounds to x; keeps the sign of -0 */
    if (u == INFINITY || u <= 0.0f) return xf_logf(u);
    return xf_logf(u) - ((u - 1.0f) - x) / u;
}

/* @kernel xf_tanhf */
/* Odd, so computed for |x|. Below 0.55 a polynomial x + x³·P(x²) (P fitted on [0, 0.55]); above,
 * 1 - 2/(e^2|x| + 1), where the subtraction cancels less than a bit since the result is >= 0.5;
 * from 9.0109 on, tanh rounds to 1. */
XF_API float xf_tanhf(float x) {
    float a = xf_fabsf(x), r;
    if (a > 9.01091385f) {
        r = 1.0f;
    } else if (a < 0.55f) {
        float z = a * a;
        r = a + a * z * (-0.333333194f + z * (0.133326381f + z * (-0.0538566969f + z * (0.0210864898f +
                z * -0.00629185885f))));
    } else {
        r = 1.0f - 2.0f / (xf_expf(2.0f * a) + 1.0f);
    }
    return xf_u2f(xf_f2u(r) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_erff */
/* Odd, so computed for |x|. Below 0.84375, erf(x) = x + x·P(x²), the correction to x fitted so that
 * the leading coefficient 2/sqrt(pi) needs no rounding. On [0.84375, 3.9192), 1 - e^(-x²)·Q(x - 2),
 * Q fitted to erfc(x)·e^(x²) weighted by e^(-x²), the absolute error that matters next to 1; the
 * rounding of x² costs at most 1e-7 relative on a term below 0.24. From 3.9192 on, erf rounds to 1. */
XF_API float xf_erff(float x) {
    float a = xf_fabsf(x), r;
    if (a < 0.84375f) {
        float z = a * a;
        r = a + a * (0.128379166f + z * (-0.376126289f + z * (0.112836123f + z * (-0.0268541202f +
                z * (0.00518611167f + z * (-0.000795023341f + z * 7.44499266e-5f))))));
    } else if (a < 3.91920590f) {
        float v = a - 2.0f;
        float q = 0.255395651f + v * (-0.106795885f + v * (0.0418059081f + v * (-0.0154629126f +
                  v * (0.00541440956f + v * (-0.00185377197f + v * (0.000630266208f +
                  v * (-0.000131850364f + v * (5.18007146e-5f + v * -4.11182154e-5f))))))));
        r = 1.0f - xf_expf(-a * a) * q;
    } else {
        r = a == a ? 1.0f : a;
    }
    return xf_u2f(xf_f2u(r) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_rem_pio2f */
/* x = k·pi/2 + r with |r| <= pi/4 (a little more from rounding), k mod 4 in *q. pi/2 is split in
 * three parts of 8 significant bits and a fourth of 24, so k·part is exact for |k| < 2^16 and r
 * carries about 48 bits of pi/2: its absolute error stays near 1e-10 up to |x| = 65536, and a
 * result near a zero of sin or cos keeps its relative accuracy. Beyond that k·part is rounded and
 * the results degrade (but stay in [-1, 1]); k mod 4 is taken in float so no conversion can
 * overflow. */
XF_API float xf_rem_pio2f(float x, int32_t *q) {
    float k = xf_floorf(x * 0.636619747f + 0.5f);
    float r = x - k * 1.5703125f;
    r -= k * 0.000484466553f;
    r -= k * -6.40749931e-7f;
    r -= k * 9.92093518e-10f;
    if (!(xf_fabsf(r) < 0.8f)) r = 0.0f; /* only when |x| is far beyond 2^16: keeps [-1, 1] */
    *q = (int32_t)(k - 4.0f * xf_floorf(k * 0.25f));
    return r;
}

/* sin and cos of |r| <= pi/4 by their Taylor series: the first omitted terms are below 0.05 ulp.
 * The small terms are summed first so that the last addition is the one rounding that matters. */
static inline float xf_sin_poly(float r) {
    float z = r * r;
    return r + r * z * (-1.0f / 6 + z * (1.0f / 120 + z * (-1.0f / 5040 + z * (1.0f / 362880))));
}

static inline float xf_cos_poly(float r) {
    float z = r * r;
    return 1.0f + z * (-0.5f + z * (1.0f / 24 + z * (-1.0f / 720 + z * (1.0f / 40320 + z * (-1.0f / 3628800)))));
}

/* @kernel xf_sinf */
XF_API float xf_sinf(float x) {
    if (x != x || xf_fabsf(x) == INFINITY) return NAN;
    if (xf_fabsf(x) < 2.44140625e-4f) return x; /* 2^-12: sin(x) rounds to x; keeps the sign of -0 */
    int32_t q;
    float r = xf_rem_pio2f(x, &q);
    switch (q) {
    case 0: return xf_sin_poly(r);
    case 1: return xf_cos_poly(r);
    case 2: return -xf_sin_poly(r);
    default: return -xf_cos_poly(r);
    }
}

/* @kernel xf_cosf */
XF_API float xf_cosf(float x) {
    if (x != x || xf_fabsf(x) == INFINITY) return NAN;
    int32_t q;
    float r = xf_rem_pio2f(x, &q);
    switch (q) {
    case 0: return xf_cos_poly(r);
    case 1: return -xf_sin_poly(r);
    case 2: return -xf_cos_poly(r);
    default: return xf_sin_poly(r);
    }
}

/* @kernel xf_powf */
/* x^y as the Pow op needs it. Small integer exponents (x² in RMSNorm, x³ in GELU, 1/x) multiply:
 * exactly rounded for y = 2. Other exponents take e^(y·log|x|), whose error grows with |y·log x|
 * since the product is rounded to float; a negative x gets the sign of x^y for odd integer y.
 * Special values follow C99 (and numpy): x^0 = 1^y = 1 even for NaN, 0^-y = inf, and a negative x
 * to a non-integer power is NaN. */
XF_API float xf_powf(float x, float y) {
    if (y == 0.0f || x == 1.0f) return 1.0f;
    if (x != x || y != y) return NAN;
    float ax = xf_fabsf(x), ay = xf_fabsf(y);
    if (ay == INFINITY) {
        if (ax == 1.0f) return 1.0f;
        return (ax > 1.0f) == (y > 0.0f) ? INFINITY : 0.0f;
    }
    int integer = xf_floorf(y) == y, negative = (xf_f2u(x) >> 31) != 0;
    /* odd: an integer below 2^24 (above, every float is even) with its lowest bit set */
    int odd = integer && ay < 16777216.0f && ((int32_t)ay & 1);
    float r;
    if (ax == 0.0f) {
        r = y > 0.0f ? 0.0f : INFINITY;
    } else if (ax == INFINITY) {
        r = y > 0.0f ? INFINITY : 0.0f;
    } else if (integer && ay <= 4.0f) {
        r = ax;
        for (int32_t n = (int32_t)ay; n > 1; n--) r *= ax;
        if (y < 0.0f) r = 1.0f / r;
    } else if (negative && !integer) {
        return NAN;
    } else if (y == 0.5f) {
        r = xf_sqrtf(ax);
    } else {
        r = xf_expf(y * xf_logf(ax));
    }
    return negative && odd ? -r : r;
}

/* @kernel xf_fminf */
/* fminf and fmaxf ignore a NaN operand, as C99 says (HardSwish, HardSigmoid and Celu clamp with
 * them). */
XF_API float xf_fminf(float a, float b) {
    return b != b || a < b ? a : b;
}

/* @kernel xf_fmaxf */
XF_API float xf_fmaxf(float a, float b) {
    return b != b || a > b ? a : b;
}

/* @kernel xf_rintf */
/* Round to nearest, ties to even, as ONNX's Round asks: below 2^23, adding and subtracting 2^23
 * leaves no fraction bits, and the addition rounds in the FPU's (or libgcc's) default mode, which
 * is exactly that. The sign is copied back so that rintf(-0.4f) is -0.0f. */
XF_API float xf_rintf(float x) {
    float a = xf_fabsf(x);
    if (!(a < 8388608.0f)) return x;
    float r = (a + 8388608.0f) - 8388608.0f;
    return xf_u2f(xf_f2u(r) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_fmodf */
/* x - n·y with n = trunc(x/y): always exact, so computed exactly, by long division of the integer
 * significands, one bit of the quotient per exponent step; the result has the sign of x. */
XF_API float xf_fmodf(float x, float y) {
    float ax = xf_fabsf(x), ay = xf_fabsf(y);
    if (x != x || y != y || ax == INFINITY || ay == 0.0f) return NAN;
    if (ax < ay) return x;
    uint32_t ux = xf_f2u(ax), uy = xf_f2u(ay), mx = ux & 0x7fffffu, my = uy & 0x7fffffu;
    int32_t ex = (int32_t)(ux >> 23), ey = (int32_t)(uy >> 23);
    if (ex) mx |= 0x800000u; /* the leading bit; subnormals are normalised instead */
    else for (ex = 1; !(mx & 0x800000u); ex--) mx <<= 1;
    if (ey) my |= 0x800000u;
    else for (ey = 1; !(my & 0x800000u); ey--) my <<= 1;
    for (; ex > ey; ex--) { /* mx < 2·my throughout, so one subtraction per step */
        if (mx >= my) mx -= my;
        mx <<= 1;
    }
    if (mx >= my) mx -= my;
    if (mx == 0) return xf_u2f(xf_f2u(x) & 0x80000000u);
    for (; !(mx & 0x800000u); ey--) mx <<= 1;
    /* the result is a multiple of y's last bit, so a subnormal one loses nothing to the shift */
    uint32_t r = ey >= 1 ? (uint32_t)ey << 23 | (mx & 0x7fffffu) : mx >> (1 - ey);
    return xf_u2f(r | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_tanf */
/* sin/cos of the reduced argument, or -cos/sin in the odd quadrants. */
XF_API float xf_tanf(float x) {
    if (x != x || xf_fabsf(x) == INFINITY) return NAN;
    if (xf_fabsf(x) < 2.44140625e-4f) return x; /* 2^-12: tan(x) rounds to x */
    int32_t q;
    float r = xf_rem_pio2f(x, &q);
    return q & 1 ? -xf_cos_poly(r) / xf_sin_poly(r) : xf_sin_poly(r) / xf_cos_poly(r);
}

/* @kernel xf_atanf */
/* Odd, so computed for |x|. 1/|x| folds |x| > 1 onto [0, 1] (atan x = pi/2 - atan(1/x)), and
 * (t - 1)/(t + 1) folds (tan(pi/8), 1] onto [-tan(pi/8), 0] (atan t = pi/4 + atan((t - 1)/(t + 1))),
 * where t + t³·P(t²) is fitted. pi/2 and pi/4 are added in two parts. */
XF_API float xf_atanf(float x) {
    if (x != x) return x;
    float t = xf_fabsf(x), base_hi = 0.0f, base_lo = 0.0f;
    int inverted = t > 1.0f;
    if (inverted) t = 1.0f / t;
    if (t > 0.414213562f) {
        t = (t - 1.0f) / (t + 1.0f);
        base_hi = 0.785398185f, base_lo = -2.18556941e-8f;
    }
    float z = t * t;
    float r = base_hi + (t + (t * z * (-0.333333164f + z * (0.199985325f + z * (-0.142443389f +
              z * (0.105977856f + z * -0.0608459078f)))) + base_lo));
    if (inverted) r = (1.57079637f - r) - 4.37113883e-8f;
    return xf_u2f(xf_f2u(r) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_asinf */
/* asin x = atan(x / sqrt(1 - x²)), with 1 - x² as (1 - x)(1 + x), which loses nothing near |x| = 1;
 * there the quotient grows without bound and atan folds it back. |x| > 1 gives NaN via sqrt. */
XF_API float xf_asinf(float x) {
    if (xf_fabsf(x) < 2.44140625e-4f) return x; /* 2^-12: asin(x) rounds to x */
    return xf_atanf(x / xf_sqrtf((1.0f - x) * (1.0f + x)));
}

/* @kernel xf_acosf */
/* acos x = 2·atan(sqrt((1 - x)/(1 + x))): no cancellation near x = 1, where acos is small. */
XF_API float xf_acosf(float x) {
    return 2.0f * xf_atanf(xf_sqrtf((1.0f - x) / (1.0f + x)));
}

/* @kernel xf_sinhf */
/* Odd. Below 1 the Taylor series (to x^13, the rest below 1e-12), since (e^x - e^-x)/2 would cancel;
 * then (e - 1/e)/2 with e = e^|x| while that is finite; beyond, (h/2)·h with h = e^(|x|/2) stays
 * finite up to where sinh itself overflows. */
XF_API float xf_sinhf(float x) {
    float a = xf_fabsf(x), r;
    if (a < 1.0f) {
        float z = a * a;
        r = a + a * z * (1.0f / 6 + z * (1.0f / 120 + z * (1.0f / 5040 + z * (1.0f / 362880 +
                z * (1.0f / 39916800 + z * (1.0f / 6227020800.0f))))));
    } else if (a < 88.7228317f) {
        float e = xf_expf(a);
        r = 0.5f * (e - 1.0f / e);
    } else {
        float h = xf_expf(0.5f * a);
        r = 0.5f * h * h;
    }
    return xf_u2f(xf_f2u(r) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_coshf */
/* (e + 1/e)/2 with e = e^|x| (no cancellation: both terms are positive); beyond as in sinhf. */
XF_API float xf_coshf(float x) {
    float a = xf_fabsf(x);
    if (a < 88.7228317f) {
        float e = xf_expf(a);
        return 0.5f * (e + 1.0f / e);
    }
    float h = xf_expf(0.5f * a);
    return 0.5f * h * h;
}

/* @kernel xf_asinhf */
/* Odd. log(|x| + sqrt(x² + 1)) written as log1p(|x| + x²/(1 + sqrt(1 + x²))), which keeps small
 * arguments accurate; above 2^12, log(2|x|) = log|x| + ln2 (x² + 1 rounds to x², and x² may
 * overflow). */
XF_API float xf_asinhf(float x) {
    float a = xf_fabsf(x), r;
    if (a > 4096.0f) {
        r = xf_logf(a) + 0.693147182f;
    } else {
        float z = a * a;
        r = xf_log1pf(a + z / (1.0f + xf_sqrtf(1.0f + z)));
    }
    return xf_u2f(xf_f2u(r) | (xf_f2u(x) & 0x80000000u));
}

/* @kernel xf_acoshf */
/* log(x + sqrt(x² - 1)) as log1p(t + sqrt(2t + t²)) with t = x - 1 (exact near 1, where acosh is
 * small); above 2^12, log x + ln2. Below 1, NaN. */
XF_API float xf_acoshf(float x) {
    if (x < 1.0f) return NAN;
    if (x > 4096.0f) return xf_logf(x) + 0.693147182f;
    float t = x - 1.0f;
    return xf_log1pf(t + xf_sqrtf(2.0f * t + t * t));
}

/* @kernel xf_atanhf */
/* Odd. log((1 + x)/(1 - x))/2 = log1p(2|x|/(1 - |x|))/2; 1 - |x| is exact for |x| >= 0.5. ±1 give
 * ±inf, larger magnitudes NaN. */
XF_API float xf_atanhf(float x) {
    float a = xf_fabsf(x);
    if (a > 1.0f) return NAN;
    float r = 0.5f * xf_log1pf(2.0f * a / (1.0f - a));
    return xf_u2f(xf_f2u(r) | (xf_f2u(x) & 0x80000000u));
}
