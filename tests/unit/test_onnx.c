/* test_onnx.c — unit tests of the ONNX frontend: loading a real exported model (tiny Llama, see
 * tests/data/hf/README.md), reading TensorProto files, and the save -> load round trip, plus
 * TensorProto encodings that the exporters use but xf_tensor_save_pb never writes (float16, typed
 * int32_data), built here byte by byte. Small models with If and Loop, written the same way, check
 * that control flow is expanded at load time, or refused with one line; others, that ops whose
 * meaning changed between opsets (Resize-10, RoiAlign before 16) reach the IR in one form.
 *
 * The expected counts, names, types and token ids below were read from the files with the onnx
 * Python package, independently of xfc. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "passes/passes.h"
#include "testutil.h"

#ifndef XF_TEST_DATA
#error "XF_TEST_DATA must name the tests/data directory"
#endif
#define LLAMA XF_TEST_DATA "/hf/llama/model.dynamo18.onnx"
#define LLAMA_INPUT XF_TEST_DATA "/hf/llama/input_0.pb"

/* A scratch directory for the tensor tests, made and emptied in the parent process (unchecked
 * fixture), so it goes away even when a test fails in its forked child. */
static char tmpdir[256];
static void make_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/xf_unit_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror(tmpdir);
        exit(EXIT_FAILURE);
    }
}
static void remove_tmpdir(void) {
    DIR *dir = opendir(tmpdir);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        char path[600];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    if (dir) closedir(dir);
    rmdir(tmpdir);
}
static const char *tmp_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* ---- a real model ---- */

START_TEST(test_load_llama) {
    xf_diag d = {0};
    xf_graph *g = xf_onnx_load(LLAMA, &d);
    ck_assert_msg(g, "loading %s failed: %s", LLAMA, d.msg);
    ck_assert(!d.set);
    ck_assert_int_eq(g->opset, 18);
    ck_assert_int_eq(g->ninputs, 1);
    ck_assert_int_eq(g->noutputs, 1);
    ck_assert_int_eq(g->nnodes, 137); /* no Constant nodes in this export, so every node stays */

    const xf_value *in = &g->values[g->inputs[0]];
    ck_assert_str_eq(in->name, "input_0");
    ck_assert(in->is_input);
    CHECK_SHAPE(g, g->inputs[0], XF_I64, 1, 16);
    const xf_value *out = &g->values[g->outputs[0]];
    ck_assert_str_eq(out->name, "output_0");
    ck_assert(out->is_output);

    int32_t consts = 0;
    for (int32_t v = 0; v < g->nvalues; v++) consts += g->values[v].data != NULL;
    ck_assert_int_ge(consts, 36); /* the 36 initializers, at least */

    /* nodes come out in topological order */
    for (int32_t i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i].nin; k++)
            if (g->nodes[i].in[k] >= 0) ck_assert_int_lt(g->values[g->nodes[i].in[k]].producer, i);

    /* the output's type and shape come from shape inference */
    xf_options o = {.opt_level = 2};
    ck_assert_msg(xf_run_pipeline(g, &o, &d), "pipeline failed: %s", d.msg);
    CHECK_SHAPE(g, g->outputs[0], XF_F32, 1, 16, 512);
    xf_graph_free(g);
}
END_TEST

START_TEST(test_load_missing) {
    xf_diag d = {0};
    ck_assert_ptr_null(xf_onnx_load(XF_TEST_DATA "/no/such/model.onnx", &d));
    ck_assert(d.set);
    ck_assert_msg(strstr(d.msg, "no/such/model.onnx"), "diagnostic does not name the file: %s", d.msg);
    xf_diag e = {0};
    ck_assert_ptr_null(xf_onnx_load(XF_TEST_DATA, &e)); /* a directory */
    ck_assert(e.set);
}
END_TEST

/* ---- TensorProto files ---- */

START_TEST(test_load_input_pb) {
    xf_arena *a = xf_arena_new();
    xf_tensor t;
    xf_diag d = {0};
    ck_assert_msg(xf_tensor_load_pb(a, LLAMA_INPUT, &t, &d), "loading %s failed: %s", LLAMA_INPUT, d.msg);
    ck_assert_str_eq(t.name, "input_0");
    ck_assert_int_eq(t.dtype, XF_I64);
    ck_assert_int_eq(t.rank, 2);
    ck_assert_int_eq(t.shape[0], 1);
    ck_assert_int_eq(t.shape[1], 16);
    static const int64_t ids[16] = {37, 235, 396, 72, 255, 393, 203, 133, 335, 448, 144, 129, 460, 71, 237, 508};
    for (int i = 0; i < 16; i++) ck_assert_int_eq(((const int64_t *)t.data)[i], ids[i]);
    xf_arena_free(a);
}
END_TEST

static void round_trip(const xf_tensor *t, size_t bytes, const char *file) {
    xf_diag d = {0};
    const char *path = tmp_path(file);
    ck_assert_msg(xf_tensor_save_pb(path, t, &d), "saving %s failed: %s", path, d.msg);
    xf_arena *a = xf_arena_new();
    xf_tensor back;
    ck_assert_msg(xf_tensor_load_pb(a, path, &back, &d), "loading %s failed: %s", path, d.msg);
    ck_assert_str_eq(back.name, t->name);
    ck_assert_int_eq(back.dtype, t->dtype);
    ck_assert_int_eq(back.rank, t->rank);
    for (int i = 0; i < t->rank; i++) ck_assert_int_eq(back.shape[i], t->shape[i]);
    ck_assert_msg(bytes == 0 || memcmp(back.data, t->data, bytes) == 0, "%s: data differs after the round trip", file);
    xf_arena_free(a);
}

