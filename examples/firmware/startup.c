/* startup.c — bare-metal startup for Cortex-M: the vector table, the reset handler that prepares
 * memory and calls main, and the four memory functions that xfc's generated code (and GCC itself)
 * may call. Nothing else of a C library is needed: programs here link with -nostdlib, which also
 * proves that the model code needs nothing more.
 *
 * The symbols it uses come from the linker script (mps2-an386.ld). main's return value becomes the
 * exit status reported through semihosting. */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"

int main(void);

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];

void Reset_Handler(void) {
#ifdef __ARM_FP
    /* Let code use the FPU (coprocessors 10 and 11, CPACR) before the first float instruction */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) *dst++ = *src++;
    for (uint32_t *dst = __bss_start; dst < __bss_end;) *dst++ = 0;
    sh_exit(main());
}

/* A fault or an unexpected interrupt ends the run with a message instead of hanging it. */
static void HardFault_Handler(void) {
    sh_puts("hard fault\n");
    sh_exit(3);
}

static void Default_Handler(void) {
    sh_puts("unexpected exception\n");
    sh_exit(4);
}

/* The initial stack pointer, then the handlers of the 15 system exceptions. QEMU's mps2-an386
 * boots from address 0, where the linker script puts this table. */
typedef union vector {
    void *stack;
    void (*handler)(void);
} vector;

__attribute__((section(".vectors"), used)) static const vector vectors[16] = {
    {.stack = __stack_top},         {.handler = Reset_Handler},   {.handler = Default_Handler},
    {.handler = HardFault_Handler}, {.handler = HardFault_Handler}, {.handler = HardFault_Handler},
    {.handler = HardFault_Handler}, {.handler = Default_Handler}, {.handler = Default_Handler},
    {.handler = Default_Handler},   {.handler = Default_Handler}, {.handler = Default_Handler},
    {.handler = Default_Handler},   {.handler = Default_Handler}, {.handler = Default_Handler},
    {.handler = Default_Handler},
};

/* ---- the memory functions ----
 * Byte loops: small and obviously right; a real firmware has faster ones in its C library. GCC
 * would recognise these loops as memcpy/memset and call them, from inside themselves: the optimize
 * attribute keeps it from doing so. */
#define NO_BUILTIN_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_BUILTIN_LOOPS void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

NO_BUILTIN_LOOPS void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s)
        while (n--) *d++ = *s++;
    else
        while (n--) d[n] = s[n];
    return dst;
}

NO_BUILTIN_LOOPS void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

NO_BUILTIN_LOOPS int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q) return *p < *q ? -1 : 1;
    return 0;
}
