/* text.c — the IR as text, written and read back.
 *
 * One statement a line; `;` starts a comment. A graph reads top to bottom like the code it becomes:
 *
 *     opset 18
 *     input %x : float32[1,8]
 *     $w : float32[8] = [0.5, 1.0, ...]                 constants: dtype, shape, every element
 *     %y : float32[1,8] = Mul(%x, $w)                    node: outputs = Op(inputs) {attributes} @name
 *     %t, _ : float32[1,4] = TopK(%y, $k) {axis = -1, largest = 1}
 *     output %y
 *
 * Values are `%name` (graph inputs and node results) or `$name` (constants); names other than
 * [A-Za-z0-9_./-]+ are quoted like C strings; `_` is an omitted optional input or output. A type is
 * a dtype (`?` when not inferred yet) and, when the rank is known, `[dims]`, a dim being a number, a
 * symbolic name or `?`. Attributes are ints (`1`), floats (`1.0`, `1e-05`, `nan`, printed so that
 * they read back bit for bit), strings, lists (`[1, 2]`, `floats []` when empty) and tensors (a
 * `$constant`). Constants list every element: floats as decimals that read back exactly, the narrow
 * storage types as their stored codes (`0x3c00` for a float16 1.0, 4-bit types one code each).
 * A node's name follows `@`, and is left out when it is its first output's name (what the parser
 * gives a node without one). A constant fold made by transposing a 2-D table says
 * `transpose_of $table`. After memory planning a result carries `at OFFSET` and `alias %v`;
 * `arena N` gives the arena's size. What fusion passes record for reports is theirs, not the IR's
 * (the golden test runner prints it after the IR).
 *
 * The parser rebuilds the graph from this text and reports malformed text as one diagnostic naming
 * the line; values must be defined before they are used, so the graph it builds is in topological
 * order. xf_graph_dump elides large constants: a dump is for people and does not read back. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Constants with more elements than this are elided by xf_graph_dump. */
#define DUMP_MAX_ELEMENTS 16

/* ---- printing ---- */

static bool bare_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '/' || c == '-';
}

void xf_print_quoted(void *file, const char *s) {
    FILE *f = file;
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* A name bare when it can be read back bare, else quoted. `_` alone is the omitted value. */
static void print_name(FILE *f, const char *s) {
    bool bare = *s && strcmp(s, "_") != 0;
    for (const char *c = s; *c && bare; c++) bare = bare_char(*c);
    if (bare) fputs(s, f);
    else xf_print_quoted(f, s);
}

/* %g writes 10 as 1e+01 with one digit: numbers below 1e15 get the digits to be written in full. */
static int fixed_digits(double x, int digits) {
    double mag = fabs(x);
    int whole = 1;
    while (whole < 16 && mag >= 10) mag /= 10, whole++;
    return mag < 10 && whole > digits ? whole : digits;
}

/* The shortest decimal that reads back as the same float, with a `.0` when it would read as an
 * integer; NaNs other than the plain quiet one keep their bits. */
static void format_f32(char *buf, size_t size, float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if (isnan(x)) {
        if (bits == 0x7fc00000u) snprintf(buf, size, "nan");
        else snprintf(buf, size, "nan:0x%08x", (unsigned)bits);
        return;
    }
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", fixed_digits(x, digits), (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    if (!strpbrk(buf, ".eni")) strncat(buf, ".0", size - strlen(buf) - 1);
}

static void format_f64(char *buf, size_t size, double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    if (isnan(x)) {
        if (bits == 0x7ff8000000000000ull) snprintf(buf, size, "nan");
        else snprintf(buf, size, "nan:0x%016llx", (unsigned long long)bits);
        return;
    }
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", fixed_digits(x, digits), x);
        if (strtod(buf, NULL) == x) break;
    }
    if (!strpbrk(buf, ".eni")) strncat(buf, ".0", size - strlen(buf) - 1);
}

static void print_type(FILE *f, const xf_value *v) {
    fputs(v->dtype ? xf_dtype_name(v->dtype) : "?", f);
    if (v->rank < 0) return;
    fputc('[', f);
    for (int i = 0; i < v->rank; i++) {
        if (i) fputc(',', f);
        if (v->shape[i] >= 0) fprintf(f, "%lld", (long long)v->shape[i]);
        else if (!v->dim_param[i] || !v->dim_param[i][0]) fputc('?', f);
        else if ((v->dim_param[i][0] >= '0' && v->dim_param[i][0] <= '9') || v->dim_param[i][0] == '-')
            xf_print_quoted(f, v->dim_param[i]); /* would read as a number */
        else print_name(f, v->dim_param[i]);
    }
    fputc(']', f);
}

/* A use of value v: `$name` for a constant, `%name` otherwise, `_` when absent. */
static void print_use(FILE *f, const xf_graph *g, int32_t v) {
    if (v < 0) {
        fputc('_', f);
        return;
    }
    fputc(g->values[v].data ? '$' : '%', f);
    print_name(f, g->values[v].name);
}

