/* match.h — helpers every fusion pass uses to match subgraphs and rewrite them safely.
 *
 * The shared safety rule: an intermediate may be absorbed into a fused node only if it has exactly
 * one use and is not a graph output (otherwise someone else still needs it). A rewrite reuses the
 * slot of the pattern's last node (its root), so the node list stays topologically ordered: every
 * input of the pattern is produced before the root. */
#ifndef XF_MATCH_H
#define XF_MATCH_H
#include "passes.h"

/* The live node producing v when its op is `op` (or any op when op < 0); -1 otherwise. */
int32_t xf_producer(const xf_graph *g, int32_t v, int op);
/* Number of live nodes reading v, plus one if v is a graph output. */
int32_t xf_uses(const xf_graph *g, int32_t v);
/* v may disappear into a fused node: one use, not a graph output, not a graph input. */
bool xf_absorbable(const xf_graph *g, int32_t v);
/* The live node reading v when v may be absorbed (xf_absorbable); -1 otherwise. */
int32_t xf_sole_reader(const xf_graph *g, int32_t v);
/* The operand of binary node n other than v; -1 when v is not one of its operands. */
int32_t xf_other_operand(const xf_node *n, int32_t v);
/* v is a constant holding one value (any shape of one element), returned as double. */
bool xf_const_scalar(const xf_graph *g, int32_t v, double *out);
/* v is a one-element constant equal to want. */
bool xf_const_is(const xf_graph *g, int32_t v, double want);
/* v is a constant of `n` elements all equal to one value. */
bool xf_const_uniform(const xf_graph *g, int32_t v, double *out);

/* Node n is Pow(., exponent) with a constant exponent. */
bool xf_is_pow(const xf_graph *g, const xf_node *n, double exponent);
bool xf_same_shape(const xf_value *a, const xf_value *b);
/* x when node computes x² as Pow(x, 2) or Mul(x, x); -1 otherwise (also for node -1). */
int32_t xf_square_of(const xf_graph *g, int32_t node);
/* The first axis of a ReduceMean over the trailing axes [axis, rank) that keeps them as 1s; -1 for
 * any other reduction. */
int xf_trailing_axes(xf_graph *g, const xf_node *mean);

/* Turns node `root` into `op` with the given inputs and no attributes; its outputs stay. */
void xf_node_rewrite(xf_graph *g, int32_t root, int op, int32_t nin, const int32_t *in);
/* Marks a node dead (the root's former inputs that nobody else uses). */
void xf_node_kill(xf_graph *g, int32_t node);

/* Counts one fusion of `kind` (XF_FUSION_*) for the report. */
void xf_count_fusion(xf_graph *g, int kind);
/* Records a near miss: node almost matched `pattern` but `reason` stopped it. */
void xf_record_miss(xf_graph *g, const char *pattern, const xf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif
