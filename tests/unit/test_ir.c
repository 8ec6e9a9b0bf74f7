/* test_ir.c — unit tests of the IR core (ir/graph.c) and of C identifier making (codegen/output.c):
 * building graphs, topological sorting (including cycles, which must be reported against a node on
 * the cycle), compaction, element counts that overflow, and diagnostics formatting. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "ir/ir.h"
#include "testutil.h"

/* Every live node's inputs are produced by an earlier node (or by no node), and every output
 * names its node as producer: the topological invariant. */
static void check_topological(const xf_graph *g) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0)
                ck_assert_msg(g->values[n->in[k]].producer < i, "node %d '%s' reads '%s', produced by node %d", i,
                              n->name, g->values[n->in[k]].name, g->values[n->in[k]].producer);
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0) ck_assert_int_eq(g->values[n->out[k]].producer, i);
    }
}

static int32_t node_named(const xf_graph *g, const char *name) {
    for (int32_t i = 0; i < g->nnodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return i;
    return -1;
}

/* ---- building ---- */

START_TEST(test_build_values_and_nodes) {
    xf_graph *g = xf_graph_new("m.onnx");
    int32_t x = tu_input(g, "x", XF_F32, 2, SHAPE(2, 3));
    float wdata[6] = {1, 2, 3, 4, 5, 6};
    int32_t w = xf_const_add(g, "w", XF_F32, 2, SHAPE(2, 3), wdata);
    wdata[0] = 100; /* xf_const_add copies: the graph must not see this */
    int32_t y = xf_value_add(g, "y", XF_F32, 2, SHAPE(2, 3));
    int32_t n = xf_node_add(g, XF_OP_ADD, "add", 2, (int32_t[]){x, w}, 1, &y);
    tu_mark_output(g, y);

    ck_assert_int_eq(g->nvalues, 3);
    ck_assert_int_eq(g->nnodes, 1);
    ck_assert_str_eq(g->path, "m.onnx");
    ck_assert_int_eq(xf_value_find(g, "w"), w);
    ck_assert_int_eq(xf_value_find(g, "y"), y);
    ck_assert_int_eq(xf_value_find(g, "nope"), -1);

    const xf_value *wv = &g->values[w];
    ck_assert_ptr_nonnull(wv->data);
    ck_assert(((const float *)wv->data)[0] == 1.0f && ((const float *)wv->data)[5] == 6.0f);
    ck_assert(xf_value_is_const(g, w));
    ck_assert(!xf_value_is_const(g, x));
    ck_assert(!xf_value_is_const(g, -1));

    /* fresh values are not in the arena, have no producer; xf_node_add sets the producer */
    ck_assert_int_eq(g->values[x].producer, -1);
    ck_assert_int_eq(g->values[w].producer, -1);
    ck_assert_int_eq(g->values[y].producer, n);
    ck_assert_int_eq(g->values[y].offset, -1);
    ck_assert_int_eq(g->values[y].alias_of, -1);
    ck_assert_int_eq(g->nodes[n].nin, 2);
    ck_assert_int_eq(g->nodes[n].in[0], x);
    ck_assert_int_eq(g->nodes[n].in[1], w);
    ck_assert_str_eq(g->nodes[n].name, "add");

    /* uses: one reader each for x and w; y has no reader but is a graph output */
    ck_assert_int_eq(xf_value_uses(g, x), 1);
    ck_assert_int_eq(xf_value_uses(g, w), 1);
    ck_assert_int_eq(xf_value_uses(g, y), 1);
    g->nodes[n].dead = true; /* dead nodes do not count */
    ck_assert_int_eq(xf_value_uses(g, x), 0);
    xf_graph_free(g);
}
END_TEST

/* Arrays grow inside the arena: handles given out early stay valid after many additions. */
START_TEST(test_build_many) {
    xf_graph *g = xf_graph_new(NULL);
    int32_t prev = tu_input(g, "x", XF_F32, 1, SHAPE(4));
    int32_t first = prev;
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "neg%d", i);
        int32_t node = tu_node(g, XF_OP_NEG, name, 1, &prev);
        ck_assert_int_eq(node, i);
        prev = tu_out(g, node);
    }
    ck_assert_int_eq(g->nnodes, 1000);
    ck_assert_int_eq(g->nvalues, 1001);
    ck_assert_str_eq(g->values[first].name, "x");
    ck_assert_str_eq(g->nodes[999].name, "neg999");
    ck_assert_int_eq(g->nodes[500].in[0], tu_out(g, 499));
    ck_assert_int_eq(xf_value_find(g, "neg777_out"), tu_out(g, 777));
    check_topological(g);
    xf_graph_free(g);
}
END_TEST