static void print_element(FILE *f, const xf_value *v, int64_t i) {
    char buf[48];
    const void *p = v->data;
    switch (v->dtype) {
    case XF_F32: {
        float x;
        memcpy(&x, (const float *)p + i, sizeof x);
        format_f32(buf, sizeof buf, x);
        fputs(buf, f);
        return;
    }
    case XF_F64: {
        double x;
        memcpy(&x, (const double *)p + i, sizeof x);
        format_f64(buf, sizeof buf, x);
        fputs(buf, f);
        return;
    }
    case XF_F16: case XF_BF16: fprintf(f, "0x%04x", ((const uint16_t *)p)[i]); return;
    case XF_F8E4M3FN: case XF_F8E4M3FNUZ: case XF_F8E5M2: case XF_F8E5M2FNUZ: case XF_F8E8M0:
        fprintf(f, "0x%02x", ((const uint8_t *)p)[i]);
        return;
    case XF_U4: case XF_I4: case XF_F4E2M1: /* two codes a byte, low nibble first */
        fprintf(f, "0x%x", (((const uint8_t *)p)[i / 2] >> (i % 2 * 4)) & 15);
        return;
    case XF_U64: fprintf(f, "%llu", (unsigned long long)((const uint64_t *)p)[i]); return;
    default: fprintf(f, "%lld", (long long)xf_const_i64(v, i)); return;
    }
}

static void print_const(FILE *f, const xf_graph *g, int32_t c, bool elide) {
    const xf_value *v = &g->values[c];
    print_use(f, g, c);
    fputs(" : ", f);
    print_type(f, v);
    if (v->transpose_of >= 0) { /* fold notes where a transposed table came from (fuse_linear reads it) */
        fputs(" transpose_of ", f);
        print_use(f, g, v->transpose_of);
    }
    int64_t n = xf_value_numel(v);
    if (xf_dtype_size(v->dtype) == 0) n = 0; /* a type xfc cannot hold has no elements to show */
    if (elide && n > DUMP_MAX_ELEMENTS) {
        fprintf(f, " = [... %lld values]\n", (long long)n);
        return;
    }
    fputs(" = [", f);
    for (int64_t i = 0; i < n; i++) {
        /* short lists on the line, long ones eight to a line */
        if (n > 16) fputs(i % 8 ? ", " : i ? ",\n  " : "\n  ", f);
        else if (i) fputs(", ", f);
        print_element(f, v, i);
    }
    fputs(n > 16 ? "\n]\n" : "]\n", f);
}

static void print_attr(FILE *f, const xf_graph *g, const xf_attr *a) {
    char buf[48];
    print_name(f, a->name);
    fputs(" = ", f);
    switch (a->type) {
    case XF_ATTR_INT: fprintf(f, "%lld", (long long)a->i); return;
    case XF_ATTR_FLOAT: format_f32(buf, sizeof buf, a->f); fputs(buf, f); return;
    case XF_ATTR_STRING: xf_print_quoted(f, a->s ? a->s : ""); return;
    case XF_ATTR_TENSOR: print_use(f, g, a->tensor); return;
    case XF_ATTR_INTS: case XF_ATTR_FLOATS: case XF_ATTR_STRINGS: break;
    default: fprintf(f, "?%d", a->type); return; /* no such type is ever built */
    }
    if (a->n == 0) fputs(a->type == XF_ATTR_INTS ? "ints " : a->type == XF_ATTR_FLOATS ? "floats " : "strings ", f);
    fputc('[', f);
    for (int i = 0; i < a->n; i++) {
        if (i) fputs(", ", f);
        if (a->type == XF_ATTR_INTS) fprintf(f, "%lld", (long long)a->ints[i]);
        else if (a->type == XF_ATTR_FLOATS) format_f32(buf, sizeof buf, a->floats[i]), fputs(buf, f);
        else xf_print_quoted(f, a->strings[i] ? a->strings[i] : "");
    }
    fputc(']', f);
}

/* The name the parser gives a node written without one: its first output's, else its op's. */
static const char *default_node_name(const xf_graph *g, const xf_node *n) {
    for (int k = 0; k < n->nout; k++)
        if (n->out[k] >= 0) return g->values[n->out[k]].name;
    return xf_ops[n->op].name;
}

