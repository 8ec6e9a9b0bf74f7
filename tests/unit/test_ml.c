/* test_ml.c — unit tests of the ops of domain ai.onnx.ml (ir/ops_ml.c, runtime/ml.c): Binarizer,
 * ArrayFeatureExtractor and TreeEnsemble. Values are computed at compile time (xf_eval_node runs
 * the kernels xfc emits), and each op's refusals are checked. The kernel of ArrayFeatureExtractor
 * is also called directly with indices out of range, as generated code would meet them. Expected
 * numbers were worked out by hand from the ONNX operator spec. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "runtime/ml.c"
#include "testutil.h"

static xf_graph *g;
static void setup(void) {
    g = xf_graph_new("ml.onnx");
    g->opset = 0; /* a model of domain ai.onnx.ml only imports no default opset */
}
static void teardown(void) {
    xf_graph_free(g);
    g = NULL;
}

static int32_t op(const char *name) {
    int32_t k = xf_op_lookup(name);
    ck_assert_msg(k >= 0, "no op '%s'", name);
    return k;
}

static void set_tensor(int32_t node, const char *name, int32_t dtype, int64_t count, const void *data) {
    char vname[96];
    snprintf(vname, sizeof vname, "%s_%s", g->nodes[node].name, name);
    xf_node_add_attr(g, node, name, XF_ATTR_TENSOR)->tensor = xf_const_add(g, vname, dtype, 1, &count, data);
}

static void eval_ok(int32_t node) {
    tu_infer_ok(g, node);
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, node, &d), "%s", d.msg);
}

/* Shape inference succeeds but lowering (here: compile-time evaluation) refuses; returns the message. */
static const char *eval_fails(int32_t node) {
    static xf_diag d;
    memset(&d, 0, sizeof d);
    tu_infer_ok(g, node);
    ck_assert_msg(!xf_eval_node(g, node, &d), "node '%s' evaluated but should have failed", g->nodes[node].name);
    ck_assert(d.set);
    return d.msg;
}

static const char *infer_fails(int32_t node) {
    static xf_diag d;
    return tu_infer_fails(g, node, &d);
}

/* ---- Binarizer ---- */

START_TEST(test_binarizer) {
    int32_t x = xf_const_add(g, "x", XF_F32, 2, SHAPE(2, 3), (const float[]){-1.0f, 0.5f, 0.6f, 2.0f, NAN, 0.5f});
    int32_t n = tu_node(g, op("ai.onnx.ml.Binarizer"), "bin", 1, &x);
    xf_node_add_attr(g, n, "threshold", XF_ATTR_FLOAT)->f = 0.5f;
    eval_ok(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3);
    const float *y = g->values[tu_out(g, n)].data;
    const float want[] = {0, 0, 1, 1, 0, 0}; /* strictly greater; NaN is not */
    for (int i = 0; i < 6; i++) ck_assert_float_eq(y[i], want[i]);

    /* int64 keeps its type; the default threshold is 0 */
    int32_t xi = xf_const_add(g, "xi", XF_I64, 1, SHAPE(3), (const int64_t[]){-5, 0, 7});
    n = tu_node(g, op("ai.onnx.ml.Binarizer"), "bin_i", 1, &xi);
    eval_ok(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I64, 3);
    const int64_t *yi = g->values[tu_out(g, n)].data;
    ck_assert(yi[0] == 0 && yi[1] == 0 && yi[2] == 1);

    int32_t b = tu_input(g, "b", XF_BOOL, 1, SHAPE(3));
    n = tu_node(g, op("ai.onnx.ml.Binarizer"), "bin_bool", 1, &b);
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "not supported"));
    n = tu_node(g, op("ai.onnx.ml.Binarizer"), "bin_attr", 1, &x);
    xf_node_add_attr(g, n, "threshold", XF_ATTR_STRING)->s = "high";
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "threshold"));
}
END_TEST

/* ---- ArrayFeatureExtractor ---- */