START_TEST(test_round_trip) {
    /* bit patterns that must survive exactly: -0, infinities, NaN, a subnormal */
    float f[6] = {3.5f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f};
    xf_tensor tf = {.name = "floats", .dtype = XF_F32, .rank = 3, .shape = {2, 3, 1}, .data = f};
    round_trip(&tf, sizeof f, "f.pb");

    int64_t i[4] = {INT64_MIN, -1, 0, INT64_MAX};
    xf_tensor ti = {.name = "ints", .dtype = XF_I64, .rank = 1, .shape = {4}, .data = i};
    round_trip(&ti, sizeof i, "i.pb");

    uint8_t b[3] = {0, 1, 1};
    xf_tensor tb = {.name = "mask", .dtype = XF_BOOL, .rank = 2, .shape = {1, 3}, .data = b};
    round_trip(&tb, sizeof b, "b.pb");

    double s = -2.25;
    xf_tensor ts = {.name = "scalar", .dtype = XF_F64, .rank = 0, .data = &s};
    round_trip(&ts, sizeof s, "s.pb");

    int8_t q[5] = {-128, -1, 0, 1, 127};
    xf_tensor tq = {.name = "", .dtype = XF_I8, .rank = 1, .shape = {5}, .data = q};
    round_trip(&tq, sizeof q, "q.pb");

    xf_tensor te = {.name = "empty", .dtype = XF_F32, .rank = 2, .shape = {0, 5}, .data = NULL};
    round_trip(&te, 0, "e.pb");

    /* saving over an existing file replaces it */
    round_trip(&ti, sizeof i, "f.pb");
}
END_TEST

START_TEST(test_save_fails_cleanly) {
    float f[2] = {1, 2};
    xf_tensor t = {.name = "t", .dtype = XF_F32, .rank = 1, .shape = {2}, .data = f};
    xf_diag d = {0};
    ck_assert(!xf_tensor_save_pb(tmp_path("missing_dir/t.pb"), &t, &d));
    ck_assert(d.set);
    ck_assert_msg(strstr(d.msg, "missing_dir/t.pb"), "diagnostic does not name the file: %s", d.msg);
    xf_tensor bad = {.name = "s", .dtype = XF_STRING, .rank = 1, .shape = {2}, .data = f};
    xf_diag e = {0};
    ck_assert(!xf_tensor_save_pb(tmp_path("strings.pb"), &bad, &e));
    ck_assert(e.set);
    ck_assert_int_eq(access(tmp_path("strings.pb"), F_OK), -1);
}
END_TEST

/* ---- hand-made TensorProto encodings ---- */

/* A tiny protobuf writer: enough for TensorProto's fields. */
typedef struct { uint8_t b[512]; size_t n; } pbuf;
static void put_varint(pbuf *p, uint64_t v) {
    do {
        p->b[p->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}
static void put_key(pbuf *p, unsigned field, unsigned wire) { put_varint(p, (uint64_t)field << 3 | wire); }
static void put_bytes(pbuf *p, unsigned field, const void *data, size_t n) {
    put_key(p, field, 2);
    put_varint(p, n);
    memcpy(p->b + p->n, data, n);
    p->n += n;
}
enum { F_DIMS = 1, F_DATA_TYPE = 2, F_INT32_DATA = 5, F_NAME = 8, F_RAW_DATA = 9 };

static bool load_bytes(const pbuf *p, xf_arena *a, xf_tensor *t, xf_diag *d) {
    const char *path = tmp_path("hand.pb");
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p->b, 1, p->n, f), p->n);
    fclose(f);
    memset(d, 0, sizeof *d);
    return xf_tensor_load_pb(a, path, t, d);
}

/* float16 in raw_data keeps its bit patterns (a storage type); decoded, they are the IEEE half
 * definitions. */
START_TEST(test_load_float16) {
    pbuf p = {.n = 0};
    put_key(&p, F_DIMS, 0);
    put_varint(&p, 6);
    put_key(&p, F_DATA_TYPE, 0);
    put_varint(&p, XF_F16);
    put_bytes(&p, F_NAME, "h", 1);
    /* 1.0, -2.0, 65504 (largest half), 2^-24 (smallest subnormal), +inf, -0 (little-endian) */
    const uint8_t raw[12] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c, 0x00, 0x80};
    put_bytes(&p, F_RAW_DATA, raw, sizeof raw);
    xf_arena *a = xf_arena_new();
    xf_tensor t;
    xf_diag d;
    ck_assert_msg(load_bytes(&p, a, &t, &d), "load failed: %s", d.msg);
    ck_assert_int_eq(t.dtype, XF_F16);
    ck_assert_int_eq(t.rank, 1);
    ck_assert_int_eq(t.shape[0], 6);
    const uint16_t *h = t.data;
    ck_assert(h[0] == 0x3c00 && h[2] == 0x7bff && h[5] == 0x8000);
    double v[6];
    for (int i = 0; i < 6; i++) v[i] = xf_dtype_real(XF_F16, t.data, i);
    ck_assert(v[0] == 1.0);
    ck_assert(v[1] == -2.0);
    ck_assert(v[2] == 65504.0);
    ck_assert(v[3] == ldexp(1.0, -24));
    ck_assert(isinf(v[4]) && v[4] > 0);
    ck_assert(v[5] == 0.0 && signbit(v[5]));
    xf_arena_free(a);
}
END_TEST

/* int32 values in the typed int32_data field (packed varints; negatives as 10-byte varints). */
START_TEST(test_load_typed_int32) {
    pbuf p = {.n = 0};
    put_key(&p, F_DIMS, 0);
    put_varint(&p, 2);
    put_key(&p, F_DIMS, 0);
    put_varint(&p, 2);
    put_key(&p, F_DATA_TYPE, 0);
    put_varint(&p, XF_I32);
    pbuf packed = {.n = 0};
    const int32_t want[4] = {0, 300, -1, INT32_MIN};
    for (int i = 0; i < 4; i++) put_varint(&packed, (uint64_t)(int64_t)want[i]);
    put_bytes(&p, F_INT32_DATA, packed.b, packed.n);
    xf_arena *a = xf_arena_new();
    xf_tensor t;
    xf_diag d;
    ck_assert_msg(load_bytes(&p, a, &t, &d), "load failed: %s", d.msg);
    ck_assert_int_eq(t.dtype, XF_I32);
    ck_assert_int_eq(t.rank, 2);
    ck_assert_int_eq(t.shape[0], 2);
    ck_assert_int_eq(t.shape[1], 2);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(((const int32_t *)t.data)[i], want[i]);
    xf_arena_free(a);
}
END_TEST