static void print_node(FILE *f, const xf_graph *g, const xf_node *n) {
    for (int k = 0; k < n->nout; k++) {
        int32_t y = n->out[k];
        if (k) fputs(", ", f);
        if (y < 0) {
            fputc('_', f);
            continue;
        }
        const xf_value *v = &g->values[y];
        fputc('%', f);
        print_name(f, v->name);
        fputs(" : ", f);
        print_type(f, v);
        if (v->offset >= 0) fprintf(f, " at %lld", (long long)v->offset);
        if (v->alias_of >= 0) {
            fputs(" alias ", f);
            print_use(f, g, v->alias_of);
        }
    }
    fprintf(f, "%s%s(", n->nout ? " = " : "", xf_ops[n->op].name);
    for (int k = 0; k < n->nin; k++) {
        if (k) fputs(", ", f);
        print_use(f, g, n->in[k]);
    }
    fputc(')', f);
    if (n->nattr) {
        fputs(" {", f);
        for (int i = 0; i < n->nattr; i++) {
            if (i) fputs(", ", f);
            print_attr(f, g, &n->attrs[i]);
        }
        fputc('}', f);
    }
    if (strcmp(n->name, default_node_name(g, n)) != 0) {
        fputs(" @", f);
        print_name(f, n->name);
    }
    fputc('\n', f);
}

static void print_graph(const xf_graph *g, FILE *f, bool elide) {
    if (g->opset) fprintf(f, "opset %lld\n", (long long)g->opset);
    if (g->arena_bytes) fprintf(f, "arena %lld\n", (long long)g->arena_bytes);
    for (int32_t i = 0; i < g->ninputs; i++) {
        fputs("input ", f);
        print_use(f, g, g->inputs[i]);
        fputs(" : ", f);
        print_type(f, &g->values[g->inputs[i]]);
        fputc('\n', f);
    }
    /* the constants something reads, in handle order (the order generated code declares them) */
    bool *used = calloc((size_t)g->nvalues + 1, 1);
    if (!used) xf_abort(__FILE__, __LINE__, "out of memory");
    for (int32_t i = 0; i < g->nnodes; i++) {
        const xf_node *n = &g->nodes[i];
        for (int k = 0; !n->dead && k < n->nin; k++)
            if (n->in[k] >= 0) used[n->in[k]] = true;
        for (int k = 0; !n->dead && k < n->nattr; k++)
            if (n->attrs[k].type == XF_ATTR_TENSOR && n->attrs[k].tensor >= 0) used[n->attrs[k].tensor] = true;
    }
    for (int32_t i = 0; i < g->noutputs; i++) used[g->outputs[i]] = true;
    for (int32_t v = 0; v < g->nvalues; v++)
        if (used[v] && g->values[v].data && !g->values[v].is_input) print_const(f, g, v, elide);
    free(used);
    for (int32_t i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead) print_node(f, g, &g->nodes[i]);
    for (int32_t i = 0; i < g->noutputs; i++) {
        fputs("output ", f);
        print_use(f, g, g->outputs[i]);
        fputc('\n', f);
    }
}

void xf_graph_print(const xf_graph *g, void *file) {
    print_graph(g, file, false);
}

void xf_graph_dump(const xf_graph *g, void *file) {
    print_graph(g, file, true);
}

/* ---- parsing ---- */

typedef struct parser {
    const char *s;       /* the cursor */
    int line;
    const char *path;
    xf_graph *g;
    xf_diag *d;
    int depth;           /* open brackets: newlines inside them do not end the statement */
    char *word;          /* the last name or string read (scratch, grows) */
    size_t word_cap;
    int32_t *slot;       /* name -> value handle, open addressing; -1 = empty */
    uint32_t nslots, nnames;
    int32_t *list;       /* scratch for inputs, outputs and handles */
    int32_t nlist, cap_list;
    char here[32];       /* what `here` describes */
} parser;

static bool fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(parser *p, const char *fmt, ...) {
    if (p->d->set) return false;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++) /* names may hold newlines: the diagnostic stays one line */
        if ((unsigned char)*c < 0x20) *c = '?';
    snprintf(p->d->msg, sizeof p->d->msg, "%s:%d: %s", p->path, p->line, msg);
    p->d->set = true;
    return false;
}

/* Skips blanks and comments; newlines too inside brackets. */
static void skip(parser *p) {
    for (;;) {
        if (*p->s == ' ' || *p->s == '\t' || *p->s == '\r') p->s++;
        else if (*p->s == ';') while (*p->s && *p->s != '\n') p->s++;
        else if (*p->s == '\n' && p->depth > 0) p->s++, p->line++;
        else return;
    }
}

/* What the cursor is at, for a message: "end of text", "end of line" or the next few characters. */
static const char *here(parser *p) {
    if (!*p->s) return "end of text";
    if (*p->s == '\n') return "end of line";
    size_t n = 0;
    while (p->s[n] && p->s[n] != '\n' && n < 12) n++;
    snprintf(p->here, sizeof p->here, "'%.*s'", (int)n, p->s);
    return p->here;
}

static bool accept(parser *p, char c) {
    skip(p);
    if (*p->s != c) return false;
    p->s++;
    return true;
}

static bool expect(parser *p, char c, const char *what) {
    if (accept(p, c)) return true;
    return fail(p, "expected '%c' %s, found %s", c, what, here(p));
}

