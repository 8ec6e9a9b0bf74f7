/* xfc_run.c — `xfc run`: compile a model, build the C with the system compiler into a shared
 * object in a temporary directory, load it, run it on TensorProto inputs and compare with expected
 * outputs. This is how tests check generated code against reference outputs, and how a user checks
 * that xfc computes what their framework computes. Tensors of the narrow types (float16, float8,
 * packed 4-bit ...) travel as ONNX's bytes both ways and are compared by their decoded values. */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../codegen/backend.h"
#include "../frontend/frontend.h"
#include "../runtime/pool/xfc_pool.h"
#include "cli.h"

/* model_run_ex, the entry point that takes an executor (--threads) */
typedef int (*run_fn)(void *, const void *const[], void *const[], const xfc_executor *);
typedef int (*run_external_fn)(const void *, size_t, void *, const void *const[], void *const[],
                               const xfc_executor *); /* --weights external */

/* Runs the C compiler ($CC, default cc) without a shell, so paths need no quoting. */
static bool build_shared(const char *src, const char *so, xf_diag *d) {
    const char *cc = getenv("CC");
    if (!cc || !*cc) cc = "cc";
    pid_t pid = fork();
    if (pid < 0) return xf_fail(d, NULL, NULL, "cannot start the C compiler: %s", strerror(errno));
    if (pid == 0) {
        execlp(cc, cc, "-O2", "-std=c99", "-shared", "-fPIC", "-o", so, src, "-lm", (char *)NULL);
        fprintf(stderr, "xfc: cannot run '%s': %s\n", cc, strerror(errno));
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return xf_fail(d, NULL, NULL, "the C compiler '%s' failed on the generated code %s", cc, src);
    return true;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double element(const void *p, int32_t dtype, int64_t i) {
    switch (dtype) {
    case XF_F32: return ((const float *)p)[i];
    case XF_F64: return ((const double *)p)[i];
    case XF_I64: return (double)((const int64_t *)p)[i];
    case XF_I32: return ((const int32_t *)p)[i];
    case XF_BOOL: case XF_U8: return ((const uint8_t *)p)[i];
    case XF_I8: return ((const int8_t *)p)[i];
    case XF_I16: return ((const int16_t *)p)[i];
    case XF_U16: return ((const uint16_t *)p)[i];
    case XF_U32: return ((const uint32_t *)p)[i];
    case XF_U64: return (double)((const uint64_t *)p)[i];
    default: return xf_dtype_real(dtype, p, i); /* the narrow types, decoded from ONNX's bytes */
    }
}

static int64_t numel(int rank, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= shape[i];
    return n;
}

static bool same_shape(const xf_tensor *t, const xf_value *v) {
    if (t->rank != v->rank) return false;
    for (int i = 0; i < t->rank; i++)
        if (t->shape[i] != v->shape[i]) return false;
    return true;
}

/* Compares one output; prints its errors; returns whether it is within tolerance. */
static bool compare(const xf_cli *cli, int k, const xf_value *v, const void *got, const xf_tensor *want) {
    int64_t n = xf_value_numel(v), bad = 0;
    double max_abs = 0, max_rel = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = element(got, v->dtype, i), y = element(want->data, want->dtype, i);
        if ((isnan(x) && isnan(y)) || x == y) continue; /* also equal infinities */
        double err = fabs(x - y);
        if (isnan(err)) err = INFINITY;
        if (err > max_abs) max_abs = err;
        if (y != 0 && err / fabs(y) > max_rel) max_rel = err / fabs(y);
        if (!(err <= cli->atol + cli->rtol * fabs(y))) bad++;
    }
    printf("output %d '%s': max abs error %.3g, max rel error %.3g over %lld elements%s\n", k, v->name, max_abs,
           max_rel, (long long)n, bad ? " — MISMATCH" : "");
    if (bad) printf("  %lld elements exceed atol %g + rtol %g\n", (long long)bad, cli->atol, cli->rtol);
    return bad == 0;
}

/* A compiled model loaded into this process. */
typedef struct loaded {
    void *lib, *arena;
    run_fn run;
    run_external_fn run_external;
    void *weights; /* --weights external: model.bin, read into memory */
    size_t weights_bytes;
    void *outs[XF_CLI_MAX];
    int64_t code_bytes, rodata_bytes;
} loaded;

static void unload(loaded *m) {
    if (m->lib) dlclose(m->lib);
    free(m->arena);
    free(m->weights);
    for (int i = 0; i < XF_CLI_MAX; i++) free(m->outs[i]);
    memset(m, 0, sizeof *m);
}

/* Sizes of the .text and .rodata sections of an ELF64 file, read from its section headers. */
static void section_sizes(const char *path, int64_t *text, int64_t *rodata) {
    *text = *rodata = -1;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    unsigned char eh[64];
    if (fread(eh, 1, 64, f) == 64 && memcmp(eh, "\177ELF", 4) == 0 && eh[4] == 2) {
        uint64_t shoff;
        uint16_t shentsize, shnum, shstrndx;
        memcpy(&shoff, eh + 40, 8);
        memcpy(&shentsize, eh + 58, 2);
        memcpy(&shnum, eh + 60, 2);
        memcpy(&shstrndx, eh + 62, 2);
        unsigned char *sh = calloc(shnum ? shnum : 1, shentsize ? shentsize : 1);
        if (sh && shentsize >= 64 && shstrndx < shnum && fseek(f, (long)shoff, SEEK_SET) == 0 &&
            fread(sh, shentsize, shnum, f) == shnum) {
            uint64_t stroff, strsize;
            memcpy(&stroff, sh + (size_t)shstrndx * shentsize + 24, 8);
            memcpy(&strsize, sh + (size_t)shstrndx * shentsize + 32, 8);
            char *names = calloc(1, strsize + 1);
            if (names && fseek(f, (long)stroff, SEEK_SET) == 0 && fread(names, 1, strsize, f) == strsize) {
                *text = *rodata = 0;
                for (uint16_t i = 0; i < shnum; i++) {
                    uint32_t name;
                    uint64_t size;
                    memcpy(&name, sh + (size_t)i * shentsize, 4);
                    memcpy(&size, sh + (size_t)i * shentsize + 32, 8);
                    if (name >= strsize) continue;
                    if (strncmp(names + name, ".text", 5) == 0) *text += (int64_t)size;
                    if (strncmp(names + name, ".rodata", 7) == 0) *rodata += (int64_t)size;
                }
            }
            free(names);
        }
        free(sh);
    }
    fclose(f);
}

/* Reads the whole of a weights file into 64-byte aligned memory (with --weights external). */
static bool read_weights(const char *path, loaded *m, xf_diag *d) {
    FILE *f = fopen(path, "rb");
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        if (f) fclose(f);
        return xf_fail(d, NULL, NULL, "cannot read %s: %s", path, strerror(errno));
    }
    m->weights_bytes = (size_t)size;
    m->weights = aligned_alloc(64, ((size_t)size + 64) / 64 * 64);
    if (!m->weights) xf_abort(__FILE__, __LINE__, "out of memory");
    bool ok = fread(m->weights, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    return ok || xf_fail(d, NULL, NULL, "cannot read %s", path);
}

/* Emits g as C into dir, builds it as a shared object and loads it. */
static bool build_and_load(const xfc_model *model, const xf_cli *cli, const char *dir, const char *stem,
                           xf_arena *a, loaded *m, xf_diag *d) {
    const xf_graph *g = model->g;
    const char *src = xf_sprintf(a, "%s/%s.c", dir, stem), *so = xf_sprintf(a, "%s/%s.so", dir, stem);
    xfc_c_options co = {.prefix = "model", .weights = cli->c.weights};
    xfc_error err;
    if (!xfc_emit_c(model, src, &co, &err)) return xf_fail(d, NULL, NULL, "%s", err.message);
    if (!build_shared(src, so, d)) return false;
    if (cli->c.weights == XFC_WEIGHTS_EXTERNAL && !read_weights(xf_sprintf(a, "%s/%s.bin", dir, stem), m, d))
        return false;
    section_sizes(so, &m->code_bytes, &m->rodata_bytes);
    m->lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!m->lib) return xf_fail(d, NULL, NULL, "cannot load %s: %s", so, dlerror());
    if (cli->c.weights == XFC_WEIGHTS_EXTERNAL) m->run_external = (run_external_fn)(uintptr_t)dlsym(m->lib, "model_run_ex");
    else m->run = (run_fn)(uintptr_t)dlsym(m->lib, "model_run_ex");
    XF_ASSERT(m->run || m->run_external);
    m->arena = aligned_alloc(64, (size_t)(g->arena_bytes + 64) / 64 * 64);
    if (!m->arena) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->noutputs; i++) {
        m->outs[i] = malloc((size_t)xf_value_bytes(&g->values[g->outputs[i]]) + 1);
        if (!m->outs[i]) xf_abort(__FILE__, __LINE__, "out of memory");
    }
    return true;
}

