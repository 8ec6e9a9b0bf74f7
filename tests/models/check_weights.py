#!/usr/bin/env python3
"""check_weights.py XFC WORKDIR — the three forms of the weights (--weights inline, incbin, external).

One small model holds weights chosen to trip up the encoding: every byte value, bytes that need an
escape followed by digits (an octal escape must not swallow them), '"', '\\', trigraph sequences,
float NaN, infinities, -0 and subnormals, int64 extremes, and a weight small enough to stay numbers.
Each form must give exactly the outputs numpy computes. Then, with small C programs:
a NULL, short, misaligned or foreign weights buffer is refused (XFC_ERR_WEIGHTS, XFC_ERR_ALIGN); an
incbin'd file of the wrong size or content is refused at run time and can be moved with
<NAME>_WEIGHTS_FILE; --weights-section puts the bytes in that section; a target of the other byte
order does not compile.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save_tensor
import onnx

CC = os.environ.get("CC") or "cc"
FORMS = ("inline", "incbin", "external")


def tricky_bytes():
    out = list(range(256))
    for b in (0, 1, 7, 8, 9, 10, 31, 63, 64, 127, 128, 255):  # escapes, then each digit
        for d in b"0123456789":
            out += [b, d]
    out += list(b'??=??/??\'??(??)??!??<??>??-"\\"\\\\0\\1?')
    rng = np.random.default_rng(7)
    out += list(rng.integers(0, 256, 3000))  # many lines, escapes at line ends
    return np.array(out, dtype=np.uint8)


def tricky_floats():
    f = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 1.17e-38, 3.4e38, 1.0, -2.5, 0.1],
                 dtype=np.float32)
    nan_payload = np.array([0x7fc00001, 0xffffffff, 0x7f800001], dtype=np.uint32).view(np.float32)
    rng = np.random.default_rng(8)
    return np.concatenate([f, nan_payload, rng.standard_normal(500).astype(np.float32)])


def build(path, b, f, i):
    """y_b = x_b + B (uint8), y_f = x_f + F (float32), y_i = x_i + I (int64), y_s = x_s * S (3 floats,
    printed as numbers)."""
    s = np.array([0.5, -3.0, 7.25], dtype=np.float32)
    nodes, inputs, outputs, inits = [], [], [], []
    for name, w, dtype, op in (("b", b, TensorProto.UINT8, "Add"), ("f", f, TensorProto.FLOAT, "Add"),
                               ("i", i, TensorProto.INT64, "Add"), ("s", s, TensorProto.FLOAT, "Mul")):
        nodes.append(helper.make_node(op, [f"x_{name}", f"W_{name}"], [f"y_{name}"], name=f"node_{name}"))
        inputs.append(helper.make_tensor_value_info(f"x_{name}", dtype, list(w.shape)))
        outputs.append(helper.make_tensor_value_info(f"y_{name}", dtype, list(w.shape)))
        inits.append(numpy_helper.from_array(w, f"W_{name}"))
    graph = helper.make_graph(nodes, "weights", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="xfc-tests")
    model.ir_version = 10
    onnx.save(model, path)
    return path, s


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wt.h"
/* driver [FILE MODE]: runs wt on zero inputs; with --weights external, on the weights in FILE,
 * passed as MODE says (ok, null, short, misaligned). Prints the status, then for status 0 the sum
 * of the bytes of output 0. */
static size_t dtype_size(int32_t t) { return t == 1 ? 4 : t == 7 ? 8 : 1; }
int main(int argc, char **argv) {
    const void *in[WT_NUM_INPUTS];
    void *out[WT_NUM_OUTPUTS];
    for (int k = 0; k < WT_NUM_INPUTS; k++) {
        size_t n = dtype_size(wt_inputs[k].dtype);
        for (int j = 0; j < wt_inputs[k].rank; j++) n *= (size_t)wt_inputs[k].shape[j];
        in[k] = calloc(n, 1);
    }
    size_t out0 = 1;
    for (int k = 0; k < WT_NUM_OUTPUTS; k++) {
        size_t n = dtype_size(wt_outputs[k].dtype);
        for (int j = 0; j < wt_outputs[k].rank; j++) n *= (size_t)wt_outputs[k].shape[j];
        out[k] = malloc(n);
        if (k == 0) out0 = n;
    }
    void *arena = aligned_alloc(64, WT_ARENA_BYTES ? (WT_ARENA_BYTES + 63) / 64 * 64 : 64);
#ifdef WT_WEIGHTS_BYTES
    if (argc != 3) return 100;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 101;
    unsigned char *buf = aligned_alloc(64, (WT_WEIGHTS_BYTES + 64 + 63) / 64 * 64);
    unsigned char *w = strcmp(argv[2], "misaligned") == 0 ? buf + 1 : buf;
    size_t n = fread(w, 1, WT_WEIGHTS_BYTES + 1, f);
    fclose(f);
    if (strcmp(argv[2], "short") == 0) n = WT_WEIGHTS_BYTES - 1;
    int rc = wt_run(strcmp(argv[2], "null") == 0 ? NULL : w, n, arena, in, out);
#else
    (void)argv;
    if (argc != 1) return 100;
    int rc = wt_run(arena, in, out);
#endif
    printf("%d", rc);
    if (rc == 0) {
        unsigned long sum = 0;
        for (size_t k = 0; k < out0; k++) sum += ((const unsigned char *)out[0])[k];
        printf(" %lu", sum);
    }
    printf("\n");
    return 0;
}
"""


