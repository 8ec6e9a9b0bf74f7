/* index.c — runtime kernels of the selection, indexing and loss ops: ArgMax/ArgMin, TopK, the
 * ReduceMax/ReduceMin of integer and bool tensors, Hardmax, OneHot, the scatters (TensorScatter's
 * KV-cache update among them), Compress, Einsum, TfIdfVectorizer's n-gram counts, and the
 * NegativeLogLikelihood / SoftmaxCrossEntropy losses.
 *
 * Ops that only compare elements (ArgMax, TopK, integer ReduceMax) serve every type with one kernel:
 * each element is turned into an unsigned key that orders like the value (xf_order_key), and values
 * are moved as bytes of esize. Ops that compute take the element type as an ONNX type number (the
 * scatter reductions, Einsum: one body per type inside one kernel) or serve float32 only (Hardmax,
 * the losses). As in math.c, every size and stride is settled by xfc at compile time and passed in;
 * in model.c the arguments are literals. Arguments follow memcpy: outputs first, then inputs, then
 * sizes; optional tensors may be NULL. Index tensors (isize 4 or 8 bytes) are read as int32 or int64,
 * and one out of range stops a kernel with XFC_ERR_INDEX before anything outside a tensor is touched.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_order_key */
/* An unsigned key of element i of x (of ONNX type dtype) that orders as the values do: floats by
 * their bits with the sign handled (NaN sorts above +inf), signed integers with the sign bit
 * flipped, unsigned ones as they are. Comparing keys is exact where converting to double is not. */
XF_API uint64_t xf_order_key(const void *x, int64_t i, int64_t dtype) {
    const uint64_t sign = (uint64_t)1 << 63;
    switch (dtype) {
    case 1: { /* float32 */
        uint32_t b;
        memcpy(&b, (const char *)x + i * 4, 4);
        return b >> 31 ? (uint64_t)~b : (uint64_t)b | ((uint64_t)1 << 31);
    }
    case 11: { /* float64 */
        uint64_t b;
        memcpy(&b, (const char *)x + i * 8, 8);
        return b >> 63 ? ~b : b | sign;
    }
    case 7: return (uint64_t)((const int64_t *)x)[i] ^ sign;
    case 6: return (uint64_t)(int64_t)((const int32_t *)x)[i] ^ sign;
    case 5: return (uint64_t)(int64_t)((const int16_t *)x)[i] ^ sign;
    case 3: return (uint64_t)(int64_t)((const int8_t *)x)[i] ^ sign;
    case 13: return ((const uint64_t *)x)[i];
    case 12: return ((const uint32_t *)x)[i];
    case 4: return ((const uint16_t *)x)[i];
    default: return ((const uint8_t *)x)[i]; /* uint8, bool */
    }
}

/* @kernel xf_arg_extreme */
/* ArgMax (is_max) or ArgMin of x viewed as [outer, n, inner], along n, into y of [outer, inner]. Of
 * equal extremes the first wins, or the last when select_last is set (select_last_index). */
XF_API void xf_arg_extreme(int64_t *restrict y, const void *x, int64_t outer, int64_t n, int64_t inner,
                           int64_t is_max, int64_t select_last, int64_t dtype) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i, best = 0;
            uint64_t best_key = xf_order_key(x, base, dtype);
            for (int64_t j = 1; j < n; j++) {
                uint64_t key = xf_order_key(x, base + j * inner, dtype);
                int better = is_max ? key > best_key : key < best_key;
                if (better || (select_last && key == best_key)) {
                    best = j;
                    best_key = key;
                }
            }
            y[o * inner + i] = best;
        }
}

/* @kernel xf_top_k */
/* The k largest (or smallest) elements of x viewed as [outer, n, inner], along n, sorted, with their
 * positions: values and indices are [outer, k, inner]. Each candidate is insertion-sorted into the
 * k slots of the output; it goes after the ones that equal it, so ties keep the lower index first,
 * as ONNX asks. O(n*k) per row, which suits the small k models use. */