/* Data that does not match the shape, and shapes whose size overflows, are refused. */
START_TEST(test_load_inconsistent) {
    xf_arena *a = xf_arena_new();
    xf_tensor t;
    xf_diag d;

    pbuf short_raw = {.n = 0};
    put_key(&short_raw, F_DIMS, 0);
    put_varint(&short_raw, 4);
    put_key(&short_raw, F_DATA_TYPE, 0);
    put_varint(&short_raw, XF_F32);
    put_bytes(&short_raw, F_RAW_DATA, (const uint8_t[12]){0}, 12); /* 3 floats for 4 */
    ck_assert(!load_bytes(&short_raw, a, &t, &d));
    ck_assert(d.set);

    pbuf huge = {.n = 0};
    for (int i = 0; i < 2; i++) {
        put_key(&huge, F_DIMS, 0);
        put_varint(&huge, (uint64_t)1 << 40);
    }
    put_key(&huge, F_DATA_TYPE, 0);
    put_varint(&huge, XF_F32);
    put_bytes(&huge, F_RAW_DATA, (const uint8_t[4]){0}, 4);
    ck_assert(!load_bytes(&huge, a, &t, &d));
    ck_assert(d.set);

    pbuf negative = {.n = 0};
    put_key(&negative, F_DIMS, 0);
    put_varint(&negative, (uint64_t)(int64_t)-3);
    put_key(&negative, F_DATA_TYPE, 0);
    put_varint(&negative, XF_F32);
    ck_assert(!load_bytes(&negative, a, &t, &d));
    ck_assert(d.set);

    pbuf truncated = {.n = 0};
    put_key(&truncated, F_DATA_TYPE, 0);
    put_varint(&truncated, XF_F32);
    put_key(&truncated, F_RAW_DATA, 2);
    put_varint(&truncated, 100); /* says 100 bytes follow; none do */
    ck_assert(!load_bytes(&truncated, a, &t, &d));
    ck_assert(d.set);

    pbuf empty = {.n = 0};
    ck_assert(!load_bytes(&empty, a, &t, &d));
    ck_assert(d.set);
    xf_arena_free(a);
}
END_TEST

/* ---- control flow: hand-made models ----
 * Small ONNX models written field by field (onnx.proto's field numbers), so that the tests depend
 * on nothing but the format. */

typedef struct { uint8_t *b; size_t n, cap; } msg; /* a growable message under construction */
static void m_raw(msg *m, const void *data, size_t n) {
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2 + 64;
        m->b = realloc(m->b, m->cap);
        ck_assert_ptr_nonnull(m->b);
    }
    if (n) memcpy(m->b + m->n, data, n);
    m->n += n;
}
static void m_varint(msg *m, uint64_t v) {
    do {
        uint8_t byte = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        m_raw(m, &byte, 1);
        v >>= 7;
    } while (v);
}
static void m_int(msg *m, unsigned field, int64_t v) {
    m_varint(m, (uint64_t)field << 3);
    m_varint(m, (uint64_t)v);
}
static void m_bytes(msg *m, unsigned field, const void *data, size_t n) {
    m_varint(m, (uint64_t)field << 3 | 2);
    m_varint(m, n);
    m_raw(m, data, n);
}
static void m_str(msg *m, unsigned field, const char *s) { m_bytes(m, field, s, strlen(s)); }
static void m_sub(msg *m, unsigned field, msg sub) { /* appends sub, and frees it */
    m_bytes(m, field, sub.b, sub.n);
    free(sub.b);
}

/* TensorProto of rank 0 (dims = NULL) or 1 */
static msg tensor(const char *name, int dtype, const int64_t *dims, const void *raw, size_t bytes) {
    msg t = {0};
    if (dims) m_int(&t, 1, dims[0]);
    m_int(&t, 2, dtype);
    m_str(&t, 8, name);
    m_bytes(&t, 9, raw, bytes);
    return t;
}
static msg bool_scalar(const char *name, bool v) { return tensor(name, XF_BOOL, NULL, &(uint8_t){v}, 1); }
static msg i64_scalar(const char *name, int64_t v) { return tensor(name, XF_I64, NULL, &v, 8); }
static msg f32_vector(const char *name, float v) { return tensor(name, XF_F32, SHAPE(1), &v, 4); }

/* ValueInfoProto: a tensor of dtype, rank 0 (dim < 0) or rank 1 of size dim */
static msg value_info(const char *name, int dtype, int64_t dim) {
    msg shape = {0}, tt = {0}, type = {0}, vi = {0};
    if (dim >= 0) {
        msg d = {0};
        m_int(&d, 1, dim);
        m_sub(&shape, 1, d);
    }
    m_int(&tt, 1, dtype);
    m_sub(&tt, 2, shape);
    m_sub(&type, 1, tt);
    m_str(&vi, 1, name);
    m_sub(&vi, 2, type);
    return vi;
}

/* NodeProto; in and out are NULL-terminated; attributes are appended with m_sub(&node, 5, ...) */
static msg node(const char *op, const char *const *in, const char *const *out) {
    msg n = {0};
    for (; in && *in; in++) m_str(&n, 1, *in);
    for (; out && *out; out++) m_str(&n, 2, *out);
    m_str(&n, 4, op);
    return n;
}
#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
static msg graph_attr(const char *name, msg g) {
    msg a = {0};
    m_str(&a, 1, name);
    m_sub(&a, 6, g);
    m_int(&a, 20, 5); /* GRAPH */
    return a;
}

/* Writes a ModelProto (IR version 8, of the given opset) around graph g to the scratch file name. */
static const char *write_model_at(const char *name, msg g, int64_t version) {
    msg opset = {0}, model = {0};
    m_str(&opset, 1, "");
    m_int(&opset, 2, version);
    m_int(&model, 1, 8);
    m_sub(&model, 8, opset);
    m_sub(&model, 7, g);
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(model.b, 1, model.n, f), model.n);
    fclose(f);
    free(model.b);
    return path;
}
static const char *write_model(const char *name, msg g) { return write_model_at(name, g, 13); }

/* y = If(cond) then Neg(x) else Abs(x); cond an initializer holding the value cond or, with
 * cond_is_input, a graph input. */
static const char *if_model(bool cond, bool cond_is_input) {
    msg then_g = {0}, else_g = {0}, g = {0};
    m_sub(&then_g, 1, node("Neg", NAMES("x"), NAMES("t")));
    m_sub(&then_g, 12, value_info("t", XF_F32, 2));
    m_sub(&else_g, 1, node("Abs", NAMES("x"), NAMES("e")));
    m_sub(&else_g, 12, value_info("e", XF_F32, 2));
    msg n = node("If", NAMES("cond"), NAMES("y"));
    m_sub(&n, 5, graph_attr("then_branch", then_g));
    m_sub(&n, 5, graph_attr("else_branch", else_g));
    m_sub(&g, 1, n);
    if (cond_is_input) m_sub(&g, 11, value_info("cond", XF_BOOL, -1));
    else m_sub(&g, 5, bool_scalar("cond", cond));
    m_sub(&g, 11, value_info("x", XF_F32, 2));
    m_sub(&g, 12, value_info("y", XF_F32, 2));
    return write_model("if.onnx", g);
}

