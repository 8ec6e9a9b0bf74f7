/* testutil.h — small helpers shared by the Check unit tests: building graphs by hand, running shape
 * inference on one node, and comparing shapes. Each helper fails the current Check test (rather than
 * returning an error) when the library reports something the test did not expect. */
#ifndef XF_TESTUTIL_H
#define XF_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "lower/lower.h"

/* Shapes as literals: SHAPE(2, 3, 4) is an int64_t array, RANK_OF(...) its length. */
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define RANK_OF(...) ((int32_t)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* A graph input of the given type and shape. */
int32_t tu_input(xf_graph *g, const char *name, int32_t dtype, int32_t rank, const int64_t *shape);
/* A value with unknown type and shape (to be set by shape inference). */
int32_t tu_fresh(xf_graph *g, const char *name);
/* A rank-1 int64 constant holding values[0..n). */
int32_t tu_i64(xf_graph *g, const char *name, int32_t n, const int64_t *values);
/* A rank-0 int64 constant. */
int32_t tu_i64_scalar(xf_graph *g, const char *name, int64_t value);
/* Adds node `name` of op with inputs in[0..nin) and one fresh output named after the node;
 * returns the node handle. The output handle is g->nodes[node].out[0]. */
int32_t tu_node(xf_graph *g, int32_t op, const char *name, int32_t nin, const int32_t *in);
/* Output 0 of a node. */
int32_t tu_out(const xf_graph *g, int32_t node);
/* Marks a value as a graph output. */
void tu_mark_output(xf_graph *g, int32_t v);
/* A float32 constant of the given shape holding data (copied). */
int32_t tu_f32_const(xf_graph *g, const char *name, int32_t rank, const int64_t *shape, const float *data);
/* Attributes of node: an int, a list of ints (TU_SET_INTS(g, node, "pads", 1, 1, 0, 0)), a string. */
void tu_set_int(xf_graph *g, int32_t node, const char *name, int64_t value);
void tu_set_ints(xf_graph *g, int32_t node, const char *name, int32_t count, const int64_t *values);
#define TU_SET_INTS(g, node, name, ...) tu_set_ints((g), (node), (name), RANK_OF(__VA_ARGS__), SHAPE(__VA_ARGS__))
void tu_set_str(xf_graph *g, int32_t node, const char *name, const char *value);
/* Runs xf_infer_node and fails the test with the diagnostic when it reports an error. */
void tu_infer_ok(xf_graph *g, int32_t node);
/* Infers and evaluates node (all inputs constant); returns its output 0's data. */
const void *tu_eval(xf_graph *g, int32_t node);
/* Runs xf_infer_node and fails the test unless it reports an error; returns the message. */
const char *tu_infer_fails(xf_graph *g, int32_t node, xf_diag *d);
/* Runs xf_infer_node, which must fail with one line that names the node and contains `words`. */
void tu_expect_refusal(xf_graph *g, int32_t node, const char *words);
/* Asserts that value v has the given dtype and shape; file/line name the caller. */
void tu_check_shape(const xf_graph *g, int32_t v, int32_t dtype, int32_t rank, const int64_t *shape,
                    const char *file, int line);
#define CHECK_SHAPE(g, v, dtype, ...) \
    tu_check_shape((g), (v), (dtype), RANK_OF(__VA_ARGS__), SHAPE(__VA_ARGS__), __FILE__, __LINE__)
#define CHECK_SCALAR(g, v, dtype) tu_check_shape((g), (v), (dtype), 0, NULL, __FILE__, __LINE__)
/* Runs every test of s and returns the exit status: 0 when all passed. */
int tu_run(Suite *s);
/* Number of nodes not marked dead. */
int32_t tu_live_nodes(const xf_graph *g);

#endif
