/* rnn.c — runtime kernels of the recurrent layers RNN, GRU and LSTM (ONNX's semantics).
 *
 * One kernel runs one direction of any of the three cells; a bidirectional layer is two calls, the
 * weights, biases and outputs of each direction reached through pointer offsets worked out at
 * compile time (lower/rnn.c). Batch rows are independent, so each row runs its whole sequence
 * before the next. Gates are computed one hidden unit at a time from dot products with rows of W
 * and R, so there is no gate matrix; the only state lives in the outputs themselves: the hidden
 * state of the previous step is read from Y (its row for that step is final once written), the
 * cell state is updated in place in Y_c (each unit's new value depends only on its old one), and
 * Y_h serves GRU as the one extra vector it needs before it receives the final state. The lowering
 * makes sure those outputs exist even when the model does not ask for them. */
#include "kernels.h"

/* @kernel xf_recurrent */
/* The activation functions the recurrent ops accept, by code: 0 Relu, 1 Tanh, 2 Sigmoid, 3 Affine,
 * 4 LeakyRelu, 5 ThresholdedRelu, 6 ScaledTanh, 7 HardSigmoid, 8 Elu, 9 Softsign, 10 Softplus. */
static float xf_rnn_act(int64_t code, float x, float alpha, float beta) {
    switch (code) {
    case 0: return x > 0.0f ? x : 0.0f;
    case 1: return tanhf(x);
    case 2: return 1.0f / (1.0f + expf(-x));
    case 3: return alpha * x + beta;
    case 4: return x < 0.0f ? alpha * x : x;
    case 5: return x > alpha ? x : 0.0f;
    case 6: return alpha * tanhf(beta * x);
    case 7: return fmaxf(0.0f, fminf(1.0f, alpha * x + beta));
    case 8: return x < 0.0f ? alpha * (expf(x) - 1.0f) : x;
    case 9: return x / (1.0f + fabsf(x));
    default: return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x)); /* 10 */
    }
}

/* One direction of a recurrent layer over the whole sequence. cell is 0 (RNN), 1 (GRU) or 2
 * (LSTM); the arrays hold
 *   sizes    seq, batch, input, hidden
 *   strides  element strides of X along time and batch, of Y along time and batch, and of the state
 *            tensors (Y_h, Y_c, initial_h, initial_c) along batch
 *   flags    reverse (run from the last step), linear_before_reset (GRU), input_forget (LSTM)
 * With G gates (1, 3, 4) and H = hidden, w is this direction's [G*H, input], r its [G*H, H], bias
 * its [2*G*H] (Wb then Rb; NULL: zeros), peep its [3*H] (LSTM: P_i, P_o, P_f; NULL: zeros). Gate
 * order: GRU z, r, h; LSTM i, o, f, c. activations are the codes of the cell's f, g, h (see
 * xf_rnn_act), alpha and beta their parameters. y, y_h (and y_c for LSTM) point at this direction's
 * part of the outputs: row [t, b] of y at t*strides[2] + b*strides[3], row b of the others at
 * b*strides[4]; rows of x likewise through strides[0], strides[1]. lens (int32 [batch], NULL: all
 * seq steps) gives each row's length: later steps are not run and their Y rows are 0; the reverse
 * direction starts at a row's last valid step; a row of length 0 ends with zero states. clip > 0
 * bounds every gate's input to [-clip, clip].
 *
 *   RNN   h = f(x W_i + h' R_i + Wb_i + Rb_i)
 *   GRU   z = f(x W_z + h' R_z + b_z),  r = f(x W_r + h' R_r + b_r)
 *         n = g(x W_h + (r * h') R_h + Rb_h + Wb_h)            linear_before_reset = 0
 *         n = g(x W_h + r * (h' R_h + Rb_h) + Wb_h)            linear_before_reset = 1
 *         h = (1 - z) * n + z * h'
 *   LSTM  i = f(x W_i + h' R_i + P_i * c' + b_i),  f = f(... P_f * c' ...)  (1 - i with input_forget)
 *         c = f * c' + i * g(x W_c + h' R_c + b_c),  o = f(x W_o + h' R_o + P_o * c + b_o)
 *         h = o * h(c)
 * where h', c' are the previous states (initial_h, initial_c, or zeros at the first step). */
