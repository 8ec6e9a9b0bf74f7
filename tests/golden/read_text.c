/* read_text.c — a whole text file into memory, for the golden and round-trip runners. */
#include <stdio.h>
#include <stdlib.h>

#include "ir/ir.h"
#include "read_text.h"

char *xf_read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t size = 0, used = 0, got;
    do {
        if (used + 4096 >= size) {
            size = 2 * size + 8192;
            text = realloc(text, size);
            if (!text) xf_abort(__FILE__, __LINE__, "out of memory");
        }
        got = fread(text + used, 1, size - used - 1, f);
        used += got;
    } while (got);
    text[used] = 0;
    fclose(f);
    return text;
}
