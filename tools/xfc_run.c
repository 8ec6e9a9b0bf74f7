/* xfc_run.c — `xfc run`: compile a model, build the C with the system compiler into a shared
 * object in a temporary directory, load it, run it on TensorProto inputs and compare with expected
 * outputs. This is how tests check generated code against reference outputs, and how a user checks
 * that xfc computes what their framework computes. */
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
#include "xfc.h"

typedef int (*run_fn)(void *, const void *const[], void *const[]);

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
    default: return NAN;
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

static int run(xf_cli *cli, const char *dir, xf_arena *a) {
    xf_diag d = {0};
    xf_graph *g = xf_compile(cli, &d);
    if (!g) return xf_die(&d);
    if (cli->dump_ir) xf_graph_print(g, stderr);
    if (cli->verbose) xf_print_summary(g, stderr);
    int rc = 2;
    void *lib = NULL, *arena = NULL;
    const void *in_ptrs[XF_CLI_MAX];
    void *out_ptrs[XF_CLI_MAX] = {0};
    const char *src = xf_sprintf(a, "%s/model.c", dir), *so = xf_sprintf(a, "%s/model.so", dir);
    if (g->ninputs > XF_CLI_MAX || g->noutputs > XF_CLI_MAX) {
        xf_fail(&d, g, NULL, "more than %d inputs or outputs", XF_CLI_MAX);
        goto out;
    }
    if (cli->ninputs != g->ninputs) {
        xf_fail(&d, g, NULL, "the model has %d inputs, %d given with --input", g->ninputs, cli->ninputs);
        goto out;
    }
    if (cli->nexpect > g->noutputs || cli->nsave > g->noutputs) {
        xf_fail(&d, g, NULL, "the model has %d outputs, more given with --expect or --output", g->noutputs);
        goto out;
    }
    for (int i = 0; i < g->ninputs; i++) {
        const xf_value *v = &g->values[g->inputs[i]];
        xf_tensor t;
        if (!xf_tensor_load_pb(a, cli->inputs[i], &t, &d)) goto out;
        if (t.dtype != v->dtype || !same_shape(&t, v)) {
            char want[128], got[128];
            xf_value tv = {.rank = t.rank};
            memcpy(tv.shape, t.shape, sizeof t.shape);
            xf_fail(&d, NULL, NULL, "%s: input %d ('%s') must be %s%s, got %s%s", cli->inputs[i], i, v->name,
                    xf_dtype_name(v->dtype), xf_shape_str(v, want, sizeof want), xf_dtype_name(t.dtype),
                    xf_shape_str(&tv, got, sizeof got));
            goto out;
        }
        in_ptrs[i] = t.data;
    }
    xf_tensor expect[XF_CLI_MAX];
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
    xf_emit_options eo = {.prefix = "model", .source = cli->model, .opt_level = cli->opts.opt_level};
    if (!xf_backend_find("c")->emit(g, &eo, src, &d) || !build_shared(src, so, &d)) goto out;
    lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        xf_fail(&d, NULL, NULL, "cannot load %s: %s", so, dlerror());
        goto out;
    }
    run_fn model_run = (run_fn)(uintptr_t)dlsym(lib, "model_run");
    XF_ASSERT(model_run);
    arena = aligned_alloc(64, (size_t)(g->arena_bytes + 64) / 64 * 64);
    for (int i = 0; i < g->noutputs; i++) out_ptrs[i] = malloc((size_t)xf_value_bytes(&g->values[g->outputs[i]]) + 1);
    double *times = calloc((size_t)cli->repeat, sizeof *times);
    if (!arena || !times) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int r = 0; r < cli->repeat; r++) {
        double t0 = now();
        int status = model_run(arena, in_ptrs, out_ptrs);
        times[r] = now() - t0;
        if (status != 0) {
            free(times);
            xf_fail(&d, NULL, NULL, "%s: the generated code returned %d (%s)", cli->model, status,
                    status == 3 ? "an index is out of range" : "bad arguments");
            goto out;
        }
    }
    qsort(times, (size_t)cli->repeat, sizeof *times, cmp_double);
    if (cli->repeat > 1) printf("median time %.3f ms over %d runs\n", 1e3 * times[cli->repeat / 2], cli->repeat);
    free(times);
    rc = 0;
    for (int i = 0; i < cli->nexpect; i++)
        if (!compare(cli, i, &g->values[g->outputs[i]], out_ptrs[i], &expect[i])) rc = 1;
    for (int i = 0; i < cli->nsave; i++) {
        const xf_value *v = &g->values[g->outputs[i]];
        xf_tensor t = {.name = v->name, .dtype = v->dtype, .rank = v->rank, .data = out_ptrs[i]};
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
            for (int64_t k = 0; k < xf_value_numel(v) && k < 8; k++) printf(" %.6g", element(out_ptrs[i], v->dtype, k));
            printf("%s\n", xf_value_numel(v) > 8 ? " ..." : "");
        }
out:
    if (lib) dlclose(lib);
    free(arena);
    for (int i = 0; i < XF_CLI_MAX; i++) free(out_ptrs[i]);
    xf_graph_free(g);
    if (d.set) return xf_die(&d);
    return rc;
}

int xf_run_main(int argc, char **argv) {
    xf_cli cli;
    int rc = xf_parse_args(&cli, argc, argv, true);
    if (rc) return rc;
    const char *tmp = getenv("TMPDIR");
    xf_arena *a = xf_arena_new();
    char *templ = xf_sprintf(a, "%s/xfc-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(templ)) {
        fprintf(stderr, "xfc: error: cannot make a temporary directory: %s\n", strerror(errno));
        xf_arena_free(a);
        return 2;
    }
    rc = run(&cli, templ, a);
    remove(xf_sprintf(a, "%s/model.c", templ));
    remove(xf_sprintf(a, "%s/model.h", templ));
    remove(xf_sprintf(a, "%s/model.so", templ));
    rmdir(templ);
    xf_arena_free(a);
    return rc;
}
