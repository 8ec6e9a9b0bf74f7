/* ops_signal.c — shape inference of the signal-processing ops: DFT, STFT, the window functions
 * (HannWindow, HammingWindow, BlackmanWindow) and MelWeightMatrix; and Det, the determinant, which
 * needs the same kind of small numeric kernel and has no family of its own.
 *
 * Inputs that set a size must be constants: DFT's dft_length and axis, STFT's frame_step and
 * frame_length, a window's size, MelWeightMatrix's bin counts; a graph input there is reported with
 * the --bind suggestion (xf_require_const). The windows and MelWeightMatrix depend on nothing else,
 * so like EyeLike they are computed here, in double precision, and never reach the generated code
 * as kernels: their outputs are constants. DFT, STFT and Det lower (lower/signal.c) to the kernels
 * of runtime/signal.c, float32 only.
 *
 * DFT takes its axis as opset 20 does, from the optional input 2 (default -2); the frontend turns
 * opset 17's axis attribute (default 1) into that input. */
#include <math.h>
#include <string.h>

#include "ops.h"

/* Compile-time data larger than this is surely a bad model, not a useful constant. */
#define MAX_CONST_BYTES ((int64_t)1 << 30)

static const double PI = 3.14159265358979323846;

/* The one integer held by constant input k (a scalar or a 1-element tensor), which must lie in
 * [lo, XF_DIM_MAX). Returns false after reporting; *present tells an absent optional input. */
static bool const_int(xf_graph *g, const xf_node *n, int k, const char *what, int64_t lo, int64_t *out,
                      bool *present, xf_diag *d) {
    int64_t v[1];
    *present = xf_in(g, n, k) != NULL;
    if (!*present) return true;
    int count = xf_node_ints(g, n, NULL, k, v, 1, d);
    if (count < 0) return false;
    if (count != 1) return xf_fail(d, g, n, "input %s must hold one integer", what);
    if (v[0] < lo || v[0] >= XF_DIM_MAX)
        return xf_fail(d, g, n, "input %s is %lld, out of range (at least %lld)", what, (long long)v[0], (long long)lo);
    *out = v[0];
    return true;
}

/* Output 0 of n becomes compile-time data of numel elements of type dtype (float32 or float64),
 * or *data stays NULL when the output is unused. */
static bool out_data(xf_graph *g, xf_node *n, int64_t numel, int32_t dtype, void **data, xf_diag *d) {
    int64_t es = (int64_t)xf_dtype_size(dtype);
    *data = NULL;
    if (numel > MAX_CONST_BYTES / es)
        return xf_fail(d, g, n, "the result (%lld elements) is too large to compute at compile time", (long long)numel);
    xf_value *y = xf_out(g, n, 0);
    if (y) y->data = *data = xf_alloc(g->arena, (size_t)(numel * es) + 1);
    return true;
}

static void store(void *data, int32_t dtype, int64_t i, double v) {
    if (dtype == XF_F64) ((double *)data)[i] = v;
    else ((float *)data)[i] = (float)v;
}

/* Attribute output_datatype (default float32): the type of a computed constant. */
static bool output_datatype(xf_graph *g, const xf_node *n, int32_t *dtype, xf_diag *d) {
    *dtype = (int32_t)xf_attr_int(n, "output_datatype", XF_F32);
    if (*dtype != XF_F32 && *dtype != XF_F64)
        return xf_fail(d, g, n, "output_datatype %s is not supported (float32 and float64 are)", xf_dtype_name(*dtype));
    return true;
}

/* ---- DFT ---- */

/* input [batch..., signal..., 1 or 2], the axis one of its dims but the last; dft_length (optional,
 * default the axis' size) pads or truncates the signal. */
bool xf_dft_geometry(xf_graph *g, const xf_node *n, xf_dft_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    if (x->rank < 2 || (x->shape[x->rank - 1] != 1 && x->shape[x->rank - 1] != 2))
        return xf_fail(d, g, n, "input %s must end in a dim of 1 (real) or 2 (complex) values", xf_shape_str(x, s, sizeof s));
    p->comps = x->shape[x->rank - 1];
    int64_t axis;
    bool present;
    if (!const_int(g, n, 2, "axis", -XF_DIM_MAX + 1, &axis, &present, d)) return false;
    if (!present) axis = -2;
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis > x->rank - 2)
        return xf_fail(d, g, n, "axis %lld is out of range for an input of rank %d (the last dim holds the complex parts)",
                       (long long)(axis < 0 ? axis - x->rank : axis), x->rank);
    p->axis = (int)axis;
    if (!const_int(g, n, 1, "dft_length", 1, &p->len, &present, d)) return false;
    if (!present) p->len = x->shape[axis];
    if (p->len < 1) return xf_fail(d, g, n, "the signal along axis %d is empty", p->axis);
    p->inverse = xf_attr_int(n, "inverse", 0) != 0;
    p->bins = xf_attr_int(n, "onesided", 0) ? p->len / 2 + 1 : p->len;
    return true;
}