START_TEST(test_array_feature_extractor) {
    int32_t x = xf_const_add(g, "x", XF_F32, 2, SHAPE(2, 4), (const float[]){0, 1, 2, 3, 4, 5, 6, 7});
    int32_t idx = tu_i64(g, "idx", 3, SHAPE(3, 0, 3));
    int32_t n = tu_node(g, op("ai.onnx.ml.ArrayFeatureExtractor"), "afe", 2, (int32_t[]){x, idx});
    eval_ok(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_F32, 2, 3);
    const float *y = g->values[tu_out(g, n)].data;
    const float want[] = {3, 0, 3, 7, 4, 7};
    for (int i = 0; i < 6; i++) ck_assert_float_eq(y[i], want[i]);

    /* a 1-D X gives one row */
    int32_t v = xf_const_add(g, "v", XF_I32, 1, SHAPE(3), (const int32_t[]){10, 20, 30});
    n = tu_node(g, op("ai.onnx.ml.ArrayFeatureExtractor"), "afe_1d", 2, (int32_t[]){v, tu_i64(g, "i1", 1, SHAPE(2))});
    eval_ok(n);
    CHECK_SHAPE(g, tu_out(g, n), XF_I32, 1, 1);
    ck_assert_int_eq(((const int32_t *)g->values[tu_out(g, n)].data)[0], 30);

    /* indices known at compile time are checked then; negative ones are refused too */
    n = tu_node(g, op("ai.onnx.ml.ArrayFeatureExtractor"), "afe_far", 2, (int32_t[]){x, tu_i64(g, "i2", 1, SHAPE(4))});
    ck_assert_ptr_nonnull(strstr(eval_fails(n), "out of range"));
    n = tu_node(g, op("ai.onnx.ml.ArrayFeatureExtractor"), "afe_neg", 2, (int32_t[]){x, tu_i64(g, "i3", 1, SHAPE(-1))});
    ck_assert_ptr_nonnull(strstr(eval_fails(n), "out of range"));

    int32_t i32 = tu_input(g, "i32", XF_I32, 1, SHAPE(2));
    n = tu_node(g, op("ai.onnx.ml.ArrayFeatureExtractor"), "afe_i32", 2, (int32_t[]){x, i32});
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "int64"));
    n = tu_node(g, op("ai.onnx.ml.ArrayFeatureExtractor"), "afe_one", 1, &x);
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "expects"));
}
END_TEST

/* The kernel as generated code runs it: a bad index at run time is reported before any write. */
START_TEST(test_array_feature_extractor_kernel) {
    const float x[6] = {1, 2, 3, 4, 5, 6};
    float y[4] = {-1, -1, -1, -1};
    ck_assert_int_eq(xf_array_feature_extractor(y, x, (const int64_t[]){2, 0}, 2, 3, 2, 4), XFC_OK);
    ck_assert(y[0] == 3 && y[1] == 1 && y[2] == 6 && y[3] == 4);
    float z[4] = {-1, -1, -1, -1};
    ck_assert_int_eq(xf_array_feature_extractor(z, x, (const int64_t[]){0, 3}, 2, 3, 2, 4), XFC_ERR_INDEX);
    ck_assert_int_eq(xf_array_feature_extractor(z, x, (const int64_t[]){INT64_MIN, 0}, 2, 3, 2, 4), XFC_ERR_INDEX);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(z[i], -1.0f);
}
END_TEST

/* int32 through the kernel directly: compared in double, so 2^31 - 1 is not rounded up */
START_TEST(test_binarizer_kernel) {
    const int32_t x[3] = {INT32_MAX, 2, -3};
    int32_t y[3] = {-1, -1, -1};
    xf_binarizer(y, x, XF_I32, 3, 2.0f);
    ck_assert(y[0] == 1 && y[1] == 0 && y[2] == 0);
}
END_TEST

/* ---- TreeEnsemble ---- */

/* One tree: node 0 tests feature 0 by `mode` against 1.0 (or the members {1, 3} when MEMBER); its
 * true branch is leaf 0 (weight 10, target 0), its false branch node 1, which tests feature 1 <= 0
 * and ends in leaf 1 (weight 20, target 1) or leaf 2 (weight 30, target 1). */
static int32_t one_tree(const char *name, int32_t x, int64_t mode) {
    int32_t n = tu_node(g, op("ai.onnx.ml.TreeEnsemble"), name, 1, &x);
    TU_SET_INTS(g, n, "nodes_featureids", 0, 1);
    TU_SET_INTS(g, n, "nodes_truenodeids", 0, 1);
    TU_SET_INTS(g, n, "nodes_trueleafs", 1, 1);
    TU_SET_INTS(g, n, "nodes_falsenodeids", 1, 2);
    TU_SET_INTS(g, n, "nodes_falseleafs", 0, 1);
    set_tensor(n, "nodes_modes", XF_U8, 2, (const uint8_t[]){(uint8_t)mode, 0});
    set_tensor(n, "nodes_splits", XF_F32, 2, (const float[]){1.0f, 0.0f});
    TU_SET_INTS(g, n, "leaf_targetids", 0, 1, 1);
    set_tensor(n, "leaf_weights", XF_F32, 3, (const float[]){10, 20, 30});
    TU_SET_INTS(g, n, "tree_roots", 0);
    xf_node_add_attr(g, n, "n_targets", XF_ATTR_INT)->i = 2;
    if (mode == 6) set_tensor(n, "membership_values", XF_F32, 3, (const float[]){1.0f, 3.0f, NAN});
    return n;
}

