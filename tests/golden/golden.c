/* golden.c — golden tests of the passes: `golden [--update] tests/golden/PASS/CASE.ir ...`.
 *
 * A case file holds the IR before the pass, a line `--- after PASS`, and the IR the pass must leave
 * (tests/golden/README.md). The runner parses the first part, runs exactly that one pass (the
 * directory names it) at -O2, or at the level a `; options: -O1` line in the first part names,
 * checks the graph's invariants, prints it, and compares the text with the second part, showing a
 * line diff when they differ. --update writes the printed text as the new second part instead.
 * `golden --coverage DIR` checks that every pass of passes.def has a case, and every fusion pass a
 * near miss too (a case whose name holds "miss"). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "lower/lower.h"
#include "read_text.h"

/* ---- a line diff (longest common subsequence; golden files are small) ---- */

typedef struct lines { char **at; int n; } lines;

static lines split_lines(char *text) {
    lines l = {0};
    int cap = 0;
    for (char *s = text; *s;) {
        if (l.n == cap) {
            cap = cap ? 2 * cap : 64;
            l.at = realloc(l.at, sizeof *l.at * (size_t)cap);
            if (!l.at) xf_abort(__FILE__, __LINE__, "out of memory");
        }
        l.at[l.n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl) break;
        *nl = 0;
        s = nl + 1;
    }
    return l;
}

/* Prints `-` for lines only in want, `+` for lines only in got, and up to two lines of context. */
/* What the pass recorded for `xfc report`, after the IR: `fused KIND N` and
 * `missed KIND "node" "reason"` lines. */
static void print_fusions(FILE *f, const xf_fusion_stats *s) {
    for (int k = 0; k < XF_FUSION_COUNT; k++)
        if (s->fused[k]) fprintf(f, "fused %s %d\n", xf_fusion_names[k], s->fused[k]);
    for (int32_t i = 0; i < s->nmissed; i++) {
        fprintf(f, "missed %s ", s->missed[i].pattern);
        xf_print_quoted(f, s->missed[i].node ? s->missed[i].node : "");
        fputc(' ', f);
        xf_print_quoted(f, s->missed[i].reason ? s->missed[i].reason : "");
        fputc('\n', f);
    }
}

static void print_diff(char *want_text, char *got_text) {
    lines a = split_lines(want_text), b = split_lines(got_text);
    int *len = calloc((size_t)(a.n + 1) * (size_t)(b.n + 1), sizeof *len); /* LCS of suffixes */
    if (!len) xf_abort(__FILE__, __LINE__, "out of memory");
#define LEN(i, j) len[(size_t)(i) * (size_t)(b.n + 1) + (size_t)(j)]
    for (int i = a.n - 1; i >= 0; i--)
        for (int j = b.n - 1; j >= 0; j--)
            LEN(i, j) = strcmp(a.at[i], b.at[j]) == 0 ? LEN(i + 1, j + 1) + 1
                        : LEN(i + 1, j) > LEN(i, j + 1) ? LEN(i + 1, j) : LEN(i, j + 1);
    /* walk once to mark each step, then print the changes with their context */
    int steps = 0, cap = a.n + b.n + 1;
    char *kind = malloc((size_t)cap);
    const char **text = malloc(sizeof *text * (size_t)cap);
    if (!kind || !text) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int i = 0, j = 0; i < a.n || j < b.n;) {
        if (i < a.n && j < b.n && strcmp(a.at[i], b.at[j]) == 0) kind[steps] = ' ', text[steps++] = a.at[i], i++, j++;
        else if (i < a.n && (j == b.n || LEN(i + 1, j) >= LEN(i, j + 1))) kind[steps] = '-', text[steps++] = a.at[i++];
        else kind[steps] = '+', text[steps++] = b.at[j++];
    }
#undef LEN
    fprintf(stderr, "--- expected\n+++ got\n");
    bool skipped = false;
    for (int s = 0; s < steps; s++) {
        bool near = false;
        for (int t = s - 2; t <= s + 2; t++) near |= t >= 0 && t < steps && kind[t] != ' ';
        if (!near) {
            if (!skipped) fprintf(stderr, "  ...\n");
            skipped = true;
            continue;
        }
        skipped = false;
        fprintf(stderr, "%c %s\n", kind[s], text[s]);
    }
    free(len);
    free(kind);
    free(text);
    free(a.at);
    free(b.at);
}

/* ---- one case ---- */

static const char *separator = "--- after ";

/* The pass a case tests: the name of the directory holding it. */
static char *pass_of(const char *path) {
    const char *end = strrchr(path, '/');
    if (!end) return NULL;
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    char *name = malloc((size_t)(end - start) + 1);
    if (!name) xf_abort(__FILE__, __LINE__, "out of memory");
    memcpy(name, start, (size_t)(end - start));
    name[end - start] = 0;
    return name;
}

static int opt_level_of(const char *input) {
    const char *o = strstr(input, "; options: -O");
    return o && o[13] >= '0' && o[13] <= '2' ? o[13] - '0' : 2;
}