XF_API void xf_top_k(void *values, int64_t *restrict indices, const void *x, int64_t outer, int64_t n,
                     int64_t inner, int64_t k, int64_t largest, int64_t dtype, int64_t esize) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i, *idx = indices + o * k * inner + i, count = 0;
            for (int64_t j = 0; j < n; j++) {
                uint64_t key = xf_order_key(x, base + j * inner, dtype);
                int64_t p = count;
                while (p > 0) { /* find the slot: after every kept element at least as good */
                    uint64_t other = xf_order_key(x, base + idx[(p - 1) * inner] * inner, dtype);
                    if (largest ? key <= other : key >= other) break;
                    p--;
                }
                if (p >= k) continue;
                for (int64_t q = count < k ? count : k - 1; q > p; q--) idx[q * inner] = idx[(q - 1) * inner];
                idx[p * inner] = j;
                if (count < k) count++;
            }
            for (int64_t p = 0; p < k; p++)
                memcpy((char *)values + ((o * k + p) * inner + i) * esize,
                       (const char *)x + (base + idx[p * inner] * inner) * esize, (size_t)esize);
        }
}

/* @kernel xf_reduce_extreme */
/* ReduceMax (is_max) or ReduceMin of a tensor of any integer or bool type, x viewed as
 * [outer, n1, mid, n2, inner] and reduced over n1 and n2 as in math.c's xf_reduce_max. y starts as
 * the first element of each reduction (n1 and n2 are at least 1) and takes any element that beats
 * it. */
XF_API void xf_reduce_extreme(void *y, const void *x, int64_t outer, int64_t n1, int64_t mid, int64_t n2,
                              int64_t inner, int64_t is_max, int64_t dtype, int64_t esize) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t m = 0; m < mid; m++)
            memcpy((char *)y + (o * mid + m) * inner * esize,
                   (const char *)x + ((o * n1 * mid + m) * n2) * inner * esize, (size_t)(inner * esize));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r1 = 0; r1 < n1; r1++)
            for (int64_t m = 0; m < mid; m++)
                for (int64_t r2 = 0; r2 < n2; r2++)
                    for (int64_t i = 0; i < inner; i++) {
                        int64_t yi = (o * mid + m) * inner + i, xi = (((o * n1 + r1) * mid + m) * n2 + r2) * inner + i;
                        uint64_t a = xf_order_key(x, xi, dtype), b = xf_order_key(y, yi, dtype);
                        if (is_max ? a > b : a < b)
                            memcpy((char *)y + yi * esize, (const char *)x + xi * esize, (size_t)esize);
                    }
}

/* @kernel xf_hardmax */
/* Hardmax of x viewed as [outer, n, inner], along n: 1 at the first maximum, 0 elsewhere. */
XF_API void xf_hardmax(float *restrict y, const float *restrict x, int64_t outer, int64_t n, int64_t inner) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xr = x + o * n * inner + i;
            float *yr = y + o * n * inner + i;
            int64_t best = 0;
            for (int64_t j = 0; j < n; j++) {
                if (xr[j * inner] > xr[best * inner]) best = j;
                yr[j * inner] = 0.0f;
            }
            if (n > 0) yr[best * inner] = 1.0f;
        }
}

/* @kernel xf_one_hot */
/* OneHot: y is [outer, depth, inner] and indices [outer, inner], of type idx_dtype: float32,
 * float64 (truncated, as a cast to int64 does), int32 or int64. Every element of y is values[0] except
 * y[o, k, i] = values[1] for k = indices[o, i]; a negative index counts from the end, and one out
 * of [-depth, depth) sets nothing, as ONNX specifies. */
XF_API void xf_one_hot(void *y, const void *indices, const void *values, int64_t outer, int64_t depth,
                       int64_t inner, int64_t idx_dtype, int64_t esize) {
    for (int64_t e = 0; e < outer * depth * inner; e++) memcpy((char *)y + e * esize, values, (size_t)esize);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t j = o * inner + i, k;
            switch (idx_dtype) {
            case 1: k = (int64_t)((const float *)indices)[j]; break;
            case 11: k = (int64_t)((const double *)indices)[j]; break;
            case 6: k = ((const int32_t *)indices)[j]; break;
            default: k = ((const int64_t *)indices)[j]; break;
            }
            if (k < 0) k += depth;
            if (k >= 0 && k < depth)
                memcpy((char *)y + ((o * depth + k) * inner + i) * esize, (const char *)values + esize, (size_t)esize);
        }
}

/* @kernel xf_scatter_combine */
/* *dst = op(*dst, *src) for the scatter reductions: 0 none (replace), 1 add, 2 mul, 3 max, 4 min,
 * for float32, float64, int64 and int32 (xfc refuses reductions on other types; replacing works on
 * any). One body serves the four types: T is the element type, U the type the sum and product are
 * taken in, unsigned for the integers so that they wrap instead of overflowing. */