START_TEST(test_attrs) {
    xf_graph *g = xf_graph_new(NULL);
    int32_t x = tu_input(g, "x", XF_F32, 1, SHAPE(4));
    int32_t n = tu_node(g, XF_OP_SOFTMAX, "sm", 1, &x);
    xf_node_add_attr(g, n, "axis", XF_ATTR_INT)->i = -1;
    xf_node_add_attr(g, n, "alpha", XF_ATTR_FLOAT)->f = 0.5f;
    xf_node_add_attr(g, n, "mode", XF_ATTR_STRING)->s = "edge";
    const xf_node *node = &g->nodes[n];
    ck_assert_int_eq(node->nattr, 3);
    ck_assert_int_eq(xf_attr_int(node, "axis", 7), -1);
    ck_assert_int_eq(xf_attr_int(node, "missing", 7), 7);
    ck_assert(xf_attr_float(node, "alpha", 0) == 0.5f);
    ck_assert(xf_attr_float(node, "axis", 0) == -1.0f); /* an INT read as float converts */
    ck_assert_str_eq(xf_attr_str(node, "mode", "constant"), "edge");
    ck_assert_str_eq(xf_attr_str(node, "axis", "dflt"), "dflt"); /* wrong type: the default */
    ck_assert_ptr_null(xf_attr_get(node, "nothing"));
    ck_assert_int_eq(xf_attr_get(node, "mode")->tensor, -1);
    xf_graph_free(g);
}
END_TEST

/* ---- topological order ---- */

/* relu reads add's output, add reads neg's and exp's: listed backwards. */
START_TEST(test_toposort_out_of_order) {
    xf_graph *g = xf_graph_new("order.onnx");
    int32_t x = tu_input(g, "x", XF_F32, 1, SHAPE(4));
    int32_t a = xf_value_add(g, "a", XF_F32, 1, SHAPE(4));
    int32_t b = xf_value_add(g, "b", XF_F32, 1, SHAPE(4));
    int32_t c = xf_value_add(g, "c", XF_F32, 1, SHAPE(4));
    int32_t y = xf_value_add(g, "y", XF_F32, 1, SHAPE(4));
    xf_node_add(g, XF_OP_RELU, "relu", 1, &b, 1, &y);
    xf_node_add(g, XF_OP_ADD, "add", 2, (int32_t[]){a, c}, 1, &b);
    xf_node_add(g, XF_OP_NEG, "neg", 1, &x, 1, &a);
    xf_node_add(g, XF_OP_EXP, "exp", 1, &x, 1, &c);
    tu_mark_output(g, y);

    xf_diag d = {0};
    ck_assert_msg(xf_graph_toposort(g, &d), "toposort failed: %s", d.msg);
    ck_assert(!d.set);
    ck_assert_int_eq(g->nnodes, 4);
    check_topological(g);
    /* stable: among ready nodes the earliest listed goes first, so neg precedes exp */
    ck_assert_str_eq(g->nodes[0].name, "neg");
    ck_assert_str_eq(g->nodes[1].name, "exp");
    ck_assert_str_eq(g->nodes[2].name, "add");
    ck_assert_str_eq(g->nodes[3].name, "relu");
    /* the nodes moved with their operands */
    ck_assert_int_eq(g->nodes[2].in[0], a);
    ck_assert_int_eq(g->nodes[2].in[1], c);
    ck_assert_int_eq(g->nodes[2].out[0], b);
    ck_assert_int_eq(g->values[y].producer, 3);
    ck_assert_int_eq(g->nodes[2].op, XF_OP_ADD);
    xf_graph_free(g);
}
END_TEST