static int32_t count_op(const xf_graph *g, int op) {
    int32_t n = 0;
    for (int32_t i = 0; i < g->nnodes; i++) n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

/* --bind as xfc does it: the graph input named "cond" becomes the constant true */
static bool bind_cond_true(xf_graph *g, void *ctx, xf_diag *d) {
    (void)ctx, (void)d;
    for (int32_t k = 0; k < g->ninputs; k++) {
        xf_value *v = &g->values[g->inputs[k]];
        if (strcmp(v->name, "cond")) continue;
        v->data = xf_alloc(g->arena, 1);
        *(uint8_t *)v->data = 1;
        v->rank = 0;
        v->is_input = false;
        g->inputs[k] = g->inputs[--g->ninputs];
        return true;
    }
    return false;
}

/* Softmax, LogSoftmax and Hardmax changed meaning in opset 13 (before, 2-D at axis, default 1;
 * since, along axis, default -1): the loader writes the axis out, so that passes read it without
 * knowing the opset. Since 13 a given axis stays; before, the op works along the last dim of the
 * 2-D view the loader makes around it, axis -1. */
START_TEST(test_softmax_axis_explicit) {
    static const char *const ops[] = {"Softmax", "LogSoftmax", "Hardmax"};
    static const int kinds[] = {XF_OP_SOFTMAX, XF_OP_LOG_SOFTMAX, XF_OP_HARDMAX};
    for (int k = 0; k < 3; k++)
        for (int64_t version = 11; version <= 13; version++) {
            msg g = {0}, given = node(ops[k], NAMES("x"), NAMES("z")), axis = {0};
            m_str(&axis, 1, "axis");
            m_int(&axis, 3, 0);
            m_int(&axis, 20, 2); /* INT */
            m_sub(&given, 5, axis);
            m_sub(&g, 1, node(ops[k], NAMES("x"), NAMES("y")));
            m_sub(&g, 1, given);
            m_sub(&g, 11, value_info("x", XF_F32, 4));
            m_sub(&g, 12, value_info("y", XF_F32, 4));
            m_sub(&g, 12, value_info("z", XF_F32, 4));
            xf_diag d = {0};
            xf_graph *ir = xf_onnx_load(write_model_at("softmax.onnx", g, version), &d);
            ck_assert_msg(ir, "load failed: %s", d.msg);
            int found = 0;
            for (int32_t i = 0; i < ir->nnodes; i++) {
                if (ir->nodes[i].op != kinds[k]) continue;
                found++;
                const xf_attr *a = xf_attr_get(&ir->nodes[i], "axis");
                ck_assert_msg(a, "%s at opset %lld has no axis", ops[k], (long long)version);
                bool was_given = !strcmp(ir->values[ir->nodes[i].out[0]].name, "z");
                ck_assert_int_eq(a->i, was_given && version >= 13 ? 0 : -1);
            }
            ck_assert_int_eq(found, 2);
            xf_graph_free(ir);
        }
}
END_TEST

/* Only the branch the condition picks reaches the IR, whichever way the condition goes. */
START_TEST(test_if_known_condition) {
    for (int cond = 0; cond < 2; cond++) {
        xf_diag d = {0};
        xf_graph *g = xf_onnx_load(if_model(cond, false), &d);
        ck_assert_msg(g, "load failed: %s", d.msg);
        ck_assert_int_eq(count_op(g, XF_OP_NEG), cond);
        ck_assert_int_eq(count_op(g, XF_OP_ABS), !cond);
        ck_assert_int_eq(g->noutputs, 1);
        ck_assert_int_ge(g->values[g->outputs[0]].producer, 0);
        xf_graph_free(g);
    }
}
END_TEST

/* A condition that is a graph input asks for --bind in xf_require_const's words; bound, it loads. */
START_TEST(test_if_bound_condition) {
    const char *path = if_model(false, true);
    xf_diag d = {0};
    ck_assert_ptr_null(xf_onnx_load(path, &d));
    ck_assert_msg(strstr(d.msg, "must be known at compile time: bind it with --bind cond=FILE.pb"), "%s", d.msg);
    ck_assert_ptr_null(strchr(d.msg, '\n'));
    memset(&d, 0, sizeof d);
    xf_graph *g = xf_onnx_load_bound(path, bind_cond_true, NULL, &d);
    ck_assert_msg(g, "load failed: %s", d.msg);
    ck_assert_int_eq(count_op(g, XF_OP_NEG), 1);
    ck_assert_int_eq(count_op(g, XF_OP_ABS), 0);
    ck_assert_int_eq(g->ninputs, 1);
    xf_graph_free(g);
}
END_TEST

/* Loop(M = 3, cond = true, y = [0]) with body y += 1 and scan output y: unrolled, then folded by
 * the passes, it gives y = 3 and the scan [[1], [2], [3]]. cond_runtime makes the body's condition
 * depend on a graph input instead, which is refused. */
static const char *loop_model(bool cond_runtime) {
    msg body = {0}, g = {0};
    if (cond_runtime) m_sub(&body, 1, node("Less", NAMES("y_out", "limit"), NAMES("c1")));
    else m_sub(&body, 1, node("Identity", NAMES("c0"), NAMES("c1")));
    m_sub(&body, 1, node("Add", NAMES("y_in", "one"), NAMES("y_out")));
    m_sub(&body, 1, node("Identity", NAMES("y_out"), NAMES("s")));
    m_sub(&body, 5, f32_vector("one", 1.0f));
    m_sub(&body, 11, value_info("i", XF_I64, -1));
    m_sub(&body, 11, value_info("c0", XF_BOOL, -1));
    m_sub(&body, 11, value_info("y_in", XF_F32, 1));
    m_sub(&body, 12, value_info("c1", XF_BOOL, -1));
    m_sub(&body, 12, value_info("y_out", XF_F32, 1));
    m_sub(&body, 12, value_info("s", XF_F32, 1));
    msg n = node("Loop", NAMES("M", "cond", "y0"), NAMES("y", "scan"));
    m_sub(&n, 5, graph_attr("body", body));
    m_sub(&g, 1, n);
    m_sub(&g, 5, i64_scalar("M", 3));
    m_sub(&g, 5, bool_scalar("cond", true));
    m_sub(&g, 5, f32_vector("y0", 0.0f));
    if (cond_runtime) m_sub(&g, 11, value_info("limit", XF_F32, 1));
    m_sub(&g, 12, value_info("y", XF_F32, 1));
    m_sub(&g, 12, value_info("scan", XF_F32, -1));
    return write_model("loop.onnx", g);
}

START_TEST(test_loop_unrolled) {
    xf_diag d = {0};
    xf_graph *g = xf_onnx_load(loop_model(false), &d);
    ck_assert_msg(g, "load failed: %s", d.msg);
    ck_assert_int_eq(count_op(g, XF_OP_ADD), 3);
    xf_options o = {.opt_level = 1};
    ck_assert_msg(xf_pass_fold(g, &o, &d) || !d.set, "fold failed: %s", d.msg);
    const xf_value *y = &g->values[g->outputs[0]], *scan = &g->values[g->outputs[1]];
    CHECK_SHAPE(g, g->outputs[0], XF_F32, 1);
    CHECK_SHAPE(g, g->outputs[1], XF_F32, 3, 1);
    ck_assert_ptr_nonnull(y->data);
    ck_assert_ptr_nonnull(scan->data);
    ck_assert(((const float *)y->data)[0] == 3.0f);
    for (int i = 0; i < 3; i++) ck_assert(((const float *)scan->data)[i] == (float)(i + 1));
    xf_graph_free(g);
}
END_TEST

/* A loop whose condition depends on runtime values cannot be unrolled: one line, no crash. Nor
 * can an If without the branch it takes, nor a subgraph on any other operator. */
START_TEST(test_control_flow_refused) {
    xf_diag d = {0};
    ck_assert_ptr_null(xf_onnx_load(loop_model(true), &d));
    ck_assert_msg(strstr(d.msg, "(Loop): the condition the body computes") &&
                      strstr(d.msg, "is not known at compile time"), "%s", d.msg);
    ck_assert_ptr_null(strchr(d.msg, '\n'));

    msg g = {0};
    msg n = node("If", NAMES("cond"), NAMES("y"));
    m_sub(&n, 5, graph_attr("else_branch", (msg){0})); /* the condition is true: no then_branch */
    m_sub(&g, 1, n);
    m_sub(&g, 5, bool_scalar("cond", true));
    m_sub(&g, 12, value_info("y", XF_F32, 2));
    memset(&d, 0, sizeof d);
    ck_assert_ptr_null(xf_onnx_load(write_model("if_bad.onnx", g), &d));
    ck_assert_msg(strstr(d.msg, "attribute 'then_branch' (a graph) is missing"), "%s", d.msg);

    msg g2 = {0};
    msg relu = node("Relu", NAMES("x"), NAMES("y"));
    m_sub(&relu, 5, graph_attr("body", (msg){0}));
    m_sub(&g2, 1, relu);
    m_sub(&g2, 11, value_info("x", XF_F32, 2));
    m_sub(&g2, 12, value_info("y", XF_F32, 2));
    memset(&d, 0, sizeof d);
    ck_assert_ptr_null(xf_onnx_load(write_model("relu_bad.onnx", g2), &d));
    ck_assert_msg(strstr(d.msg, "only If, Loop and Scan may hold subgraphs"), "%s", d.msg);
}
END_TEST

/* ---- older opsets, rewritten into the IR's one form ---- */

/* AttributeProto of an int or a list of ints */
static msg int_attr(const char *name, int64_t v) {
    msg a = {0};
    m_str(&a, 1, name);
    m_int(&a, 3, v);
    m_int(&a, 20, 2); /* INT */
    return a;
}

/* A float32 TensorProto of any rank. */
static msg f32_tensor(const char *name, int rank, const int64_t *dims, const float *v) {
    msg t = {0};
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        m_int(&t, 1, dims[i]);
        count *= (size_t)dims[i];
    }
    m_int(&t, 2, XF_F32);
    m_str(&t, 8, name);
    m_bytes(&t, 9, v, count * sizeof *v);
    return t;
}