#define XF_SCATTER_COMBINE(T, U)                                                                        \
    do {                                                                                                \
        T a, b;                                                                                         \
        memcpy(&a, dst, sizeof a);                                                                      \
        memcpy(&b, src, sizeof b);                                                                      \
        a = op == 1 ? (T)((U)a + (U)b) : op == 2 ? (T)((U)a * (U)b) : op == 3 ? (b > a ? b : a) : (b < a ? b : a); \
        memcpy(dst, &a, sizeof a);                                                                      \
    } while (0)
XF_API void xf_scatter_combine(void *dst, const void *src, int64_t op, int64_t dtype, int64_t esize) {
    switch (op == 0 ? 0 : dtype) {
    case 0: memcpy(dst, src, (size_t)esize); break;
    case 1: XF_SCATTER_COMBINE(float, float); break;
    case 11: XF_SCATTER_COMBINE(double, double); break;
    case 7: XF_SCATTER_COMBINE(int64_t, uint64_t); break;
    default: XF_SCATTER_COMBINE(int32_t, uint32_t); break; /* 6 */
    }
}
#undef XF_SCATTER_COMBINE

/* @kernel xf_scatter_elements */
/* ScatterElements: y = x, then for each index position e of idx (whose shape `shape` updates
 * shares), y[e with e[axis] replaced by idx[e]] is combined with updates[e] (see xf_scatter_combine);
 * later updates of one element see the earlier ones. ystrides are y's element strides; dim is its
 * size along axis. */
XF_API int xf_scatter_elements(void *y, const void *x, const void *idx, int64_t isize, const void *updates,
                               int64_t rank, const int64_t *shape, const int64_t *ystrides, int64_t axis, int64_t dim,
                               int64_t nbytes, int64_t op, int64_t dtype, int64_t esize) {
    int64_t i[8] = {0}, total = 1;
    if (y != x) memcpy(y, x, (size_t)nbytes);
    for (int64_t d = 0; d < rank; d++) total *= shape[d];
    for (int64_t e = 0; e < total; e++) {
        int64_t k = isize == 8 ? ((const int64_t *)idx)[e] : ((const int32_t *)idx)[e];
        if (k < 0) k += dim;
        if (k < 0 || k >= dim) return XFC_ERR_INDEX;
        int64_t yo = 0;
        for (int64_t d = 0; d < rank; d++) yo += (d == axis ? k : i[d]) * ystrides[d];
        xf_scatter_combine((char *)y + yo * esize, (const char *)updates + e * esize, op, dtype, esize);
        for (int64_t d = rank - 1; d >= 0 && ++i[d] == shape[d]; d--) i[d] = 0;
    }
    return XFC_OK;
}

/* @kernel xf_scatter_nd */
/* ScatterND: y = x, then each of the `tuples` index tuples of idx, tuple_len indices each (ONNX's q),
 * checked against ydims and weighted by ystrides, addresses a block of `slice` contiguous elements of
 * y, combined element by element with the next block of updates (see xf_scatter_combine). */
XF_API int xf_scatter_nd(void *y, const void *x, const void *idx, int64_t isize, const void *updates, int64_t tuples,
                         int64_t tuple_len, const int64_t *ydims, const int64_t *ystrides, int64_t slice, int64_t nbytes,
                         int64_t op, int64_t dtype, int64_t esize) {
    if (y != x) memcpy(y, x, (size_t)nbytes);
    for (int64_t j = 0; j < tuples; j++) {
        int64_t yo = 0;
        for (int64_t t = 0; t < tuple_len; t++) {
            int64_t p = j * tuple_len + t;
            int64_t k = isize == 8 ? ((const int64_t *)idx)[p] : ((const int32_t *)idx)[p];
            if (k < 0) k += ydims[t];
            if (k < 0 || k >= ydims[t]) return XFC_ERR_INDEX;
            yo += k * ystrides[t];
        }
        for (int64_t s = 0; s < slice; s++)
            xf_scatter_combine((char *)y + (yo + s) * esize, (const char *)updates + (j * slice + s) * esize, op,
                               dtype, esize);
    }
    return XFC_OK;
}

/* @kernel xf_tensor_scatter */
/* TensorScatter: y = cache, then update written into it along the sequence axis. cache is viewed as
 * [batch, rows, max_len, inner] and update as [batch, rows, len, inner], rows being the dims between
 * the batch and the axis. Batch b's update goes to positions write_idx[b] .. write_idx[b] + len - 1
 * (write_idx may be NULL: all 0). In linear mode those must lie inside the cache; in circular mode
 * they wrap modulo max_len, counted as Python's % counts, so a negative index wraps too. Every
 * write index is checked before anything is written, so bad ones leave y untouched. */
