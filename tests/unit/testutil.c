/* testutil.c — graph-building and checking helpers for the unit tests (see testutil.h). */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

int32_t tu_input(xf_graph *g, const char *name, int32_t dtype, int32_t rank, const int64_t *shape) {
    int32_t v = xf_value_add(g, name, dtype, rank, shape);
    g->values[v].is_input = true;
    /* grow the input list by hand: the IR has no builder for it */
    int32_t *inputs = xf_alloc(g->arena, sizeof *inputs * (size_t)(g->ninputs + 1));
    if (g->ninputs) memcpy(inputs, g->inputs, sizeof *inputs * (size_t)g->ninputs);
    inputs[g->ninputs++] = v;
    g->inputs = inputs;
    return v;
}

int32_t tu_fresh(xf_graph *g, const char *name) {
    return xf_value_add(g, name, 0, -1, NULL);
}

int32_t tu_i64(xf_graph *g, const char *name, int32_t n, const int64_t *values) {
    int64_t shape[1] = {n};
    return xf_const_add(g, name, XF_I64, 1, shape, values);
}

int32_t tu_i64_scalar(xf_graph *g, const char *name, int64_t value) {
    return xf_const_add(g, name, XF_I64, 0, NULL, &value);
}

int32_t tu_node(xf_graph *g, int32_t op, const char *name, int32_t nin, const int32_t *in) {
    char out_name[256];
    snprintf(out_name, sizeof out_name, "%s_out", name);
    int32_t out = tu_fresh(g, out_name);
    return xf_node_add(g, op, name, nin, in, 1, &out);
}

int32_t tu_out(const xf_graph *g, int32_t node) {
    return g->nodes[node].out[0];
}

void tu_mark_output(xf_graph *g, int32_t v) {
    g->values[v].is_output = true;
    int32_t *outputs = xf_alloc(g->arena, sizeof *outputs * (size_t)(g->noutputs + 1));
    if (g->noutputs) memcpy(outputs, g->outputs, sizeof *outputs * (size_t)g->noutputs);
    outputs[g->noutputs++] = v;
    g->outputs = outputs;
}

void tu_infer_ok(xf_graph *g, int32_t node) {
    xf_diag d = {0};
    bool ok = xf_infer_node(g, node, &d);
    ck_assert_msg(ok && !d.set, "shape inference of node '%s' failed: %s", g->nodes[node].name, d.msg);
}

const char *tu_infer_fails(xf_graph *g, int32_t node, xf_diag *d) {
    memset(d, 0, sizeof *d);
    bool ok = xf_infer_node(g, node, d);
    ck_assert_msg(!ok, "shape inference of node '%s' succeeded but should have failed", g->nodes[node].name);
    ck_assert_msg(d->set && d->msg[0], "node '%s' failed without a diagnostic", g->nodes[node].name);
    return d->msg;
}

void tu_check_shape(const xf_graph *g, int32_t v, int32_t dtype, int32_t rank, const int64_t *shape,
                    const char *file, int line) {
    const xf_value *x = &g->values[v];
    char got[256];
    xf_shape_str(x, got, sizeof got);
    ck_assert_msg(x->dtype == dtype, "%s:%d: value '%s' has dtype %s, expected %s", file, line, x->name,
                  xf_dtype_name(x->dtype), xf_dtype_name(dtype));
    ck_assert_msg(x->rank == rank, "%s:%d: value '%s' has shape %s (rank %d), expected rank %d", file, line,
                  x->name, got, x->rank, rank);
    for (int i = 0; i < rank; i++)
        ck_assert_msg(x->shape[i] == shape[i], "%s:%d: value '%s' has shape %s; dimension %d should be %lld",
                      file, line, x->name, got, i, (long long)shape[i]);
}

int32_t tu_live_nodes(const xf_graph *g) {
    int32_t live = 0;
    for (int32_t i = 0; i < g->nnodes; i++) live += !g->nodes[i].dead;
    return live;
}

int tu_run(Suite *s) {
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}

int32_t tu_f32_const(xf_graph *g, const char *name, int32_t rank, const int64_t *shape, const float *data) {
    return xf_const_add(g, name, XF_F32, rank, shape, data);
}

void tu_set_int(xf_graph *g, int32_t node, const char *name, int64_t value) {
    xf_node_add_attr(g, node, name, XF_ATTR_INT)->i = value;
}

void tu_set_ints(xf_graph *g, int32_t node, const char *name, int32_t count, const int64_t *values) {
    xf_attr *a = xf_node_add_attr(g, node, name, XF_ATTR_INTS);
    a->n = count;
    a->ints = xf_alloc(g->arena, sizeof *a->ints * (size_t)(count > 0 ? count : 1));
    memcpy(a->ints, values, sizeof *a->ints * (size_t)count);
}

void tu_set_str(xf_graph *g, int32_t node, const char *name, const char *value) {
    xf_node_add_attr(g, node, name, XF_ATTR_STRING)->s = value;
}

void tu_expect_refusal(xf_graph *g, int32_t node, const char *words) {
    xf_diag d;
    const char *msg = tu_infer_fails(g, node, &d);
    char want[300];
    snprintf(want, sizeof want, "node '%s'", g->nodes[node].name);
    ck_assert_msg(strstr(msg, want), "diagnostic does not name the node: %s", msg);
    ck_assert_msg(strstr(msg, words), "diagnostic '%s' does not mention '%s'", msg, words);
    ck_assert_msg(!strchr(msg, '\n'), "diagnostic is not one line: %s", msg);
}

const void *tu_eval(xf_graph *g, int32_t node) {
    tu_infer_ok(g, node);
    xf_diag d = {0};
    ck_assert_msg(xf_eval_node(g, node, &d), "evaluating '%s' failed: %s", g->nodes[node].name, d.msg);
    return g->values[tu_out(g, node)].data;
}
