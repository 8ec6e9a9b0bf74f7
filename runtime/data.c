/* data.c — runtime kernels that move data without computing on it: copies, the strided copy behind
 * Transpose/Slice/Expand/Concat/Split/Pad, fills, and the gathers.
 *
 * They work on any element type by moving bytes: a kernel gets void pointers and the element size
 * (esize, in bytes), so one kernel serves float, int64 and bool tensors alike. Every dimension and
 * stride is computed by xfc at compile time and passed in, so the kernels hold no shape logic
 * beyond walking an index. Index tensors (isize 4 or 8 bytes) are read as int32 or int64, by one
 * helper that also checks the index against its dimension.
 *
 * The text from each `@kernel` marker to the next is copied into the generated model.c when the
 * kernel is used; the same text is compiled into xfc for constant folding. */
#include "kernels.h"

/* @kernel xf_copy */
/* Reshape, Flatten, Squeeze and Unsqueeze only reinterpret bytes. When the memory planner lets the
 * output share the input's storage, y == x and nothing moves. */
XF_API void xf_copy(void *y, const void *x, int64_t nbytes) {
    if (y != x) memcpy(y, x, (size_t)nbytes);
}

/* @kernel xf_dropout */
/* Dropout at inference: y is x, and the mask, when the model asks for it, keeps every element. */
XF_API void xf_dropout(void *y, unsigned char *mask, const void *x, int64_t nbytes, int64_t n) {
    if (y != x) memcpy(y, x, (size_t)nbytes);
    if (mask) memset(mask, 1, (size_t)n);
}

/* @kernel xf_copy_strided */
/* Copies one row of n elements. A constant size in each memcpy lets the compiler turn it into a
 * single load and store; contiguous rows are one memcpy. Strides here are in bytes. */
static void xf_copy_row(char *y, int64_t ys, const char *x, int64_t xs, int64_t n, int64_t esize) {
    if (ys == esize && xs == esize) {
        memcpy(y, x, (size_t)(n * esize));
        return;
    }
    switch (esize) {
    case 1: for (int64_t j = 0; j < n; j++) memcpy(y + j * ys, x + j * xs, 1); break;
    case 2: for (int64_t j = 0; j < n; j++) memcpy(y + j * ys, x + j * xs, 2); break;
    case 4: for (int64_t j = 0; j < n; j++) memcpy(y + j * ys, x + j * xs, 4); break;
    case 8: for (int64_t j = 0; j < n; j++) memcpy(y + j * ys, x + j * xs, 8); break;
    default: for (int64_t j = 0; j < n; j++) memcpy(y + j * ys, x + j * xs, (size_t)esize); break;
    }
}

/* y[i] = x[i] for every index i of `shape`, each tensor addressed through its own element strides.
 * Transpose permutes x's strides, Slice offsets and scales them (negative for negative steps),
 * Expand sets them to 0 along broadcast dimensions, Concat and Split address a part of y or x.
 * xfc merges contiguous dimensions beforehand, so rank is usually 1 or 2. */
XF_API void xf_copy_strided(void *y, const int64_t *ystrides, const void *x, const int64_t *xstrides,
                            int64_t rank, const int64_t *shape, int64_t esize) {
    int64_t i[8] = {0}; /* index over the outer rank-1 dimensions; xfc tensors have rank <= 8 */
    int64_t rows = 1;
    for (int64_t d = 0; d < rank - 1; d++) rows *= shape[d];
    for (int64_t r = 0; r < rows; r++) {
        int64_t yo = 0, xo = 0;
        for (int64_t d = 0; d < rank - 1; d++) {
            yo += i[d] * ystrides[d];
            xo += i[d] * xstrides[d];
        }
        xf_copy_row((char *)y + yo * esize, ystrides[rank - 1] * esize, (const char *)x + xo * esize,
                    xstrides[rank - 1] * esize, shape[rank - 1], esize);
        for (int64_t d = rank - 2; d >= 0 && ++i[d] == shape[d]; d--) i[d] = 0;
    }
}

/* @kernel xf_fill */
/* Sets n elements of y to *value, or to zero bytes when value is NULL (Pad's default). */
XF_API void xf_fill(void *y, const void *value, int64_t n, int64_t esize) {
    if (!value) {
        memset(y, 0, (size_t)(n * esize));
        return;
    }
    for (int64_t j = 0; j < n; j++) memcpy((char *)y + j * esize, value, (size_t)esize);
}

/* @kernel xf_pad_edge */
/* Where output index o of a dimension of size n reads from, for pad modes edge (0), reflect (1)
 * and wrap (2); o is already shifted by the leading pad, so it may be negative or >= n. Reflection
 * repeats when the pad is wider than the tensor, as numpy does. */
static int64_t xf_pad_source(int64_t o, int64_t n, int64_t mode) {
    if (o >= 0 && o < n) return o;
    if (mode == 0) return o < 0 ? 0 : n - 1;
    if (mode == 2) return (o % n + n) % n;
    if (n == 1) return 0;
    int64_t period = 2 * (n - 1);
    o = (o % period + period) % period;
    return o < n ? o : period - o;
}

/* Pad in modes edge, reflect and wrap: every output element copies the input element its index maps
 * to along each dimension. pads holds the leading pad of each dimension (negative crops). */