static void word_put(parser *p, size_t len, char c) {
    if (len + 1 >= p->word_cap) {
        p->word_cap = p->word_cap ? 2 * p->word_cap : 64;
        p->word = realloc(p->word, p->word_cap);
        if (!p->word) xf_abort(__FILE__, __LINE__, "out of memory");
    }
    p->word[len] = c;
    p->word[len + 1] = 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A quoted string into p->word, the cursor at its opening quote. */
static bool read_quoted(parser *p) {
    size_t len = 0;
    word_put(p, 0, 0); /* the empty string until characters come */
    for (p->s++; *p->s != '"'; p->s++) {
        bool escaped = *p->s == '\\';
        p->s += escaped;
        char c = *p->s;
        if (!c || c == '\n') return fail(p, "unterminated string");
        if (escaped) {
            if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (c == 'x' && hex_digit(p->s[1]) >= 0 && hex_digit(p->s[2]) >= 0) {
                c = (char)(hex_digit(p->s[1]) * 16 + hex_digit(p->s[2]));
                p->s += 2;
                if (!c) return fail(p, "a string cannot hold \\x00");
            } else if (c != '"' && c != '\\') return fail(p, "unknown escape '\\%c' in a string", c);
        }
        word_put(p, len++, c);
    }
    p->s++;
    return true;
}

/* A name, bare or quoted, into p->word. */
static bool read_name(parser *p, const char *what) {
    skip(p);
    if (*p->s == '"') return read_quoted(p);
    size_t len = 0;
    while (bare_char(*p->s)) word_put(p, len++, *p->s++);
    if (!len) return fail(p, "expected %s, found %s", what, here(p));
    return true;
}

/* A bare word of letters, digits, '_', '.', '+', '-' and ':' (numbers, `nan:0x...`) into p->word. */
static bool read_token(parser *p, const char *what) {
    skip(p);
    size_t len = 0;
    while (bare_char(*p->s) || *p->s == '+' || *p->s == ':') word_put(p, len++, *p->s++);
    if (!len) return fail(p, "expected %s, found %s", what, here(p));
    return true;
}

/* Does the cursor start the bare word w (and not a longer one)? Consumes it when it does. */
static bool accept_word(parser *p, const char *w) {
    skip(p);
    size_t n = strlen(w);
    if (strncmp(p->s, w, n) != 0 || bare_char(p->s[n])) return false;
    p->s += n;
    return true;
}

/* ---- names ---- */

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int32_t name_find(const parser *p, const char *name) {
    if (!p->nslots) return -1;
    for (uint32_t i = hash(name) & (p->nslots - 1);; i = (i + 1) & (p->nslots - 1)) {
        int32_t v = p->slot[i];
        if (v < 0 || strcmp(p->g->values[v].name, name) == 0) return v;
    }
}

static void name_insert(parser *p, int32_t v) {
    if (2 * (p->nnames + 1) > p->nslots) {
        uint32_t old = p->nslots;
        int32_t *slots = p->slot;
        p->nslots = old ? 2 * old : 256;
        p->slot = malloc(sizeof(int32_t) * p->nslots);
        if (!p->slot) xf_abort(__FILE__, __LINE__, "out of memory");
        memset(p->slot, 0xff, sizeof(int32_t) * p->nslots);
        p->nnames = 0;
        for (uint32_t i = 0; i < old; i++)
            if (slots[i] >= 0) name_insert(p, slots[i]);
        free(slots);
    }
    uint32_t i = hash(p->g->values[v].name) & (p->nslots - 1);
    while (p->slot[i] >= 0) i = (i + 1) & (p->nslots - 1);
    p->slot[i] = v;
    p->nnames++;
}

/* A new value named p->word; the name must be fresh. */
static int32_t define(parser *p, char sigil) {
    if (name_find(p, p->word) >= 0) return fail(p, "value %c%s is defined twice", sigil, p->word), -1;
    int32_t v = xf_value_add(p->g, p->word, 0, -1, NULL);
    name_insert(p, v);
    return v;
}

/* A use: `_` (-1 into *v), `%name` or `$name` of a value defined above. */
static bool read_use(parser *p, int32_t *v, bool may_be_absent) {
    skip(p);
    char sigil = *p->s;
    if (may_be_absent && sigil == '_' && !bare_char(p->s[1])) {
        p->s++;
        *v = -1;
        return true;
    }
    if (sigil != '%' && sigil != '$') return fail(p, "expected a value (%%name or $name), found %s", here(p));
    p->s++;
    if (!read_name(p, "a value name")) return false;
    *v = name_find(p, p->word);
    if (*v < 0) return fail(p, "value %c%s is used before it is defined", sigil, p->word);
    bool is_const = p->g->values[*v].data != NULL;
    if (is_const != (sigil == '$'))
        return fail(p, "%c%s: %s is written %c%s", sigil, p->word, is_const ? "a constant" : "a value that is not a constant",
                    is_const ? '$' : '%', p->word);
    return true;
}

static void list_push(parser *p, int32_t v) {
    if (p->nlist == p->cap_list) {
        p->cap_list = p->cap_list ? 2 * p->cap_list : 16;
        p->list = realloc(p->list, sizeof(int32_t) * (size_t)p->cap_list);
        if (!p->list) xf_abort(__FILE__, __LINE__, "out of memory");
    }
    p->list[p->nlist++] = v;
}

/* ---- numbers ---- */

static bool parse_i64(parser *p, const char *t, int64_t *out) {
    const char *digits = t[0] == '-' ? t + 1 : t;
    bool hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
    char *end;
    errno = 0;
    if (hex) {
        unsigned long long u = strtoull(digits + 2, &end, 16);
        if (!errno && *end == 0 && digits[2] && u <= (t[0] == '-' ? (unsigned long long)INT64_MAX + 1 : INT64_MAX)) {
            *out = t[0] == '-' ? (int64_t)(0 - u) : (int64_t)u;
            return true;
        }
    } else {
        long long x = strtoll(t, &end, 10);
        if (!errno && *end == 0 && (digits[0] >= '0' && digits[0] <= '9')) {
            *out = x;
            return true;
        }
    }
    return fail(p, "'%s' is not an integer (or is out of range)", t);
}

static bool is_float_text(const char *t) {
    const char *digits = t[0] == '-' || t[0] == '+' ? t + 1 : t;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) return false;
    return strpbrk(t, ".eE") || strncmp(digits, "nan", 3) == 0 || strcmp(digits, "inf") == 0;
}