/* Runs the model `repeat` times on cli->threads threads (a pool of runtime/pool/ beyond one); the
 * median time in seconds through *median. */
static bool run_loaded(const loaded *m, const xf_cli *cli, const void *const *ins, double *median, xf_diag *d) {
    xfc_executor *ex = NULL;
    if (cli->threads > 1 && !(ex = xfc_pool_new(cli->threads)))
        return xf_fail(d, NULL, NULL, "cannot start a pool of %d threads", cli->threads);
    double *times = calloc((size_t)cli->repeat, sizeof *times);
    if (!times) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int r = 0; r < cli->repeat; r++) {
        double t0 = now();
        int status = m->run_external
                         ? m->run_external(m->weights, m->weights_bytes, m->arena, ins, (void *const *)m->outs, ex)
                         : m->run(m->arena, ins, (void *const *)m->outs, ex);
        times[r] = now() - t0;
        if (status != 0) {
            free(times);
            xfc_pool_free(ex);
            return xf_fail(d, NULL, NULL, "%s: the generated code returned %d (%s)", cli->model, status,
                           status == 3 ? "an index is out of range" : status == 4 ? "wrong weights" : "bad arguments");
        }
    }
    qsort(times, (size_t)cli->repeat, sizeof *times, cmp_double);
    *median = times[cli->repeat / 2];
    free(times);
    xfc_pool_free(ex);
    return true;
}

