/* rnn.c — lowering of the recurrent layers RNN, GRU and LSTM (shape rules and geometry:
 * ir/ops_rnn.c) to xf_recurrent (runtime/rnn.c), one call per direction.
 *
 * A direction's weights, biases, initial states and outputs are reached through element offsets
 * into the tensors, and the layout attribute (batch first or time first) becomes the strides the
 * kernel walks X, Y and the states with, so the kernel knows neither directions nor layouts. */
#include "../ir/ops.h"
#include "lower.h"

int xf_lower_rnn(xf_graph *g, xf_node *n, xf_calls *out, xf_diag *d) {
    xf_rnn_geom p;
    if (!xf_rnn_geometry(g, n, &p, d)) return -1;
    bool lstm = p.cell == XF_CELL_LSTM;
    /* shape inference made the state outputs; their absence now is a bug in a pass, not the model's */
    XF_ASSERT(n->nout >= (lstm ? 3 : 2) && n->out[0] >= 0 && n->out[1] >= 0);
    if (p.batch == 0) return 0; /* every output is empty; with seq 0 the kernel still zeroes Y_h, Y_c */
    int64_t h = p.hidden, gh = p.gates * h;
    /* element strides: X along time and batch, Y along time and batch, the states along batch; a
     * direction's part of Y and of the states starts at dir * ydir and dir * sdir */
    int64_t xs_t = p.layout ? p.input : p.batch * p.input, xs_b = p.layout ? p.seq * p.input : p.input;
    int64_t ys_t = p.layout ? p.dirs * h : p.dirs * p.batch * h, ys_b = p.layout ? p.seq * p.dirs * h : h;
    int64_t ydir = p.layout ? h : p.batch * h;
    int64_t hs_b = p.layout ? p.dirs * h : h, sdir = p.layout ? h : p.batch * h;
    const int64_t sizes[4] = {p.seq, p.batch, p.input, h}, strides[5] = {xs_t, xs_b, ys_t, ys_b, hs_b};
    for (int dir = 0; dir < p.dirs; dir++) {
        const int64_t flags[3] = {p.reverse || dir == 1, xf_attr_int(n, "linear_before_reset", 0),
                                  xf_attr_int(n, "input_forget", 0)};
        XF_CALL(out, xf_recurrent, .y = xf_t_at(n->out[0], dir * ydir), .y_h = xf_t_at(n->out[1], dir * sdir),
                .y_c = lstm ? xf_t_at(n->out[2], dir * sdir) : xf_none(), .x = xf_t(n->in[0]),
                .w = xf_t_at(n->in[1], dir * gh * p.input), .r = xf_t_at(n->in[2], dir * gh * h),
                .bias = xf_in(g, n, 3) ? xf_t_at(n->in[3], dir * 2 * gh) : xf_none(),
                .lens = xf_t(xf_in_handle(n, 4)),
                .init_h = xf_in(g, n, 5) ? xf_t_at(n->in[5], dir * sdir) : xf_none(),
                .init_c = xf_in(g, n, 6) && lstm ? xf_t_at(n->in[6], dir * sdir) : xf_none(),
                .peep = xf_in(g, n, 7) && lstm ? xf_t_at(n->in[7], dir * 3 * h) : xf_none(), .cell = p.cell,
                .sizes = xf_ints(g, 4, sizes), .strides = xf_ints(g, 5, strides), .flags = xf_ints(g, 3, flags),
                .activations = xf_ints(g, 3, p.acts[dir]), .alpha_f = p.alpha[dir][0], .beta_f = p.beta[dir][0],
                .alpha_g = p.alpha[dir][1], .beta_g = p.beta[dir][1], .alpha_h = p.alpha[dir][2],
                .beta_h = p.beta[dir][2], .clip = p.clip);
    }
    return 0;
}
