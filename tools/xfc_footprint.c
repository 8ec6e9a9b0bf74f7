/* xfc_footprint.c — the firmware footprint of a compiled model, for `xfc report --target`: the flash
 * and RAM the generated code needs on the target, measured by compiling it with the target's own
 * compiler rather than estimated.
 *
 * The graph is emitted as freestanding C into a temporary directory and compiled there with
 * arm-none-eabi-gcc -O2 for the target's CPU, as a firmware build would. Then:
 *   sizes  from the section headers of the ELF32 object: executable sections are code, other
 *          read-only ones (weights, tensor tables) are also flash; initialised writable data needs
 *          flash for its initial values and RAM; zero-initialised data (bss) needs RAM only.
 *   stack  from -fcallgraph-info=su, which records each function's frame and every call: the worst
 *          case is the heaviest chain of calls from <prefix>_run down (run calls kernels, kernels
 *          call helpers and math functions). Calls that leave the object (memcpy, memset, libgcc's
 *          arithmetic helpers such as the 64-bit division) have no frame in the graph; each counts
 *          as EXTERNAL_FRAME bytes, more than newlib's memcpy/memset and libgcc's __aeabi_ldivmod
 *          chain push on Cortex-M (16 + 32 bytes). A function with a frame of dynamic size makes the
 *          bound unknowable and is reported as an error.
 * RAM is then the arena plus data, bss and that stack. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../codegen/backend.h"
#include "cli.h"

#define TARGET_CC "arm-none-eabi-gcc"
#define EXTERNAL_FRAME 64 /* bytes charged to a call that leaves the object */

/* Compiles src into obj for target t, with the call graph and frame sizes written next to obj.
 * Runs the compiler without a shell, so paths need no quoting. */
static bool compile(const xf_target *t, const char *src, const char *obj, xf_arena *a, xf_diag *d) {
    const char *argv[32];
    int n = 0;
    argv[n++] = TARGET_CC;
    char *flags = xf_strdup(a, t->cpu_flags);
    for (char *f = strtok(flags, " "); f && n < 24; f = strtok(NULL, " ")) argv[n++] = f;
    const char *rest[] = {"-O2", "-std=c99", "-ffreestanding", "-fcallgraph-info=su", "-c", src, "-o", obj};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) argv[n++] = rest[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return xf_fail(d, NULL, NULL, "cannot start %s: %s", TARGET_CC, strerror(errno));
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127); /* the parent explains */
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return xf_fail(d, NULL, NULL, "%s did not finish", TARGET_CC);
    if (WEXITSTATUS(status) == 127)
        return xf_fail(d, NULL, NULL, "--target %s needs %s to measure the footprint, and it is not on PATH "
                       "(install gcc-arm-none-eabi)", t->name, TARGET_CC);
    if (WEXITSTATUS(status) != 0)
        return xf_fail(d, NULL, NULL, "%s failed on the generated code %s", TARGET_CC, src);
    return true;
}

/* ---- sizes from the ELF32 section headers ---- */

static uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sums the allocated sections of a little-endian ELF32 object: code (executable), rodata (other
 * read-only), data (writable, initialised) and bss (writable, zeroed). */
static bool elf_sizes(const char *path, int64_t *code, int64_t *rodata, int64_t *data, int64_t *bss, xf_diag *d) {
    enum { SHF_WRITE = 1, SHF_ALLOC = 2, SHF_EXECINSTR = 4, SHT_NOBITS = 8 };
    *code = *rodata = *data = *bss = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return xf_fail(d, NULL, NULL, "cannot read %s: %s", path, strerror(errno));
    unsigned char eh[52], sh[40];
    bool ok = fread(eh, 1, sizeof eh, f) == sizeof eh && memcmp(eh, "\177ELF\1\1", 6) == 0;
    uint32_t shoff = ok ? u32(eh + 32) : 0;
    unsigned shentsize = ok ? (unsigned)(eh[46] | eh[47] << 8) : 0, shnum = ok ? (unsigned)(eh[48] | eh[49] << 8) : 0;
    for (unsigned i = 0; ok && i < shnum; i++) {
        ok = shentsize >= sizeof sh && fseek(f, (long)(shoff + i * shentsize), SEEK_SET) == 0 &&
             fread(sh, 1, sizeof sh, f) == sizeof sh;
        uint32_t type = u32(sh + 4), flags = u32(sh + 8), size = u32(sh + 20);
        if (!ok || !(flags & SHF_ALLOC)) continue;
        if (flags & SHF_EXECINSTR) *code += size;
        else if (!(flags & SHF_WRITE)) *rodata += size;
        else if (type == SHT_NOBITS) *bss += size;
        else *data += size;
    }
    fclose(f);
    return ok ? true : xf_fail(d, NULL, NULL, "%s is not a 32-bit little-endian ELF object", path);
}

