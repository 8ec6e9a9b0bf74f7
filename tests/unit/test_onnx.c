/* test_onnx.c — unit tests of the ONNX frontend: loading a real exported model (tiny Llama, see
 * tests/data/hf/README.md), reading TensorProto files, and the save -> load round trip, plus
 * TensorProto encodings that the exporters use but xf_tensor_save_pb never writes (float16, typed
 * int32_data), built here byte by byte.
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
    return s;
}

int main(void) { return tu_run(onnx_suite()); }