/* Loads the one-node model (constant inputs only) and folds it: output k's values. */
static const xf_value *folded(const char *path, xf_graph **out, int k) {
    xf_diag d = {0};
    xf_graph *g = xf_onnx_load(path, &d);
    ck_assert_msg(g, "load failed: %s", d.msg);
    xf_options o = {.opt_level = 1};
    ck_assert_msg(xf_pass_fold(g, &o, &d) || !d.set, "fold failed: %s", d.msg);
    const xf_value *y = &g->values[g->outputs[k]];
    ck_assert_ptr_nonnull(y->data);
    *out = g;
    return y;
}

/* TopK of opset 1 takes k as an attribute; it becomes input 1. */
START_TEST(test_top_k_opset1) {
    msg g = {0}, n = node("TopK", NAMES("x"), NAMES("values", "indices"));
    m_sub(&n, 5, int_attr("k", 2));
    m_sub(&g, 1, n);
    m_sub(&g, 5, f32_tensor("x", 1, SHAPE(5), (const float[]){3, 1, 4, 1, 5}));
    m_sub(&g, 12, value_info("values", XF_F32, 2));
    m_sub(&g, 12, value_info("indices", XF_I64, 2));
    xf_graph *ir;
    const xf_value *values = folded(write_model_at("topk1.onnx", g, 1), &ir, 0);
    const xf_value *indices = &ir->values[ir->outputs[1]];
    CHECK_SHAPE(ir, ir->outputs[0], XF_F32, 2);
    ck_assert(((const float *)values->data)[0] == 5.0f && ((const float *)values->data)[1] == 4.0f);
    ck_assert_int_eq(((const int64_t *)indices->data)[0], 4);
    ck_assert_int_eq(((const int64_t *)indices->data)[1], 2);
    xf_graph_free(ir);

    msg g2 = {0}; /* k is required */
    m_sub(&g2, 1, node("TopK", NAMES("x"), NAMES("values", "indices")));
    m_sub(&g2, 11, value_info("x", XF_F32, 5));
    m_sub(&g2, 12, value_info("values", XF_F32, -1));
    xf_diag d = {0};
    ck_assert_ptr_null(xf_onnx_load(write_model_at("topk1_bad.onnx", g2, 1), &d));
    ck_assert_msg(strstr(d.msg, "attribute 'k' is missing"), "%s", d.msg);
}
END_TEST

