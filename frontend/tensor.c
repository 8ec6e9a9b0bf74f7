/* tensor.c — ONNX TensorProto decoding and the TensorProto files of `xfc run`.
 *
 * One decoder serves initializers, Constant nodes, tensor attributes and input_N.pb files, so all
 * of them accept the same encodings: little-endian raw_data, the typed repeated fields, or data in
 * an external file next to the model. Every size is checked against the shape before anything is
 * allocated, because the shape is just as untrusted as the data. The narrow types keep ONNX's
 * bytes: float16 and bfloat16 bit patterns, float8 codes, and the 4-bit types packed two per byte,
 * low nibble first (ceil(n/2) bytes), whether they come as raw_data or as int32_data (one element
 * per entry, or for the 4-bit types one packed byte per entry, as onnx.helper writes them).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_internal.h"

static bool host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Stores element i of dst, whose type is dtype, given the element's bit pattern. */
static void store(void *dst, int32_t dtype, size_t i, uint64_t bits) {
    uint8_t *p = dst;
    if (dtype == XF_BOOL) {
        p[i] = bits != 0; /* xfc relies on bools being exactly 0 or 1 */
        return;
    }
    switch (xf_dtype_size(dtype)) {
    case 1: p[i] = (uint8_t)bits; return; /* packed 4-bit types: i counts bytes */
    case 2: { uint16_t v = (uint16_t)bits; memcpy(p + 2 * i, &v, 2); return; }
    case 4: { uint32_t v = (uint32_t)bits; memcpy(p + 4 * i, &v, 4); return; }
    case 8: memcpy(p + 8 * i, &bits, 8); return;
    }
    XF_ASSERT(!"store: unsized type");
}

/* count elements (bytes for the packed types) from little-endian bytes. */
static void from_little_endian(void *dst, int32_t src, const uint8_t *le, size_t count) {
    size_t size = xf_dtype_size(src);
    if (host_is_little_endian() && src != XF_BOOL) {
        if (count) memcpy(dst, le, count * size);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        uint64_t bits = 0;
        for (size_t k = size; k-- > 0;) bits = bits << 8 | le[i * size + k];
        store(dst, src, i, bits);
    }
}

/* The typed field ONNX uses for each element type, and its length. */
static size_t typed_count(const Onnx__TensorProto *tp, int32_t src) {
    switch (src) {
    case XF_F32: return tp->n_float_data;
    case XF_F64: return tp->n_double_data;
    case XF_I64: return tp->n_int64_data;
    case XF_U32: case XF_U64: return tp->n_uint64_data;
    default: return tp->n_int32_data; /* narrow integers, bool and half floats: one int32 each */
    }
}

static void from_typed(void *dst, int32_t src, const Onnx__TensorProto *tp, size_t count) {
    for (size_t i = 0; i < count; i++) {
        switch (src) {
        case XF_F32: ((float *)dst)[i] = tp->float_data[i]; break;
        case XF_F64: ((double *)dst)[i] = tp->double_data[i]; break;
        case XF_I64: ((int64_t *)dst)[i] = tp->int64_data[i]; break;
        case XF_U32: case XF_U64: store(dst, src, i, tp->uint64_data[i]); break;
        default: store(dst, src, i, (uint32_t)tp->int32_data[i]); break;
        }
    }
}

/* Digits only: external_data values are decimal strings, and a sign or junk means a bad file. */
static bool parse_size(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (!*s) return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* A model must not read files outside its own directory: no absolute paths, no ".." anywhere.
 * Backslashes count as separators too, since Windows tools write them. */
static bool location_is_safe(const char *loc) {
    if (loc[0] == '/' || loc[0] == '\\') return false;
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.') return false;
        p += n;
        if (*p) p++;
    }
    return true;
}