/* A float in the printer's forms (and plain integers): decimals, inf, nan, nan:0xBITS. */
static bool parse_f64(parser *p, const char *t, bool single, double *out, uint64_t *bits, bool *has_bits) {
    *has_bits = false;
    if (strncmp(t, "nan:0x", 6) == 0) {
        char *end;
        errno = 0;
        *bits = strtoull(t + 6, &end, 16);
        if (errno || *end || !t[6] || (single && *bits > 0xffffffffull))
            return fail(p, "'%s' is not a NaN bit pattern", t);
        *has_bits = true;
        *out = NAN;
        return true;
    }
    char *end;
    const char *digits = t[0] == '-' || t[0] == '+' ? t + 1 : t;
    bool ok = (digits[0] >= '0' && digits[0] <= '9') || digits[0] == '.' || strcmp(digits, "inf") == 0 ||
              strcmp(digits, "nan") == 0;
    *out = single ? (double)strtof(t, &end) : strtod(t, &end);
    if (!ok || *end) return fail(p, "'%s' is not a number", t);
    return true;
}

/* ---- statements ---- */

static bool read_type(parser *p, xf_value *v) {
    skip(p);
    if (*p->s == '?') {
        p->s++;
        v->dtype = 0;
    } else {
        if (!read_name(p, "a type")) return false;
        v->dtype = -1; /* the dtype numbers are ONNX's, all below 32 */
        for (int32_t t = 1; t < 32; t++)
            if (strcmp(xf_dtype_name(t), p->word) == 0 && strcmp(p->word, "unknown") != 0) v->dtype = t;
        if (v->dtype < 0) return fail(p, "unknown type '%s'", p->word);
    }
    v->rank = -1;
    if (*p->s != '[') return true; /* no shape: rank unknown */
    p->s++;
    p->depth++;
    v->rank = 0;
    if (!accept(p, ']')) {
        do {
            if (v->rank == XF_MAX_RANK) return fail(p, "more than %d dimensions", XF_MAX_RANK);
            int i = v->rank++;
            skip(p);
            if (*p->s == '?') {
                p->s++;
                v->shape[i] = -1;
            } else if (*p->s >= '0' && *p->s <= '9') {
                if (!read_token(p, "a dimension") || !parse_i64(p, p->word, &v->shape[i])) return false;
                if (v->shape[i] >= ((int64_t)1 << 62)) return fail(p, "dimension %s is too large", p->word);
            } else {
                if (!read_name(p, "a dimension")) return false;
                v->shape[i] = -1;
                v->dim_param[i] = xf_strdup(p->g->arena, p->word);
            }
        } while (accept(p, ','));
        if (!expect(p, ']', "after the dimensions")) return false;
    }
    p->depth--;
    return true;
}

