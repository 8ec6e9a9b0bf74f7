/* test_text.c — unit tests of the text IR (ir/text.c): a graph holding every attribute type and
 * every dtype's awkward values (negative zero, infinities, NaN payloads, extreme integers, narrow
 * codes, an odd count of 4-bit codes) reads back bit for bit, and malformed text gives one
 * diagnostic naming its line, never a crash and never a graph. The reference models' round trips
 * are tests/golden/roundtrip.c. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *print_to_string(const xf_graph *g, bool dump) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(f);
    if (dump) xf_graph_dump(g, f);
    else xf_graph_print(g, f);
    fclose(f);
    return text;
}

static xf_graph *parse_ok(const char *text) {
    xf_diag d = {0};
    xf_graph *g = xf_graph_parse(text, "t.ir", &d);
    ck_assert_msg(g && !d.set, "the text does not parse: %s\n%s", d.msg, text);
    return g;
}

static float f32_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- round trip ---- */

static int32_t constant(xf_graph *g, const char *name, int32_t dtype, int64_t n, const void *data) {
    return xf_const_add(g, name, dtype, 1, (int64_t[]){n}, data);
}

/* A graph with one of everything the printer must write. */
static xf_graph *everything(void) {
    xf_graph *g = xf_graph_new("everything.onnx");
    g->opset = 17;
    int32_t x = tu_input(g, "onnx::input 0", XF_F32, 3, SHAPE(-1, 4, -1));
    g->values[x].dim_param[0] = "batch";
    g->values[x].dim_param[1] = "ignored once the dim is known";
    int32_t f32 = constant(g, "f32", XF_F32, 9,
                           (float[]){-0.0f, INFINITY, -INFINITY, NAN, f32_bits(0xffc00123u), FLT_TRUE_MIN, FLT_MAX,
                                     0.1f, 16777216.0f});
    uint64_t nan64 = 0x7ff0000000000abcull;
    double f64[3] = {0.1, -1e300, 0};
    memcpy(&f64[2], &nan64, sizeof nan64);
    int32_t d64 = constant(g, "f64", XF_F64, 3, f64);
    int32_t i8 = constant(g, "i8", XF_I8, 2, (int8_t[]){-128, 127});
    int32_t u64 = constant(g, "u64", XF_U64, 2, (uint64_t[]){UINT64_MAX, 0});
    int32_t i64 = constant(g, "i64", XF_I64, 2, (int64_t[]){INT64_MIN, INT64_MAX});
    int32_t u16 = constant(g, "u16", XF_U16, 1, (uint16_t[]){65535});
    int32_t b = constant(g, "bool", XF_BOOL, 2, (uint8_t[]){1, 0});
    int32_t h = constant(g, "half", XF_F16, 2, (uint16_t[]){0x3c00, 0xfc01});
    int32_t bf = constant(g, "bf16", XF_BF16, 1, (uint16_t[]){0x7f80});
    int32_t f8 = constant(g, "f8", XF_F8E4M3FN, 2, (uint8_t[]){0x7f, 0x01});
    int32_t e8 = constant(g, "e8m0", XF_F8E8M0, 1, (uint8_t[]){0xff});
    int32_t i4 = constant(g, "i4", XF_I4, 3, (uint8_t[]){0x9f, 0x07}); /* codes 15, 9, 7 */
    int32_t scalar = xf_const_add(g, "scalar", XF_I32, 0, NULL, (int32_t[]){-7});
    int32_t empty = xf_const_add(g, "empty", XF_F32, 2, SHAPE(0, 3), NULL);
    int32_t tensor = constant(g, "attr tensor", XF_F32, 1, (float[]){2.5f});
    int32_t ins[] = {x, f32, d64, i8, u64, i64, u16, b, h, bf, f8, e8, i4, scalar, empty, -1};
    int32_t y = xf_value_add(g, "y\"quoted\"", XF_F32, 3, SHAPE(2, 4, 1));
    int32_t second = xf_value_add(g, "second", 0, -1, NULL);
    int32_t node = xf_node_add(g, XF_OP_CONCAT, "a node: named apart", 16, ins, 3, (int32_t[]){y, -1, second});
    xf_node_add_attr(g, node, "int", XF_ATTR_INT)->i = INT64_MIN;
    xf_node_add_attr(g, node, "float", XF_ATTR_FLOAT)->f = 0.1f;
    xf_node_add_attr(g, node, "nan", XF_ATTR_FLOAT)->f = f32_bits(0x7f800001u);
    xf_node_add_attr(g, node, "whole", XF_ATTR_FLOAT)->f = 3.0f;
    xf_node_add_attr(g, node, "string", XF_ATTR_STRING)->s = "a \"quote\", a \\, a\nnewline, \ttab, \x01 and \xc3\xa9";
    tu_set_ints(g, node, "no ints", 0, SHAPE(0)); /* an empty list */
    tu_set_ints(g, node, "ints", 3, SHAPE(-1, 0, INT64_MAX));
    xf_attr *fl = xf_node_add_attr(g, node, "floats", XF_ATTR_FLOATS);
    fl->n = 3;
    fl->floats = xf_alloc(g->arena, 3 * sizeof(float)); /* the graph outlives this function */
    memcpy(fl->floats, (float[]){1.0f, -0.0f, 1e-20f}, 3 * sizeof(float));
    xf_attr *nf = xf_node_add_attr(g, node, "no floats", XF_ATTR_FLOATS);
    nf->floats = NULL;
    xf_attr *st = xf_node_add_attr(g, node, "strings", XF_ATTR_STRINGS);
    st->n = 2;
    st->strings = xf_alloc(g->arena, 2 * sizeof(char *));
    st->strings[0] = "";
    st->strings[1] = "_";
    xf_node_add_attr(g, node, "no strings", XF_ATTR_STRINGS);
    xf_node_add_attr(g, node, "value", XF_ATTR_TENSOR)->tensor = tensor;
    int32_t z = xf_value_add(g, "_", XF_F32, 3, SHAPE(2, 4, 1));
    xf_node_add(g, XF_OP_RELU, "_", 1, &y, 1, &z);
    g->values[z].offset = 128;
    g->values[z].alias_of = y;
    tu_mark_output(g, z);
    tu_mark_output(g, b); /* a constant output */
    g->arena_bytes = 4096;
    return g;
}

