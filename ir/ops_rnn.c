/* ops_rnn.c — shape rules of the recurrent layers RNN, GRU and LSTM, with ONNX's semantics
 * (opsets 7 to 22: the layout attribute of opset 14 included); lower/rnn.c lowers them.
 *
 *   RNN(X, W, R, B?, sequence_lens?, initial_h?) -> Y?, Y_h?
 *   GRU(X, W, R, B?, sequence_lens?, initial_h?) -> Y?, Y_h?
 *   LSTM(X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?) -> Y?, Y_h?, Y_c?
 *
 * With D directions (2 for "bidirectional", else 1), G gates (RNN 1, GRU 3, LSTM 4) and H hidden
 * units: X [T, N, I] (layout 1: [N, T, I]), W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H],
 * sequence_lens int32 [N], initial_h and initial_c [D, N, H] (layout 1: [N, D, H]), P [D, 3*H];
 * Y [T, D, N, H] (layout 1: [N, T, D, H]), Y_h and Y_c like initial_h. The activations attribute
 * lists each direction's functions (RNN f; GRU f, g; LSTM f, g, h), forward first; the defaults are
 * Tanh; Sigmoid, Tanh; Sigmoid, Tanh, Tanh. activation_alpha and activation_beta are consumed in
 * that order by the functions that take them, each falling back to its ONNX operator's default
 * when the list runs out. GRU's linear_before_reset, LSTM's input_forget (the forget gate becomes
 * 1 - input gate) and clip are supported. Everything is float32.
 *
 * Each direction runs as one kernel call that keeps its state in Y, Y_h and Y_c: a model that
 * leaves one out still gets it here, as an output of the node nothing reads, so memory planning
 * gives the state its room in the arena. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ops.h"

/* The activation functions, in the order of their codes in runtime/rnn.c, with how many of alpha
 * and beta each takes and the defaults of the ONNX operators of the same name. */
static const struct {
    const char *name;
    int params;
    float alpha, beta;
} acts[] = {
    {"Relu", 0, 0, 0},        {"Tanh", 0, 0, 0},           {"Sigmoid", 0, 0, 0},
    {"Affine", 2, 1.0f, 0.0f}, {"LeakyRelu", 1, 0.01f, 0}, {"ThresholdedRelu", 1, 1.0f, 0},
    {"ScaledTanh", 2, 1.0f, 1.0f}, {"HardSigmoid", 2, 0.2f, 0.5f}, {"Elu", 1, 1.0f, 0},
    {"Softsign", 0, 0, 0},    {"Softplus", 0, 0, 0},
};

static bool is_f32(const xf_value *v) { return !v || v->dtype == XF_F32; }

static int cell_of(const xf_node *n) {
    return n->op == XF_OP_RNN ? XF_CELL_RNN : n->op == XF_OP_GRU ? XF_CELL_GRU : XF_CELL_LSTM;
}

/* Checks that v (when present) has the given shape; `what` names it in the message. */
static bool expect_shape(xf_graph *g, const xf_node *n, const xf_value *v, const char *what, int rank,
                         const int64_t *shape, xf_diag *d) {
    if (!v) return true;
    bool same = v->rank == rank;
    for (int i = 0; same && i < rank; i++) same = v->shape[i] == shape[i];
    if (same) return true;
    char got[128], want[128] = "[";
    size_t len = 1;
    for (int i = 0; i < rank; i++)
        len += (size_t)snprintf(want + len, sizeof want - len, "%s%lld", i ? "," : "", (long long)shape[i]);
    snprintf(want + len, sizeof want - len, "]");
    return xf_fail(d, g, n, "%s is %s, expected %s", what, xf_shape_str(v, got, sizeof got), want);
}

