#!/usr/bin/env python3
"""bad_input.py — feeds xfc malformed models and inputs, one case per CTest test.

    bad_input.py --xfc PATH --data tests/data --work DIR CASE

Each case makes its model with onnx.helper (or raw bytes) under DIR at test time, runs xfc, and
requires what DESIGN.md promises for user errors: exactly one line on stderr, starting
"xfc: error: ", exit status 2, no crash (no signal, no sanitizer report), and nothing written: an
OUT.c and OUT.h that existed before are byte-for-byte unchanged and no stray file appears beside
them. `xfc run` cases also check that the temporary build directory is cleaned up.
Set XF_BAD_VERBOSE=1 to print every diagnostic xfc gave.

Where a bad model is a small edit of a good one, the good one is compiled first (a positive
control), so the failure is known to come from the defect under test. Expected numbers in positive
controls are computed with numpy, not taken from xfc.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys

try:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # a broken venv must fail the test, not skip it
    sys.exit(f"bad_input.py: {sys.executable} cannot import a test dependency ({e}); "
             "run scripts/install-deps.sh or configure with -DXF_PYTHON=...")

TIMEOUT = 60
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                     "runtime error:", "MemorySanitizer", "ThreadSanitizer")
SENTINEL_C = b"/* pre-existing OUT.c: xfc must not touch this on error */\nint keep_me;\n"
SENTINEL_H = b"/* pre-existing OUT.h */\n#define KEEP_ME 1\n\x00\xff binary tail\n"


class Failure(Exception):
    pass


class Runner:
    def __init__(self, xfc, data, work):
        self.xfc, self.data, self.work = xfc, data, work
        self.failures = []

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def scratch(self, prefix, label):
        """A fresh directory named after a check's label."""
        d = self.path(prefix + re.sub(r"[^A-Za-z0-9_.-]+", "_", label))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    # ---- running xfc ----

    def run(self, args, tmpdir=None, cwd=None, stdout=None):
        """stdout: a file to give xfc as its standard output instead of a pipe."""
        env = dict(os.environ)
        if tmpdir:
            env["TMPDIR"] = tmpdir
        try:
            p = subprocess.run([self.xfc] + args, stdin=subprocess.DEVNULL, timeout=TIMEOUT, env=env, cwd=cwd,
                               stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdout = p.stdout or b""
        except subprocess.TimeoutExpired:
            raise Failure(f"xfc {' '.join(args)}: still running after {TIMEOUT} s")
        p.stdout_text = p.stdout.decode("utf-8", "replace")
        p.stderr_text = p.stderr.decode("utf-8", "replace")
        return p

    def check_user_error(self, label, p, mentions=()):
        """The common contract of a user error; mentions: strings the message must contain."""
        problems = []
        if p.returncode < 0:
            problems.append(f"killed by signal {-p.returncode}")
        elif p.returncode != 2:
            problems.append(f"exit status {p.returncode}, expected 2")
        for marker in SANITIZER_MARKERS:
            if marker in p.stderr_text:
                problems.append(f"sanitizer report ({marker})")
        lines = p.stderr_text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != 1 or not lines[0].startswith("xfc: error: ") or not p.stderr_text.endswith("\n"):
            problems.append(f"stderr must be exactly one line starting 'xfc: error: ' (got {len(lines)} line(s)"
                            + (")" if len(lines) != 1 else ", not of that form)"))
        elif len(lines[0]) <= len("xfc: error: "):
            problems.append("the error message is empty")
        else:
            for m in mentions:
                if m not in lines[0]:
                    problems.append(f"the message does not mention {m!r}")
        if problems:
            self.fail(label, problems, p)
        elif os.environ.get("XF_BAD_VERBOSE"):
            print(f"{label}: {p.stderr_text.strip()}")

    def check_success(self, label, p):
        problems = []
        if p.returncode != 0:
            problems.append(f"exit status {p.returncode}, expected 0")
        for marker in SANITIZER_MARKERS:
            if marker in p.stderr_text:
                problems.append(f"sanitizer report ({marker})")
        if problems:
            self.fail(label, problems, p)

    def fail(self, label, problems, p=None):
        msg = f"{label}: " + "; ".join(problems)
        if p is not None:
            msg += f"\n  command: {' '.join(p.args)}\n  exit status: {p.returncode}"
            msg += "\n  stderr: " + (p.stderr_text[-3000:].replace("\n", "\n          ") or "(empty)")
            if p.stdout_text:
                msg += "\n  stdout: " + p.stdout_text[-1000:].replace("\n", "\n          ")
        self.failures.append(msg)

    def compile_must_fail(self, label, model, extra=(), mentions=()):
        """xfc MODEL -o OUT.c must fail and leave OUT.c, OUT.h (and their directory) as they were."""
        out_dir = self.scratch("out_", label)
        out_c, out_h = os.path.join(out_dir, "out.c"), os.path.join(out_dir, "out.h")
        with open(out_c, "wb") as f:
            f.write(SENTINEL_C)
        with open(out_h, "wb") as f:
            f.write(SENTINEL_H)
        p = self.run([model, "-o", out_c] + list(extra))
        self.check_user_error(label, p, mentions)
        problems = []
        for path, want in ((out_c, SENTINEL_C), (out_h, SENTINEL_H)):
            with open(path, "rb") as f:
                if f.read() != want:
                    problems.append(f"{os.path.basename(path)} was modified")
        left = sorted(set(os.listdir(out_dir)) - {"out.c", "out.h"})
        if left:
            problems.append(f"files left beside the outputs: {left}")
        if problems:
            self.fail(label, problems, p)

    def compile_must_work(self, label, model, extra=()):
        out_dir = self.scratch("ok_", label)
        out_c = os.path.join(out_dir, "out.c")
        p = self.run([model, "-o", out_c] + list(extra))
        self.check_success(label, p)
        if p.returncode == 0:
            missing = [f for f in ("out.c", "out.h") if not os.path.isfile(os.path.join(out_dir, f))]
            if missing:
                self.fail(label, [f"exit status 0 but {missing} not written"], p)
        return out_dir

    def xfc_run(self, label, args, expect_error, mentions=()):
        """xfc run ARGS with TMPDIR in the work tree, which must be left empty."""
        tmp = self.scratch("tmp_", label)
        p = self.run(["run"] + args, tmpdir=tmp)
        if expect_error:
            self.check_user_error(label, p, mentions)
        else:
            self.check_success(label, p)
        if os.listdir(tmp):
            self.fail(label, [f"xfc run left {os.listdir(tmp)} in TMPDIR"], p)
        return p


# ---- making models ----

def tensor_type(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def make_model(nodes, inputs, outputs, initializers=(), opset=18):
    graph = helper.make_graph(nodes, "bad_input", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="xfc-tests")
    model.ir_version = 10
    return model


def save(model, path):
    """Serialized as is: no checker and no external-data handling, the defects must survive."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def save_tensor(array, path, name="t"):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())
    return path


def relu_model(shape):
    return make_model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                      [tensor_type("x", TensorProto.FLOAT, shape)],
                      [tensor_type("y", TensorProto.FLOAT, None)])


# ---- the cases ----

def case_missing_file(r):
    model = r.path("no_such_dir", "missing.onnx")
    r.compile_must_fail("missing file", model, mentions=["missing.onnx"])


def case_directory(r):
    model = r.path("a_directory.onnx")
    os.makedirs(model, exist_ok=True)
    r.compile_must_fail("directory", model, mentions=["a_directory.onnx"])


def case_empty_file(r):
    model = r.path("empty.onnx")
    open(model, "wb").close()
    r.compile_must_fail("empty file", model, mentions=["empty.onnx"])


def case_random_bytes(r):
    rng = random.Random(20240601)  # fixed: a failure must reproduce
    for i, size in enumerate((1, 7, 4096, 65536)):
        model = r.path(f"random{i}.onnx")
        with open(model, "wb") as f:
            f.write(bytes(rng.getrandbits(8) for _ in range(size)))
        r.compile_must_fail(f"random bytes ({size})", model)


def case_truncated_model(r):
    src = os.path.join(r.data, "hf", "gpt2", "model.dynamo18.onnx")
    with open(src, "rb") as f:
        blob = f.read()
    for label, cut in (("half", len(blob) // 2), ("all but one byte", len(blob) - 1), ("first 3 bytes", 3)):
        model = r.path(f"truncated_{cut}.onnx")
        with open(model, "wb") as f:
            f.write(blob[:cut])
        r.compile_must_fail(f"truncated gpt2 ({label})", model)


def matmul_model(weight_name, with_weight):
    w = numpy_helper.from_array(np.ones((3, 4), np.float32), "W")
    return make_model([helper.make_node("MatMul", ["x", weight_name], ["y"], name="mm")],
                      [tensor_type("x", TensorProto.FLOAT, [2, 3])],
                      [tensor_type("y", TensorProto.FLOAT, None)], [w] if with_weight else [])


def case_missing_initializer(r):
    r.compile_must_work("matmul with its weight (control)", save(matmul_model("W", True), r.path("ok.onnx")))
    r.compile_must_fail("input names a missing initializer",
                        save(matmul_model("W_missing", True), r.path("missing_init.onnx")), mentions=["W_missing"])
    r.compile_must_fail("no initializers at all", save(matmul_model("W", False), r.path("no_init.onnx")),
                        mentions=["'W'"])


def case_unknown_op(r):
    model = make_model([helper.make_node("FrobnicateXYZ", ["x"], ["y"], name="frob")],
                       [tensor_type("x", TensorProto.FLOAT, [2, 3])], [tensor_type("y", TensorProto.FLOAT, None)])
    r.compile_must_fail("unknown op", save(model, r.path("unknown.onnx")), mentions=["FrobnicateXYZ"])
    custom = make_model([helper.make_node("Relu", ["x"], ["y"], name="custom_relu", domain="com.example")],
                        [tensor_type("x", TensorProto.FLOAT, [2, 3])], [tensor_type("y", TensorProto.FLOAT, None)])
    custom.opset_import.append(helper.make_opsetid("com.example", 1))
    r.compile_must_fail("known op name in an unknown domain", save(custom, r.path("custom.onnx")))


def case_wrong_input_count(r):
    f = TensorProto.FLOAT
    x, y = tensor_type("x", f, [2, 3]), tensor_type("y", f, None)
    variants = [  # (op, inputs, attributes)
        ("Add", ["x", "x", "x"], {}),
        ("Add", ["x"], {}),
        ("Relu", ["x", "x"], {}),
        ("Relu", [], {}),
        ("Where", ["x", "x"], {}),
        ("MatMul", ["x"], {}),
        ("Gemm", ["x"], {}),
        ("Gather", ["x"], {}),
        ("Reshape", ["x"], {}),
        ("Concat", [], {"axis": 0}),
        ("Transpose", [], {}),
        ("Softmax", [], {}),
        ("ReduceMean", [], {}),
        ("Slice", ["x"], {}),
        ("Expand", ["x"], {}),
        ("Range", ["x"], {}),
    ]
    for op, ins, attrs in variants:
        model = make_model([helper.make_node(op, ins, ["y"], name="the_node", **attrs)], [x], [y])
        label = f"{op} with {len(ins)} input(s)"
        r.compile_must_fail(label, save(model, r.path(f"{op}_{len(ins)}.onnx")), mentions=["the_node"])


def case_shape_mismatch(r):
    f = TensorProto.FLOAT
    model = make_model([helper.make_node("Add", ["a", "b"], ["y"], name="add_bad")],
                       [tensor_type("a", f, [2, 3]), tensor_type("b", f, [4, 5])], [tensor_type("y", f, None)])
    r.compile_must_fail("Add of [2,3] and [4,5]", save(model, r.path("add.onnx")), mentions=["add_bad"])
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul_bad")],
                       [tensor_type("a", f, [2, 3]), tensor_type("b", f, [4, 5])], [tensor_type("y", f, None)])
    r.compile_must_fail("MatMul of [2,3] and [4,5]", save(model, r.path("matmul.onnx")), mentions=["matmul_bad"])


def case_dim_overflow(r):
    r.compile_must_fail("input [2^40, 2^40]", save(relu_model([2**40, 2**40]), r.path("overflow.onnx")),
                        mentions=["'x'"])
    r.compile_must_fail("input [2^61, 2] of float (2^62 elements, 2^64 bytes)",
                        save(relu_model([2**61, 2]), r.path("overflow_bytes.onnx")), mentions=["'x'"])
    # each input fits, the concatenation does not: the sum of the axis sizes overflows
    u8 = TensorProto.UINT8
    model = make_model([helper.make_node("Concat", ["a", "b"], ["y"], name="cat", axis=0)],
                       [tensor_type("a", u8, [2**62]), tensor_type("b", u8, [2**62])], [tensor_type("y", u8, None)])
    r.compile_must_fail("Concat of [2^62] and [2^62]", save(model, r.path("overflow_concat.onnx")), mentions=["cat"])
    # an initializer claiming an absurd shape with no data behind it
    w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2**40, 2**40])
    model = make_model([helper.make_node("Add", ["x", "W"], ["y"], name="add")],
                       [tensor_type("x", TensorProto.FLOAT, [1])], [tensor_type("y", TensorProto.FLOAT, None)], [w])
    r.compile_must_fail("initializer [2^40, 2^40]", save(model, r.path("overflow_init.onnx")))


def case_cyclic_graph(r):
    f = TensorProto.FLOAT
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="cyc_add"),
             helper.make_node("Relu", ["a"], ["b"], name="cyc_relu"),
             helper.make_node("Neg", ["a"], ["y"], name="after")]
    model = make_model(nodes, [tensor_type("x", f, [4])], [tensor_type("y", f, None)])
    r.compile_must_fail("two-node cycle", save(model, r.path("cycle.onnx")), mentions=["cycle"])
    self_loop = make_model([helper.make_node("Neg", ["y"], ["y"], name="self")], [tensor_type("x", f, [4])],
                           [tensor_type("y", f, None)])
    r.compile_must_fail("node reading its own output", save(self_loop, r.path("self.onnx")))


def case_dynamic_dim(r):
    model = save(relu_model(["batch", 4]), r.path("dynamic.onnx"))
    r.compile_must_fail("dynamic dimension without --shape", model, mentions=["--shape", "'x'"])
    r.compile_must_fail("--shape naming no input", model, extra=["--shape", "nope=2x4"], mentions=["nope"])
    r.compile_must_fail("--shape contradicting a fixed dimension", model, extra=["--shape", "x=3x5"])
    r.compile_must_fail("--shape with the wrong rank", model, extra=["--shape", "x=3"])
    r.compile_must_fail("input without any shape", save(relu_model(None), r.path("no_shape.onnx")), mentions=["'x'"])


def case_dynamic_dim_fixed_by_shape(r):
    model = save(relu_model(["batch", 4]), r.path("dynamic.onnx"))
    out_dir = r.compile_must_work("dynamic dimension with --shape x=3x4", model, extra=["--shape", "x=3x4"])
    if not r.failures:
        with open(os.path.join(out_dir, "out.h"), "rb") as f:
            header = f.read()
        if b"out_run" not in header:
            r.fail("--shape", ["out.h does not declare out_run"])
    r.compile_must_work("input without any shape, with --shape x=2x3",
                        save(relu_model(None), r.path("no_shape.onnx")), extra=["--shape", "x=2x3"])
    x = np.array([[-1.5, 0, 2, -0.25], [3, -4, 5.5, 0.125], [-0.0, 7, -8, 9]], np.float32)
    inp = save_tensor(x, r.path("x.pb"), "x")
    want = save_tensor(np.maximum(x, 0), r.path("y.pb"), "y")
    r.xfc_run("xfc run with --shape", [model, "--shape", "x=3x4", "--input", inp, "--expect", want, "--atol", "0"],
              expect_error=False)


def case_run_wrong_input_shape(r):
    model = save(relu_model([2, 3]), r.path("relu.onnx"))
    good = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    want = save_tensor(np.maximum(good, 0), r.path("want.pb"), "y")
    r.xfc_run("right input (control)", [model, "--input", save_tensor(good, r.path("good.pb"), "x"),
                                        "--expect", want], expect_error=False)
    for label, array in (("[3,2] for [2,3]", good.reshape(3, 2)),
                         ("[6] for [2,3]", good.reshape(6)),
                         ("[1,2,3] for [2,3]", good.reshape(1, 2, 3)),
                         ("int64 for float", good.astype(np.int64))):
        name = label.split()[0].replace("[", "").replace("]", "").replace(",", "x")
        bad = save_tensor(array, r.path(f"bad_{name}.pb"), "x")
        r.xfc_run(f"input {label}", [model, "--input", bad], expect_error=True, mentions=[bad])
    r.xfc_run("no input given", [model], expect_error=True)
    r.xfc_run("input file missing", [model, "--input", r.path("nope.pb")], expect_error=True, mentions=["nope.pb"])
    r.xfc_run("expected output of the wrong size", [model, "--input", save_tensor(good, r.path("good.pb"), "x"),
                                                    "--expect", save_tensor(good[0], r.path("short.pb"), "y")],
              expect_error=True)


def case_run_gather_out_of_range(r):
    table = np.arange(15, dtype=np.float32).reshape(5, 3)
    model = make_model([helper.make_node("Gather", ["table", "idx"], ["y"], name="gather", axis=0)],
                       [tensor_type("idx", TensorProto.INT64, [2])], [tensor_type("y", TensorProto.FLOAT, None)],
                       [numpy_helper.from_array(table, "table")])
    model = save(model, r.path("gather.onnx"))
    ok = np.array([4, -5], np.int64)  # rows 4 and 0
    r.xfc_run("indices in range (control)", [model, "--input", save_tensor(ok, r.path("ok.pb"), "idx"),
                                             "--expect", save_tensor(table[ok], r.path("want.pb"), "y"),
                                             "--atol", "0"], expect_error=False)
    bad_indices = ([1, 5], [-6, 0], [0, 2**40], [2**62, 1], [-2**63, 0])
    for idx in bad_indices:
        bad = save_tensor(np.array(idx, np.int64), r.path("bad.pb"), "idx")
        r.xfc_run(f"indices {idx}", [model, "--input", bad], expect_error=True, mentions=["out of range"])
    gather_under_asan(r, model, table, bad_indices)


GATHER_DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "gather.h"
/* gather_driver I0 I1: runs the model on two indices in buffers of exactly the right size and
 * prints the status, then the six outputs when it is 0. */
int main(int argc, char **argv) {
    if (argc != 3) return 100;
    int64_t *idx = malloc(2 * sizeof *idx);
    float *y = malloc(6 * sizeof *y);
    void *arena = aligned_alloc(64, 64);
    if (!idx || !y || !arena) return 101;
    idx[0] = strtoll(argv[1], NULL, 10);
    idx[1] = strtoll(argv[2], NULL, 10);
    const void *in[1] = {idx};
    void *out[1] = {y};
    int rc = gather_run(arena, in, out);
    printf("%d", rc);
    for (int i = 0; rc == 0 && i < 6; i++) printf(" %g", y[i]);
    printf("\n");
    free(idx);
    free(y);
    free(arena);
    return 0;
}
"""


def gather_under_asan(r, model, table, bad_indices):
    """The generated code itself, built with AddressSanitizer: an out-of-range index must give
    XFC_ERR_INDEX (3) without a single read outside the weights or the index buffer."""
    cc = os.environ.get("CC") or "cc"
    d = r.scratch("asan_", "gather")
    p = r.run([model, "-o", os.path.join(d, "gather.c")])  # symbols gather_run, gather.h
    r.check_success("gather model to C", p)
    if p.returncode != 0:
        return
    with open(os.path.join(d, "driver.c"), "w") as f:
        f.write(GATHER_DRIVER)
    exe = os.path.join(d, "driver")
    build = subprocess.run([cc, "-std=c11", "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                            "-I", d, "-o", exe, os.path.join(d, "driver.c"), os.path.join(d, "gather.c"), "-lm"],
                           capture_output=True, text=True)
    if build.returncode != 0:
        probe = subprocess.run([cc, "-fsanitize=address", "-x", "c", "-", "-o", os.path.join(d, "probe")],
                               input="int main(void){return 0;}", capture_output=True, text=True)
        if probe.returncode != 0:
            print(f"note: {cc} cannot build with AddressSanitizer here; generated code not checked under it")
            return
        r.fail("building the generated gather code with ASan", [build.stderr[-2000:]])
        return
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    want_ok = " ".join(f"{v:g}" for v in table[[4, 0]].ravel())
    cases = [([4, -5], "0 " + want_ok)] + [(idx, "3") for idx in bad_indices]
    for idx, want in cases:
        p = subprocess.run([exe] + [str(i) for i in idx], capture_output=True, text=True, env=env, timeout=TIMEOUT)
        got = p.stdout.strip()
        if p.returncode != 0 or got != want or any(m in p.stderr for m in SANITIZER_MARKERS):
            r.fail(f"generated code under ASan, indices {idx}",
                   [f"exit {p.returncode}, printed {got!r}, expected {want!r}", p.stderr[-2000:]])


def external_model(location):
    w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2, 2])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    return make_model([helper.make_node("Add", ["x", "W"], ["y"], name="add")],
                      [tensor_type("x", TensorProto.FLOAT, [2, 2])], [tensor_type("y", TensorProto.FLOAT, None)], [w])


def external_setup(r):
    """model/ holds the model and a good weights file; a second weights file lies outside it."""
    weights = np.array([1, 2, 3, 4], np.float32).tobytes()
    os.makedirs(r.path("model", "sub"), exist_ok=True)
    for path in (r.path("model", "weights.bin"), r.path("outside.bin")):
        with open(path, "wb") as f:
            f.write(weights)
    r.compile_must_work("external data inside the model's directory (control)",
                        save(external_model("weights.bin"), r.path("model", "inside.onnx")))


def case_external_data_absolute(r):
    external_setup(r)
    for label, loc in (("absolute path to an existing file", os.path.abspath(r.path("outside.bin"))),
                       ("absolute path into the model's own directory", os.path.abspath(r.path("model", "weights.bin"))),
                       ("/etc/passwd", "/etc/passwd")):
        model = save(external_model(loc), r.path("model", "absolute.onnx"))
        r.compile_must_fail(label, model, mentions=[loc])


def case_external_data_dotdot(r):
    external_setup(r)
    for loc in ("../outside.bin", "sub/../../outside.bin", "./../outside.bin"):
        model = save(external_model(loc), r.path("model", "dotdot.onnx"))
        r.compile_must_fail(f"location {loc!r}", model, mentions=[loc])


# ---- output hygiene ----

def case_output_permissions(r):
    """Generated files get 0666 less the umask, as any new file does: mkstemp's 0600 must not leak
    into model.c, model.h or model.bin, whether the file is new or replaces one."""
    model = save(relu_model([4]), r.path("relu.onnx"))
    old = os.umask(0)
    try:
        for umask in (0o022, 0o027, 0o002):
            os.umask(umask)
            for form in ("inline", "external"):
                d = r.scratch("perm_", f"{umask:03o}_{form}")
                for attempt in ("new", "replacing"):
                    p = r.run([model, "-o", os.path.join(d, "out.c"), "--weights", form])
                    r.check_success(f"umask {umask:03o} --weights {form} ({attempt})", p)
                    for name in ["out.c", "out.h"] + (["out.bin"] if form == "external" else []):
                        path = os.path.join(d, name)
                        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else None
                        if mode != 0o666 & ~umask:
                            r.fail(f"umask {umask:03o}: {name} ({attempt})",
                                   [f"mode {mode:03o}" if mode is not None else "missing",
                                    f"expected {0o666 & ~umask:03o}"], p)
    finally:
        os.umask(old)


def case_output_stdout(r):
    """-o - writes the C, which compiles alone, to standard output and no file at all; it is
    refused (exit 2, nothing written) where a weights file would have to go beside it, and a
    failed write to standard output is an error, not a silent success."""
    model = save(relu_model([4]), r.path("relu.onnx"))
    d = r.scratch("stdout_", "ok")
    p = r.run([model, "-o", "-"], cwd=d)
    r.check_success("-o -", p)
    if os.listdir(d):
        r.fail("-o -", [f"files written: {os.listdir(d)}"], p)
    ref = r.scratch("stdout_", "reference")
    q = r.run([model, "-o", os.path.join(ref, "relu.c")])  # the prefix comes from the model's name
    r.check_success("-o relu.c (reference)", q)
    with open(os.path.join(ref, "relu.c"), "rb") as f:
        if p.returncode == 0 and p.stdout != f.read():
            r.fail("-o -", ["standard output differs from the relu.c that -o relu.c writes"], p)
    for form in ("incbin", "external"):
        d = r.scratch("stdout_", form)
        p = r.run([model, "-o", "-", "--weights", form], cwd=d)
        r.check_user_error(f"-o - --weights {form}", p, mentions=["-o -"])
        if p.stdout or os.listdir(d):
            r.fail(f"-o - --weights {form}", ["wrote something"], p)
    if os.path.exists("/dev/full"):
        d = r.scratch("stdout_", "full")
        with open("/dev/full", "wb") as full:
            p = r.run([model, "-o", "-"], stdout=full, cwd=d)
        r.check_user_error("-o - to a full device", p, mentions=["standard output"])


def case_bad_weights_option(r):
    model = save(relu_model([4]), r.path("relu.onnx"))
    r.compile_must_fail("--weights unknown", model, ["--weights", "numbers"], mentions=["--weights"])
    r.compile_must_fail("--weights without a form", model, ["--weights"], mentions=["--weights"])
    # the assembler reads the .incbin path from a string: a quote in it cannot be written there
    d = r.scratch("quote_", "incbin")
    p = r.run([model, "-o", os.path.join(d, 'a"b.c'), "--weights", "incbin"])
    r.check_user_error("--weights incbin, a quote in the path", p, mentions=["incbin"])
    if os.listdir(d):
        r.fail("--weights incbin, a quote in the path", [f"files written: {os.listdir(d)}"], p)


def case_bad_threads(r):
    model = save(relu_model([4]), r.path("relu.onnx"))
    x = save_tensor(np.ones([4], np.float32), r.path("x.pb"), "x")
    for value in ["0", "-1", "two", "2x", "", "100000"]:
        r.xfc_run(f"run --threads '{value}'", [model, "--input", x, "--threads", value], True, mentions=["--threads"])
    r.xfc_run("run --threads without a count", [model, "--input", x, "--threads"], True, mentions=["--threads"])
    r.check_user_error("compare --threads 0", r.run(["compare", model, "--threads", "0"]), mentions=["--threads"])
    # --emit-pool: the directory must be given and exist; nothing is written elsewhere
    d = r.scratch("pool_", "missing directory")
    p = r.run(["--emit-pool", os.path.join(d, "absent")])
    r.check_user_error("--emit-pool into a missing directory", p, mentions=["xfc_pool"])
    if os.listdir(d):
        r.fail("--emit-pool into a missing directory", [f"files written: {os.listdir(d)}"], p)
    r.check_user_error("--emit-pool without a directory", r.run(["--emit-pool"]), mentions=["--emit-pool"])


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xfc", required=True)
    ap.add_argument("--data", required=True, help="the tests/data directory")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    if not os.access(a.xfc, os.X_OK):
        sys.exit(f"bad_input.py: {a.xfc} is not an executable")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    r = Runner(os.path.abspath(a.xfc), os.path.abspath(a.data), os.path.abspath(a.work))
    try:
        CASES[a.case](r)
    except Failure as e:
        r.failures.append(str(e))
    if r.failures:
        print(f"FAIL {a.case}: {len(r.failures)} problem(s)")
        for f in r.failures:
            print("- " + f)
        return 1
    print(f"ok {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
