/* lowp.c — runtime conversions between float32 and the narrow number formats ONNX stores:
 * float16, bfloat16, the float8 and float4 formats and the packed 4-bit integers.
 *
 * xfc keeps these formats as storage only: graph inputs, outputs and weights hold ONNX's bytes
 * (float16 and bfloat16 as uint16_t bit patterns, float8 as one uint8_t, int4, uint4 and float4e2m1
 * packed two to a byte, low nibble first), and every op other than Cast, QuantizeLinear and
 * DequantizeLinear computes in float32 (or int8 / uint8 for the 4-bit integers) between two
 * conversions (passes/legalize_types.c). So the formats are known here: one decoder and one encoder
 * per format, and xf_cast_lowp, the kernel of every Cast that has a narrow type on either side; the
 * quantization kernels (runtime/quant.c) call the single-value conversions.
 *
 * Element types travel as their ONNX numbers: 1 float32, 2 uint8, 3 int8, 4 uint16, 5 int16,
 * 6 int32, 7 int64, 9 bool, 10 float16, 11 float64, 12 uint32, 13 uint64, 16 bfloat16,
 * 17 float8e4m3fn, 18 float8e4m3fnuz, 19 float8e5m2, 20 float8e5m2fnuz, 21 uint4, 22 int4,
 * 23 float4e2m1, 24 float8e8m0.
 *
 * Encoding follows the ONNX Cast specification: round to nearest, ties to even, from the exact
 * source value (a float64 source is not rounded to float32 first). A value too large for the
 * format becomes its largest finite value when saturating, else infinity where the format has one
 * (float16, bfloat16, float8e5m2) and NaN where it has not. The "fnuz" formats have no negative
 * zero and one NaN, 0x80; float4e2m1 has neither infinity nor NaN and always saturates (NaN
 * becomes 0x8, as the reference does). float8e8m0 is a bare power of two 2^(e-127), unsigned,
 * with 0xFF as NaN; it is encoded from the float32 exponent with round_mode up, down or nearest.
 * The decoders are exact: every narrow value is a float32.
 *
 * Fields are moved with bit arithmetic, values scaled only by exact powers of two and rounded by
 * hand, so nothing needs libm or depends on the rounding mode, and constant folding (which
 * compiles this file into xfc) gives the bits generated code gives. The encoders take a double
 * (any float32 or float64 value); other kernels (quantization) may call them directly.
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_lowp_bits */
/* A float32 from its bit pattern and back, without breaking aliasing rules. */
static inline float xf_lowp_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

XF_API uint32_t xf_lowp_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* @kernel xf_lowp_decode */
/* The value of a minifloat code with ebits exponent and mbits mantissa bits and the given bias, as
 * a float32 (exact: every format here fits). Codes whose exponent field is all ones are left to
 * the caller, which knows whether the format spends them on infinity and NaN. */
XF_API float xf_lowp_decode(uint32_t code, int ebits, int mbits, int bias) {
    uint32_t sign = code >> (ebits + mbits) & 1u, exp = code >> mbits & ((1u << ebits) - 1u);
    uint32_t man = code & ((1u << mbits) - 1u);
    float v;
    if (exp) { /* normal: move the fields into float32's, rebiased */
        v = xf_lowp_f32((exp + 127u - (uint32_t)bias) << 23 | man << (23 - mbits));
    } else { /* zero or subnormal: man * 2^(1 - bias - mbits), a power of two float32 holds */
        v = (float)man * xf_lowp_f32((uint32_t)(127 + 1 - bias - mbits) << 23);
    }
    return sign ? -v : v;
}

/* @kernel xf_f16_to_f32 */
/* IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits; all-ones exponent is inf or NaN. */
XF_API float xf_f16_to_f32(uint16_t h) {
    if ((h & 0x7c00u) == 0x7c00u) /* inf, or NaN with its payload kept */
        return xf_lowp_f32((uint32_t)(h >> 15) << 31 | 0x7f800000u | (uint32_t)(h & 0x3ffu) << 13);
    return xf_lowp_decode(h, 5, 10, 15);
}

/* @kernel xf_bf16_to_f32 */
/* bfloat16 is the upper half of a float32, so widening is a shift, specials included. */
XF_API float xf_bf16_to_f32(uint16_t h) {
    return xf_lowp_f32((uint32_t)h << 16);
}

/* @kernel xf_f8_to_f32 */
/* A float8 code of ONNX type dtype (17 e4m3fn, 18 e4m3fnuz, 19 e5m2, 20 e5m2fnuz, 24 e8m0) as a
 * float32. e4m3fn's NaN is S.1111.111 (no infinity); e5m2 is IEEE-like; the fnuz formats spend the
 * negative zero code 0x80 on their one NaN and have a bias one larger. */