/* One element of a constant of type dtype, stored at byte buffer *buf (grown as needed). */
static bool read_element(parser *p, int32_t dtype, int64_t i, uint8_t **buf, size_t *cap) {
    size_t need = (size_t)xf_dtype_bytes(dtype, i + 1);
    if (need > *cap) { /* zeroed: the 4-bit codes are or-ed in */
        size_t old = *cap;
        *cap = need * 2 + 64;
        *buf = realloc(*buf, *cap);
        if (!*buf) xf_abort(__FILE__, __LINE__, "out of memory");
        memset(*buf + old, 0, *cap - old);
    }
    if (!read_token(p, "a number")) return false;
    uint8_t *at = *buf + (xf_dtype_is_packed(dtype) ? (size_t)i / 2 : (size_t)i * xf_dtype_size(dtype));
    if (dtype == XF_F32 || dtype == XF_F64) {
        double x;
        uint64_t bits;
        bool has_bits;
        if (!parse_f64(p, p->word, dtype == XF_F32, &x, &bits, &has_bits)) return false;
        if (dtype == XF_F32) {
            float f = (float)x;
            uint32_t b = (uint32_t)bits;
            if (has_bits) memcpy(&f, &b, 4);
            memcpy(at, &f, 4);
            if (!isnan(f) && has_bits) return fail(p, "'%s' is not a NaN", p->word);
        } else {
            if (has_bits) memcpy(&x, &bits, 8);
            memcpy(at, &x, 8);
            if (!isnan(x) && has_bits) return fail(p, "'%s' is not a NaN", p->word);
        }
        return true;
    }
    if (dtype == XF_U64) {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(p->word, &end, strncmp(p->word, "0x", 2) ? 10 : 16);
        if (errno || *end || p->word[0] == '-') return fail(p, "'%s' is not a uint64", p->word);
        uint64_t x = u;
        memcpy(at, &x, 8);
        return true;
    }
    int64_t x, lo, hi;
    if (!parse_i64(p, p->word, &x)) return false;
    switch (dtype) {
    case XF_I8: lo = INT8_MIN, hi = INT8_MAX; break;
    case XF_I16: lo = INT16_MIN, hi = INT16_MAX; break;
    case XF_I32: lo = INT32_MIN, hi = INT32_MAX; break;
    case XF_I64: lo = INT64_MIN, hi = INT64_MAX; break;
    case XF_U16: case XF_F16: case XF_BF16: lo = 0, hi = UINT16_MAX; break;
    case XF_U32: lo = 0, hi = UINT32_MAX; break;
    case XF_U4: case XF_I4: case XF_F4E2M1: lo = 0, hi = 15; break;
    default: lo = 0, hi = UINT8_MAX; break; /* uint8, bool, the float8 codes */
    }
    if (x < lo || x > hi) return fail(p, "%s does not fit %s", p->word, xf_dtype_name(dtype));
    if (xf_dtype_is_packed(dtype)) *at |= (uint8_t)(x << (i % 2 * 4));
    else if (xf_dtype_size(dtype) == 1) *at = (uint8_t)x;
    else if (xf_dtype_size(dtype) == 2) { uint16_t y = (uint16_t)x; memcpy(at, &y, 2); }
    else if (xf_dtype_size(dtype) == 4) { uint32_t y = (uint32_t)x; memcpy(at, &y, 4); }
    else memcpy(at, &x, 8);
    return true;
}

/* `$name : type = [elements]`, the cursor after the `$`. */
static bool read_const(parser *p) {
    if (!read_name(p, "a constant name")) return false;
    char *name = xf_strdup(p->g->arena, p->word);
    xf_value v = {0};
    int32_t source = -1;
    if (!expect(p, ':', "after the constant's name") || !read_type(p, &v)) return false;
    if (accept_word(p, "transpose_of") && !read_use(p, &source, false)) return false;
    if (!expect(p, '=', "before the constant's elements")) return false;
    int64_t numel = xf_value_numel(&v);
    if (numel < 0 || xf_value_bytes(&v) < 0)
        return fail(p, "constant $%s needs a type with a known, static shape", name);
    if (xf_dtype_size(v.dtype) == 0) return fail(p, "constant $%s: type %s cannot be held", name, xf_dtype_name(v.dtype));
    if (!expect(p, '[', "before the constant's elements")) return false;
    p->depth++;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int64_t n = 0;
    skip(p);
    if (strncmp(p->s, "...", 3) == 0) return fail(p, "constant $%s was elided (a dump does not read back)", name);
    if (!accept(p, ']')) {
        do {
            if (n == numel) {
                free(buf);
                return fail(p, "constant $%s has more than the %lld elements of its shape", name, (long long)numel);
            }
            if (!read_element(p, v.dtype, n++, &buf, &cap)) return free(buf), false;
        } while (accept(p, ','));
        if (!expect(p, ']', "after the constant's elements")) return free(buf), false;
    }
    p->depth--;
    if (n != numel) {
        free(buf);
        return fail(p, "constant $%s has %lld elements, its shape holds %lld", name, (long long)n, (long long)numel);
    }
    if (name_find(p, name) >= 0) return free(buf), fail(p, "value $%s is defined twice", name);
    static const uint8_t none[8];
    int32_t c = xf_const_add(p->g, name, v.dtype, v.rank, v.shape, buf ? buf : none);
    free(buf);
    name_insert(p, c);
    p->g->values[c].transpose_of = source;
    return true;
}