XF_API int xf_tensor_scatter(void *y, const void *cache, const void *update, const int64_t *write_idx,
                             int64_t batch, int64_t rows, int64_t max_len, int64_t len, int64_t inner,
                             int64_t circular, int64_t esize) {
    if (len == 0) {
        if (y != cache) memcpy(y, cache, (size_t)(batch * rows * max_len * inner * esize));
        return XFC_OK;
    }
    for (int64_t b = 0; b < batch; b++) {
        int64_t w = write_idx ? write_idx[b] : 0;
        /* len <= max_len (checked by xfc), so max_len - len cannot overflow */
        if (!circular && (w < 0 || w > max_len - len)) return XFC_ERR_INDEX;
    }
    if (y != cache) memcpy(y, cache, (size_t)(batch * rows * max_len * inner * esize));
    size_t block = (size_t)(inner * esize);
    for (int64_t b = 0; b < batch; b++) {
        int64_t start = write_idx ? write_idx[b] : 0;
        if (circular) start = (start % max_len + max_len) % max_len; /* len > 0, so max_len > 0 */
        for (int64_t r = 0; r < rows; r++) {
            int64_t row = b * rows + r;
            for (int64_t s = 0; s < len; s++) {
                int64_t k = start + s; /* start < max_len and s < max_len: one wrap is enough */
                if (k >= max_len) k -= max_len;
                memcpy((char *)y + (row * max_len + k) * inner * esize,
                       (const char *)update + (row * len + s) * inner * esize, block);
            }
        }
    }
    return XFC_OK;
}

/* @kernel xf_tfidf */
/* TfIdfVectorizer: x holds rows of cols token ids (isize 4 or 8 bytes); y is [rows, out_size]. The
 * pool holds ngrams n-grams back to back, n-gram g being gram_len[g] ids long and counted in column
 * gram_col[g]; xfc passes only those of the lengths the op looks for, without duplicates. An n-gram
 * of length n is matched at every start and, for n > 1, at every skip 0..max_skip (its ids skip + 1
 * apart); a unigram has no gaps to skip, so it is matched once per position. mode 1 (TF) leaves the
 * counts; 2 (IDF) turns a nonzero count into weights[col] (1 without weights); 3 (TFIDF) multiplies
 * the count by weights[col] (by 1 without). Counts stay exact in float up to 2^24. */
XF_API void xf_tfidf(float *restrict y, const void *x, int64_t isize, int64_t rows, int64_t cols,
                     const int64_t *pool, const int64_t *gram_len, const int64_t *gram_col, int64_t ngrams,
                     int64_t max_skip, int64_t out_size, int64_t mode, const float *weights) {
    for (int64_t e = 0; e < rows * out_size; e++) y[e] = 0.0f;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t *gram = pool;
        for (int64_t gi = 0; gi < ngrams; gi++) {
            int64_t n = gram_len[gi], skips = n > 1 ? max_skip : 0;
            for (int64_t skip = 0; skip <= skips; skip++) {
                int64_t step = skip + 1;
                for (int64_t start = 0; start + (n - 1) * step < cols; start++) {
                    int64_t t = 0;
                    for (; t < n; t++) {
                        int64_t p = r * cols + start + t * step;
                        int64_t id = isize == 8 ? ((const int64_t *)x)[p] : ((const int32_t *)x)[p];
                        if (id != gram[t]) break;
                    }
                    if (t == n) y[r * out_size + gram_col[gi]] += 1.0f;
                }
            }
            gram += n;
        }
    }
    if (mode == 1) return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < out_size; c++) {
            float w = weights ? weights[c] : 1.0f, count = y[r * out_size + c];
            y[r * out_size + c] = mode == 2 ? (count > 0.0f ? w : 0.0f) : count * w;
        }
}

/* @kernel xf_compress */
/* Compress with x viewed as [outer, dim, inner]: keeps the blocks of inner elements whose position
 * j along dim has cond[j] set; positions from ncond on are dropped. */
XF_API void xf_compress(void *y, const void *x, const uint8_t *cond, int64_t ncond, int64_t outer, int64_t dim,
                        int64_t inner, int64_t esize) {
    int64_t block = inner * esize;
    char *yp = y;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < dim && j < ncond; j++)
            if (cond[j]) {
                memcpy(yp, (const char *)x + (o * dim + j) * block, (size_t)block);
                yp += block;
            }
}

