#!/usr/bin/env python3
"""check_ssd.py XFC WORKDIR — Mamba-2's chunked SSD, written node by node as the exporters write
Hugging Face's reference code, must fuse into one xfc.SsdScan when it is exactly that computation,
and must stay unfused (with a near miss in the report) when it is not.

Each case builds the graph with onnx.helper, runs it with onnxruntime, checks onnxruntime against the
recurrence computed here with numpy, then requires `xfc run` at -O0 and -O2 to match onnxruntime
within 1e-4 and `xfc report --json` to count the expected number of selective_scan fusions.
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self):
        self.nodes, self.inits, self.k = [], [], 0

    def name(self, label):
        self.k += 1
        return f"{label}_{self.k}"

    def const(self, array, label="c"):
        n = self.name(label)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def ints(self, *v):
        return self.const(np.array(v, dtype=np.int64), "ints")

    def op(self, op_type, *inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name="node_" + out, **attrs))
        return out

    def unsq(self, v, *axes):
        return self.op("Unsqueeze", v, self.ints(*axes))

    def rsum(self, v, axis):
        return self.op("ReduceSum", v, self.ints(axis), keepdims=0)

    def pad_steps(self, v, rank, pad, before=False):
        pads = [0] * (2 * rank)
        pads[(1 if not before else rank - 1) + (0 if before else rank)] = pad
        return self.op("Pad", v, self.ints(*pads), self.const(np.float32(0)))


def segsum_exp(gb, a, t, rank, bad_mask=False):
    """Exp(segsum(a)) for a of the given rank and last dim t, as the reference code writes it."""
    i, j = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
    ge = j >= i
    if bad_mask:
        ge = j > i  # the diagonal kept: a different (wrong) sum
    e = gb.op("Expand", gb.unsq(a, -1), gb.ints(*([1] * rank + [t])))
    w1 = gb.op("Where", gb.const(ge), gb.const(np.float32(0)), e)
    cs = gb.op("CumSum", w1, gb.const(np.int64(-2)))
    w2 = gb.op("Where", gb.const(j > i), gb.const(np.float32(-np.inf)), cs)
    return gb.op("Exp", w2)


def build(b, l, h, p, g, n, chunk, with_d=True, bad_mask=False, leak=False, tiled=False):
    gb = Builder()
    rng = np.random.default_rng(7)
    pad = (chunk - l % chunk) % chunk
    lp, c, L = l + pad, (l + pad) // chunk, chunk
    A = -np.exp(rng.uniform(0, 1.5, h)).astype(np.float32)
    D = rng.uniform(0.5, 1.5, h).astype(np.float32)
    x, dt, B, C = "x", "dt", "B", "C"
    # B, C repeated per head: Reshape(Expand(Unsqueeze(v, 3)))
    # tiled: Unsqueeze before the group axis, so head hd reads group hd % g (not hd // (h/g))
    rep = lambda v: gb.op("Reshape", gb.op("Expand", gb.unsq(v, 2 if tiled else 3),
                                           gb.ints(b, l, h // g, g, n) if tiled else gb.ints(b, l, g, h // g, n)),
                          gb.ints(b, l, h, n))
    Bh, Ch = rep(B), rep(C)
    dres = gb.op("Mul", gb.const(D.reshape(h, 1), "D"), gb.pad_steps(x, 4, pad)) if with_d else None
    xdt = gb.op("Mul", x, gb.unsq(dt, -1))
    adt = gb.op("Mul", gb.const(A, "A"), dt)
    X = gb.op("Reshape", gb.pad_steps(xdt, 4, pad), gb.ints(b, c, L, h, p))
    T = gb.op("Transpose", gb.op("Reshape", gb.pad_steps(adt, 3, pad), gb.ints(b, c, L, h)), perm=[0, 3, 1, 2])
    Bc = gb.op("Reshape", gb.pad_steps(Bh, 4, pad), gb.ints(b, c, L, h, n))
    Cc = gb.op("Reshape", gb.pad_steps(Ch, 4, pad), gb.ints(b, c, L, h, n))
    acum = gb.op("CumSum", T, gb.const(np.int64(-1)))
    # 1. within each chunk
    Lm = segsum_exp(gb, T, L, 4, bad_mask)
    G = gb.rsum(gb.op("Mul", gb.unsq(Cc, 3), gb.unsq(Bc, 2)), -1)
    M = gb.rsum(gb.op("Mul", gb.unsq(G, -1), gb.unsq(gb.op("Transpose", Lm, perm=[0, 2, 3, 4, 1]), -1)), -1)
    Yd = gb.rsum(gb.op("Mul", gb.unsq(M, -1), gb.unsq(X, 2)), 3)
    # 2. the state each chunk leaves
    last = gb.op("Slice", acum, gb.ints(-1), gb.ints(2**62), gb.ints(-1))
    decay = gb.op("Exp", gb.op("Sub", last, acum))
    Bd = gb.op("Mul", Bc, gb.unsq(gb.op("Transpose", decay, perm=[0, 2, 3, 1]), -1))
    S = gb.rsum(gb.op("Mul", gb.unsq(Bd, -2), gb.unsq(X, -1)), 2)
    if leak:
        gb.leak = S
    # 3. the states passed between chunks
    cat = gb.op("Concat", gb.const(np.zeros((b, 1, h, p, n), np.float32), "zeros"), S, axis=1)
    tot = gb.pad_steps(gb.op("Gather", acum, gb.const(np.int64(-1)), axis=-1), 3, 1, before=True)
    Dc = gb.op("Transpose", segsum_exp(gb, tot, c + 1, 3), perm=[0, 3, 2, 1])
    new = gb.rsum(gb.op("Mul", gb.unsq(Dc, -1, -2), gb.unsq(cat, 2)), 1)
    St = gb.op("Slice", new, gb.ints(0), gb.ints(-1), gb.ints(1))
    # 4. the states' contribution to each output
    Ct = gb.rsum(gb.op("Mul", gb.unsq(Cc, -2), gb.unsq(St, 2)), -1)
    Yo = gb.op("Mul", Ct, gb.unsq(gb.op("Transpose", gb.op("Exp", acum), perm=[0, 2, 3, 1]), -1))
    y = gb.op("Reshape", gb.op("Add", Yd, Yo), gb.ints(b, lp, h, p))
    if with_d:
        y = gb.op("Add", y, dres)
    if pad:
        y = gb.op("Slice", y, gb.ints(0), gb.ints(l), gb.ints(1))
    f = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("x", f, [b, l, h, p]), helper.make_tensor_value_info("dt", f, [b, l, h]),
              helper.make_tensor_value_info("B", f, [b, l, g, n]), helper.make_tensor_value_info("C", f, [b, l, g, n])]
    outputs = [helper.make_tensor_value_info(y, f, [b, l, h, p])]
    if leak:
        outputs.append(helper.make_tensor_value_info(S, f, [b, c, h, p, n]))
    graph = helper.make_graph(gb.nodes, "ssd", inputs, outputs, gb.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    feeds = {"x": rng.standard_normal((b, l, h, p)).astype(np.float32),
             "dt": rng.uniform(0.01, 0.5, (b, l, h)).astype(np.float32),
             "B": rng.standard_normal((b, l, g, n)).astype(np.float32),
             "C": rng.standard_normal((b, l, g, n)).astype(np.float32)}
    return model, feeds, (A, D if with_d else None)


def recurrence(feeds, A, D, g, tiled=False):
    """The scan the graph computes, step by step."""
    x, dt, B, C = feeds["x"], feeds["dt"], feeds["B"], feeds["C"]
    b, l, h, p = x.shape
    n = B.shape[-1]
    y = np.zeros_like(x, dtype=np.float64)
    for bi in range(b):
        for hd in range(h):
            grp = hd % g if tiled else hd // (h // g)
            s = np.zeros((p, n))
            for t in range(l):
                s = np.exp(dt[bi, t, hd] * A[hd]) * s + np.outer(x[bi, t, hd] * dt[bi, t, hd], B[bi, t, grp])
                y[bi, t, hd] = s @ C[bi, t, grp] + (D[hd] * x[bi, t, hd] if D is not None else 0)
    return y


CASES = [  # name, build arguments, scans fused at -O2
    ("two_chunks", dict(b=1, l=16, h=4, p=8, g=1, n=16, chunk=8), 1),
    ("padded_grouped", dict(b=2, l=10, h=4, p=4, g=2, n=8, chunk=4), 1),
    ("one_chunk_no_skip", dict(b=1, l=8, h=2, p=4, g=1, n=4, chunk=16, with_d=False), 1),
    # B and C tiled, not repeated, with as many copies as groups: fuses reading the per-head tensors
    ("tiled_groups", dict(b=1, l=8, h=4, p=4, g=2, n=8, chunk=4, tiled=True), 1),
    ("wrong_mask", dict(b=1, l=16, h=4, p=8, g=1, n=16, chunk=8, bad_mask=True), 0),
    ("state_used_outside", dict(b=1, l=16, h=4, p=8, g=1, n=16, chunk=8, leak=True), 0),
]


def main():
    xfc, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    failed = 0
    for name, kw, want in CASES:
        model, feeds, (A, D) = build(**kw)
        path = os.path.join(work, f"ssd_{name}.onnx")
        onnx.save(model, path)
        got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
        if not kw.get("bad_mask"):
            err = np.max(np.abs(got[0] - recurrence(feeds, A, D, kw["g"], kw.get("tiled", False))))
            if err > 1e-4:
                print(f"{name}: the graph itself is off the recurrence by {err:.3g}")
                failed += 1
                continue
        args = []
        for k, v in feeds.items():
            f = os.path.join(work, f"ssd_{name}.{k}.pb")
            onnx.save_tensor(numpy_helper.from_array(v), f)
            args += ["--input", f]
        want_file = os.path.join(work, f"ssd_{name}.y.pb")
        onnx.save_tensor(numpy_helper.from_array(got[0]), want_file)
        for opt in ("-O0", "-O2"):
            r = subprocess.run([xfc, "run", path, opt, *args, "--expect", want_file, "--atol", "1e-4"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{name} {opt}: xfc run failed: {r.stdout.strip()} {r.stderr.strip()}")
                failed += 1
        r = subprocess.run([xfc, "report", path, "-O2", "--json"], capture_output=True, text=True)
        report = json.loads(r.stdout)
        fused = report["fusions"]["selective_scan"]
        misses = [m for m in report["missed"] if m["pattern"] == "selective_scan"]
        ok = fused == want and (want == 1 or misses)
        print(f"{name}: {fused} fused (want {want}), nodes {report['nodes_in']} -> {report['nodes_out']}"
              + (f", missed: {misses[0]['reason']}" if misses else "") + ("" if ok else "  FAIL"))
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