static bool read_attr_value(parser *p, xf_attr *a) {
    xf_graph *g = p->g;
    skip(p);
    if (*p->s == '"') {
        if (!read_quoted(p)) return false;
        a->type = XF_ATTR_STRING;
        a->s = xf_strdup(g->arena, p->word);
        return true;
    }
    if (*p->s == '$') {
        int32_t v;
        if (!read_use(p, &v, false)) return false;
        a->type = XF_ATTR_TENSOR;
        a->tensor = v;
        return true;
    }
    int list_type = 0;
    if (accept_word(p, "ints")) list_type = XF_ATTR_INTS;
    else if (accept_word(p, "floats")) list_type = XF_ATTR_FLOATS;
    else if (accept_word(p, "strings")) list_type = XF_ATTR_STRINGS;
    if (list_type && !expect(p, '[', "after the list's type")) return false;
    if (!list_type && *p->s != '[') { /* one number */
        if (!read_token(p, "an attribute value")) return false;
        double f;
        uint64_t bits;
        bool has_bits;
        if (!is_float_text(p->word)) {
            a->type = XF_ATTR_INT;
            return parse_i64(p, p->word, &a->i);
        }
        a->type = XF_ATTR_FLOAT;
        if (!parse_f64(p, p->word, true, &f, &bits, &has_bits)) return false;
        a->f = (float)f;
        if (has_bits) {
            uint32_t b = (uint32_t)bits;
            memcpy(&a->f, &b, 4);
        }
        return true;
    }
    if (!list_type) p->s++;
    /* a list: its elements decide its type unless the prefix did */
    p->depth++;
    int32_t count = 0, cap = 0;
    void *items = NULL;
    if (!accept(p, ']')) {
        do {
            skip(p);
            int kind = *p->s == '"' ? XF_ATTR_STRINGS : 0;
            if (!kind) {
                if (!read_token(p, "a list element")) return false;
                kind = is_float_text(p->word) ? XF_ATTR_FLOATS : XF_ATTR_INTS;
            }
            if (!list_type) list_type = kind;
            if (kind != list_type && !(list_type == XF_ATTR_FLOATS && kind == XF_ATTR_INTS))
                return fail(p, "attribute '%s' mixes %s with %s", a->name,
                            list_type == XF_ATTR_STRINGS ? "strings" : list_type == XF_ATTR_INTS ? "ints" : "floats",
                            kind == XF_ATTR_STRINGS ? "strings" : kind == XF_ATTR_INTS ? "ints" : "floats");
            if (count == cap) { /* arena growth: the abandoned copies are small */
                cap = cap ? 2 * cap : 8;
                void *more = xf_alloc(g->arena, 8 * (size_t)cap);
                if (count) memcpy(more, items, 8 * (size_t)count);
                items = more;
            }
            if (list_type == XF_ATTR_STRINGS) {
                if (!read_quoted(p)) return false;
                ((const char **)items)[count++] = xf_strdup(g->arena, p->word);
            } else if (list_type == XF_ATTR_INTS) {
                if (!parse_i64(p, p->word, &((int64_t *)items)[count++])) return false;
            } else {
                double f;
                uint64_t bits;
                bool has_bits;
                if (!parse_f64(p, p->word, true, &f, &bits, &has_bits)) return false;
                float x = (float)f;
                uint32_t b = (uint32_t)bits;
                if (has_bits) memcpy(&x, &b, 4);
                memcpy((int64_t *)items + count++, &x, sizeof x); /* copied out below */
            }
        } while (accept(p, ','));
        if (!expect(p, ']', "after the list")) return false;
    }
    p->depth--;
    if (!list_type) return fail(p, "empty list '%s' needs its type: ints [], floats [] or strings []", a->name);
    a->type = list_type;
    a->n = count;
    if (list_type == XF_ATTR_INTS) a->ints = items ? items : xf_alloc(g->arena, 8);
    else if (list_type == XF_ATTR_STRINGS) a->strings = items ? items : xf_alloc(g->arena, 8);
    else {
        a->floats = xf_alloc(g->arena, sizeof(float) * (size_t)count + 1);
        for (int32_t i = 0; i < count; i++) memcpy(&a->floats[i], (int64_t *)items + i, sizeof(float));
    }
    return true;
}