/* A value read twice by the same node and a diamond: each node must appear exactly once. */
START_TEST(test_toposort_diamond_and_repeated_input) {
    xf_graph *g = xf_graph_new(NULL);
    int32_t x = tu_input(g, "x", XF_F32, 1, SHAPE(4));
    int32_t s = xf_value_add(g, "s", XF_F32, 1, SHAPE(4));
    int32_t l = xf_value_add(g, "l", XF_F32, 1, SHAPE(4));
    int32_t r = xf_value_add(g, "r", XF_F32, 1, SHAPE(4));
    int32_t y = xf_value_add(g, "y", XF_F32, 1, SHAPE(4));
    xf_node_add(g, XF_OP_ADD, "join", 2, (int32_t[]){l, r}, 1, &y);
    xf_node_add(g, XF_OP_MUL, "right", 2, (int32_t[]){s, s}, 1, &r);
    xf_node_add(g, XF_OP_NEG, "left", 1, &s, 1, &l);
    xf_node_add(g, XF_OP_MUL, "square", 2, (int32_t[]){x, x}, 1, &s);
    xf_diag d = {0};
    ck_assert_msg(xf_graph_toposort(g, &d), "toposort failed: %s", d.msg);
    ck_assert_int_eq(g->nnodes, 4);
    check_topological(g);
    ck_assert_str_eq(g->nodes[0].name, "square");
    ck_assert_str_eq(g->nodes[3].name, "join");
    const char *names[] = {"join", "right", "left", "square"};
    for (int i = 0; i < 4; i++) ck_assert_int_ge(node_named(g, names[i]), 0);
    xf_graph_free(g);
}
END_TEST

START_TEST(test_toposort_cycle) {
    xf_graph *g = xf_graph_new("cycle.onnx");
    int32_t x = tu_input(g, "x", XF_F32, 1, SHAPE(4));
    int32_t z = xf_value_add(g, "z", XF_F32, 1, SHAPE(4));
    int32_t p = xf_value_add(g, "p", XF_F32, 1, SHAPE(4));
    int32_t q = xf_value_add(g, "q", XF_F32, 1, SHAPE(4));
    int32_t r = xf_value_add(g, "r", XF_F32, 1, SHAPE(4));
    xf_node_add(g, XF_OP_NEG, "free", 1, &x, 1, &z);
    xf_node_add(g, XF_OP_ADD, "loop_a", 2, (int32_t[]){q, x}, 1, &p);
    xf_node_add(g, XF_OP_RELU, "loop_b", 1, &p, 1, &q);
    xf_node_add(g, XF_OP_ADD, "after", 2, (int32_t[]){p, z}, 1, &r);
    tu_mark_output(g, r);

    xf_diag d = {0};
    ck_assert(!xf_graph_toposort(g, &d));
    ck_assert(d.set);
    ck_assert_msg(strstr(d.msg, "cycle.onnx") == d.msg, "diagnostic does not start with the path: %s", d.msg);
    ck_assert_msg(strstr(d.msg, "node 'loop_a'") || strstr(d.msg, "node 'loop_b'"),
                  "diagnostic does not name a node on the cycle: %s", d.msg);
    ck_assert_msg(strstr(d.msg, "cycle"), "diagnostic does not say what is wrong: %s", d.msg);
    ck_assert_int_eq(g->nnodes, 4);
    xf_graph_free(g);
}
END_TEST

START_TEST(test_toposort_self_loop) {
    xf_graph *g = xf_graph_new(NULL);
    int32_t y = xf_value_add(g, "y", XF_F32, 1, SHAPE(4));
    xf_node_add(g, XF_OP_NEG, "me", 1, &y, 1, &y);
    xf_diag d = {0};
    ck_assert(!xf_graph_toposort(g, &d));
    ck_assert_msg(strstr(d.msg, "node 'me'"), "diagnostic does not name the node: %s", d.msg);
    xf_graph_free(g);
}
END_TEST

START_TEST(test_toposort_empty) {
    xf_graph *g = xf_graph_new(NULL);
    xf_diag d = {0};
    ck_assert(xf_graph_toposort(g, &d));
    ck_assert_int_eq(g->nnodes, 0);
    xf_graph_free(g);
}
END_TEST

/* ---- compaction ---- */