/* ---- worst-case stack from the call graph ---- */

typedef struct cg_node {
    char *title;
    int64_t frame;  /* bytes; -1 for functions outside the object */
    bool dynamic;   /* the frame's size depends on the call (alloca, VLA) */
    int64_t worst;  /* heaviest chain from here, -1 while not yet known */
    bool visiting;
} cg_node;

typedef struct call_graph {
    cg_node *nodes;
    int32_t n, cap;
    int32_t *from, *to; /* edges */
    int32_t nedges, cap_edges;
} call_graph;

/* The text between `key: "` and the next quote on line, or NULL. Titles and labels never hold a
 * quote: they are function names and file:line positions. */
static char *field(const char *line, const char *key, xf_arena *a) {
    const char *p = strstr(line, key);
    if (!p) return NULL;
    p += strlen(key);
    const char *q = strchr(p, '"');
    return q ? xf_sprintf(a, "%.*s", (int)(q - p), p) : NULL;
}

static int32_t node_index(call_graph *cg, const char *title, xf_arena *a) {
    for (int32_t i = 0; i < cg->n; i++)
        if (strcmp(cg->nodes[i].title, title) == 0) return i;
    if (cg->n == cg->cap) {
        cg->cap = cg->cap ? 2 * cg->cap : 64;
        cg_node *grown = xf_alloc(a, sizeof *grown * (size_t)cg->cap);
        if (cg->n) memcpy(grown, cg->nodes, sizeof *grown * (size_t)cg->n);
        cg->nodes = grown;
    }
    cg->nodes[cg->n] = (cg_node){.title = xf_strdup(a, title), .frame = -1, .worst = -1};
    return cg->n++;
}

static void add_edge(call_graph *cg, int32_t from, int32_t to, xf_arena *a) {
    if (cg->nedges == cg->cap_edges) {
        cg->cap_edges = cg->cap_edges ? 2 * cg->cap_edges : 256;
        int32_t *f = xf_alloc(a, sizeof *f * (size_t)cg->cap_edges), *t = xf_alloc(a, sizeof *t * (size_t)cg->cap_edges);
        if (cg->nedges) {
            memcpy(f, cg->from, sizeof *f * (size_t)cg->nedges);
            memcpy(t, cg->to, sizeof *t * (size_t)cg->nedges);
        }
        cg->from = f, cg->to = t;
    }
    cg->from[cg->nedges] = from;
    cg->to[cg->nedges++] = to;
}

/* Reads GCC's VCG call graph: `node: { title: "T" label: "NAME\nFILE:LINE\nN bytes (static)" }`
 * and `edge: { sourcename: "T" targetname: "T" ... }`, one per line. */
static bool read_call_graph(const char *path, call_graph *cg, xf_arena *a, xf_diag *d) {
    FILE *f = fopen(path, "r");
    if (!f) return xf_fail(d, NULL, NULL, "%s wrote no call graph %s: %s", TARGET_CC, path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "node:", 5) == 0) {
            char *title = field(line, "title: \"", a), *label = field(line, "label: \"", a);
            if (!title) continue;
            int32_t i = node_index(cg, title, a); /* may move cg->nodes */
            cg_node *n = &cg->nodes[i];
            const char *bytes = label ? strstr(label, " bytes (") : NULL;
            if (bytes) {
                const char *num = bytes;
                while (num > label && num[-1] >= '0' && num[-1] <= '9') num--;
                n->frame = strtoll(num, NULL, 10);
                n->dynamic = strncmp(bytes, " bytes (dynamic", 15) == 0 && !strstr(bytes, "bounded");
            }
        } else if (strncmp(line, "edge:", 5) == 0) {
            char *from = field(line, "sourcename: \"", a), *to = field(line, "targetname: \"", a);
            if (from && to) {
                int32_t i = node_index(cg, from, a), j = node_index(cg, to, a);
                add_edge(cg, i, j, a);
            }
        }
    }
    free(line);
    fclose(f);
    return true;
}