static void same_bytes(const xf_graph *a, const xf_graph *b, const char *name) {
    const xf_value *x = &a->values[xf_value_find(a, name)];
    int32_t v = xf_value_find(b, name);
    ck_assert_msg(v >= 0, "constant '%s' is lost", name);
    const xf_value *y = &b->values[v];
    ck_assert_int_eq(x->dtype, y->dtype);
    ck_assert_int_eq(xf_value_bytes(x), xf_value_bytes(y));
    ck_assert_msg(memcmp(x->data, y->data, (size_t)xf_value_bytes(x)) == 0, "constant '%s' changed", name);
}

START_TEST(everything_reads_back) {
    xf_graph *g = everything();
    char *text = print_to_string(g, false);
    xf_graph *h = parse_ok(text);
    char *again = print_to_string(h, false);
    ck_assert_str_eq(text, again);
    const char *names[] = {"f32", "f64", "i8", "u64", "i64", "u16", "bool", "half", "bf16", "f8", "e8m0", "i4",
                           "scalar", "empty", "attr tensor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) same_bytes(g, h, names[i]);
    ck_assert_int_eq(h->nnodes, 2);
    const xf_node *a = &g->nodes[0], *n = &h->nodes[0];
    ck_assert_str_eq(n->name, a->name);
    ck_assert_int_eq(n->nin, 16);
    ck_assert_int_eq(n->in[15], -1);
    ck_assert_int_eq(n->nout, 3);
    ck_assert_int_eq(n->out[1], -1);
    ck_assert_int_eq(n->nattr, a->nattr);
    for (int k = 0; k < a->nattr; k++) {
        const xf_attr *p = &a->attrs[k], *q = &n->attrs[k];
        ck_assert_str_eq(q->name, p->name);
        ck_assert_int_eq(q->type, p->type);
        ck_assert_int_eq(q->n, p->n);
        if (p->type == XF_ATTR_INT) ck_assert(q->i == p->i);
        if (p->type == XF_ATTR_FLOAT) ck_assert(memcmp(&q->f, &p->f, sizeof p->f) == 0);
        if (p->type == XF_ATTR_STRING) ck_assert_str_eq(q->s, p->s);
        if (p->type == XF_ATTR_INTS && p->n) ck_assert(memcmp(q->ints, p->ints, 8 * (size_t)p->n) == 0);
        if (p->type == XF_ATTR_FLOATS && p->n) ck_assert(memcmp(q->floats, p->floats, 4 * (size_t)p->n) == 0);
        for (int i = 0; p->type == XF_ATTR_STRINGS && i < p->n; i++) ck_assert_str_eq(q->strings[i], p->strings[i]);
        if (p->type == XF_ATTR_TENSOR) ck_assert_str_eq(h->values[q->tensor].name, "attr tensor");
    }
    const xf_value *x = &h->values[h->inputs[0]];
    ck_assert_str_eq(x->name, "onnx::input 0");
    ck_assert_int_eq(x->shape[0], -1);
    ck_assert_str_eq(x->dim_param[0], "batch");
    ck_assert_int_eq(x->shape[1], 4);
    ck_assert_ptr_null(x->dim_param[2]);
    ck_assert_int_eq(h->values[h->nodes[1].out[0]].offset, 128);
    ck_assert_str_eq(h->values[h->values[h->nodes[1].out[0]].alias_of].name, "y\"quoted\"");
    ck_assert_int_eq(h->values[h->nodes[0].out[2]].dtype, 0);
    ck_assert_int_eq(h->values[h->nodes[0].out[2]].rank, -1);
    ck_assert_int_eq(h->noutputs, 2);
    ck_assert_ptr_nonnull(h->values[h->outputs[1]].data);
    ck_assert(h->opset == 17 && h->arena_bytes == 4096);
    free(text);
    free(again);
    xf_graph_free(g);
    xf_graph_free(h);
}
END_TEST

/* Float constants print as short decimals that still read back exactly. */
START_TEST(floats_print_short) {
    xf_graph *g = xf_graph_new(NULL);
    tu_mark_output(g, constant(g, "c", XF_F32, 5, (float[]){0.1f, 10.0f, 1e-6f, 3.4e38f, 1.0f / 3}));
    char *text = print_to_string(g, false);
    ck_assert_msg(strstr(text, "[0.1, 10.0, 1e-06, 3.4e+38, 0.33333334]"), "%s", text);
    free(text);
    xf_graph_free(g);
}
END_TEST

/* A dump elides large constants and says so when given to the parser. */
START_TEST(dump_elides_and_does_not_read_back) {
    xf_graph *g = xf_graph_new(NULL);
    float big[100] = {0};
    tu_mark_output(g, constant(g, "big", XF_F32, 100, big));
    tu_mark_output(g, constant(g, "small", XF_F32, 2, big));
    char *text = print_to_string(g, true);
    ck_assert_msg(strstr(text, "$big : float32[100] = [... 100 values]\n"), "%s", text);
    ck_assert_msg(strstr(text, "$small : float32[2] = [0.0, 0.0]\n"), "%s", text);
    xf_diag d = {0};
    ck_assert_ptr_null(xf_graph_parse(text, "dump.ir", &d));
    ck_assert_msg(strstr(d.msg, "dump.ir:1: ") && strstr(d.msg, "elided"), "%s", d.msg);
    free(text);
    xf_graph_free(g);
}
END_TEST

/* Hand-written text: types left to inference, names left out, lists and comments. */
START_TEST(hand_written_text) {
    xf_graph *g = parse_ok("; a comment line\n"
                           "input %x : float32[2,3]   ; and a trailing one\n"
                           "$perm : int64[2] = [\n  1,\n  0\n]\n"
                           "%t : ? = Transpose(%x) {\n  perm = [1, 0],\n  hex = 0x1e\n}\n"
                           "%u : float32 = Relu(%t) @relu\n"
                           "\n"
                           "output %u\n");
    ck_assert_int_eq(g->nnodes, 2);
    ck_assert_str_eq(g->nodes[0].name, "t"); /* named after its output */
    ck_assert_str_eq(g->nodes[1].name, "relu");
    ck_assert_int_eq(xf_attr_int(&g->nodes[0], "hex", 0), 30);
    const xf_value *t = &g->values[g->nodes[0].out[0]], *u = &g->values[g->nodes[1].out[0]];
    ck_assert(t->dtype == 0 && t->rank == -1 && u->dtype == XF_F32 && u->rank == -1);
    ck_assert_int_eq(xf_const_i64(&g->values[xf_value_find(g, "perm")], 1), 0);
    xf_graph_free(g);
}
END_TEST

/* ---- malformed text ---- */

static const struct {
    const char *text;
    int line;
    const char *words;
} bad[] = {
    {"input %x : float32[2", 1, "expected ']'"},
    {"input %x : float32[2]\n$c : float32[3] = [1.0,\n 2.0", 3, "end of text"},
    {"input %x : float32[2]\n%y : float32[2] = Frobnicate(%x)", 2, "unknown op 'Frobnicate'"},
    {"input %x : float33[2]", 1, "unknown type 'float33'"},
    {"input %x : float32[2]\n%x : float32[2] = Relu(%x)", 2, "%x is defined twice"},
    {"$c : int64[1] = [1]\n$c : int64[1] = [2]", 2, "$c is defined twice"},
    {"%y : ? = Relu(%x)\ninput %x : float32[2]", 1, "%x is used before it is defined"},
    {"output %nothing", 1, "used before it is defined"},
    {"$c : float32[1] = [1.0]\n%y : ? = Relu(%c)", 2, "is written $c"},
    {"input %x : float32[1]\n%y : ? = Relu($x)", 2, "is written %x"},
    {"$c : float32[3] = [1.0, 2.0]", 1, "has 2 elements, its shape holds 3"},
    {"$c : float32[1] = [1.0, 2.0]", 1, "more than the 1 elements"},
    {"$c : uint8[1] = [300]", 1, "300 does not fit uint8"},
    {"$c : int4[1] = [16]", 1, "does not fit int4"},
    {"$c : int64[1] = [12abc]", 1, "not an integer"},
    {"$c : float32[1] = [one]", 1, "not a number"},
    {"$c : float32[1] = [nan:0x3f800000]", 1, "not a NaN"},
    {"$c : float32[?] = []", 1, "static shape"},
    {"$c : float32[4611686018427387903,4611686018427387903] = []", 1, "static shape"},
    {"$c : float32[1000000000000] = [1.0]", 1, "has 1 elements"},
    {"input %x : float32[1,1,1,1,1,1,1,1,1]", 1, "more than 8 dimensions"},
    {"input %x : float32[2]\n%y : ? = Relu(%x) {a = [1, \"s\"]}", 2, "mixes ints with strings"},
    {"input %x : float32[2]\n%y : ? = Relu(%x) {mode = \"abc}", 2, "unterminated string"},
    {"input %x : float32[2]\n%y : ? = Relu(%x) {a = 1, a = 2}", 2, "attribute 'a' is given twice"},
    {"input %x : float32[2]\n%y : ? = Relu(%x) {a = []}", 2, "needs its type"},
    {"input %x : float32[2]\n%y : ? = Relu(%x) {a = \"\\q\"}", 2, "unknown escape"},
    {"input %x : float32[2]\n%y : ? = Relu(%x) {a = \"abc\\\n\"}", 2, "unterminated string"},
    {"input %\"a\\nb\" : float32[1]\ninput %\"a\\nb\" : float32[1]", 2, "%a?b is defined twice"},
    {"input %x : float32[2]\n%y : ? = Relu(%x) {a = 99999999999999999999}", 2, "not an integer"},
    {"input %x : float32[2]\n%y : ? = Relu(%y)", 2, "reads its own result"},
    {"input %x : float32[2] junk", 1, "unexpected 'junk' after the statement"},
    {"input %x : float32[2]\n%y : ? = Relu(%x\n", 3, "expected ')'"},
    {"input %x : float32[2]\n%y : ? Relu(%x)", 2, "expected '='"},
    {"@", 1, "expected a statement"},
};

START_TEST(malformed_text_is_reported) {
    xf_diag d = {0};
    xf_graph *g = xf_graph_parse(bad[_i].text, "t.ir", &d);
    ck_assert_msg(!g, "case %d parsed: %s", _i, bad[_i].text);
    ck_assert_msg(d.set, "case %d: no diagnostic", _i);
    char want[32];
    snprintf(want, sizeof want, "t.ir:%d: ", bad[_i].line);
    ck_assert_msg(strncmp(d.msg, want, strlen(want)) == 0, "case %d: '%s' does not start with '%s'", _i, d.msg, want);
    ck_assert_msg(strstr(d.msg, bad[_i].words), "case %d: '%s' does not say '%s'", _i, d.msg, bad[_i].words);
    ck_assert_msg(!strchr(d.msg, '\n'), "case %d: not one line: %s", _i, d.msg);
}
END_TEST

/* Every prefix of a valid text is either a valid graph or one diagnostic: never a crash. */
START_TEST(every_truncation_is_handled) {
    xf_graph *g = everything();
    char *text = print_to_string(g, false);
    size_t n = strlen(text);
    for (size_t cut = 0; cut < n; cut++) {
        char saved = text[cut];
        text[cut] = 0;
        xf_diag d = {0};
        xf_graph *h = xf_graph_parse(text, "cut.ir", &d);
        ck_assert_msg(h || (d.set && strncmp(d.msg, "cut.ir:", 7) == 0), "cut at %zu: no diagnostic", cut);
        xf_graph_free(h);
        text[cut] = saved;
    }
    free(text);
    xf_graph_free(g);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("text");
    TCase *t = tcase_create("text");
    tcase_add_test(t, everything_reads_back);
    tcase_add_test(t, floats_print_short);
    tcase_add_test(t, dump_elides_and_does_not_read_back);
    tcase_add_test(t, hand_written_text);
    tcase_add_loop_test(t, malformed_text_is_reported, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(t, every_truncation_is_handled);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(suite()); }