START_TEST(test_compact) {
    xf_graph *g = xf_graph_new(NULL);
    int32_t prev = tu_input(g, "x", XF_F32, 1, SHAPE(4));
    const char *names[] = {"n0", "n1", "n2", "n3", "n4"};
    int32_t outs[5];
    for (int i = 0; i < 5; i++) {
        int32_t node = tu_node(g, XF_OP_NEG, names[i], 1, &prev);
        prev = outs[i] = tu_out(g, node);
    }
    g->nodes[1].dead = true;
    g->nodes[3].dead = true;
    xf_graph_compact(g);
    ck_assert_int_eq(g->nnodes, 3);
    ck_assert_str_eq(g->nodes[0].name, "n0");
    ck_assert_str_eq(g->nodes[1].name, "n2");
    ck_assert_str_eq(g->nodes[2].name, "n4");
    for (int i = 0; i < 3; i++) ck_assert(!g->nodes[i].dead);
    /* value handles are unchanged; producers follow their nodes to the new positions */
    ck_assert_int_eq(g->nodes[1].out[0], outs[2]);
    ck_assert_int_eq(g->values[outs[0]].producer, 0);
    ck_assert_int_eq(g->values[outs[2]].producer, 1);
    ck_assert_int_eq(g->values[outs[4]].producer, 2);
    ck_assert_int_eq(g->nvalues, 6);

    /* compacting a graph with nothing dead changes nothing; everything dead empties it */
    xf_graph_compact(g);
    ck_assert_int_eq(g->nnodes, 3);
    for (int i = 0; i < 3; i++) g->nodes[i].dead = true;
    xf_graph_compact(g);
    ck_assert_int_eq(g->nnodes, 0);
    xf_graph_free(g);
}
END_TEST

/* ---- element counts ---- */

START_TEST(test_numel) {
    xf_value v = {.dtype = XF_F32, .rank = 3, .shape = {2, 3, 4}};
    ck_assert_int_eq(xf_value_numel(&v), 24);
    ck_assert_int_eq(xf_value_bytes(&v), 96);
    v.dtype = XF_I64;
    ck_assert_int_eq(xf_value_bytes(&v), 192);
    v.dtype = XF_BOOL;
    ck_assert_int_eq(xf_value_bytes(&v), 24);

    xf_value scalar = {.dtype = XF_F64, .rank = 0};
    ck_assert_int_eq(xf_value_numel(&scalar), 1);
    ck_assert_int_eq(xf_value_bytes(&scalar), 8);

    xf_value empty = {.dtype = XF_F32, .rank = 2, .shape = {0, 7}};
    ck_assert_int_eq(xf_value_numel(&empty), 0);
    ck_assert_int_eq(xf_value_bytes(&empty), 0);

    xf_value unknown_rank = {.dtype = XF_F32, .rank = -1};
    ck_assert_int_eq(xf_value_numel(&unknown_rank), -1);
    ck_assert_int_eq(xf_value_bytes(&unknown_rank), -1);
    xf_value unknown_dim = {.dtype = XF_F32, .rank = 2, .shape = {3, -1}};
    ck_assert_int_eq(xf_value_numel(&unknown_dim), -1);
    ck_assert_int_eq(xf_value_bytes(&unknown_dim), -1);
}
END_TEST

START_TEST(test_numel_overflow) {
    const int64_t big = (int64_t)1 << 40;
    /* 2^80 elements: the count itself overflows int64 */
    xf_value v = {.dtype = XF_F32, .rank = 2, .shape = {big, big}};
    ck_assert_int_eq(xf_value_numel(&v), -1);
    ck_assert_int_eq(xf_value_bytes(&v), -1);
    /* 2^62 elements fit, but 2^62 floats are 2^64 bytes: only the byte count overflows */
    xf_value w = {.dtype = XF_F32, .rank = 2, .shape = {(int64_t)1 << 31, (int64_t)1 << 31}};
    ck_assert_int_eq(xf_value_numel(&w), (int64_t)1 << 62);
    ck_assert_int_eq(xf_value_bytes(&w), -1);
    /* 2^62 one-byte elements: both counts fit */
    xf_value u = {.dtype = XF_U8, .rank = 3, .shape = {(int64_t)1 << 20, (int64_t)1 << 20, (int64_t)1 << 22}};
    ck_assert_int_eq(xf_value_numel(&u), (int64_t)1 << 62);
    ck_assert_int_eq(xf_value_bytes(&u), (int64_t)1 << 62);
    /* INT64_MAX times 2 */
    xf_value m = {.dtype = XF_U8, .rank = 2, .shape = {INT64_MAX, 2}};
    ck_assert_int_eq(xf_value_numel(&m), -1);
}
END_TEST