START_TEST(test_tree_ensemble_modes) {
    /* samples (feature 0, feature 1): below, at and above the split 1, a member 3, and NaN */
    int32_t x = xf_const_add(g, "x", XF_F32, 2, SHAPE(5, 2), (const float[]){0, 5, 1, -1, 2, 5, 3, -1, NAN, 5});
    /* per mode, whether node 0 is true for each sample */
    const int truth[7][5] = {
        {1, 1, 0, 0, 0}, /* x <= 1 */
        {1, 0, 0, 0, 0}, /* x < 1 */
        {0, 1, 1, 1, 0}, /* x >= 1 */
        {0, 0, 1, 1, 0}, /* x > 1 */
        {0, 1, 0, 0, 0}, /* x == 1 */
        {1, 0, 1, 1, 1}, /* x != 1: NaN too */
        {0, 1, 0, 1, 0}, /* x in {1, 3} */
    };
    for (int64_t mode = 0; mode < 7; mode++) {
        char name[32];
        snprintf(name, sizeof name, "tree_mode%d", (int)mode);
        int32_t n = one_tree(name, x, mode);
        eval_ok(n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F32, 5, 2);
        const float *y = g->values[tu_out(g, n)].data;
        for (int s = 0; s < 5; s++) {
            float feature1 = s == 1 || s == 3 ? -1.0f : 5.0f;
            float want0 = truth[mode][s] ? 10.0f : 0.0f;
            float want1 = truth[mode][s] ? 0.0f : feature1 <= 0.0f ? 20.0f : 30.0f;
            ck_assert_msg(y[2 * s] == want0 && y[2 * s + 1] == want1, "mode %d sample %d: %g %g", (int)mode, s,
                          (double)y[2 * s], (double)y[2 * s + 1]);
        }
    }
    /* NaN goes to the true branch where the node says missing values do */
    int32_t n = one_tree("tree_missing", x, 0);
    TU_SET_INTS(g, n, "nodes_missing_value_tracks_true", 1, 0);
    eval_ok(n);
    ck_assert_float_eq(((const float *)g->values[tu_out(g, n)].data)[8], 10.0f);
}
END_TEST

/* Two stumps on feature 0 of a double input, both always reaching a leaf of target 0: the first
 * gives 4 (x <= 0) or 8, the second 1 (x <= 0) or 2. Target 1 is named by no leaf. */
static int32_t two_stumps(const char *name, int32_t x, int64_t aggregate) {
    int32_t n = tu_node(g, op("ai.onnx.ml.TreeEnsemble"), name, 1, &x);
    TU_SET_INTS(g, n, "nodes_featureids", 0, 0);
    TU_SET_INTS(g, n, "nodes_truenodeids", 0, 2);
    TU_SET_INTS(g, n, "nodes_trueleafs", 1, 1);
    TU_SET_INTS(g, n, "nodes_falsenodeids", 1, 3);
    TU_SET_INTS(g, n, "nodes_falseleafs", 1, 1);
    set_tensor(n, "nodes_modes", XF_U8, 2, (const uint8_t[]){0, 0});
    set_tensor(n, "nodes_splits", XF_F64, 2, (const double[]){0, 0});
    TU_SET_INTS(g, n, "leaf_targetids", 0, 0, 0, 0);
    set_tensor(n, "leaf_weights", XF_F64, 4, (const double[]){4, 8, 1, 2});
    TU_SET_INTS(g, n, "tree_roots", 0, 1);
    xf_node_add_attr(g, n, "n_targets", XF_ATTR_INT)->i = 2;
    xf_node_add_attr(g, n, "aggregate_function", XF_ATTR_INT)->i = aggregate;
    return n;
}

START_TEST(test_tree_ensemble_aggregate) {
    int32_t x = xf_const_add(g, "x", XF_F64, 2, SHAPE(2, 1), (const double[]){-1.0, 1.0});
    const double want[4][2] = {{2.5, 5.0}, {5.0, 10.0}, {1.0, 2.0}, {4.0, 8.0}}; /* AVERAGE SUM MIN MAX */
    const double untouched[4] = {0.0, 0.0, 1.7976931348623157e308, -1.7976931348623157e308};
    for (int agg = 0; agg < 4; agg++) {
        char name[32];
        snprintf(name, sizeof name, "stumps%d", agg);
        int32_t n = two_stumps(name, x, agg);
        eval_ok(n);
        CHECK_SHAPE(g, tu_out(g, n), XF_F64, 2, 2);
        const double *y = g->values[tu_out(g, n)].data;
        for (int s = 0; s < 2; s++) {
            ck_assert_double_eq(y[2 * s], want[agg][s]);
            ck_assert_double_eq(y[2 * s + 1], untouched[agg]);
        }
    }
    /* LOGISTIC of a sum of 0 is one half */
    int32_t n = two_stumps("stumps_logistic", x, 1);
    xf_node_add_attr(g, n, "post_transform", XF_ATTR_INT)->i = 2;
    eval_ok(n);
    ck_assert_double_eq_tol(((const double *)g->values[tu_out(g, n)].data)[1], 0.5, 1e-6);
}
END_TEST

