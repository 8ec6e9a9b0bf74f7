/* emit_pool.c — `xfc --emit-pool DIR`: writes xfc_pool.h and xfc_pool.c, the pthread executor for
 * the generated _run_ex functions, into DIR. The text is runtime/pool/, embedded at build time (the
 * same files are compiled into xfc and its tests). Each is written to a temporary name and renamed
 * only when both were written, so a failure leaves no half-written file. */
#include <string.h>

#include "../backend.h"

extern const char xf_pool_h_text[], xf_pool_c_text[];

/* The embedded text after its first line, the "@file" marker embed.c puts in front. */
static const char *after_marker(const char *text) {
    const char *nl = strchr(text, '\n');
    return nl ? nl + 1 : text;
}

bool xf_emit_pool(const char *dir, xf_diag *d) {
    if (!dir || !*dir) return xf_fail(d, NULL, NULL, "--emit-pool: no directory given");
    xf_arena *a = xf_arena_new();
    const char *texts[2] = {after_marker(xf_pool_h_text), after_marker(xf_pool_c_text)};
    const char *names[2] = {"xfc_pool.h", "xfc_pool.c"};
    xf_file files[2];
    int opened = 0;
    bool ok = true;
    for (int i = 0; i < 2 && ok; i++) {
        ok = xf_file_open(&files[i], xf_sprintf(a, "%s/%s", dir, names[i]), d);
        if (ok) fputs(texts[i], files[i].f), opened++;
    }
    for (int i = 0; i < opened && ok; i++) ok = xf_file_commit(&files[i], d);
    for (int i = 0; i < opened; i++) xf_file_discard(&files[i]); /* after a commit these do nothing */
    xf_arena_free(a);
    return ok;
}