class Checks:
    def __init__(self, xfc, work):
        self.xfc, self.work, self.failed = xfc, work, 0

    def expect(self, ok, what, detail=""):
        if not ok:
            print(f"FAIL {what}" + (f"\n  {detail.strip()[:2000]}" if detail else ""))
            self.failed += 1
        return ok

    def xfc_c(self, model, form, d, *extra):
        """Compiles the model to d/wt.c with prefix wt."""
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        r = run([self.xfc, model, "--name", "wt", "--weights", form, "-o", os.path.join(d, "wt.c"), *extra])
        self.expect(r.returncode == 0, f"xfc --weights {form} {' '.join(extra)}", r.stderr)
        return os.path.join(d, "wt.c")

    def driver(self, d, *cflags):
        """Builds d/wt.c with the driver; returns the executable, or None after reporting."""
        with open(os.path.join(d, "driver.c"), "w") as f:
            f.write(DRIVER)
        exe = os.path.join(d, "driver")
        r = run([CC, "-std=c11", "-O1", *cflags, "-I", d, "-o", exe, os.path.join(d, "driver.c"),
                 os.path.join(d, "wt.c"), "-lm"])
        return exe if self.expect(r.returncode == 0, f"build the driver in {d}", r.stderr) else None

    def status(self, exe, *args):
        r = run([exe, *args])
        self.expect(r.returncode == 0, f"{exe} {' '.join(args)} exits 0", r.stderr)
        return r.stdout.split()