XF_API void xf_recurrent(float *restrict y, float *restrict y_h, float *restrict y_c, const float *restrict x,
                         const float *restrict w, const float *restrict r, const float *restrict bias,
                         const int32_t *restrict lens, const float *restrict init_h, const float *restrict init_c,
                         const float *restrict peep, int64_t cell, const int64_t *restrict sizes,
                         const int64_t *restrict strides, const int64_t *restrict flags,
                         const int64_t *restrict activations, float alpha_f, float beta_f, float alpha_g,
                         float beta_g, float alpha_h, float beta_h, float clip) {
    int64_t seq = sizes[0], batch = sizes[1], in = sizes[2], hid = sizes[3];
    int64_t xs_t = strides[0], xs_b = strides[1], ys_t = strides[2], ys_b = strides[3], hs_b = strides[4];
    int64_t reverse = flags[0], lbr = flags[1], input_forget = flags[2];
    int64_t act_f = activations[0], act_g = activations[1], act_h = activations[2];
    int64_t gates = cell == 0 ? 1 : cell == 1 ? 3 : 4;
    const float *wb = bias, *rb = bias ? bias + gates * hid : NULL;
    for (int64_t b = 0; b < batch; b++) {
        int64_t len = lens ? lens[b] : seq;
        len = len < 0 ? 0 : len > seq ? seq : len;
        const float *hp = init_h ? init_h + b * hs_b : NULL; /* the previous hidden state; NULL: zeros */
        float *hb = y_h + b * hs_b, *cb = cell == 2 ? y_c + b * hs_b : NULL;
        if (cb)
            for (int64_t j = 0; j < hid; j++) cb[j] = init_c ? init_c[b * hs_b + j] : 0.0f;
        for (int64_t step = 0; step < len; step++) {
            int64_t t = reverse ? len - 1 - step : step;
            const float *xt = x + t * xs_t + b * xs_b;
            float *yt = y + t * ys_t + b * ys_b;
            /* the input part of gate k for unit j, with both biases and the clip applied by pre() */
#define XF_RNN_IN(k, j) (xf_dot(xt, w + ((k) * hid + (j)) * in, in) + (wb ? wb[(k) * hid + (j)] : 0.0f))
/* hp NULL: no initial state, the recurrent term is zero */
#define XF_RNN_REC(k, j) ((hp ? xf_dot(r + ((k) * hid + (j)) * hid, hp, hid) : 0.0f) + (rb ? rb[(k) * hid + (j)] : 0.0f))
#define XF_RNN_CLIP(v) (clip > 0.0f ? fmaxf(-clip, fminf(clip, (v))) : (v))
            if (cell == 0) {
                for (int64_t j = 0; j < hid; j++)
                    yt[j] = xf_rnn_act(act_f, XF_RNN_CLIP(XF_RNN_IN(0, j) + XF_RNN_REC(0, j)), alpha_f, beta_f);
            } else if (cell == 1) {
                if (!lbr) /* r * h' for the candidate's recurrent product, kept in y_h until the end */
                    for (int64_t j = 0; j < hid; j++)
                        hb[j] = hp ? xf_rnn_act(act_f, XF_RNN_CLIP(XF_RNN_IN(1, j) + XF_RNN_REC(1, j)), alpha_f,
                                                beta_f) * hp[j]
                                   : 0.0f;
                for (int64_t j = 0; j < hid; j++) {
                    float z = xf_rnn_act(act_f, XF_RNN_CLIP(XF_RNN_IN(0, j) + XF_RNN_REC(0, j)), alpha_f, beta_f);
                    float pre;
                    if (lbr) {
                        float rg = xf_rnn_act(act_f, XF_RNN_CLIP(XF_RNN_IN(1, j) + XF_RNN_REC(1, j)), alpha_f, beta_f);
                        pre = XF_RNN_IN(2, j) + rg * XF_RNN_REC(2, j);
                    } else {
                        pre = XF_RNN_IN(2, j) + (hb ? xf_dot(r + (2 * hid + j) * hid, hb, hid) : 0.0f) +
                              (rb ? rb[2 * hid + j] : 0.0f);
                    }
                    float n = xf_rnn_act(act_g, XF_RNN_CLIP(pre), alpha_g, beta_g);
                    yt[j] = (1.0f - z) * n + z * (hp ? hp[j] : 0.0f);
                }
            } else {
                for (int64_t j = 0; j < hid; j++) {
                    float cp = cb[j];
                    float ig = xf_rnn_act(act_f, XF_RNN_CLIP(XF_RNN_IN(0, j) + XF_RNN_REC(0, j) +
                                                               (peep ? peep[j] * cp : 0.0f)), alpha_f, beta_f);
                    float fg = input_forget ? 1.0f - ig
                                            : xf_rnn_act(act_f, XF_RNN_CLIP(XF_RNN_IN(2, j) + XF_RNN_REC(2, j) +
                                                                              (peep ? peep[2 * hid + j] * cp : 0.0f)),
                                                         alpha_f, beta_f);
                    float cand = xf_rnn_act(act_g, XF_RNN_CLIP(XF_RNN_IN(3, j) + XF_RNN_REC(3, j)), alpha_g, beta_g);
                    float c = fg * cp + ig * cand;
                    float og = xf_rnn_act(act_f, XF_RNN_CLIP(XF_RNN_IN(1, j) + XF_RNN_REC(1, j) +
                                                               (peep ? peep[hid + j] * c : 0.0f)), alpha_f, beta_f);
                    cb[j] = c; /* c' of unit j is not read again this step */
                    yt[j] = og * xf_rnn_act(act_h, c, alpha_h, beta_h);
                }
            }
#undef XF_RNN_IN
#undef XF_RNN_REC
#undef XF_RNN_CLIP
            hp = yt;
        }
        /* a row of length 0 has no state at all: Y_h and Y_c are 0 (not the initial state), as
         * onnxruntime gives */
        for (int64_t j = 0; j < hid; j++) hb[j] = len && hp ? hp[j] : 0.0f;
        if (cb && !len) memset(cb, 0, (size_t)hid * sizeof(float));
        for (int64_t t = len; t < seq; t++) memset(y + t * ys_t + b * ys_b, 0, (size_t)hid * sizeof(float));
    }
}