XF_API float xf_f8_to_f32(uint8_t b, int64_t dtype) {
    switch (dtype) {
    case 17:
        if ((b & 0x7f) == 0x7f) return xf_lowp_f32(0x7fc00000u);
        return xf_lowp_decode(b, 4, 3, 7);
    case 18:
        if (b == 0x80) return xf_lowp_f32(0x7fc00000u);
        return xf_lowp_decode(b, 4, 3, 8);
    case 19:
        if ((b & 0x7c) == 0x7c) /* inf or NaN: as float16 with the same top byte */
            return xf_lowp_f32((uint32_t)(b >> 7) << 31 | 0x7f800000u | (uint32_t)(b & 3u) << 21);
        return xf_lowp_decode(b, 5, 2, 15);
    case 20:
        if (b == 0x80) return xf_lowp_f32(0x7fc00000u);
        return xf_lowp_decode(b, 5, 2, 16);
    default: /* 24, e8m0: 2^(b - 127); code 0 is float32's subnormal 2^-127 */
        if (b == 0xff) return xf_lowp_f32(0x7fc00000u);
        return xf_lowp_f32(b ? (uint32_t)b << 23 : 0x00400000u);
    }
}

/* @kernel xf_f4_to_f32 */
/* float4e2m1: 1 sign, 2 exponent (bias 1), 1 mantissa bit, the low nibble of b. Every code is
 * finite: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives. */
XF_API float xf_f4_to_f32(uint8_t b) {
    return xf_lowp_decode(b & 0xfu, 2, 1, 1);
}

/* @kernel xf_lowp_encode */
/* Encodes v into a minifloat with ebits exponent and mbits mantissa bits and the given bias,
 * rounding to nearest, ties to even. kind says what the format does with its top codes:
 *   0 IEEE (float16, bfloat16, e5m2): all-ones exponent is infinity and NaN
 *   1 "fn" (e4m3fn): no infinity; only S.1111.111 is NaN, so S.1111.110 is the largest value
 *   2 "fnuz": no infinity, no negative zero; 0x80 is the only NaN
 *   3 float4e2m1: every code is finite; NaN gives 0x8 and everything else saturates
 * Overflow (after rounding) and infinities give the largest finite value when saturate is set,
 * else infinity (IEEE) or NaN. */
XF_API uint32_t xf_lowp_encode(double v, int ebits, int mbits, int bias, int kind, int64_t saturate) {
    const uint32_t sign_bit = 1u << (ebits + mbits), all = sign_bit - 1u; /* all = every magnitude bit set */
    const uint32_t max_code = kind == 0 ? all - (1u << mbits) : kind == 1 ? all - 1u : all;
    const uint32_t inf_code = all - ((1u << mbits) - 1u); /* IEEE only: all-ones exponent, mantissa 0 */
    const int emin = 1 - bias; /* below 2^emin the format is subnormal, in steps of 2^(emin - mbits) */
    uint64_t vb;
    memcpy(&vb, &v, sizeof vb);
    uint32_t sign = (uint32_t)(vb >> 63) ? sign_bit : 0;
    if (v != v) { /* NaN: the fnuz formats and float4 have one code, the others keep the sign */
        if (kind >= 2) return sign_bit;
        return sign | (kind == 0 ? inf_code | 1u << (mbits - 1) : all);
    }
    if (kind == 3) saturate = 1;
    if (sign) v = -v;
    uint32_t mag;
    if (v >= 2.0 * (double)xf_lowp_decode(max_code, ebits, mbits, bias)) {
        mag = max_code + 1u; /* infinity, or too large to round back into range */
    } else {
        /* The binade: 2^e <= v < 2^(e+1), read off the double's exponent field; every value
         * below 2^emin shares the subnormal step. Scaling by a power of two is exact, so m is v
         * in units of the last place, and rounding it is rounding v. */
        int e = (int)(vb >> 52 & 0x7ffu) - 1023;
        if (e < emin) e = emin;
        uint64_t scale_bits = (uint64_t)(1023 + mbits - e) << 52; /* 2^(mbits - e) */
        double scale, m;
        memcpy(&scale, &scale_bits, sizeof scale);
        m = v * scale; /* < 2^(mbits + 1) */
        uint32_t t = (uint32_t)m; /* toward zero, then half to even */
        double f = m - (double)t;
        if (f > 0.5 || (f == 0.5 && (t & 1u))) t++;
        /* t is the significand with its leading bit (none when subnormal). Codes count up across
         * binades, so a carry into the next binade, or from subnormal to normal, needs no case. */
        mag = ((uint32_t)(e - emin) << mbits) + t;
    }
    if (mag > max_code) { /* overflow: the format's choice */
        if (saturate) mag = max_code;
        else if (kind == 0) mag = inf_code;
        else return kind == 1 ? sign | all : sign_bit; /* NaN */
    }
    if (kind == 2 && mag == 0) return 0; /* no negative zero */
    return sign | mag;
}