def main():
    xfc, work = sys.argv[1], os.path.abspath(sys.argv[2])  # absolute: the incbin path is as given
    os.makedirs(work, exist_ok=True)
    c = Checks(xfc, work)
    b, f, i = tricky_bytes(), tricky_floats(), np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0,
                                                          1 << 40] + list(range(20)), dtype=np.int64)
    model, s = build(os.path.join(work, "weights.onnx"), b, f, i)

    # every form computes exactly numpy's outputs (NaN where numpy has NaN)
    rng = np.random.default_rng(9)
    xs = {"b": rng.integers(0, 256, b.shape).astype(np.uint8), "f": np.zeros_like(f),
          "i": rng.integers(-1000, 1000, i.shape).astype(np.int64), "s": np.array([2, 4, -1], np.float32)}
    ws = {"b": b, "f": f, "i": i, "s": s}
    args = []
    for k in "bfis":
        save_tensor(numpy_helper.from_array(xs[k], f"x_{k}"), os.path.join(work, f"x_{k}.pb"))
        args += ["--input", os.path.join(work, f"x_{k}.pb")]
    with np.errstate(over="ignore", invalid="ignore"):
        want = {k: (xs[k] * ws[k] if k == "s" else xs[k] + ws[k]).astype(ws[k].dtype) for k in "bfis"}
    for k in "bfis":
        save_tensor(numpy_helper.from_array(want[k], f"y_{k}"), os.path.join(work, f"y_{k}.pb"))
        args += ["--expect", os.path.join(work, f"y_{k}.pb")]
    for form in FORMS:
        r = run([xfc, "run", model, "--weights", form, *args, "--atol", "0"])
        c.expect(r.returncode == 0, f"xfc run --weights {form}: outputs equal numpy's", r.stdout + r.stderr)
        text = open(c.xfc_c(model, form, os.path.join(work, form))).read()
        c.expect(("union {" in text) == (form == "inline"), f"{form}: large weights as a string literal "
                 "in the C exactly when inline")
        c.expect("{\n    0.5f, -3.0f, 7.25f\n}" in text, f"{form}: the 3-element weight printed as numbers")
        for cc in ("gcc", "clang"):
            if shutil.which(cc):
                r = run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", "-o", os.devnull,
                         os.path.join(work, form, "wt.c")])
                c.expect(r.returncode == 0, f"{form}: {cc} -pedantic -Werror compiles the C", r.stderr)
        # the bytes are the host's (little-endian here): a big-endian target must not compile them
        big = ["-U__BYTE_ORDER__", "-D__BYTE_ORDER__=__ORDER_BIG_ENDIAN__", "-Wno-builtin-macro-redefined"]
        r = run([CC, "-std=c99", "-fsyntax-only", *big, os.path.join(work, form, "wt.c")])
        c.expect(r.returncode != 0 and "big-endian" in r.stderr, f"{form}: a big-endian target is refused",
                 r.stderr)

    # --weights external: the checks of wt_run on the buffer it gets
    d = os.path.join(work, "external")
    exe = c.driver(d)
    other = os.path.join(work, "other")  # the same model with other weight values: same size, other bytes
    model2, _ = build(os.path.join(work, "other.onnx"), b[::-1].copy(), f, i)
    c.xfc_c(model2, "external", other)
    if exe:
        good = os.path.join(d, "wt.bin")
        bad_header = os.path.join(work, "bad_header.bin")
        data = bytearray(open(good, "rb").read())
        data[3] ^= 1
        open(bad_header, "wb").write(data)
        for mode, path, want_rc in (("ok", good, "0"), ("null", good, "4"), ("short", good, "4"),
                                    ("misaligned", good, "2"), ("ok", os.path.join(other, "wt.bin"), "4"),
                                    ("ok", bad_header, "4")):
            got = c.status(exe, path, mode)
            c.expect(got[:1] == [want_rc], f"external, {mode} {os.path.basename(path)}: status {want_rc}", str(got))
            if want_rc == "0":
                c.expect(got[1:] == [str(int(b.astype(np.int64).sum()))], "external: output 0 is B", str(got))

    # --weights incbin: a file of another size or content is refused at run time; WT_WEIGHTS_FILE moves it
    d = os.path.join(work, "incbin")
    bin_path = os.path.join(d, "wt.bin")
    moved = os.path.join(work, "moved.bin")
    shutil.copy(bin_path, moved)
    exe = c.driver(d, f'-DWT_WEIGHTS_FILE="{moved}"')
    if exe:
        got = c.status(exe)
        c.expect(got == ["0", str(int(b.astype(np.int64).sum()))], "incbin: the right file, moved", str(got))
    for what, content in (("short", open(moved, "rb").read()[:-64]), ("foreign", open(os.path.join(other, "wt.bin"),
                                                                                      "rb").read())):
        open(bin_path, "wb").write(content)
        exe = c.driver(d)
        if exe:
            got = c.status(exe)
            c.expect(got == ["4"], f"incbin: a {what} weights file gives XFC_ERR_WEIGHTS", str(got))

    # --weights-section: the bytes land in that section, in the C and through .incbin
    for form in ("inline", "incbin"):
        d = os.path.join(work, "section_" + form)
        src = c.xfc_c(model, form, d, "--weights-section", ".xfc_weights")
        obj = os.path.join(d, "wt.o")
        r = run([CC, "-c", "-o", obj, src])
        if c.expect(r.returncode == 0, f"{form} --weights-section compiles", r.stderr):
            r = run(["objdump", "-h", obj])
            sizes = [int(line.split()[2], 16) for line in r.stdout.splitlines() if " .xfc_weights " in line]
            c.expect(sizes and sizes[0] >= b.nbytes + f.nbytes + i.nbytes,
                     f"{form}: .xfc_weights holds the weights", r.stdout)

    if c.failed:
        print(f"{c.failed} check(s) failed")
        return 1
    print("all weights forms agree; bad weights buffers and byte orders are refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