/* The heaviest chain of frames from node i. Generated code never recurses; a cycle would make the
 * stack unbounded, so it is an error, as is a frame of dynamic size. */
static bool worst_chain(call_graph *cg, int32_t i, int64_t *out, xf_diag *d) {
    cg_node *n = &cg->nodes[i];
    if (n->worst >= 0) {
        *out = n->worst;
        return true;
    }
    if (n->visiting) return xf_fail(d, NULL, NULL, "the generated code recurses through %s: no stack bound", n->title);
    if (n->dynamic) return xf_fail(d, NULL, NULL, "%s has a stack frame of dynamic size: no stack bound", n->title);
    n->visiting = true;
    int64_t deepest = 0;
    for (int32_t e = 0; e < cg->nedges; e++) {
        int64_t below = 0; /* set whenever worst_chain succeeds; gcc cannot follow the recursion */
        if (cg->from[e] != i) continue;
        if (!worst_chain(cg, cg->to[e], &below, d)) return false;
        if (below > deepest) deepest = below;
    }
    n->visiting = false;
    n->worst = *out = (n->frame >= 0 ? n->frame : EXTERNAL_FRAME) + deepest;
    return true;
}

/* ---- the whole measurement ---- */

static bool measure(const xfc_model *m, const xf_cli *cli, const xf_target *t, const char *dir, xf_arena *a,
                    xf_footprint *fp, xf_diag *d) {
    const char *src = xf_sprintf(a, "%s/model.c", dir), *obj = xf_sprintf(a, "%s/model.o", dir);
    xfc_c_options co = {.prefix = "model", .target = t->name, .freestanding = true,
                        .weights_section = cli->c.weights_section};
    xfc_error err;
    if (!xfc_emit_c(m, src, &co, &err)) return xf_fail(d, NULL, NULL, "%s", err.message);
    if (!compile(t, src, obj, a, d)) return false;
    int64_t code, rodata, data, bss, stack;
    if (!elf_sizes(obj, &code, &rodata, &data, &bss, d)) return false;
    call_graph cg = {0};
    if (!read_call_graph(xf_sprintf(a, "%s/model.ci", dir), &cg, a, d)) return false;
    int32_t run = -1;
    for (int32_t i = 0; i < cg.n; i++)
        if (strcmp(cg.nodes[i].title, "model_run") == 0) run = i;
    if (run < 0) return xf_fail(d, NULL, NULL, "no model_run in the call graph of %s", src);
    if (!worst_chain(&cg, run, &stack, d)) return false;
    fp->code = code;
    fp->stack = stack;
    fp->flash = code + rodata + data;
    fp->ram = m->g->arena_bytes + data + bss + stack;
    return true;
}

bool xf_firmware_footprint(const xfc_model *m, const xf_cli *cli, xf_footprint *fp, xf_diag *d) {
    const xf_target *t = xf_target_find(cli->c.target);
    XF_ASSERT(t); /* the option parser accepts only known targets */
    const char *tmp = getenv("TMPDIR");
    xf_arena *a = xf_arena_new();
    char *dir = xf_sprintf(a, "%s/xfc-footprint-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    bool ok = false;
    if (!mkdtemp(dir)) {
        xf_fail(d, NULL, NULL, "cannot make a temporary directory: %s", strerror(errno));
    } else {
        ok = measure(m, cli, t, dir, a, fp, d);
        static const char *const files[] = {"model.c", "model.h", "model.o", "model.ci", "model.su"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) remove(xf_sprintf(a, "%s/%s", dir, files[i]));
        rmdir(dir);
    }
    xf_arena_free(a);
    return ok;
}
