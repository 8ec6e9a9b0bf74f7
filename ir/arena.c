/* arena.c — one bump allocator per compilation. The IR never frees piecemeal: a graph and all it
 * points to (names, attributes, constant data) go away together with xf_arena_free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} chunk;

struct xf_arena {
    chunk *head;
};

xf_arena *xf_arena_new(void) {
    xf_arena *a = calloc(1, sizeof *a);
    if (!a) xf_abort(__FILE__, __LINE__, "out of memory");
    return a;
}

void xf_arena_free(xf_arena *a) {
    if (!a) return;
    for (chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *xf_alloc(xf_arena *a, size_t bytes) {
    bytes = (bytes + 15) & ~(size_t)15;
    chunk *c = a->head;
    if (!c || c->size - c->used < bytes) {
        /* Large requests (weights) get a chunk of their own so small ones keep filling the current. */
        size_t size = bytes > (1u << 20) ? bytes : (1u << 20);
        chunk *n = malloc(sizeof *n + size);
        if (!n) xf_abort(__FILE__, __LINE__, "out of memory");
        n->used = 0;
        n->size = size;
        if (c && bytes > (1u << 20)) { /* keep the partly used chunk at the head */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *xf_strdup(xf_arena *a, const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xf_alloc(a, n), s, n);
}

char *xf_sprintf(xf_arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xf_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

_Noreturn void xf_abort(const char *file, int line, const char *what) {
    fprintf(stderr, "xfc: internal error at %s:%d: %s\n", file, line, what);
    abort();
}