/* ---- diagnostics ---- */

START_TEST(test_fail_format) {
    xf_graph *g = xf_graph_new("dir/m.onnx");
    int32_t x = tu_input(g, "x", XF_F32, 1, SHAPE(4));
    int32_t n = tu_node(g, XF_OP_ADD, "my_add", 2, (int32_t[]){x, x});
    xf_diag d = {0};
    ck_assert(!xf_fail(&d, g, &g->nodes[n], "bad thing %d", 7));
    ck_assert(d.set);
    ck_assert_str_eq(d.msg, "dir/m.onnx: node 'my_add' (Add): bad thing 7");
    /* only the first error is kept */
    xf_fail(&d, g, NULL, "second");
    ck_assert_str_eq(d.msg, "dir/m.onnx: node 'my_add' (Add): bad thing 7");

    xf_diag e = {0};
    xf_fail(&e, NULL, NULL, "plain %s", "message");
    ck_assert_str_eq(e.msg, "plain message");
    xf_diag f = {0};
    xf_fail(&f, g, NULL, "graph level");
    ck_assert_str_eq(f.msg, "dir/m.onnx: graph level");
    /* an overlong message is truncated, not overrun */
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    xf_diag h = {0};
    xf_fail(&h, g, &g->nodes[n], "%s", big);
    ck_assert_uint_eq(strlen(h.msg), sizeof h.msg - 1);
    ck_assert(!xf_fail(NULL, g, NULL, "no diag: must not crash"));
    xf_graph_free(g);
}
END_TEST

START_TEST(test_shape_str_and_dtypes) {
    char buf[64];
    xf_value v = {.rank = 3, .shape = {1, -1, 64}, .dim_param = {NULL, "seq", NULL}};
    ck_assert_str_eq(xf_shape_str(&v, buf, sizeof buf), "[1,seq,64]");
    xf_value s = {.rank = 0};
    ck_assert_str_eq(xf_shape_str(&s, buf, sizeof buf), "[]");
    char tiny[4];
    xf_value w = {.rank = 3, .shape = {1000, 2000, 3000}};
    xf_shape_str(&w, tiny, sizeof tiny); /* must stay inside the buffer */
    ck_assert_uint_lt(strlen(tiny), sizeof tiny);

    ck_assert_uint_eq(xf_dtype_size(XF_F32), 4);
    ck_assert_uint_eq(xf_dtype_size(XF_BF16), 2);
    ck_assert_uint_eq(xf_dtype_size(XF_I64), 8);
    ck_assert_uint_eq(xf_dtype_size(XF_BOOL), 1);
    ck_assert_uint_eq(xf_dtype_size(XF_STRING), 0);
    ck_assert_uint_eq(xf_dtype_size(999), 0);
    ck_assert_str_eq(xf_dtype_name(XF_I64), "int64");
    ck_assert_str_eq(xf_dtype_ctype(XF_BOOL), "uint8_t");
    ck_assert(xf_dtype_is_float(XF_F16));
    ck_assert(!xf_dtype_is_float(XF_I32));
    ck_assert_int_eq(xf_op_lookup("MatMul"), XF_OP_MATMUL);
    ck_assert_int_eq(xf_op_lookup("Add"), XF_OP_ADD);
    ck_assert_int_eq(xf_op_lookup("NoSuchOp"), -1);
    ck_assert_str_eq(xf_ops[XF_OP_REDUCE_MEAN].name, "ReduceMean");
}
END_TEST

/* ---- C identifiers ---- */

static bool is_c_ident(const char *s) {
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (const char *p = s; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
        if (p[0] == '_' && p[1] == '_') return false;
    }
    return true;
}

