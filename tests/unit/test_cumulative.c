/* test_cumulative.c — CumSum and CumProd, one kernel (xf_cumulative) for both. Values are computed
 * at compile time (xf_eval_node runs the kernel the generated code copies); every expected number
 * is worked out by hand from the ONNX spec. */
#include <check.h>
#include <string.h>

#include "testutil.h"

static xf_graph *g;
static void setup(void) { g = xf_graph_new("cumulative.onnx"); }
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

/* op over x [2, 3] along axis, with the exclusive and reverse attributes. */
static int32_t cumulative(int op, int32_t dtype, const void *x, int64_t axis, int exclusive, int reverse) {
    int32_t xv = xf_const_add(g, "x", dtype, 2, SHAPE(2, 3), x);
    int32_t n = tu_node(g, op, "cum", 2, (int32_t[]){xv, tu_i64_scalar(g, "axis", axis)});
    if (exclusive) tu_set_int(g, n, "exclusive", 1);
    if (reverse) tu_set_int(g, n, "reverse", 1);
    return n;
}

static void check_f32(const float *got, const float *want) {
    for (int i = 0; i < 6; i++) ck_assert_msg(got[i] == want[i], "element %d: got %g, want %g", i, got[i], want[i]);
}

static const float X[6] = {1, 2, 3, 4, 5, 6};

START_TEST(cumprod_along_rows_and_columns) {
    check_f32(tu_eval(g, cumulative(XF_OP_CUMPROD, XF_F32, X, 1, 0, 0)), (const float[]){1, 2, 6, 4, 20, 120});
    check_f32(tu_eval(g, cumulative(XF_OP_CUMPROD, XF_F32, X, 0, 0, 0)), (const float[]){1, 2, 3, 4, 10, 18});
    check_f32(tu_eval(g, cumulative(XF_OP_CUMPROD, XF_F32, X, -1, 0, 1)), (const float[]){6, 6, 3, 120, 30, 6});
}
END_TEST

/* An exclusive product starts from 1, an exclusive sum from 0. */
START_TEST(exclusive_starts_from_the_identity) {
    check_f32(tu_eval(g, cumulative(XF_OP_CUMPROD, XF_F32, X, 1, 1, 0)), (const float[]){1, 1, 2, 1, 4, 20});
    check_f32(tu_eval(g, cumulative(XF_OP_CUMPROD, XF_F32, X, 1, 1, 1)), (const float[]){6, 3, 1, 30, 6, 1});
    check_f32(tu_eval(g, cumulative(XF_OP_CUMSUM, XF_F32, X, 1, 1, 0)), (const float[]){0, 1, 3, 0, 4, 9});
    check_f32(tu_eval(g, cumulative(XF_OP_CUMSUM, XF_F32, X, 1, 0, 1)), (const float[]){6, 5, 3, 15, 11, 6});
}
END_TEST

/* int64 products wrap around like unsigned arithmetic, without undefined behaviour; float64 keeps
 * its precision. */
START_TEST(cumprod_integers_and_doubles) {
    const int64_t big[6] = {INT64_C(1) << 40, INT64_C(1) << 30, 3, -2, 5, 7};
    const int64_t *p = tu_eval(g, cumulative(XF_OP_CUMPROD, XF_I64, big, 1, 0, 0));
    ck_assert(p[0] == INT64_C(1) << 40 && p[1] == 0 && p[2] == 0); /* 2^70 wraps to 0 */
    ck_assert(p[3] == -2 && p[4] == -10 && p[5] == -70);
    const double d[6] = {0.1, 3, 1e-300, 1e300, 2, 0.5};
    const double *q = tu_eval(g, cumulative(XF_OP_CUMPROD, XF_F64, d, 1, 0, 0));
    ck_assert(q[1] == 0.1 * 3 && q[2] == 0.1 * 3 * 1e-300 && q[5] == 1e300);
}
END_TEST

START_TEST(cumprod_refuses_other_types) {
    int32_t n = cumulative(XF_OP_CUMPROD, XF_U8, (const uint8_t[]){1, 2, 3, 4, 5, 6}, 1, 0, 0);
    tu_infer_ok(g, n);
    xf_diag d = {0};
    ck_assert(!xf_eval_node(g, n, &d));
    ck_assert_msg(strstr(d.msg, "CumProd on uint8 is not supported"), "%s", d.msg);
}
END_TEST

/* Multiply-adds do not come into it: one operation per element, the table's cost. */
START_TEST(cost_is_one_per_element) {
    int32_t n = cumulative(XF_OP_CUMPROD, XF_F32, X, 1, 0, 0);
    tu_infer_ok(g, n);
    xf_call calls[2];
    xf_calls out = {.g = g, .at = calls, .max = 2};
    xf_diag d = {0};
    ck_assert(xf_lower_node(g, n, &out, &d));
    ck_assert_int_eq(out.count, 1);
    ck_assert_str_eq(xf_kernels[calls[0].kernel].name, "xf_cumulative");
    ck_assert_int_eq(xf_call_cost(g, &calls[0]).flops, 6);
}
END_TEST

static Suite *cumulative_suite(void) {
    Suite *s = suite_create("cumulative");
    TCase *tc = tcase_create("cumulative");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cumprod_along_rows_and_columns);
    tcase_add_test(tc, exclusive_starts_from_the_identity);
    tcase_add_test(tc, cumprod_integers_and_doubles);
    tcase_add_test(tc, cumprod_refuses_other_types);
    tcase_add_test(tc, cost_is_one_per_element);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(cumulative_suite()); }