/* @kernel xf_einsum */
/* Einsum of one or two operands (b NULL for one) as a plain contraction: for each index of the
 * output's nout dims (out_dims), y sums a*b over every index of the nsum summed dims (sum_dims).
 * Each operand reaches a label through its own element stride (a_out, b_out along the output dims,
 * a_sum, b_sum along the summed ones): 0 where it lacks the label or broadcasts it, and the sum of
 * both strides where a label repeats in one operand (a diagonal). All three tensors are of type
 * dtype, float32 (1) or float64 (11), and so is the sum: XF_EINSUM_SUM is the one sum, typed. */
#define XF_EINSUM_SUM(T)                                                                  \
    do {                                                                                  \
        const T *at = a, *bt = b;                                                         \
        T acc = 0;                                                                        \
        int64_t s[16] = {0};                                                              \
        for (int64_t t = 0; t < terms; t++) {                                             \
            int64_t ai = ao, bi = bo;                                                     \
            for (int64_t d = 0; d < nsum; d++) {                                          \
                ai += s[d] * a_sum[d];                                                    \
                bi += s[d] * b_sum[d];                                                    \
            }                                                                             \
            acc += bt ? at[ai] * bt[bi] : at[ai];                                         \
            for (int64_t d = nsum - 1; d >= 0 && ++s[d] == sum_dims[d]; d--) s[d] = 0;    \
        }                                                                                 \
        ((T *)y)[e] = acc;                                                                \
    } while (0)
XF_API void xf_einsum(void *restrict y, const void *a, const void *b, int64_t dtype, int64_t nout,
                      const int64_t *out_dims, const int64_t *a_out, const int64_t *b_out, int64_t nsum,
                      const int64_t *sum_dims, const int64_t *a_sum, const int64_t *b_sum) {
    int64_t total = 1, terms = 1, o[8] = {0};
    for (int64_t d = 0; d < nout; d++) total *= out_dims[d];
    for (int64_t d = 0; d < nsum; d++) terms *= sum_dims[d];
    for (int64_t e = 0; e < total; e++) {
        int64_t ao = 0, bo = 0;
        for (int64_t d = 0; d < nout; d++) {
            ao += o[d] * a_out[d];
            bo += o[d] * b_out[d];
        }
        if (dtype == 11) XF_EINSUM_SUM(double);
        else XF_EINSUM_SUM(float);
        for (int64_t d = nout - 1; d >= 0 && ++o[d] == out_dims[d]; d--) o[d] = 0;
    }
}
#undef XF_EINSUM_SUM

/* @kernel xf_nll_loss */
/* NegativeLogLikelihoodLoss, and SoftmaxCrossEntropyLoss when from_scores is set. x is
 * [batch, classes, inner]: log-probabilities, or raw scores whose log-softmax over the classes is
 * taken here for the one class each position needs (max-shifted, so expf cannot overflow). target
 * is [batch, inner] (isize 4 or 8 bytes). Position p loses -x[target[p]] * weight[target[p]]
 * (weight optional: 1), or nothing when target[p] == ignore_index. reduction 0 writes each loss to
 * y[batch, inner]; 1 writes their sum to
 * y[0]; 2 their mean weighted by the weights of the positions not ignored. */
XF_API int xf_nll_loss(float *restrict y, const float *restrict x, const void *target, int64_t isize,
                       const float *restrict weight, int64_t batch, int64_t classes, int64_t inner, int64_t ignore_index,
                       int64_t reduction, int64_t from_scores) {
    float total = 0.0f, weights = 0.0f;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t p = b * inner + i;
            int64_t t = isize == 8 ? ((const int64_t *)target)[p] : ((const int32_t *)target)[p];
            float loss = 0.0f;
            if (t != ignore_index) {
                if (t < 0 || t >= classes) return XFC_ERR_INDEX;
                const float *xr = x + b * classes * inner + i;
                float lp = xr[t * inner];
                if (from_scores) {
                    float max = -INFINITY, sum = 0.0f;
                    for (int64_t j = 0; j < classes; j++) max = xr[j * inner] > max ? xr[j * inner] : max;
                    for (int64_t j = 0; j < classes; j++) sum += expf(xr[j * inner] - max);
                    lp = lp - max - logf(sum);
                }
                float w = weight ? weight[t] : 1.0f;
                loss = -lp * w;
                weights += w;
            }
            if (reduction == 0) y[p] = loss;
            else total += loss;
        }
    if (reduction == 1) y[0] = total;
    if (reduction == 2) y[0] = total / weights;
    return XFC_OK;
}