/* Reads the --input files and checks them against the graph's inputs. */
static bool load_inputs(const xf_graph *g, const xf_cli *cli, xf_arena *a, const void **ins, xf_diag *d) {
    if (g->ninputs > XF_CLI_MAX || g->noutputs > XF_CLI_MAX)
        return xf_fail(d, g, NULL, "more than %d inputs or outputs", XF_CLI_MAX);
    if (cli->ninputs != g->ninputs)
        return xf_fail(d, g, NULL, "the model has %d inputs, %d given with --input", g->ninputs, cli->ninputs);
    for (int i = 0; i < g->ninputs; i++) {
        const xf_value *v = &g->values[g->inputs[i]];
        xf_tensor t;
        if (!xf_tensor_load_pb(a, cli->inputs[i], &t, d)) return false;
        if (t.dtype != v->dtype || !same_shape(&t, v)) {
            char want[128], got[128];
            xf_value tv = {.rank = t.rank};
            memcpy(tv.shape, t.shape, sizeof t.shape);
            return xf_fail(d, NULL, NULL, "%s: input %d ('%s') must be %s%s, got %s%s", cli->inputs[i], i, v->name,
                           xf_dtype_name(v->dtype), xf_shape_str(v, want, sizeof want), xf_dtype_name(t.dtype),
                           xf_shape_str(&tv, got, sizeof got));
        }
        ins[i] = t.data;
    }
    return true;
}