/* @kernel xf_f32_to_f16 */
/* v (a float32 or float64 value) as an IEEE half, rounded to nearest even; overflow is infinity. */
XF_API uint16_t xf_f32_to_f16(double v) {
    return (uint16_t)xf_lowp_encode(v, 5, 10, 15, 0, 0);
}

/* @kernel xf_f32_to_bf16 */
/* v as a bfloat16, rounded to nearest even; overflow is infinity. NaN keeps its sign and the top
 * of its payload and stays a NaN. A float32 is rounded on its bits directly (the common case). */
XF_API uint16_t xf_f32_to_bf16(float v) {
    uint32_t b = xf_lowp_bits(v);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(b >> 16 | 0x40u);
    b += 0x7fffu + (b >> 16 & 1u);
    return (uint16_t)(b >> 16);
}

/* @kernel xf_f32_to_f8 */
/* v as a float8 of ONNX type dtype (17 e4m3fn, 18 e4m3fnuz, 19 e5m2, 20 e5m2fnuz), rounded to
 * nearest even; saturate (Cast's attribute, default 1) clamps overflow and infinities to the
 * largest finite value instead of giving infinity (e5m2) or NaN (the others). */
XF_API uint8_t xf_f32_to_f8(double v, int64_t dtype, int64_t saturate) {
    switch (dtype) {
    case 17: return (uint8_t)xf_lowp_encode(v, 4, 3, 7, 1, saturate);
    case 18: return (uint8_t)xf_lowp_encode(v, 4, 3, 8, 2, saturate);
    case 19: return (uint8_t)xf_lowp_encode(v, 5, 2, 15, 0, saturate);
    default: return (uint8_t)xf_lowp_encode(v, 5, 2, 16, 2, saturate);
    }
}

/* @kernel xf_f32_to_f4 */
/* v as float4e2m1 in the low nibble: nearest even, saturating at +-6; NaN gives 0x8. */
XF_API uint8_t xf_f32_to_f4(double v) {
    return (uint8_t)xf_lowp_encode(v, 2, 1, 1, 3, 1);
}

/* @kernel xf_f32_to_e8m0 */
/* v as float8e8m0, the exponent of its float32 value (sign ignored: the format has none).
 * round_mode 0 "up" takes the next power of two whenever a mantissa bit is set, 1 "down" drops the
 * mantissa, 2 "nearest" rounds up from 1.5 (the reference's guard/round/sticky rule, which keeps
 * the exact tie 1.5 * 2^-127 down). Infinity and NaN give 0xFF (NaN); with saturate the largest
 * exponent never rounds up into it. */
XF_API uint8_t xf_f32_to_e8m0(float v, int64_t saturate, int64_t round_mode) {
    uint32_t b = xf_lowp_bits(v), exp = b >> 23 & 0xffu, man = b & 0x7fffffu;
    if (exp == 0xffu) return 0xff;
    uint32_t up = 0;
    if (round_mode == 0) up = man != 0;
    else if (round_mode == 2) up = (man & 0x400000u) && ((man & 0x3fffffu) || exp > 0);
    if (saturate && exp == 0xfeu) up = 0;
    return (uint8_t)(exp + up);
}

/* @kernel xf_lowp_get */
/* Element i of x, of ONNX type dtype, as a double, for the floating types; *k receives it as an
 * int64 for the integer types and bool (exactly, so that integer-to-int4 casts keep their low
 * bits), and the return value says which: 1 float, 0 integer. 4-bit elements sit two to a byte,
 * element i in the low nibble of byte i/2 when i is even, in the high nibble when odd. */