/* The activations of both directions from the attributes, defaults where they are absent. */
static bool rnn_activations(xf_graph *g, const xf_node *n, xf_rnn_geom *p, xf_diag *d) {
    static const int64_t dflt[3][3] = {{1, 1, 1}, {2, 1, 1}, {2, 1, 1}}; /* Tanh; Sigmoid, Tanh; ... */
    const xf_attr *names = xf_attr_get(n, "activations");
    const xf_attr *alphas = xf_attr_get(n, "activation_alpha"), *betas = xf_attr_get(n, "activation_beta");
    int na = alphas && alphas->type == XF_ATTR_FLOATS ? alphas->n : 0;
    int nb = betas && betas->type == XF_ATTR_FLOATS ? betas->n : 0;
    if (names && (names->type != XF_ATTR_STRINGS || names->n != p->nact * p->dirs))
        return xf_fail(d, g, n, "activations must list %lld functions (%d per direction), not %d",
                       (long long)(p->nact * p->dirs), p->nact, names->type == XF_ATTR_STRINGS ? names->n : 0);
    int ia = 0, ib = 0;
    for (int dir = 0; dir < p->dirs; dir++)
        for (int k = 0; k < p->nact; k++) {
            int code = (int)dflt[p->cell][k];
            if (names) {
                const char *s = names->strings[dir * p->nact + k];
                code = -1;
                for (int c = 0; c < (int)(sizeof acts / sizeof acts[0]); c++)
                    if (strcasecmp(s, acts[c].name) == 0) code = c;
                if (code < 0) return xf_fail(d, g, n, "activation '%s' is not one ONNX defines for recurrent ops", s);
            }
            p->acts[dir][k] = code;
            p->alpha[dir][k] = acts[code].alpha;
            p->beta[dir][k] = acts[code].beta;
            if (acts[code].params >= 1 && ia < na) p->alpha[dir][k] = alphas->floats[ia++];
            if (acts[code].params >= 2 && ib < nb) p->beta[dir][k] = betas->floats[ib++];
        }
    return true;
}

bool xf_rnn_geometry(xf_graph *g, const xf_node *n, xf_rnn_geom *p, xf_diag *d) {
    memset(p, 0, sizeof *p);
    p->cell = cell_of(n);
    p->gates = p->cell == XF_CELL_RNN ? 1 : p->cell == XF_CELL_GRU ? 3 : 4;
    p->nact = p->cell == XF_CELL_RNN ? 1 : p->cell == XF_CELL_GRU ? 2 : 3;
    int max_in = p->cell == XF_CELL_LSTM ? 8 : 6, max_out = p->cell == XF_CELL_LSTM ? 3 : 2;
    xf_value *x = xf_in(g, n, 0), *w = xf_in(g, n, 1), *r = xf_in(g, n, 2);
    char sx[128], sw[128], sr[128];
    if (!x || !w || !r) return xf_fail(d, g, n, "expects inputs X, W and R");
    if (n->nin > max_in) return xf_fail(d, g, n, "takes at most %d inputs, not %d", max_in, n->nin);
    if (n->nout > max_out) return xf_fail(d, g, n, "gives at most %d outputs, not %d", max_out, n->nout);
    for (int k = 0; k < n->nin; k++) {
        xf_value *v = xf_in(g, n, k);
        if (k != 4 && !is_f32(v))
            return xf_fail(d, g, n, "input %d is %s; only float32 is supported", k, xf_dtype_name(v->dtype));
    }
    const char *dir = xf_attr_str(n, "direction", "forward");
    if (strcmp(dir, "forward") && strcmp(dir, "reverse") && strcmp(dir, "bidirectional"))
        return xf_fail(d, g, n, "direction must be forward, reverse or bidirectional, not '%s'", dir);
    p->dirs = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
    p->reverse = strcmp(dir, "reverse") == 0;
    int64_t layout = xf_attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1) return xf_fail(d, g, n, "layout must be 0 or 1, not %lld", (long long)layout);
    p->layout = layout;
    if (x->rank != 3 || w->rank != 3 || r->rank != 3)
        return xf_fail(d, g, n, "X %s, W %s and R %s must be 3-D", xf_shape_str(x, sx, sizeof sx),
                       xf_shape_str(w, sw, sizeof sw), xf_shape_str(r, sr, sizeof sr));
    p->seq = x->shape[layout ? 1 : 0];
    p->batch = x->shape[layout ? 0 : 1];
    p->input = x->shape[2];
    p->hidden = xf_attr_int(n, "hidden_size", r->shape[2]);
    if (p->hidden <= 0 || p->hidden >= XF_DIM_MAX)
        return xf_fail(d, g, n, "hidden_size must be positive and below 2^31, not %lld", (long long)p->hidden);
    int64_t gh = p->gates * p->hidden;
    if (!expect_shape(g, n, w, "W", 3, (const int64_t[]){p->dirs, gh, p->input}, d) ||
        !expect_shape(g, n, r, "R", 3, (const int64_t[]){p->dirs, gh, p->hidden}, d) ||
        !expect_shape(g, n, xf_in(g, n, 3), "B", 2, (const int64_t[]){p->dirs, 2 * gh}, d))
        return false;
    xf_value *lens = xf_in(g, n, 4);
    if (lens && lens->dtype != XF_I32)
        return xf_fail(d, g, n, "sequence_lens must be int32, not %s", xf_dtype_name(lens->dtype));
    if (!expect_shape(g, n, lens, "sequence_lens", 1, (const int64_t[]){p->batch}, d)) return false;
    const int64_t state[3] = {layout ? p->batch : p->dirs, layout ? p->dirs : p->batch, p->hidden};
    if (!expect_shape(g, n, xf_in(g, n, 5), "initial_h", 3, state, d)) return false;
    if (p->cell == XF_CELL_LSTM &&
        (!expect_shape(g, n, xf_in(g, n, 6), "initial_c", 3, state, d) ||
         !expect_shape(g, n, xf_in(g, n, 7), "P", 2, (const int64_t[]){p->dirs, 3 * p->hidden}, d)))
        return false;
    int64_t lbr = xf_attr_int(n, "linear_before_reset", 0), input_forget = xf_attr_int(n, "input_forget", 0);
    if (lbr != 0 && lbr != 1) return xf_fail(d, g, n, "linear_before_reset must be 0 or 1, not %lld", (long long)lbr);
    if (input_forget != 0 && input_forget != 1)
        return xf_fail(d, g, n, "input_forget must be 0 or 1, not %lld", (long long)input_forget);
    p->clip = xf_attr_float(n, "clip", 0.0f);
    if (xf_attr_get(n, "clip") && !(p->clip > 0.0f))
        return xf_fail(d, g, n, "clip must be positive, not %g", (double)p->clip);
    return rnn_activations(g, n, p, d);
}