/* Hardmax before opset 13 takes the maximum over x flattened to 2-D at axis; from 13, along the
 * axis. x [2, 2, 3], axis 1: opset 11 marks one element of each [2, 3] block, opset 13 one of each
 * column of two. */
static const char *hardmax_model(int64_t opset) {
    msg g = {0}, n = node("Hardmax", NAMES("x"), NAMES("y"));
    m_sub(&n, 5, int_attr("axis", 1));
    m_sub(&g, 1, n);
    m_sub(&g, 5, f32_tensor("x", 3, SHAPE(2, 2, 3), (const float[]){0, 5, 1, 2, 3, 4, 1, 2, 3, 9, 0, 0}));
    m_sub(&g, 12, value_info("y", XF_F32, -1));
    return write_model_at(opset < 13 ? "hardmax11.onnx" : "hardmax13.onnx", g, opset);
}

START_TEST(test_hardmax_opset11) {
    static const float flat[12] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    static const float along[12] = {0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0};
    for (int k = 0; k < 2; k++) {
        xf_graph *g;
        const xf_value *y = folded(hardmax_model(k ? 13 : 11), &g, 0);
        CHECK_SHAPE(g, g->outputs[0], XF_F32, 2, 2, 3);
        for (int i = 0; i < 12; i++)
            ck_assert_msg(((const float *)y->data)[i] == (k ? along : flat)[i], "opset %d: y[%d] = %g", k ? 13 : 11,
                          i, (double)((const float *)y->data)[i]);
        xf_graph_free(g);
    }
}
END_TEST

/* DFT of opset 17 takes its axis as an attribute (default 1), from 20 as input 2 (default -2). A
 * onesided transform shows which axis it took: x [3, 8, 1] gives [2, 8, 2] along axis 0. */
START_TEST(test_dft_opset17) {
    for (int k = 0; k < 2; k++) {
        msg g = {0}, n = node("DFT", NAMES("x"), NAMES("y"));
        if (k) m_sub(&n, 5, int_attr("axis", 0));
        m_sub(&n, 5, int_attr("onesided", 1));
        m_sub(&g, 1, n);
        float x[24] = {0};
        m_sub(&g, 5, f32_tensor("x", 3, SHAPE(3, 8, 1), x));
        m_sub(&g, 12, value_info("y", XF_F32, -1));
        xf_graph *ir;
        folded(write_model_at("dft17.onnx", g, 17), &ir, 0);
        if (k) CHECK_SHAPE(ir, ir->outputs[0], XF_F32, 2, 8, 2);
        else CHECK_SHAPE(ir, ir->outputs[0], XF_F32, 3, 5, 2);
        xf_graph_free(ir);
    }
}
END_TEST

/* Tile before opset 6 repeats the input `tiles` times along `axis`, both inputs, typed like the
 * input in the schema (tiles here) or int64 as exporters wrote them (axis). */
START_TEST(test_tile_opset5) {
    msg g = {0};
    m_sub(&g, 1, node("Tile", NAMES("x", "tiles", "axis"), NAMES("y")));
    m_sub(&g, 5, f32_tensor("x", 2, SHAPE(2, 2), (const float[]){1, 2, 3, 4}));
    m_sub(&g, 5, tensor("tiles", XF_F32, NULL, &(float){3}, 4));
    m_sub(&g, 5, i64_scalar("axis", 1));
    m_sub(&g, 12, value_info("y", XF_F32, -1));
    xf_graph *ir;
    const xf_value *y = folded(write_model_at("tile5.onnx", g, 5), &ir, 0);
    CHECK_SHAPE(ir, ir->outputs[0], XF_F32, 2, 6);
    static const float want[12] = {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4};
    for (int i = 0; i < 12; i++) ck_assert(((const float *)y->data)[i] == want[i]);
    xf_graph_free(ir);

    msg g2 = {0}; /* tiles must be known */
    m_sub(&g2, 1, node("Tile", NAMES("x", "tiles", "axis"), NAMES("y")));
    m_sub(&g2, 5, f32_tensor("x", 1, SHAPE(2), (const float[]){1, 2}));
    m_sub(&g2, 11, value_info("tiles", XF_I64, -1));
    m_sub(&g2, 5, i64_scalar("axis", 0));
    m_sub(&g2, 12, value_info("y", XF_F32, -1));
    xf_diag d = {0};
    ck_assert_ptr_null(xf_onnx_load(write_model_at("tile5_bad.onnx", g2, 5), &d));
    ck_assert_msg(strstr(d.msg, "tiles and axis must be constant integers"), "%s", d.msg);
}
END_TEST

/* AttributeProto of type INTS */
static msg ints_attr(const char *name, int n, const int64_t *v) {
    msg a = {0};
    m_str(&a, 1, name);
    for (int i = 0; i < n; i++) m_int(&a, 8, v[i]);
    m_int(&a, 20, 7); /* INTS */
    return a;
}

/* Opset 12: Softmax flattens x [2,3,2] to 2-D at its axis (default 1, and -2 the same dim), so each
 * batch entry's six values sum to one; LogSoftmax at the last axis works along it alone; ReduceSum
 * takes its axes as an attribute. Loaded, the IR holds the opset-13 forms (Reduce axes as input 1),
 * and folding gives the values computed here independently. */