static int run(xf_cli *cli, const char *dir, xf_arena *a) {
    xf_diag d = {0};
    xfc_model *model = xf_cli_compile(cli);
    if (!model) return 2;
    const xf_graph *g = model->g;
    if (cli->dump_ir) xf_graph_dump(g, stderr);
    if (cli->verbose) xf_print_summary(model, stderr);
    int rc = 2;
    loaded m = {0};
    const void *ins[XF_CLI_MAX];
    xf_tensor expect[XF_CLI_MAX];
    double median;
    if (!load_inputs(g, cli, a, ins, &d)) goto out;
    if (cli->nexpect > g->noutputs || cli->nsave > g->noutputs) {
        xf_fail(&d, g, NULL, "the model has %d outputs, more given with --expect or --output", g->noutputs);
        goto out;
    }
    for (int i = 0; i < cli->nexpect; i++) {
        const xf_value *v = &g->values[g->outputs[i]];
        if (!xf_tensor_load_pb(a, cli->expect[i], &expect[i], &d)) goto out;
        if (xf_value_numel(v) != numel(expect[i].rank, expect[i].shape)) {
            char want[128];
            xf_fail(&d, NULL, NULL, "%s: expected output %d ('%s') has %lld elements, the model's is %s", cli->expect[i],
                    i, v->name, (long long)numel(expect[i].rank, expect[i].shape), xf_shape_str(v, want, sizeof want));
            goto out;
        }
    }
    if (!build_and_load(model, cli, dir, "model", a, &m, &d) || !run_loaded(&m, cli, ins, &median, &d)) goto out;
    if (cli->repeat > 1) printf("median time %.3f ms over %d runs\n", 1e3 * median, cli->repeat);
    rc = 0;
    for (int i = 0; i < cli->nexpect; i++)
        if (!compare(cli, i, &g->values[g->outputs[i]], m.outs[i], &expect[i])) rc = 1;
    for (int i = 0; i < cli->nsave; i++) {
        const xf_value *v = &g->values[g->outputs[i]];
        xf_tensor t = {.name = v->name, .dtype = v->dtype, .rank = v->rank, .data = m.outs[i]};
        memcpy(t.shape, v->shape, sizeof t.shape);
        if (!xf_tensor_save_pb(cli->save[i], &t, &d)) {
            rc = 2;
            break;
        }
    }
    if (!cli->nexpect && !cli->nsave)
        for (int i = 0; i < g->noutputs; i++) {
            const xf_value *v = &g->values[g->outputs[i]];
            char buf[128];
            printf("output %d '%s' %s%s:", i, v->name, xf_dtype_name(v->dtype), xf_shape_str(v, buf, sizeof buf));
            for (int64_t k = 0; k < xf_value_numel(v) && k < 8; k++) printf(" %.6g", element(m.outs[i], v->dtype, k));
            printf("%s\n", xf_value_numel(v) > 8 ? " ..." : "");
        }
out:
    unload(&m);
    xfc_model_free(model);
    if (d.set) return xf_die(&d);
    return rc;
}

/* Deterministic stand-in inputs for `compare` without --input: floats in [-1, 1) from a fixed
 * linear congruential sequence; integers and bools 0 (a valid index for any Gather). */
static const void **synthetic_inputs(const xf_graph *g, xf_arena *a) {
    const void **ins = xf_alloc(a, sizeof(void *) * (size_t)(g->ninputs + 1));
    uint32_t state = 12345;
    for (int i = 0; i < g->ninputs; i++) {
        const xf_value *v = &g->values[g->inputs[i]];
        void *p = xf_alloc(a, (size_t)xf_value_bytes(v) + 1);
        for (int64_t k = 0; v->dtype == XF_F32 && k < xf_value_numel(v); k++) {
            state = state * 1664525u + 1013904223u;
            ((float *)p)[k] = (float)(state >> 8) / 8388608.0f - 1.0f;
        }
        ins[i] = p;
    }
    return ins;
}