/* `outs = Op(ins) {attrs} @name`, the cursor at the first output (or at the op when none). */
static bool read_node(parser *p) {
    xf_graph *g = p->g;
    p->nlist = 0;
    skip(p);
    bool has_outputs = *p->s == '%' || *p->s == '_';
    while (has_outputs) {
        skip(p);
        if (*p->s == '_' && !bare_char(p->s[1])) {
            p->s++;
            list_push(p, -1);
        } else {
            if (!expect(p, '%', "before a result's name") || !read_name(p, "a result name")) return false;
            int32_t y = define(p, '%');
            if (y < 0) return false;
            list_push(p, y);
            if (!expect(p, ':', "after the result's name") || !read_type(p, &g->values[y])) return false;
            if (accept_word(p, "at")) {
                if (!read_token(p, "an arena offset") || !parse_i64(p, p->word, &g->values[y].offset)) return false;
                if (g->values[y].offset < 0) return fail(p, "negative arena offset");
            }
            if (accept_word(p, "alias") && !read_use(p, &g->values[y].alias_of, false)) return false;
        }
        if (!accept(p, ',')) break;
    }
    if (has_outputs && !expect(p, '=', "after the results")) return false;
    if (!read_name(p, "an op")) return false;
    int op = xf_op_lookup(p->word);
    if (op < 0) return fail(p, "unknown op '%s'", p->word);
    int32_t nout = p->nlist;
    if (!expect(p, '(', "after the op")) return false;
    p->depth++;
    if (!accept(p, ')')) {
        do {
            int32_t v;
            if (!read_use(p, &v, true)) return false;
            list_push(p, v);
        } while (accept(p, ','));
        if (!expect(p, ')', "after the inputs")) return false;
    }
    p->depth--;
    for (int k = 0; k < nout; k++) /* an input cannot be one of the node's own results */
        for (int j = nout; j < p->nlist; j++)
            if (p->list[k] >= 0 && p->list[j] == p->list[k])
                return fail(p, "node reads its own result %%%s", g->values[p->list[k]].name);
    int32_t node = xf_node_add(g, op, NULL, p->nlist - nout, p->list + nout, nout, p->list);
    if (accept(p, '{')) {
        p->depth++;
        if (!accept(p, '}')) {
            do {
                if (!read_name(p, "an attribute name")) return false;
                if (xf_attr_get(&g->nodes[node], p->word)) return fail(p, "attribute '%s' is given twice", p->word);
                xf_attr *a = xf_node_add_attr(g, node, p->word, 0);
                if (!expect(p, '=', "after the attribute's name") || !read_attr_value(p, a))
                    return false;
            } while (accept(p, ','));
            if (!expect(p, '}', "after the attributes")) return false;
        }
        p->depth--;
    }
    xf_node *n = &g->nodes[node];
    if (accept(p, '@')) {
        if (!read_name(p, "a node name")) return false;
        n->name = xf_strdup(g->arena, p->word);
    } else {
        n->name = xf_strdup(g->arena, default_node_name(g, n));
    }
    return true;
}

static void add_to(xf_graph *g, int32_t **list, int32_t *count, int32_t v) {
    int32_t *more = xf_alloc(g->arena, sizeof(int32_t) * (size_t)(*count + 1));
    if (*count) memcpy(more, *list, sizeof(int32_t) * (size_t)*count);
    more[(*count)++] = v;
    *list = more;
}

static bool read_statement(parser *p) {
    xf_graph *g = p->g;
    skip(p);
    if (*p->s == '$') {
        p->s++;
        return read_const(p);
    }
    if (*p->s == '%' || *p->s == '_') return read_node(p);
    if (accept_word(p, "opset")) {
        return read_token(p, "an opset number") && parse_i64(p, p->word, &g->opset);
    }
    if (accept_word(p, "arena")) {
        if (!read_token(p, "the arena's size") || !parse_i64(p, p->word, &g->arena_bytes)) return false;
        return g->arena_bytes >= 0 || fail(p, "negative arena size");
    }
    if (accept_word(p, "input")) {
        if (!expect(p, '%', "before the input's name") || !read_name(p, "an input name")) return false;
        int32_t v = define(p, '%');
        if (v < 0 || !expect(p, ':', "after the input's name") || !read_type(p, &g->values[v])) return false;
        g->values[v].is_input = true;
        add_to(g, &g->inputs, &g->ninputs, v);
        return true;
    }
    if (accept_word(p, "output")) {
        int32_t v;
        if (!read_use(p, &v, false)) return false;
        g->values[v].is_output = true;
        add_to(g, &g->outputs, &g->noutputs, v);
        return true;
    }
    if (bare_char(*p->s) || *p->s == '"') return read_node(p); /* a node without results */
    return fail(p, "expected a statement, found %s", here(p));
}

xf_graph *xf_graph_parse(const char *text, const char *path, xf_diag *d) {
    parser p = {.s = text, .line = 1, .path = path ? path : "<text>", .d = d};
    p.g = xf_graph_new(path);
    bool ok = true;
    while (ok) {
        skip(&p);
        if (!*p.s) break;
        if (*p.s == '\n') {
            p.s++, p.line++;
            continue;
        }
        ok = read_statement(&p);
        if (ok) {
            skip(&p);
            if (*p.s && *p.s != '\n') ok = fail(&p, "unexpected %s after the statement", here(&p));
        }
    }
    free(p.word);
    free(p.slot);
    free(p.list);
    if (!ok) {
        xf_graph_free(p.g);
        return NULL;
    }
    p.g->nodes_in = p.g->nnodes;
    return p.g;
}