START_TEST(test_old_opset_softmax_and_reduce) {
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = 0.25f * (float)((i * 7) % 12) - 1.0f;
    msg g = {0}, xt = {0};
    m_int(&xt, 1, 2);
    m_int(&xt, 1, 3);
    m_int(&xt, 1, 2);
    m_int(&xt, 2, XF_F32);
    m_str(&xt, 8, "x");
    m_bytes(&xt, 9, x, sizeof x);
    m_sub(&g, 5, xt);
    m_sub(&g, 1, node("Softmax", NAMES("x"), NAMES("rows")));
    msg neg = node("Softmax", NAMES("x"), NAMES("rows_neg"));
    m_sub(&neg, 5, int_attr("axis", -2));
    m_sub(&g, 1, neg);
    msg last = node("LogSoftmax", NAMES("x"), NAMES("last"));
    m_sub(&last, 5, int_attr("axis", 2));
    m_sub(&g, 1, last);
    msg sum = node("ReduceSum", NAMES("x"), NAMES("sum"));
    m_sub(&sum, 5, ints_attr("axes", 1, SHAPE(1)));
    m_sub(&sum, 5, int_attr("keepdims", 0));
    m_sub(&g, 1, sum);
    const char *outs[] = {"rows", "rows_neg", "last", "sum"};
    for (int i = 0; i < 4; i++) { /* float32 outputs, shape left to inference */
        msg tt = {0}, type = {0}, vi = {0};
        m_int(&tt, 1, XF_F32);
        m_sub(&type, 1, tt);
        m_str(&vi, 1, outs[i]);
        m_sub(&vi, 2, type);
        m_sub(&g, 12, vi);
    }
    xf_diag d = {0};
    xf_graph *gr = xf_onnx_load(write_model_at("old_opset.onnx", g, 12), &d);
    ck_assert_msg(gr, "load failed: %s", d.msg);
    for (int32_t i = 0; i < gr->nnodes; i++) {
        const xf_node *n = &gr->nodes[i];
        if (n->op == XF_OP_REDUCE_SUM) ck_assert(n->nin == 2 && !xf_attr_get(n, "axes"));
        if (n->op == XF_OP_SOFTMAX || n->op == XF_OP_LOG_SOFTMAX) ck_assert_int_eq(xf_attr_int(n, "axis", 1), -1);
    }
    xf_options o = {.opt_level = 1};
    ck_assert_msg(xf_pass_fold(gr, &o, &d) || !d.set, "fold failed: %s", d.msg);
    const float *got[4];
    for (int i = 0; i < 4; i++) {
        got[i] = gr->values[gr->outputs[i]].data;
        ck_assert_ptr_nonnull(got[i]);
    }
    CHECK_SHAPE(gr, gr->outputs[0], XF_F32, 2, 3, 2);
    CHECK_SHAPE(gr, gr->outputs[1], XF_F32, 2, 3, 2);
    CHECK_SHAPE(gr, gr->outputs[3], XF_F32, 2, 2);
    for (int b = 0; b < 2; b++) {
        double total = 0;
        for (int j = 0; j < 6; j++) total += exp(x[b * 6 + j]);
        for (int j = 0; j < 6; j++) {
            ck_assert_double_eq_tol(got[0][b * 6 + j], exp(x[b * 6 + j]) / total, 1e-6);
            ck_assert_double_eq_tol(got[1][b * 6 + j], exp(x[b * 6 + j]) / total, 1e-6);
        }
        for (int r = 0; r < 3; r++) { /* each pair along the last axis */
            const float *p = x + (b * 3 + r) * 2;
            double lse = log(exp(p[0]) + exp(p[1]));
            for (int k = 0; k < 2; k++) ck_assert_double_eq_tol(got[2][(b * 3 + r) * 2 + k], p[k] - lse, 1e-6);
        }
        for (int k = 0; k < 2; k++)
            ck_assert_double_eq_tol(got[3][b * 2 + k], x[b * 6 + k] + x[b * 6 + 2 + k] + x[b * 6 + 4 + k], 1e-6);
    }
    xf_graph_free(gr);
}
END_TEST

static msg str_attr(const char *name, const char *value) {
    msg a = {0};
    m_str(&a, 1, name);
    m_str(&a, 4, value);
    m_int(&a, 20, 3); /* STRING */
    return a;
}

static const xf_node *only_node(const xf_graph *g, int op) {
    for (int32_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == op) return &g->nodes[i];
    ck_abort_msg("no %s node", xf_ops[op].name);
    return NULL;
}

/* Resize-10 (X, scales; Upsample-9 by another name) reaches the IR in Resize-11's form: an empty
 * roi input before scales, asymmetric coordinates and nearest_mode "simple", replacing attributes
 * Resize-10 does not have. So y = Resize(x [2], scales 2) has 4 elements; read as Resize-11, the
 * scales would have been the roi and the node would have had no sizes at all. */
START_TEST(test_resize10_normalised) {
    msg g = {0};
    msg n = node("Resize", NAMES("x", "scales"), NAMES("y"));
    m_sub(&n, 5, str_attr("nearest_mode", "floor"));
    m_sub(&g, 1, n);
    m_sub(&g, 5, f32_vector("scales", 2.0f));
    m_sub(&g, 11, value_info("x", XF_F32, 2));
    m_sub(&g, 12, value_info("y", XF_F32, 4));
    xf_diag d = {0};
    xf_graph *gr = xf_onnx_load(write_model_at("resize10.onnx", g, 10), &d);
    ck_assert_msg(gr, "load failed: %s", d.msg);
    const xf_node *r = only_node(gr, XF_OP_RESIZE);
    ck_assert_int_eq(r->nin, 3);
    ck_assert_int_eq(r->in[1], -1);
    ck_assert_str_eq(gr->values[r->in[2]].name, "scales");
    ck_assert_str_eq(xf_attr_str(r, "coordinate_transformation_mode", ""), "asymmetric");
    ck_assert_str_eq(xf_attr_str(r, "nearest_mode", ""), "simple");
    ck_assert_msg(xf_infer_node(gr, (int32_t)(r - gr->nodes), &d), "%s", d.msg);
    CHECK_SHAPE(gr, r->out[0], XF_F32, 4);
    xf_graph_free(gr);
}
END_TEST

/* y = Slice(x [6]) with starts, ends and (when axes) axes as the attributes of opset 9. */
static const char *slice9_model(int64_t start, int64_t end, bool axes) {
    msg g = {0};
    msg n = node("Slice", NAMES("x"), NAMES("y"));
    m_sub(&n, 5, ints_attr("starts", 1, &start));
    m_sub(&n, 5, ints_attr("ends", 1, &end));
    if (axes) m_sub(&n, 5, ints_attr("axes", 1, (const int64_t[]){0}));
    m_sub(&g, 1, n);
    m_sub(&g, 11, value_info("x", XF_F32, 6));
    m_sub(&g, 12, value_info("y", XF_F32, 3));
    return write_model_at("slice9.onnx", g, 9);
}

/* Slice before opset 10 reads its lists from attributes; the frontend hands the IR the inputs of
 * later opsets, and the attributes are gone. Shape inference and evaluation then see one form. */
