/* test_api.c — the library's public API (include/xfc.h), used the way another program would: only
 * that header, a model from disk, files written to a temporary directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "include/xfc.h"
#include "testutil.h"

#define LLAMA XF_TEST_DATA "/../../examples/llama/model.onnx"

static char dir[64];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/xfc-api-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static bool exists(const char *name) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

static void remove_dir(void) {
    static const char *const names[] = {"m.c", "m.h", "m.bin"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
    rmdir(dir);
}

START_TEST(compile_emit_and_stats) {
    xfc_options o;
    xfc_options_default(&o);
    ck_assert_int_eq(o.opt_level, 2);
    xfc_error err = {{0}};
    xfc_model *m = xfc_compile(LLAMA, &o, &err);
    ck_assert_msg(m, "%s", err.message);
    xfc_stats s = xfc_model_stats(m);
    ck_assert_int_gt(s.nodes_in, s.nodes_out); /* fusion removed nodes */
    ck_assert_int_gt(s.nodes_out, 0);
    ck_assert_int_gt(s.arena_bytes, 0);
    ck_assert_int_gt(s.weight_bytes, 100000);
    ck_assert_int_gt(s.flops, 1000000);
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/m.c", dir);
    xfc_c_options c = {.prefix = "m", .weights = XFC_WEIGHTS_EXTERNAL};
    ck_assert_msg(xfc_emit_c(m, path, &c, &err), "%s", err.message);
    ck_assert(exists("m.c") && exists("m.h") && exists("m.bin"));
    xfc_model_free(m);
    remove_dir();
}
END_TEST

/* -O0 keeps every node the model has (fusion is -O2), so its count exceeds -O2's. */
START_TEST(options_reach_the_pipeline) {
    xfc_options o;
    xfc_options_default(&o);
    xfc_error err;
    xfc_model *o2 = xfc_compile(LLAMA, &o, &err);
    o.opt_level = 0;
    xfc_model *o0 = xfc_compile(LLAMA, &o, &err);
    ck_assert(o2 && o0);
    ck_assert_int_gt(xfc_model_stats(o0).nodes_out, xfc_model_stats(o2).nodes_out);
    xfc_model_free(o0);
    xfc_model_free(o2);
}
END_TEST

START_TEST(errors_are_one_line_and_write_nothing) {
    xfc_options o;
    xfc_options_default(&o);
    xfc_error err = {{0}};
    ck_assert_ptr_null(xfc_compile("/nonexistent/model.onnx", &o, &err));
    ck_assert(strstr(err.message, "/nonexistent/model.onnx"));
    ck_assert(!strchr(err.message, '\n'));

    o.opt_level = 7;
    ck_assert_ptr_null(xfc_compile(LLAMA, &o, &err));
    ck_assert(strstr(err.message, "optimisation level 7"));

    xfc_options_default(&o);
    xfc_input_shape bad = {.name = "no_such_input", .rank = 2, .dims = {1, 16}};
    o.shapes = &bad;
    o.nshapes = 1;
    ck_assert_ptr_null(xfc_compile(LLAMA, &o, &err));
    ck_assert(strstr(err.message, "no_such_input"));

    xfc_options_default(&o);
    xfc_model *m = xfc_compile(LLAMA, &o, &err);
    ck_assert(m);
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/m.c", dir);
    xfc_c_options c = {.prefix = "m", .target = "cortex-z9"};
    ck_assert(!xfc_emit_c(m, path, &c, &err));
    ck_assert(strstr(err.message, "cortex-z9"));
    c = (xfc_c_options){.prefix = "m", .weights = (xfc_weights_form)7};
    ck_assert(!xfc_emit_c(m, path, &c, &err));
    ck_assert(strstr(err.message, "weights form 7"));
    ck_assert(!exists("m.c") && !exists("m.h"));
    xfc_model_free(m);
    remove_dir();
}
END_TEST

START_TEST(passes_are_listed_in_order) {
    const char *name, *summary;
    int level, count = 0;
    bool saw_fold = false;
    while (xfc_pass_info(count, &name, &level, &summary)) {
        ck_assert(level >= 0 && level <= 2 && *summary);
        saw_fold |= count == 0 && strcmp(name, "fold") == 0;
        count++;
    }
    ck_assert(saw_fold);
    ck_assert_int_gt(count, 10);
    ck_assert(!xfc_pass_info(-1, &name, &level, &summary));
}
END_TEST

static Suite *api_suite(void) {
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, compile_emit_and_stats);
    tcase_add_test(tc, options_reach_the_pipeline);
    tcase_add_test(tc, errors_are_one_line_and_write_nothing);
    tcase_add_test(tc, passes_are_listed_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(api_suite()); }
