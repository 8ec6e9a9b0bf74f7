/* output.c — what every backend needs around printing: safe file replacement and C identifiers. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"

bool xf_emit_c(const xf_graph *g, const xf_emit_options *o, const char *path, xf_diag *d);

static const xf_backend backends[] = {
    {"c", xf_emit_c},
};

const xf_backend *xf_backend_find(const char *name) {
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i].name, name) == 0) return &backends[i];
    return NULL;
}

bool xf_file_open(xf_file *file, const char *path, xf_diag *d) {
    memset(file, 0, sizeof *file);
    size_t n = strlen(path);
    file->path = malloc(n + 1);
    file->tmp = malloc(n + 16);
    if (!file->path || !file->tmp) xf_abort(__FILE__, __LINE__, "out of memory");
    memcpy(file->path, path, n + 1);
    snprintf(file->tmp, n + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(file->tmp);
    if (fd < 0) {
        xf_fail(d, NULL, NULL, "%s: cannot write: %s", path, strerror(errno));
        free(file->path);
        free(file->tmp);
        file->path = file->tmp = NULL;
        return false;
    }
    /* mkstemp makes the file 0600; the output should get what any new file gets, 0666 less the umask
     * (read by setting and restoring it: xfc has one thread). A file system without modes may refuse
     * the change, which leaves 0600: no reason to fail. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    file->f = fdopen(fd, "w");
    if (!file->f) xf_abort(__FILE__, __LINE__, "fdopen");
    return true;
}

void xf_file_discard(xf_file *file) {
    if (file->f) fclose(file->f);
    if (file->tmp) remove(file->tmp);
    free(file->path);
    free(file->tmp);
    memset(file, 0, sizeof *file);
}

bool xf_file_commit(xf_file *file, xf_diag *d) {
    bool ok = !ferror(file->f);
    ok &= fclose(file->f) == 0;
    file->f = NULL;
    if (ok && rename(file->tmp, file->path) != 0) ok = false;
    if (!ok) xf_fail(d, NULL, NULL, "%s: cannot write: %s", file->path, strerror(errno));
    xf_file_discard(file);
    return ok;
}

char *xf_c_ident(xf_arena *a, const char *prefix, const char *name) {
    size_t n = strlen(prefix) + strlen(name) + 2;
    char *s = xf_alloc(a, n), *p = s;
    for (const char *q = prefix; *q; q++) *p++ = *q;
    for (const char *q = name; *q; q++) {
        char c = isalnum((unsigned char)*q) ? *q : '_';
        if (c == '_' && (p == s || p[-1] == '_')) continue;
        *p++ = c;
    }
    while (p > s && p[-1] == '_') p--;
    if (p == s || isdigit((unsigned char)s[0])) {
        memmove(s + 1, s, (size_t)(p - s));
        s[0] = '_';
        p++;
    }
    *p = 0;
    return s;
}