XF_API int xf_lowp_get(const void *x, int64_t dtype, int64_t i, double *f, int64_t *k) {
    switch (dtype) {
    case 1: *f = ((const float *)x)[i]; return 1;
    case 11: *f = ((const double *)x)[i]; return 1;
    case 10: *f = xf_f16_to_f32(((const uint16_t *)x)[i]); return 1;
    case 16: *f = xf_bf16_to_f32(((const uint16_t *)x)[i]); return 1;
    case 17: case 18: case 19: case 20: case 24: *f = xf_f8_to_f32(((const uint8_t *)x)[i], dtype); return 1;
    case 23: *f = xf_f4_to_f32((uint8_t)(((const uint8_t *)x)[i >> 1] >> (4 * (i & 1)))); return 1;
    case 21: *k = ((const uint8_t *)x)[i >> 1] >> (4 * (i & 1)) & 0xf; return 0;
    case 22: *k = (((const uint8_t *)x)[i >> 1] >> (4 * (i & 1)) & 0xf) ^ 8; *k -= 8; return 0;
    case 2: case 9: *k = ((const uint8_t *)x)[i]; return 0;
    case 3: *k = ((const int8_t *)x)[i]; return 0;
    case 4: *k = ((const uint16_t *)x)[i]; return 0;
    case 5: *k = ((const int16_t *)x)[i]; return 0;
    case 6: *k = ((const int32_t *)x)[i]; return 0;
    case 12: *k = ((const uint32_t *)x)[i]; return 0;
    case 13: *k = (int64_t)((const uint64_t *)x)[i]; return 0;
    default: *k = ((const int64_t *)x)[i]; return 0;
    }
}

/* @kernel xf_lowp_to_int */
/* A floating value as an int64: toward zero, as C and numpy cast; NaN and values beyond int64 give
 * INT64_MIN, numpy's result on common hardware, instead of C's undefined behaviour. */
XF_API int64_t xf_lowp_to_int(double f) {
    if (!(f > -9223372036854775808.0 && f < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)f;
}

/* @kernel xf_cast_lowp */
/* Cast of n elements from x (ONNX type xtype) to y (ytype) where either type is a narrow format.
 * Floats go through a double, integers through an int64, so each element is rounded once, into
 * the target. Integer targets wrap (numpy's astype: int4 keeps the low four bits), bool is x != 0.
 * saturate and round_mode (0 up, 1 down, 2 nearest) are Cast's attributes. */
XF_API void xf_cast_lowp(void *y, int64_t ytype, const void *x, int64_t xtype, int64_t n, int64_t saturate,
                                int64_t round_mode) {
    for (int64_t i = 0; i < n; i++) {
        double f = 0;
        int64_t k = 0;
        int is_float = xf_lowp_get(x, xtype, i, &f, &k);
        if (!is_float) f = (double)k;
        else if (ytype != 9) k = xf_lowp_to_int(f);
        switch (ytype) {
        case 1: ((float *)y)[i] = (float)f; break;
        case 11: ((double *)y)[i] = f; break;
        case 10: ((uint16_t *)y)[i] = xf_f32_to_f16(f); break;
        case 16: /* a float32 value rounds on its bits; a wider double is rounded once, from itself */
            ((uint16_t *)y)[i] = (double)(float)f == f || f != f ? xf_f32_to_bf16((float)f)
                                                                 : (uint16_t)xf_lowp_encode(f, 8, 7, 127, 0, 0);
            break;
        case 17: case 18: case 19: case 20: ((uint8_t *)y)[i] = xf_f32_to_f8(f, ytype, saturate); break;
        case 24: ((uint8_t *)y)[i] = xf_f32_to_e8m0((float)f, saturate, round_mode); break;
        case 21: case 22: case 23: {
            uint8_t nib = ytype == 23 ? xf_f32_to_f4(f) : (uint8_t)((uint64_t)k & 0xfu);
            uint8_t *p = (uint8_t *)y + (i >> 1);
            *p = (i & 1) ? (uint8_t)((*p & 0x0f) | nib << 4) : nib; /* an odd count leaves the last high nibble 0 */
            break;
        }
        case 9: ((uint8_t *)y)[i] = is_float ? f != 0 : k != 0; break;
        case 2: ((uint8_t *)y)[i] = (uint8_t)(uint64_t)k; break;
        case 3: ((int8_t *)y)[i] = (int8_t)(uint8_t)(uint64_t)k; break;
        case 4: ((uint16_t *)y)[i] = (uint16_t)(uint64_t)k; break;
        case 5: ((int16_t *)y)[i] = (int16_t)(uint16_t)(uint64_t)k; break;
        case 6: ((int32_t *)y)[i] = (int32_t)(uint32_t)(uint64_t)k; break;
        case 12: ((uint32_t *)y)[i] = (uint32_t)(uint64_t)k; break;
        case 13: ((uint64_t *)y)[i] = (uint64_t)k; break;
        default: ((int64_t *)y)[i] = k; break;
        }
    }
}