START_TEST(test_c_ident) {
    xf_arena *a = xf_arena_new();
    ck_assert_str_eq(xf_c_ident(a, "", "model"), "model");
    ck_assert_str_eq(xf_c_ident(a, "", "my-model.v2"), "my_model_v2");
    ck_assert_str_eq(xf_c_ident(a, "", "9lives"), "_9lives");
    ck_assert_str_eq(xf_c_ident(a, "", ""), "_");
    ck_assert_str_eq(xf_c_ident(a, "", "a__b"), "a_b");
    ck_assert_str_eq(xf_c_ident(a, "", "a/.:b"), "a_b");
    ck_assert_str_eq(xf_c_ident(a, "", "__x__"), "x");
    ck_assert_str_eq(xf_c_ident(a, "", "/"), "_");
    ck_assert_str_eq(xf_c_ident(a, "w_", "layer.0/weight"), "w_layer_0_weight");
    ck_assert_str_eq(xf_c_ident(a, "t_", "/model/Add_output_0"), "t_model_Add_output_0");
    ck_assert_str_eq(xf_c_ident(a, "in_", "input_ids"), "in_input_ids");
    ck_assert_str_eq(xf_c_ident(a, "", "caf\xc3\xa9"), "caf");
    ck_assert_str_eq(xf_c_ident(a, "", "x\xc3\xa9y"), "x_y");

    /* the documented properties, over awkward names */
    const char *names[] = {"", "_", "__", "0", "123", "a", "..", "-x-", "a b c", "\t\n", "é", "ü0",
                           "onnx::MatMul_123", "/model/layers.0/self_attn/q_proj/MatMul_output_0", "A_", "_A"};
    const char *prefixes[] = {"", "t_", "w_"};
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++)
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            const char *id = xf_c_ident(a, prefixes[p], names[i]);
            ck_assert_msg(is_c_ident(id), "xf_c_ident('%s', '%s') = '%s' is not a clean C identifier", prefixes[p],
                          names[i], id);
        }
    xf_arena_free(a);
}
END_TEST

/* ---- arena ---- */

START_TEST(test_arena) {
    xf_arena *a = xf_arena_new();
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)(i * 37 % 5000) + 1;
        unsigned char *p = xf_alloc(a, n);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        unsigned char any = 0;
        for (size_t k = 0; k < n; k++) any |= p[k];
        ck_assert_msg(any == 0, "allocation %d of %zu bytes is not zeroed", i, n);
        memset(p, 0xab, n); /* dirty it: the next allocation must still come back zeroed */
    }
    size_t big_size = (size_t)8 << 20; /* larger than any block */
    unsigned char *big = xf_alloc(a, big_size);
    ck_assert_uint_eq((uintptr_t)big % 16, 0);
    unsigned char any = 0;
    for (size_t k = 0; k < big_size; k += 4093) any |= big[k];
    ck_assert_uint_eq(any | big[big_size - 1], 0);
    memset(big, 1, big_size);
    unsigned char *after = xf_alloc(a, 64); /* small allocations go on after a big one */
    for (int k = 0; k < 64; k++) ck_assert_uint_eq(after[k], 0);
    ck_assert_str_eq(xf_strdup(a, "hello"), "hello");
    ck_assert_str_eq(xf_sprintf(a, "%s-%d", "n", 42), "n-42");
    xf_arena_free(a);
}
END_TEST

static Suite *ir_suite(void) {
    Suite *s = suite_create("ir");
    TCase *b = tcase_create("build");
    tcase_add_test(b, test_build_values_and_nodes);
    tcase_add_test(b, test_build_many);
    tcase_add_test(b, test_attrs);
    tcase_add_test(b, test_arena);
    suite_add_tcase(s, b);
    TCase *t = tcase_create("toposort");
    tcase_add_test(t, test_toposort_out_of_order);
    tcase_add_test(t, test_toposort_diamond_and_repeated_input);
    tcase_add_test(t, test_toposort_cycle);
    tcase_add_test(t, test_toposort_self_loop);
    tcase_add_test(t, test_toposort_empty);
    tcase_add_test(t, test_compact);
    suite_add_tcase(s, t);
    TCase *n = tcase_create("values");
    tcase_add_test(n, test_numel);
    tcase_add_test(n, test_numel_overflow);
    tcase_add_test(n, test_fail_format);
    tcase_add_test(n, test_shape_str_and_dtypes);
    tcase_add_test(n, test_c_ident);
    suite_add_tcase(s, n);
    return s;
}

int main(void) { return tu_run(ir_suite()); }