/* Reads the `bytes` bytes of an externally stored tensor into a malloc'd buffer. */
static uint8_t *read_external(xf_arena *a, const Onnx__TensorProto *tp, const char *name, const char *dir,
                              size_t bytes, const xf_graph *where, xf_diag *d) {
    const char *loc = NULL, *off_s = NULL, *len_s = NULL;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        if (!k || !v) continue;
        if (!strcmp(k, "location")) loc = v;
        else if (!strcmp(k, "offset")) off_s = v;
        else if (!strcmp(k, "length")) len_s = v;
    }
    uint64_t off = 0, len = bytes;
    if (!dir) return xf_fail(d, where, NULL, "tensor '%s': external data is not supported here", name), NULL;
    if (!loc || !*loc)
        return xf_fail(d, where, NULL, "tensor '%s' is stored externally but names no location", name), NULL;
    if (!location_is_safe(loc))
        return xf_fail(d, where, NULL, "tensor '%s': external data location '%s' must be a relative path "
                       "inside the model's directory", name, loc), NULL;
    if (off_s && !parse_size(off_s, &off))
        return xf_fail(d, where, NULL, "tensor '%s': bad external data offset '%s'", name, off_s), NULL;
    if (len_s && !parse_size(len_s, &len))
        return xf_fail(d, where, NULL, "tensor '%s': bad external data length '%s'", name, len_s), NULL;
    if (len != bytes)
        return xf_fail(d, where, NULL, "tensor '%s': external data length %llu does not match its shape "
                       "(%zu bytes)", name, (unsigned long long)len, bytes), NULL;

    const char *file = xf_sprintf(a, "%s/%s", dir, loc);
    FILE *f = fopen(file, "rb");
    if (!f)
        return xf_fail(d, where, NULL, "tensor '%s': cannot open external data '%s': %s", name, file,
                       strerror(errno)), NULL;
    struct stat st;
    uint8_t *buf = NULL;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        xf_fail(d, where, NULL, "tensor '%s': external data '%s' is not a regular file", name, file);
    } else if (off > (uint64_t)st.st_size || bytes > (uint64_t)st.st_size - off) {
        xf_fail(d, where, NULL,
                "tensor '%s': external data (offset %llu, %zu bytes) runs past the end of '%s'", name,
                (unsigned long long)off, bytes, file);
    } else if (!(buf = malloc(bytes ? bytes : 1))) {
        xf_fail(d, where, NULL, "tensor '%s': out of memory reading %zu bytes", name, bytes);
    } else if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, bytes, f) != bytes) {
        xf_fail(d, where, NULL, "tensor '%s': cannot read external data '%s'", name, file);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

bool xf_onnx_tensor_decode(xf_arena *a, const Onnx__TensorProto *tp, const char *dir,
                           const xf_graph *where, xf_tensor *t, xf_diag *d) {
    const char *name = tp->name ? tp->name : "";
    int32_t src = tp->has_data_type ? tp->data_type : 0;
    size_t size = xf_dtype_size(src);
    memset(t, 0, sizeof *t);
    t->name = xf_strdup(a, name);
    if (src == XF_STRING)
        return xf_fail(d, where, NULL, "tensor '%s' holds strings, which are not supported", name);
    if (!size)
        return xf_fail(d, where, NULL, "tensor '%s' has type %s, which is not supported", name,
                       xf_onnx_dtype_name(a, src));
    if (tp->segment)
        return xf_fail(d, where, NULL, "tensor '%s' is split into segments, which is not supported", name);
    if (tp->n_dims > XF_MAX_RANK)
        return xf_fail(d, where, NULL, "tensor '%s' has rank %zu; at most %d is supported", name, tp->n_dims,
                       XF_MAX_RANK);

    /* Cap the element count so that numel * 8 fits in both int64 and size_t. */
    uint64_t numel = 1, limit = (SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX) / 8;
    for (size_t i = 0; i < tp->n_dims; i++) {
        int64_t dim = tp->dims[i];
        if (dim < 0)
            return xf_fail(d, where, NULL, "tensor '%s' has a negative dimension (%lld)", name,
                           (long long)dim);
        if (dim && numel > limit / (uint64_t)dim)
            return xf_fail(d, where, NULL, "tensor '%s' is too large", name);
        numel *= (uint64_t)dim;
        t->shape[i] = dim;
    }
    t->rank = (int32_t)tp->n_dims;
    t->dtype = src;
    /* count: the stored units, elements or (4-bit types) packed bytes */
    size_t n = (size_t)numel, count = (size_t)xf_dtype_bytes(src, (int64_t)numel) / size, bytes = count * size;

    const uint8_t *le = NULL;
    uint8_t *owned = NULL;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (!(le = owned = read_external(a, tp, name, dir, bytes, where, d))) return false;
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != bytes)
            return xf_fail(d, where, NULL, "tensor '%s' has %zu bytes of data but its shape needs %zu", name,
                           tp->raw_data.len, bytes);
        le = tp->raw_data.data;
    } else if (typed_count(tp, src) != count) {
        if (!typed_count(tp, src) && n) return xf_fail(d, where, NULL, "tensor '%s' has no data", name);
        return xf_fail(d, where, NULL, "tensor '%s' has %zu values but its shape needs %zu", name,
                       typed_count(tp, src), count);
    }
    t->data = xf_alloc(a, bytes ? bytes : 1);
    if (le) from_little_endian(t->data, src, le, count);
    else from_typed(t->data, src, tp, count);
    free(owned);
    return true;
}