/* `xfc compare`: the unoptimised and the optimised build side by side. */
static int compare_builds(xf_cli *cli, const char *dir, xf_arena *a) {
    static const int levels[2] = {0, 2};
    xf_diag d = {0};
    xfc_model *model[2] = {NULL, NULL};
    const xf_graph *g[2] = {NULL, NULL};
    loaded m[2] = {{0}, {0}};
    double median[2] = {0, 0};
    int rc = 2;
    if (cli->repeat == 1) cli->repeat = 20;
    for (int b = 0; b < 2; b++) {
        cli->opts.opt_level = levels[b];
        if (!(model[b] = xf_cli_compile(cli))) goto out;
        g[b] = model[b]->g;
    }
    const void **ins = xf_alloc(a, sizeof(void *) * XF_CLI_MAX);
    if (cli->ninputs) {
        if (!load_inputs(g[0], cli, a, ins, &d)) goto out;
    } else {
        ins = synthetic_inputs(g[0], a);
    }
    for (int b = 0; b < 2; b++) {
        cli->opts.opt_level = levels[b];
        if (!build_and_load(model[b], cli, dir, b ? "o2" : "o0", a, &m[b], &d) ||
            !run_loaded(&m[b], cli, ins, &median[b], &d))
            goto out;
    }
    double diff = 0;
    for (int i = 0; i < g[0]->noutputs; i++) {
        const xf_value *v = &g[0]->values[g[0]->outputs[i]];
        for (int64_t k = 0; k < xf_value_numel(v); k++) {
            double x = element(m[0].outs[i], v->dtype, k), y = element(m[1].outs[i], v->dtype, k);
            if (x == y || (isnan(x) && isnan(y))) continue;
            double e = fabs(x - y);
            diff = isnan(e) || e > diff ? (isnan(e) ? INFINITY : e) : diff;
        }
    }
    int32_t nodes[2] = {0, 0};
    for (int b = 0; b < 2; b++)
        for (int32_t i = 0; i < g[b]->nnodes; i++) nodes[b] += !g[b]->nodes[i].dead;
    printf("%-22s %14s %14s\n", cli->model, "-O0", "-O2");
    printf("%-22s %11.3f ms %11.3f ms   (%.2fx)\n", "median latency", 1e3 * median[0], 1e3 * median[1],
           median[1] > 0 ? median[0] / median[1] : 0);
    printf("%-22s %14d %14d\n", "nodes", nodes[0], nodes[1]);
    printf("%-22s %14lld %14lld\n", "arena bytes", (long long)g[0]->arena_bytes, (long long)g[1]->arena_bytes);
    printf("%-22s %14lld %14lld\n", "code bytes (.text)", (long long)m[0].code_bytes, (long long)m[1].code_bytes);
    printf("%-22s %14lld %14lld\n", "weight bytes", (long long)xfc_model_stats(model[0]).weight_bytes,
           (long long)xfc_model_stats(model[1]).weight_bytes);
    printf("max abs difference between the outputs: %.3g (%d runs each, %d thread%s)\n", diff, cli->repeat,
           cli->threads, cli->threads > 1 ? "s" : "");
    rc = 0;
out:
    for (int b = 0; b < 2; b++) {
        unload(&m[b]);
        xfc_model_free(model[b]);
    }
    if (d.set) return xf_die(&d);
    return rc;
}

/* Runs `body` in a fresh temporary directory and removes what it left there. */
static int in_temp_dir(xf_cli *cli, int (*body)(xf_cli *, const char *, xf_arena *)) {
    const char *tmp = getenv("TMPDIR");
    xf_arena *a = xf_arena_new();
    char *dir = xf_sprintf(a, "%s/xfc-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "xfc: error: cannot make a temporary directory: %s\n", strerror(errno));
        xf_arena_free(a);
        return 2;
    }
    int rc = body(cli, dir, a);
    static const char *const names[] = {"model", "o0", "o2"};
    for (int i = 0; i < 3; i++) {
        remove(xf_sprintf(a, "%s/%s.c", dir, names[i]));
        remove(xf_sprintf(a, "%s/%s.h", dir, names[i]));
        remove(xf_sprintf(a, "%s/%s.so", dir, names[i]));
        remove(xf_sprintf(a, "%s/%s.bin", dir, names[i]));
    }
    rmdir(dir);
    xf_arena_free(a);
    return rc;
}

int xf_run_main(int argc, char **argv) {
    xf_cli cli;
    int rc = xf_parse_args(&cli, argc, argv, true);
    return rc ? rc : in_temp_dir(&cli, run);
}

int xf_compare_main(int argc, char **argv) {
    xf_cli cli;
    int rc = xf_parse_args(&cli, argc, argv, true);
    return rc ? rc : in_temp_dir(&cli, compare_builds);
}