bool xf_shape_dft(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_dft_geom p;
    if (!xf_dft_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    int64_t shape[XF_MAX_RANK];
    memcpy(shape, x->shape, sizeof shape);
    shape[p.axis] = p.bins;
    shape[x->rank - 1] = 2;
    xf_set_out(g, n, 0, x->dtype, x->rank, shape);
    return true;
}

/* ---- STFT ---- */

/* signal [batch, length, 1 or 2], frame_step (a constant), window [frame_length] (optional, a
 * tensor like any other), frame_length (optional constant; default the window's length, or
 * without a window the whole signal). */
bool xf_stft_geometry(xf_graph *g, const xf_node *n, xf_stft_geom *p, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0), *window = xf_in(g, n, 2);
    char s[128];
    if (x->rank != 3 || (x->shape[2] != 1 && x->shape[2] != 2))
        return xf_fail(d, g, n, "signal must be [batch, length, 1 or 2], got %s", xf_shape_str(x, s, sizeof s));
    bool present;
    if (!xf_in(g, n, 1)) return xf_fail(d, g, n, "input frame_step is missing");
    if (!const_int(g, n, 1, "frame_step", 1, &p->step, &present, d)) return false;
    if (!const_int(g, n, 3, "frame_length", 1, &p->frame_length, &present, d)) return false;
    if (window && (window->rank != 1 || (present && window->shape[0] != p->frame_length)))
        return xf_fail(d, g, n, "window %s must be 1-D%s", xf_shape_str(window, s, sizeof s),
                       present ? ", of frame_length values" : "");
    if (!present) p->frame_length = window ? window->shape[0] : x->shape[1];
    if (p->frame_length < 1 || p->frame_length > x->shape[1])
        return xf_fail(d, g, n, "a frame of %lld samples does not fit a signal of %lld", (long long)p->frame_length,
                       (long long)x->shape[1]);
    p->frames = (x->shape[1] - p->frame_length) / p->step + 1;
    p->bins = xf_attr_int(n, "onesided", 1) ? p->frame_length / 2 + 1 : p->frame_length;
    return true;
}