/* Tables xfc would refuse (node 0 and 1 branching to each other) do not hang the kernel: the walk
 * stops after n_nodes steps and the tree adds nothing. */
START_TEST(test_tree_ensemble_kernel_loop) {
    const float x[1] = {0.0f}, splits[2] = {1.0f, 1.0f}, weights[1] = {5.0f};
    float y[1] = {-1.0f};
    const int64_t roots[1] = {0}, feature[2] = {0, 0}, mode[2] = {0, 0}, missing[2] = {0, 0};
    const int64_t next[4] = {1, 1, 0, 0}, ranges[4] = {0, 0, 0, 0}, target[1] = {0};
    xf_tree_ensemble(y, x, splits, weights, NULL, 0, 1, 1, 1, 2, 1, roots, feature, mode, missing, next, ranges,
                     target, 1, 0);
    ck_assert_float_eq(y[0], 0.0f);
}
END_TEST

START_TEST(test_tree_ensemble_refused) {
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(4, 2));
    int32_t n = one_tree("cycle", x, 0);
    xf_attr *falses = (xf_attr *)xf_attr_get(&g->nodes[n], "nodes_falsenodeids");
    xf_attr *false_leafs = (xf_attr *)xf_attr_get(&g->nodes[n], "nodes_falseleafs");
    falses->ints[1] = 0; /* node 1's false branch back to node 0 */
    false_leafs->ints[1] = 0;
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "loops back"));

    n = one_tree("far_feature", x, 0);
    ((xf_attr *)xf_attr_get(&g->nodes[n], "nodes_featureids"))->ints[1] = 2;
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "feature 2"));

    n = one_tree("far_leaf", x, 0);
    ((xf_attr *)xf_attr_get(&g->nodes[n], "nodes_truenodeids"))->ints[0] = 3;
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "leaf 3"));

    n = one_tree("far_target", x, 0);
    ((xf_attr *)xf_attr_get(&g->nodes[n], "leaf_targetids"))->ints[2] = 2;
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "target 2"));

    n = one_tree("bad_mode", x, 7);
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "mode 7"));

    n = one_tree("no_members", x, 6);
    g->values[xf_attr_get(&g->nodes[n], "membership_values")->tensor].shape[0] = 2; /* drop the NaN */
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "NaN"));

    n = one_tree("probit", x, 0);
    xf_node_add_attr(g, n, "post_transform", XF_ATTR_INT)->i = 4;
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "PROBIT"));

    n = one_tree("bad_aggregate", x, 0);
    xf_node_add_attr(g, n, "aggregate_function", XF_ATTR_INT)->i = 9;
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "aggregate_function"));

    int32_t xd = tu_input(g, "xd", XF_F64, 2, SHAPE(4, 2)); /* float splits for a double X */
    n = one_tree("mixed_types", xd, 0);
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "one type"));

    int32_t x3 = tu_input(g, "x3", XF_F32, 3, SHAPE(4, 2, 1));
    n = one_tree("rank3", x3, 0);
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "[N, F]"));

    n = tu_node(g, op("ai.onnx.ml.TreeEnsemble"), "bare", 1, &x);
    ck_assert_ptr_nonnull(strstr(infer_fails(n), "needs"));
}
END_TEST

/* No default-domain name reaches these ops. */
START_TEST(test_ml_names) {
    ck_assert_int_lt(xf_op_lookup("Binarizer"), 0);
    ck_assert_int_lt(xf_op_lookup("TreeEnsemble"), 0);
    ck_assert_int_lt(xf_op_lookup("ArrayFeatureExtractor"), 0);
}
END_TEST

static Suite *ml_suite(void) {
    Suite *s = suite_create("ml");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_binarizer);
    tcase_add_test(tc, test_array_feature_extractor);
    tcase_add_test(tc, test_array_feature_extractor_kernel);
    tcase_add_test(tc, test_binarizer_kernel);
    tcase_add_test(tc, test_tree_ensemble_modes);
    tcase_add_test(tc, test_tree_ensemble_aggregate);
    tcase_add_test(tc, test_tree_ensemble_kernel_loop);
    tcase_add_test(tc, test_tree_ensemble_refused);
    tcase_add_test(tc, test_ml_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(ml_suite()); }