XF_API void xf_pad_edge(void *y, const void *x, int64_t rank, const int64_t *yshape,
                        const int64_t *xshape, const int64_t *pads, int64_t mode, int64_t esize) {
    int64_t i[8] = {0}, xstrides[8];
    int64_t s = 1, total = 1;
    for (int64_t d = rank - 1; d >= 0; d--) {
        xstrides[d] = s;
        s *= xshape[d];
        total *= yshape[d];
    }
    for (int64_t e = 0; e < total; e++) {
        int64_t xo = 0;
        for (int64_t d = 0; d < rank; d++) xo += xf_pad_source(i[d] - pads[d], xshape[d], mode) * xstrides[d];
        memcpy((char *)y + e * esize, (const char *)x + xo * esize, (size_t)esize);
        for (int64_t d = rank - 1; d >= 0 && ++i[d] == yshape[d]; d--) i[d] = 0;
    }
}

/* @kernel xf_trilu */
/* Trilu over batch matrices of rows x cols: keeps the elements on and above the given diagonal
 * (upper) or on and below it (lower), and zeroes the rest. Diagonal 0 is the main one, positive
 * ones lie above it. */
XF_API void xf_trilu(void *y, const void *x, int64_t batch, int64_t rows, int64_t cols, int64_t diagonal,
                     int64_t upper, int64_t esize) {
    if (y != x) memcpy(y, x, (size_t)(batch * rows * cols * esize));
    for (int64_t b = 0; b < batch; b++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                if (upper ? c - r < diagonal : c - r > diagonal)
                    memset((char *)y + ((b * rows + r) * cols + c) * esize, 0, (size_t)esize);
}

/* @kernel xf_index_load */
/* Index i of idx, whose elements are int32 (isize 4) or int64 (isize 8), for a dimension of size
 * dim: a negative index counts from the end. Returns -1 when the index is out of range. */
XF_API int64_t xf_index_load(const void *idx, int64_t isize, int64_t i, int64_t dim) {
    int64_t k = isize == 8 ? ((const int64_t *)idx)[i] : ((const int32_t *)idx)[i];
    if (k < 0) k += dim;
    return k >= 0 && k < dim ? k : -1;
}

/* @kernel xf_gather */
/* Gather along one axis, with x seen as [outer, dim, inner] and y as [outer, nidx, inner]: each index
 * selects a block of inner elements. Negative indices count from the end; one out of range stops
 * the kernel with XFC_ERR_INDEX before anything is read from outside x. */
XF_API int xf_gather(void *y, const void *x, const void *idx, int64_t isize, int64_t nidx,
                     int64_t outer, int64_t dim, int64_t inner, int64_t esize) {
    int64_t block = inner * esize;
    char *yp = y;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < nidx; j++) {
            int64_t k = xf_index_load(idx, isize, j, dim);
            if (k < 0) return XFC_ERR_INDEX;
            memcpy(yp, (const char *)x + (o * dim + k) * block, (size_t)block);
            yp += block;
        }
    return XFC_OK;
}

/* @kernel xf_gather_elements */
/* GatherElements: y has the shape of idx, and y[i] = x[i with i[axis] replaced by idx[i]]. x's
 * element strides are passed since idx may be smaller than x in every dimension; dim is x's size
 * along axis. */
XF_API int xf_gather_elements(void *y, const void *x, const void *idx, int64_t isize, int64_t rank,
                              const int64_t *shape, const int64_t *xstrides, int64_t axis, int64_t dim,
                              int64_t esize) {
    int64_t i[8] = {0}, total = 1;
    for (int64_t d = 0; d < rank; d++) total *= shape[d];
    for (int64_t e = 0; e < total; e++) {
        int64_t k = xf_index_load(idx, isize, e, dim);
        if (k < 0) return XFC_ERR_INDEX;
        int64_t xo = 0;
        for (int64_t d = 0; d < rank; d++) xo += (d == axis ? k : i[d]) * xstrides[d];
        memcpy((char *)y + e * esize, (const char *)x + xo * esize, (size_t)esize);
        for (int64_t d = rank - 1; d >= 0 && ++i[d] == shape[d]; d--) i[d] = 0;
    }
    return XFC_OK;
}

/* @kernel xf_gather_nd */
/* GatherND with x seen as [batch, ...] (xbatch elements per batch entry) and idx as
 * [batch, nidx, tuple_len]: each tuple of indices, checked against xdims and weighted by xstrides,
 * picks a block of slice contiguous elements of its batch entry. */
XF_API int xf_gather_nd(void *y, const void *x, const void *idx, int64_t isize, int64_t batch,
                        int64_t nidx, int64_t tuple_len, const int64_t *xdims, const int64_t *xstrides,
                        int64_t xbatch, int64_t slice, int64_t esize) {
    char *yp = y;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t j = 0; j < nidx; j++) {
            int64_t xo = b * xbatch;
            for (int64_t t = 0; t < tuple_len; t++) {
                int64_t k = xf_index_load(idx, isize, (b * nidx + j) * tuple_len + t, xdims[t]);
                if (k < 0) return XFC_ERR_INDEX;
                xo += k * xstrides[t];
            }
            memcpy(yp, (const char *)x + xo * esize, (size_t)(slice * esize));
            yp += slice * esize;
        }
    return XFC_OK;
}