const char *xf_onnx_dtype_name(xf_arena *a, int32_t dtype) {
    if (xf_dtype_size(dtype) || dtype == XF_STRING) return xf_dtype_name(dtype);
    const ProtobufCEnumValue *e =
        protobuf_c_enum_descriptor_get_value(&onnx__tensor_proto__data_type__descriptor, dtype);
    if (!e) return xf_sprintf(a, "unknown (%d)", dtype);
    char *s = xf_strdup(a, e->name);
    for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
    return s;
}

char *xf_onnx_dirname(xf_arena *a, const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xf_strdup(a, ".");
    if (slash == path) return xf_strdup(a, "/");
    return xf_sprintf(a, "%.*s", (int)(slash - path), path);
}

bool xf_tensor_load_pb(xf_arena *a, const char *path, xf_tensor *t, xf_diag *d) {
    const xf_graph where = {.path = path}; /* xf_fail reads only the path */
    ProtobufCMessage *m =
        xf_onnx_unpack_file(path, &onnx__tensor_proto__descriptor, "TensorProto file", &where, d);
    if (!m) return false;
    bool ok = xf_onnx_tensor_decode(a, (const Onnx__TensorProto *)m, xf_onnx_dirname(a, path), &where, t, d);
    protobuf_c_message_free_unpacked(m, NULL);
    return ok;
}

/* Writes buf to path through a temporary file in the same directory, so readers never see a
 * half-written file and a failure leaves the old file (if any) in place. */
static bool write_atomically(const char *path, const uint8_t *buf, size_t n, const xf_graph *where,
                             xf_diag *d) {
    size_t len = strlen(path);
    char *tmp = malloc(len + 8);
    if (!tmp) return xf_fail(d, where, NULL, "out of memory");
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        xf_fail(d, where, NULL, "cannot create a temporary file next to it: %s", strerror(errno));
        free(tmp);
        return false;
    }
    bool ok = fchmod(fd, 0644) == 0; /* mkstemp makes it private; tensors are ordinary data files */
    for (size_t done = 0; ok && done < n;) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ok = false;
        else done += (size_t)w;
    }
    if (!ok) xf_fail(d, where, NULL, "cannot write: %s", strerror(errno));
    if (close(fd) != 0 && ok) ok = xf_fail(d, where, NULL, "cannot write: %s", strerror(errno));
    if (ok && rename(tmp, path) != 0)
        ok = xf_fail(d, where, NULL, "cannot replace the file: %s", strerror(errno));
    if (!ok) unlink(tmp);
    free(tmp);
    return ok;
}

bool xf_tensor_save_pb(const char *path, const xf_tensor *t, xf_diag *d) {
    const xf_graph where = {.path = path};
    size_t size = xf_dtype_size(t->dtype);
    if (!size) return xf_fail(d, &where, NULL, "cannot write a tensor of type %s", xf_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > XF_MAX_RANK)
        return xf_fail(d, &where, NULL, "cannot write a tensor of rank %d", t->rank);
    int64_t dims[XF_MAX_RANK];
    uint64_t numel = 1;
    for (int i = 0; i < t->rank; i++) {
        dims[i] = t->shape[i];
        if (dims[i] < 0 || (dims[i] && numel > (SIZE_MAX / 8) / (uint64_t)dims[i]))
            return xf_fail(d, &where, NULL, "cannot write a tensor with shape dimension %lld",
                           (long long)dims[i]);
        numel *= (uint64_t)dims[i];
    }
    size_t bytes = (size_t)xf_dtype_bytes(t->dtype, (int64_t)numel);
    if (bytes && !t->data) return xf_fail(d, &where, NULL, "tensor '%s' has no data", t->name ? t->name : "");

    /* raw_data is little-endian whatever the host. */
    uint8_t *le = NULL;
    if (!host_is_little_endian() && bytes) {
        if (!(le = malloc(bytes))) return xf_fail(d, &where, NULL, "out of memory");
        for (size_t i = 0; i < bytes; i++)
            le[i] = ((const uint8_t *)t->data)[i / size * size + size - 1 - i % size];
    }
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = (size_t)t->rank;
    tp.dims = dims;
    tp.has_data_type = true;
    tp.data_type = t->dtype;
    tp.name = (char *)t->name; /* pack only reads it */
    tp.has_raw_data = true;
    tp.raw_data.len = bytes;
    tp.raw_data.data = le ? le : (uint8_t *)t->data;

    size_t n = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = malloc(n ? n : 1);
    bool ok = buf != NULL;
    if (!ok) xf_fail(d, &where, NULL, "out of memory");
    else {
        onnx__tensor_proto__pack(&tp, buf);
        ok = write_atomically(path, buf, n, &where, d);
    }
    free(buf);
    free(le);
    return ok;
}
