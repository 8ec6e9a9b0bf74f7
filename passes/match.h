/* match.h — the one pattern vocabulary of the fusion passes: questions about values and nodes
 * (who produces v, who reads it, is it a constant), a record of one candidate match (the nodes it
 * takes and why it was refused), the subgraphs several passes look for, and the rewrite.
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
/* v has exactly this rank and shape. */
bool xf_has_shape(const xf_value *v, int rank, const int64_t *shape);
/* An axis attribute counted from the front: axis + rank when negative. */
int xf_axis_from_front(int64_t axis, int rank);
/* v's name, for the reasons of near misses. */
const char *xf_name_of(const xf_graph *g, int32_t v);
/* W when constant t holds the 2-D transpose of constant W (fold records it) and W stays stored
 * anyway: a live node reads it, or another transposed copy of it that is read. Reading W in place
 * then stores the table once (a tied embedding). -1 otherwise. */
int32_t xf_transposed_table(const xf_graph *g, int32_t t);
/* x when node computes x² as Pow(x, 2) or Mul(x, x); -1 otherwise (also for node -1). */
int32_t xf_square_of(const xf_graph *g, int32_t node);
/* The first axis of a ReduceMean over the trailing axes [axis, rank) that keeps them as 1s; -1 for
 * any other reduction. */
int xf_trailing_axes(xf_graph *g, const xf_node *mean);

/* ---- one candidate match ----
 * A pass makes one xf_match (room for a flag per node of the graph), starts it afresh at each
 * candidate, takes the nodes the pattern goes through and, when the candidate fails, says why with
 * xf_match_reject; the pass then reports the reason at the anchor (xf_match_report). */
typedef struct xf_match {
    int32_t anchor;  /* the node matching started from: a near miss is reported there */
    int32_t *nodes;  /* the nodes taken, each once, in the order taken */
    int32_t n;
    bool *taken;     /* taken[i]: node i is among nodes */
    int32_t cap;     /* the graph's node count when the match was made */
    char why[200];   /* why the candidate was refused; empty when it was no candidate at all */
} xf_match;

void xf_match_init(xf_match *m, xf_graph *g);
/* Empties m for the candidate at node anchor. */
void xf_match_start(xf_match *m, int32_t anchor);
/* Adds node to the match (once; m NULL: a probe that keeps nothing). */
void xf_match_take(xf_match *m, int32_t node);
bool xf_match_has(const xf_match *m, int32_t node);
/* Says why the candidate fails (the last reason given wins); returns -1 for `return reject(...)`. */
int32_t xf_match_reject(xf_match *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* xf_sole_reader(v), or -1 with the reason "'v' has another user". */
int32_t xf_match_user(const xf_graph *g, int32_t v, xf_match *m);
/* After the rewrite of `root`: kills every other node taken (each was absorbable by construction). */
void xf_match_kill(xf_graph *g, const xf_match *m, int32_t root);
/* After the rewrite: kills the nodes taken that nothing reads any more, repeating as each kill may
 * free the node feeding it. For patterns whose inputs may have other users: only nodes without
 * readers go, so this is always safe. */
void xf_match_drop_unused(xf_graph *g, const xf_match *m);
/* A value computed by a node taken other than root and read outside the match (or a graph output);
 * -1 when there is none. The safety rule above for patterns whose intermediates have several uses:
 * all of the uses must be inside the match. */
int32_t xf_match_escaping(const xf_graph *g, const xf_match *m, int32_t root);
/* The first of values[0..n) (entries -1 skipped) that a node taken computes; -1 when none. A fused
 * node's inputs must come from outside it. */
int32_t xf_match_computed(const xf_graph *g, const xf_match *m, const int32_t *values, int n);
/* Records m's reason, if it has one, as a near miss of fusion `kind` at m's anchor. */
void xf_match_report(xf_graph *g, const xf_options *o, int kind, const xf_match *m);

/* ---- subgraphs several passes match ---- */

/* From ms, the mean of x's squares over the normalised axes (an RMS norm's, or a layer norm's
 * variance of the centred x), to x's normalised value:
 *     s = Add(ms, eps) | Add(eps, ms)       eps a scalar constant; without the Add, eps is 0
 *     r = Sqrt(s) | Pow(s, 0.5)
 *     y = Div(x, r)
 *       | Mul(x, inv) | Mul(inv, x)         inv = Reciprocal(r) | Div(1, r) | Pow(s, -0.5)
 * Every intermediate has one use. Takes the nodes into m, sets *eps and returns y's node, or -1
 * with a reason, which names x as x_role ("squared value") and ms as ms_role ("the mean of
 * squares"). */
int32_t xf_match_normalised(const xf_graph *g, int32_t ms, int32_t x, const char *x_role, const char *ms_role,
                            double *eps, xf_match *m);

/* ---- the rewrite ---- */

/* Turns node `root` into `op` with the given inputs and no attributes; its outputs stay. */
void xf_node_rewrite(xf_graph *g, int32_t root, int op, int32_t nin, const int32_t *in);
/* Marks a node dead (the root's former inputs that nobody else uses). */
void xf_node_kill(xf_graph *g, int32_t node);

/* ---- what the passes did, for the report (o->stats; nothing is kept when it is NULL) ---- */

/* Counts one fusion of `kind` (XF_FUSION_*). */
void xf_count_fusion(const xf_options *o, int kind);
/* Records a near miss: node n almost matched fusion `kind` but `reason` stopped it. */
void xf_record_miss(xf_graph *g, const xf_options *o, int kind, const xf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#endif
