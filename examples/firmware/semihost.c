/* semihost.c — semihosting output and exit (see semihost.h), with the few number formatters the
 * examples and tests need, written in float arithmetic only so they cost no double emulation. */
#include <stdint.h>

#include "semihost.h"

enum { SYS_WRITE0 = 0x04, SYS_EXIT_EXTENDED = 0x20, ADP_STOPPED_APPLICATION_EXIT = 0x20026 };

/* The semihosting calling convention: operation in r0, argument in r1, `bkpt 0xab`, result in r0. */
static int semihost_call(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_puts(const char *s) {
    semihost_call(SYS_WRITE0, s);
}

void sh_put_int(long v) {
    char buf[24], *p = buf + sizeof buf;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    *--p = 0;
    do *--p = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--p = '-';
    sh_puts(p);
}

void sh_put_float(float x, int digits) {
    if (x != x) {
        sh_puts("nan");
        return;
    }
    if (x < 0) {
        sh_puts("-");
        x = -x;
    }
    if (x > 3.4e38f) {
        sh_puts("inf");
        return;
    }
    /* x = m·10^e with 1 <= m < 10 (m = 0 for zero), then m rounded to `digits` decimals */
    int e = 0;
    while (x != 0 && x >= 10) x /= 10, e++;
    while (x != 0 && x < 1) x *= 10, e--;
    if (digits > 8) digits = 8;
    float scale = 1;
    for (int i = 0; i < digits; i++) scale *= 10;
    uint32_t m = (uint32_t)(x * scale + 0.5f);
    if (m >= 10 * (uint32_t)scale) m /= 10, e++; /* 9.9996 rounded up to 10.000 */
    char buf[16], *p = buf + sizeof buf;
    *--p = 0;
    for (int i = 0; i < digits; i++, m /= 10) *--p = (char)('0' + m % 10);
    if (digits) *--p = '.';
    *--p = (char)('0' + m % 10);
    sh_puts(p);
    sh_puts(e < 0 ? "e-" : "e+");
    if (e > -10 && e < 10) sh_puts("0");
    sh_put_int(e < 0 ? -e : e);
}

_Noreturn void sh_exit(int status) {
    /* SYS_EXIT_EXTENDED carries an exit status on 32-bit Arm, where plain SYS_EXIT cannot */
    uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    semihost_call(SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}
