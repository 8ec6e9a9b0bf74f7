#!/usr/bin/env python3
"""check_threads_split.py XFC WORKDIR — every kind of split that _run_ex makes, on a model big enough
to make them (the reference models are too small for some): a flat elementwise chain (ranges of
64 elements), a broadcasting one (ranges of rows), a MatMul (ranges of 4 rows) and a batched
MatMul (ranges of the batch). `xfc run` with 1, 2 and 3 threads must match onnxruntime within 1e-4
and give the same bytes each time.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def model():
    rng = np.random.default_rng(7)
    inits = [numpy_helper.from_array(rng.standard_normal(1024).astype(np.float32), "bias"),
             numpy_helper.from_array(rng.standard_normal((1024, 64)).astype(np.float32) / 32, "w"),
             numpy_helper.from_array(rng.standard_normal((8, 64, 32)).astype(np.float32), "b")]
    nodes = [
        helper.make_node("Tanh", ["x"], ["t"]),
        helper.make_node("Mul", ["t", "x"], ["flat"]),          # same shape: one flat loop
        helper.make_node("Sigmoid", ["x"], ["s"]),
        helper.make_node("Add", ["s", "bias"], ["rows"]),       # broadcast: a loop over rows
        helper.make_node("MatMul", ["rows", "w"], ["mm"]),      # [64, 1024] @ [1024, 64]
        helper.make_node("Reshape", ["flat", "shape"], ["a"]),
        helper.make_node("MatMul", ["a", "b"], ["bmm"]),        # [8, 128, 64] @ [8, 64, 32]
    ]
    inits.append(numpy_helper.from_array(np.array([8, 128, 64], np.int64), "shape"))
    graph = helper.make_graph(
        nodes, "threads", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 1024])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("flat", "rows", "mm", "bmm")],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def main():
    xfc, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "threads.onnx")
    onnx.save(model(), path)
    x = np.random.default_rng(1).standard_normal((64, 1024)).astype(np.float32)
    x_file = os.path.join(work, "x.pb")
    with open(x_file, "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    expect = []
    for i, y in enumerate(sess.run(None, {"x": x})):
        expect += ["--expect", os.path.join(work, f"want_{i}.pb")]
        with open(expect[-1], "wb") as f:
            f.write(numpy_helper.from_array(y, f"y{i}").SerializeToString())

    c_file = os.path.join(work, "threads.c")
    subprocess.run([xfc, path, "-O2", "-o", c_file], check=True)
    with open(c_file) as f:
        splits = f.read().count("ex->parallel_for(")
    if splits < 4:
        sys.exit(f"expected at least 4 calls or loops split over threads, found {splits}")

    outputs = {}
    for threads in (1, 2, 3):
        saved = [os.path.join(work, f"got_{threads}_{i}.pb") for i in range(4)]
        r = subprocess.run([xfc, "run", path, "-O2", "--threads", str(threads), "--input", x_file, *expect,
                            "--atol", "1e-4"] + [a for s in saved for a in ("--output", s)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{threads} threads: xfc run failed: {r.stdout.strip()} {r.stderr.strip()}")
        outputs[threads] = [open(s, "rb").read() for s in saved]
    for threads in (2, 3):
        for i in range(4):
            if outputs[threads][i] != outputs[1][i]:
                sys.exit(f"output {i}: {threads} threads give other bytes than 1 thread")
    print(f"{splits} splits; 1, 2 and 3 threads give the same bytes, within 1e-4 of onnxruntime")


if __name__ == "__main__":
    main()