/* Makes output k of n exist: the kernel keeps its state in Y, Y_h and Y_c (runtime/rnn.c), so one
 * the model leaves out becomes an output of the node that nothing reads. Shape inference may run
 * more than once; the second time finds the output there. */
static void ensure_state(xf_graph *g, xf_node *n, int k, const char *what) {
    if (k < n->nout && n->out[k] >= 0) return;
    if (k >= n->nout) {
        int32_t *out = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(k + 1));
        for (int i = 0; i <= k; i++) out[i] = i < n->nout ? n->out[i] : -1;
        n->out = out;
        n->nout = k + 1;
    }
    const char *name = xf_sprintf(g->arena, "%s.%s", n->name, what);
    for (int i = 2; xf_value_find(g, name) >= 0; i++) name = xf_sprintf(g->arena, "%s.%s%d", n->name, what, i);
    int32_t v = xf_value_add(g, name, XF_F32, 0, NULL);
    g->values[v].producer = (int32_t)(n - g->nodes);
    n->out[k] = v;
}

bool xf_shape_rnn(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_rnn_geom p;
    if (!xf_rnn_geometry(g, n, &p, d)) return false;
    ensure_state(g, n, 0, "Y");
    ensure_state(g, n, 1, "Y_h");
    if (p.cell == XF_CELL_LSTM) ensure_state(g, n, 2, "Y_c");
    if (p.layout)
        xf_set_out(g, n, 0, XF_F32, 4, (const int64_t[]){p.batch, p.seq, p.dirs, p.hidden});
    else
        xf_set_out(g, n, 0, XF_F32, 4, (const int64_t[]){p.seq, p.dirs, p.batch, p.hidden});
    const int64_t state[3] = {p.layout ? p.batch : p.dirs, p.layout ? p.dirs : p.batch, p.hidden};
    for (int k = 1; k < n->nout; k++) xf_set_out(g, n, k, XF_F32, 3, state);
    return true;
}