bool xf_shape_stft(xf_graph *g, xf_node *n, xf_diag *d) {
    xf_stft_geom p;
    if (!xf_stft_geometry(g, n, &p, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, 4, (int64_t[]){x->shape[0], p.frames, p.bins, 2});
    return true;
}

/* ---- HannWindow, HammingWindow, BlackmanWindow ---- */

/* The generalised cosine windows w[k] = a0 - a1 cos(2 pi k / N) + a2 cos(4 pi k / N), k < size,
 * with N = size for a periodic window (the default: one period of a longer one, as spectral
 * analysis wants) or size - 1 for a symmetric one. Hann is (0.5, 0.5, 0), Hamming
 * (25/46, 21/46, 0), Blackman (0.42, 0.5, 0.08). A symmetric window of one point is 1. */
bool xf_shape_window(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t size;
    int32_t dtype;
    bool present;
    if (!const_int(g, n, 0, "size", 0, &size, &present, d) || !output_datatype(g, n, &dtype, d)) return false;
    double a0 = 0.5, a1 = 0.5, a2 = 0.0;
    if (n->op == XF_OP_HAMMING_WINDOW) a0 = 25.0 / 46.0, a1 = 21.0 / 46.0;
    if (n->op == XF_OP_BLACKMAN_WINDOW) a0 = 0.42, a1 = 0.5, a2 = 0.08;
    int64_t period = xf_attr_int(n, "periodic", 1) ? size : size - 1;
    xf_set_out(g, n, 0, dtype, 1, &size);
    void *data;
    if (!out_data(g, n, size, dtype, &data, d)) return false;
    for (int64_t k = 0; data && k < size; k++) {
        double t = period > 0 ? 2.0 * PI * (double)k / (double)period : 0.0;
        store(data, dtype, k, a0 - a1 * cos(t) + a2 * cos(2.0 * t));
    }
    return true;
}

/* ---- MelWeightMatrix ---- */

/* The [dft_length / 2 + 1, num_mel_bins] matrix that maps a onesided spectrum to mel bands: band i
 * is a triangle over the spectrum bins from edge i to edge i + 2, peaking at edge i + 1. The
 * num_mel_bins + 2 edges are spaced evenly on the mel scale (mel = 2595 log10(1 + hz / 700)) from
 * lower_edge_hertz upwards in steps of (upper - lower) / (num_mel_bins + 2), as the ONNX reference
 * computes them, and each is mapped to a spectrum bin floor((dft_length + 1) hz / sample_rate).
 * The edges' mel values are computed in the precision of the hertz inputs, as the reference does,
 * since a bin index is the floor of what follows. Weights that would fall outside the matrix (an
 * upper edge above the Nyquist frequency) are dropped. All inputs must be constants. */
bool xf_shape_mel_weight_matrix(xf_graph *g, xf_node *n, xf_diag *d) {
    int64_t nmel, dft_length, rate;
    int32_t dtype;
    bool present;
    for (int k = 0; k < 5; k++)
        if (!xf_in(g, n, k))
            return xf_fail(d, g, n, "expects inputs num_mel_bins, dft_length, sample_rate, lower_edge_hertz and "
                           "upper_edge_hertz");
    if (!const_int(g, n, 0, "num_mel_bins", 1, &nmel, &present, d) ||
        !const_int(g, n, 1, "dft_length", 1, &dft_length, &present, d) ||
        !const_int(g, n, 2, "sample_rate", 1, &rate, &present, d) || !xf_require_const(g, n, 3, d) ||
        !xf_require_const(g, n, 4, d) || !output_datatype(g, n, &dtype, d))
        return false;
    xf_value *lo = xf_in(g, n, 3), *hi = xf_in(g, n, 4);
    if (xf_value_numel(lo) != 1 || xf_value_numel(hi) != 1 || !xf_dtype_is_float(lo->dtype) ||
        !xf_dtype_is_float(hi->dtype))
        return xf_fail(d, g, n, "lower_edge_hertz and upper_edge_hertz must each be one floating-point number");
    double lower = xf_const_f64(lo, 0), upper = xf_const_f64(hi, 0);
    if (!(lower >= 0.0 && upper > lower && upper < 1e12))
        return xf_fail(d, g, n, "the band edges %g and %g hertz must satisfy 0 <= lower < upper", lower, upper);
    int64_t spectrum = dft_length / 2 + 1;
    xf_set_out(g, n, 0, dtype, 2, (int64_t[]){spectrum, nmel});
    void *data;
    if (!out_data(g, n, spectrum * nmel, dtype, &data, d) || !data) return !d->set;
    double low_mel, step;
    if (lo->dtype == XF_F32 && hi->dtype == XF_F32) {
        float l = 2595.0f * log10f(1.0f + (float)lower / 700.0f), h = 2595.0f * log10f(1.0f + (float)upper / 700.0f);
        low_mel = l;
        step = (h - l) / (float)(nmel + 2);
    } else {
        low_mel = 2595.0 * log10(1.0 + lower / 700.0);
        step = (2595.0 * log10(1.0 + upper / 700.0) - low_mel) / (double)(nmel + 2);
    }
    int64_t *edge = xf_alloc(g->arena, sizeof *edge * (size_t)(nmel + 2));
    for (int64_t k = 0; k < nmel + 2; k++) {
        double hz = 700.0 * (pow(10.0, ((double)k * step + low_mel) / 2595.0) - 1.0);
        edge[k] = (int64_t)floor((double)(dft_length + 1) * hz / (double)rate);
    }
    for (int64_t i = 0; i < nmel; i++) {
        int64_t left = edge[i], center = edge[i + 1], right = edge[i + 2];
        if (center == left) { /* no rising side: the band starts at its peak */
            if (center >= 0 && center < spectrum) store(data, dtype, center * nmel + i, 1.0);
        } else {
            for (int64_t j = left; j <= center; j++)
                if (j >= 0 && j < spectrum) store(data, dtype, j * nmel + i, (double)(j - left) / (double)(center - left));
        }
        for (int64_t j = center; j < right; j++) /* the falling side; its value at the peak is 1 again */
            if (j >= 0 && j < spectrum) store(data, dtype, j * nmel + i, (double)(right - j) / (double)(right - center));
    }
    return true;
}

/* ---- Det ---- */

/* x [..., n, n] gives y [...]: one determinant per matrix. */
bool xf_det_check(xf_graph *g, const xf_node *n, xf_diag *d) {
    xf_value *x = xf_in(g, n, 0);
    char s[128];
    if (x->rank < 2 || x->shape[x->rank - 1] != x->shape[x->rank - 2])
        return xf_fail(d, g, n, "input %s must be square matrices [..., n, n]", xf_shape_str(x, s, sizeof s));
    return true;
}

bool xf_shape_det(xf_graph *g, xf_node *n, xf_diag *d) {
    if (!xf_det_check(g, n, d)) return false;
    xf_value *x = xf_in(g, n, 0);
    xf_set_out(g, n, 0, x->dtype, x->rank - 2, x->shape);
    return true;
}