START_TEST(test_old_slice_attributes_become_inputs) {
    for (int axes = 0; axes < 2; axes++) {
        xf_diag d = {0};
        xf_graph *g = xf_onnx_load(slice9_model(1, -2, axes), &d);
        ck_assert_msg(g, "load failed: %s", d.msg);
        ck_assert_int_eq(count_op(g, XF_OP_SLICE), 1);
        int32_t node = g->values[g->outputs[0]].producer;
        xf_node *n = &g->nodes[node];
        ck_assert_int_eq(n->nin, axes ? 4 : 3);
        ck_assert_ptr_null(xf_attr_get(n, "starts"));
        ck_assert_ptr_null(xf_attr_get(n, "ends"));
        ck_assert_int_eq(xf_const_i64(xf_in(g, n, 1), 0), 1);
        ck_assert_int_eq(xf_const_i64(xf_in(g, n, 2), 0), -2);
        if (axes) ck_assert_int_eq(xf_const_i64(xf_in(g, n, 3), 0), 0);
        ck_assert_msg(xf_infer_node(g, node, &d), "%s", d.msg);
        xf_value *x = xf_in(g, n, 0), *y = xf_out(g, n, 0);
        ck_assert_int_eq(y->rank, 1);
        ck_assert_int_eq(y->shape[0], 3);
        static const float xs[6] = {10, 11, 12, 13, 14, 15};
        x->data = xf_alloc(g->arena, sizeof xs);
        memcpy(x->data, xs, sizeof xs);
        ck_assert_msg(xf_eval_node(g, node, &d), "%s", d.msg);
        for (int i = 0; i < 3; i++) ck_assert_float_eq(((const float *)y->data)[i], xs[1 + i]);
        xf_graph_free(g);
    }
}
END_TEST

/* RoiAlign's coordinate_transformation_mode arrived in opset 16, defaulting to half_pixel; nodes
 * of older opsets get output_half_pixel, what they always did. One that names a mode keeps it. */
START_TEST(test_roi_align_mode_by_opset) {
    const int64_t opsets[3] = {10, 16, 10};
    const char *want[3] = {"output_half_pixel", "(none)", "half_pixel"};
    for (int k = 0; k < 3; k++) {
        msg g = {0};
        msg n = node("RoiAlign", NAMES("x", "rois", "idx"), NAMES("y"));
        if (k == 2) m_sub(&n, 5, str_attr("coordinate_transformation_mode", "half_pixel"));
        m_sub(&g, 1, n);
        m_sub(&g, 11, value_info("x", XF_F32, 4));
        m_sub(&g, 11, value_info("rois", XF_F32, 4));
        m_sub(&g, 11, value_info("idx", XF_I64, 1));
        m_sub(&g, 12, value_info("y", XF_F32, 1));
        xf_diag d = {0};
        xf_graph *gr = xf_onnx_load(write_model_at("roialign.onnx", g, opsets[k]), &d);
        ck_assert_msg(gr, "load failed: %s", d.msg);
        const xf_node *r = only_node(gr, XF_OP_ROI_ALIGN);
        ck_assert_str_eq(xf_attr_str(r, "coordinate_transformation_mode", "(none)"), want[k]);
        xf_graph_free(gr);
    }
}
END_TEST

/* From opset 10 the lists are inputs: attributes alone are refused, with one line. */
START_TEST(test_new_slice_needs_inputs) {
    msg g = {0};
    msg n = node("Slice", NAMES("x"), NAMES("y"));
    m_sub(&n, 5, ints_attr("starts", 1, (const int64_t[]){1}));
    m_sub(&n, 5, ints_attr("ends", 1, (const int64_t[]){4}));
    m_sub(&g, 1, n);
    m_sub(&g, 11, value_info("x", XF_F32, 6));
    m_sub(&g, 12, value_info("y", XF_F32, 3));
    xf_diag d = {0};
    xf_graph *graph = xf_onnx_load(write_model_at("slice10.onnx", g, 10), &d);
    if (graph) {
        int32_t node = graph->values[graph->outputs[0]].producer;
        ck_assert(!xf_infer_node(graph, node, &d));
        xf_graph_free(graph);
    }
    ck_assert_msg(strstr(d.msg, "expects inputs data, starts and ends"), "%s", d.msg);
    ck_assert_ptr_null(strchr(d.msg, '\n'));
}
END_TEST

static Suite *onnx_suite(void) {
    Suite *s = suite_create("onnx");
    TCase *m = tcase_create("model");
    tcase_set_timeout(m, 30);
    tcase_add_test(m, test_load_llama);
    tcase_add_test(m, test_load_missing);
    suite_add_tcase(s, m);
    TCase *t = tcase_create("tensor");
    tcase_add_unchecked_fixture(t, make_tmpdir, remove_tmpdir);
    tcase_add_test(t, test_load_input_pb);
    tcase_add_test(t, test_round_trip);
    tcase_add_test(t, test_save_fails_cleanly);
    tcase_add_test(t, test_load_float16);
    tcase_add_test(t, test_load_typed_int32);
    tcase_add_test(t, test_load_inconsistent);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("control flow");
    tcase_add_unchecked_fixture(c, make_tmpdir, remove_tmpdir);
    tcase_add_test(c, test_softmax_axis_explicit);
    tcase_add_test(c, test_if_known_condition);
    tcase_add_test(c, test_if_bound_condition);
    tcase_add_test(c, test_loop_unrolled);
    tcase_add_test(c, test_control_flow_refused);
    suite_add_tcase(s, c);
    TCase *o = tcase_create("older opsets");
    tcase_add_unchecked_fixture(o, make_tmpdir, remove_tmpdir);
    tcase_add_test(o, test_top_k_opset1);
    tcase_add_test(o, test_hardmax_opset11);
    tcase_add_test(o, test_dft_opset17);
    tcase_add_test(o, test_tile_opset5);
    tcase_add_test(o, test_old_opset_softmax_and_reduce);
    tcase_add_test(o, test_old_slice_attributes_become_inputs);
    tcase_add_test(o, test_new_slice_needs_inputs);
    tcase_add_test(o, test_resize10_normalised);
    tcase_add_test(o, test_roi_align_mode_by_opset);
    suite_add_tcase(s, o);
    return s;
}

int main(void) { return tu_run(onnx_suite()); }