static bool write_case(const char *path, const char *input, size_t input_len, const char *pass, const char *got) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return false;
    fwrite(input, 1, input_len, f);
    if (input_len && input[input_len - 1] != '\n') fputc('\n', f);
    fprintf(f, "%s%s\n%s", separator, pass, got);
    bool ok = fclose(f) == 0 && rename(tmp, path) == 0;
    if (!ok) remove(tmp);
    return ok;
}

static bool run_case(const char *path, bool update) {
    char *file = xf_read_text(path), *pass = pass_of(path), *got = NULL;
    xf_graph *g = NULL;
    bool ok = false;
    if (!file || !pass) {
        fprintf(stderr, "%s: cannot read it, or it is not in a directory named after a pass\n", path);
        goto out;
    }
    /* the input ends where the separator line starts */
    char *sep = strncmp(file, separator, strlen(separator)) == 0 ? file : strstr(file, "\n--- after ");
    if (sep && sep != file) sep++;
    if (!sep && !update) {
        fprintf(stderr, "%s: no '%s%s' line (run with --update to write the expected IR)\n", path, separator, pass);
        goto out;
    }
    size_t input_len = sep ? (size_t)(sep - file) : strlen(file);
    char *expected = NULL;
    if (sep) {
        char *eol = strchr(sep, '\n');
        size_t name_len = (eol ? (size_t)(eol - sep) : strlen(sep)) - strlen(separator);
        if (name_len != strlen(pass) || strncmp(sep + strlen(separator), pass, name_len) != 0) {
            fprintf(stderr, "%s: the separator line must say '%s%s'\n", path, separator, pass);
            goto out;
        }
        expected = eol ? eol + 1 : sep + strlen(sep);
    }
    char *input = malloc(input_len + 1);
    if (!input) xf_abort(__FILE__, __LINE__, "out of memory");
    memcpy(input, file, input_len);
    input[input_len] = 0;
    xf_diag d = {0};
    g = xf_graph_parse(input, path, &d);
    free(input);
    if (!g) {
        fprintf(stderr, "%s\n", d.msg);
        goto out;
    }
    xf_fusion_stats stats = {.nmissed = 0};
    xf_options o = {.opt_level = opt_level_of(file), .stats = &stats};
    /* lowering is the pipeline's last step, not a pass: its cases print the calls after the IR */
    bool lowering = strcmp(pass, "lower") == 0;
    if (!(lowering ? xf_lower_graph(g, &d) : xf_run_pass(g, pass, &o, &d))) {
        fprintf(stderr, "%s: %s\n", path, d.msg);
        goto out;
    }
    xf_graph_verify(g);
    size_t size = 0;
    FILE *f = open_memstream(&got, &size);
    if (!f) xf_abort(__FILE__, __LINE__, "open_memstream");
    xf_graph_print(g, f);
    print_fusions(f, &stats);
    if (lowering) xf_lowering_print(g, f);
    fclose(f);
    if (update) {
        ok = write_case(path, file, input_len, pass, got);
        if (!ok) fprintf(stderr, "%s: cannot write it\n", path);
        else if (!expected || strcmp(expected, got) != 0) printf("%s: updated\n", path);
    } else if (strcmp(expected, got) != 0) {
        fprintf(stderr, "%s: the IR after %s differs from the expected IR\n", path, pass);
        print_diff(expected, got);
    } else {
        ok = true;
    }
out:
    xf_graph_free(g);
    free(got);
    free(file);
    free(pass);
    return ok;
}

/* ---- coverage ---- */

static bool has_case(const char *dir, const char *pass, const char *word) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, pass);
    DIR *d = opendir(path);
    if (!d) return false;
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        found = n > 3 && strcmp(e->d_name + n - 3, ".ir") == 0 && (!word || strstr(e->d_name, word));
    }
    closedir(d);
    return found;
}

static bool coverage(const char *dir) {
    bool ok = true;
    for (int i = 0; i < xf_npasses; i++) {
        const char *name = xf_passes[i].name;
        bool fusion = strncmp(name, "fuse_", 5) == 0 || strcmp(name, "flash_norm") == 0;
        if (!has_case(dir, name, NULL)) {
            fprintf(stderr, "pass %s has no golden test in %s/%s/\n", name, dir, name);
            ok = false;
        } else if (fusion && !has_case(dir, name, "miss")) {
            fprintf(stderr, "fusion pass %s has no near-miss case (a %s/%s/*miss*.ir)\n", name, dir, name);
            ok = false;
        }
    }
    if (!has_case(dir, "lower", NULL)) {
        fprintf(stderr, "lowering has no golden test in %s/lower/\n", dir);
        ok = false;
    }
    return ok;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--coverage") == 0) return coverage(argv[2]) ? 0 : 1;
    bool update = argc > 1 && strcmp(argv[1], "--update") == 0;
    if (argc < 2 + update) {
        fprintf(stderr, "usage: golden [--update] PASS/CASE.ir ...\n       golden --coverage DIR\n");
        return 2;
    }
    int failed = 0;
    for (int i = 1 + update; i < argc; i++) failed += !run_case(argv[i], update);
    return failed ? 1 : 0;
}
