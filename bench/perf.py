"""perf.py — the Python half of bench/perf.sh: makes the small one-kernel models, then measures xfc's
generated code against onnxruntime (whole models) and OpenBLAS (GEMM), and memory-bound kernels
against the machine's read bandwidth; prints tables and writes every figure to a JSON file.

    perf.py models WORK CACHE [--sections models,gemm,memory]
                                         writes WORK/<case>/model.onnx (+ raw inputs) and
                                         WORK/cases.json; CACHE holds the bench-size llama and mamba
    perf.py measure WORK --repeat N --json OUT [--threads 1,2] [--sections models,gemm,memory]

perf.sh compiles each WORK/<case>/model.onnx with xfc into WORK/<case>/driver (bench/perf_driver.c
linked with the generated C) and bench/perf_blas.c into WORK/perf_blas between the two steps.

Timing: each program under test is one long-lived process (or, for onnxruntime, one session in this
process) that stays warm; the samples alternate between the two sides (xfc, other, xfc, other ...),
so a slow moment of a shared machine hits both alike, and each figure is the median of the samples.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_models import GraphBuilder, rms_norm  # noqa: E402  (the exporter's RMSNorm form)

SEQ = 128  # tokens of the prefill; M of every GEMM
# (K, N) of the bench models' matrix products, and where each occurs
GEMM_SHAPES = [(512, 512, "q/o projections"), (512, 256, "GQA k/v projections"),
               (512, 1408, "FFN gate/up"), (1408, 512, "FFN down"), (512, 8192, "LM head")]
# Memory-bound kernels: the norm and elementwise operands are 64 MiB, far larger than any cache, so
# they stream from memory; the GEMV is the decode step's LM head, one 512x8192 weight (16 MiB).
STREAM_ROWS, HIDDEN, VOCAB = 32768, 512, 8192
SAMPLE_MS = 50  # a microbenchmark sample repeats its kernel for at least this long


# ---- making the models ----

def save_model(g, inputs, outputs, path):
    graph = helper.make_graph(g.nodes, os.path.basename(os.path.dirname(path)), inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def f32_info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def matmul_model(path, m, k, n, rng):
    """x [1, m, k] times a constant weight [k, n]: a linear layer as the exporter writes it."""
    g = GraphBuilder(rng)
    y = g.op("MatMul", ["x", g.weight("weight", g.normal((k, n)))], "y")
    save_model(g, [f32_info("x", [1, m, k])], [f32_info(y, [1, m, n])], path)


def rms_norm_model(path, rng):
    g = GraphBuilder(rng)
    y = rms_norm(g, "x", g.weight("norm_weight", g.gain(HIDDEN)), 1e-6)
    save_model(g, [f32_info("x", [1, STREAM_ROWS, HIDDEN])], [f32_info(y, [1, STREAM_ROWS, HIDDEN])], path)


def add_model(path, rng):
    """The residual connection: an Add of two activations."""
    g = GraphBuilder(rng)
    y = g.op("Add", ["x", "residual"], "add")
    shape = [1, STREAM_ROWS, HIDDEN]
    save_model(g, [f32_info("x", shape), f32_info("residual", shape)], [f32_info(y, shape)], path)


def write_raw_inputs(pbs, out_dir):
    """The C driver reads an input as the bare bytes of its tensor, in the model's dtype."""
    raws = []
    for i, pb in enumerate(pbs):
        t = TensorProto()
        with open(pb, "rb") as f:
            t.ParseFromString(f.read())
        raw = os.path.join(out_dir, f"input_{i}.raw")
        np.ascontiguousarray(numpy_helper.to_array(t)).tofile(raw)
        raws.append(raw)
    return raws


def make_cases(work, cache, sections):
    rng = np.random.default_rng(20240607)
    cases = []
    for name in ("llama", "mamba") if "models" in sections else ():
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        onnx_path = os.path.abspath(os.path.join(cache, name, "model.onnx"))
        os.symlink(onnx_path, os.path.join(d, "model.onnx"))
        pbs = [os.path.abspath(os.path.join(cache, name, "input_0.pb"))]
        cases.append(dict(kind="model", name=name, dir=d, pbs=pbs, inputs=write_raw_inputs(pbs, d)))
    for k, n, use in GEMM_SHAPES if "gemm" in sections else ():
        d = os.path.join(work, f"gemm_{k}x{n}")
        matmul_model(os.path.join(d, "model.onnx"), SEQ, k, n, rng)
        cases.append(dict(kind="gemm", name=f"{SEQ}x{k}x{n}", use=use, dir=d, m=SEQ, k=k, n=n, inputs=[]))
    elems = STREAM_ROWS * HIDDEN
    memory = [("rms_norm", f"[{STREAM_ROWS}, {HIDDEN}]", 4 * (2 * elems + HIDDEN), rms_norm_model),
              ("add", f"[{STREAM_ROWS}, {HIDDEN}] x2", 4 * 3 * elems, add_model),
              ("gemv", f"1x{HIDDEN}x{VOCAB}", 4 * (HIDDEN * VOCAB + HIDDEN + VOCAB),
               lambda p, r: matmul_model(p, 1, HIDDEN, VOCAB, r))]
    for name, shape, nbytes, make in memory if "memory" in sections else ():
        d = os.path.join(work, name)
        make(os.path.join(d, "model.onnx"), rng)
        cases.append(dict(kind="memory", name=name, shape=shape, bytes=nbytes, dir=d, inputs=[]))
    with open(os.path.join(work, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


# ---- the programs under test ----

class Process:
    """A C program in serve mode (perf_driver.c, perf_blas.c): "run N" answers N runs' milliseconds."""

    def __init__(self, argv):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self.p.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError(f"{argv[0]} did not start (exit status {self.p.wait()})")
        self.threads = int(ready[1].split("=")[1])

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        answer = self.p.stdout.readline().split()
        if not answer or answer[0] != "ok":
            raise RuntimeError(f"{self.argv[0]}: no answer to '{line}' (exit status {self.p.wait()})")
        return answer[1:]

    def run(self, n):
        return [float(t) for t in self.ask(f"run {n}")]

    def close(self):
        self.p.stdin.close()
        self.p.wait()


class OrtSession:
    """onnxruntime as its users run it: all graph optimisations, sequential execution, intra-op
    threads as asked and one inter-op thread."""

    def __init__(self, model, pbs, threads):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self.feeds = {}
        for inp, pb in zip(self.sess.get_inputs(), pbs):
            t = TensorProto()
            with open(pb, "rb") as f:
                t.ParseFromString(f.read())
            self.feeds[inp.name] = numpy_helper.to_array(t)
        self.threads = threads
        self.outputs = None

    def run(self, n):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.outputs = self.sess.run(None, self.feeds)
            times.append(1e3 * (time.perf_counter() - t0))
        return times


def interleave(a, b, repeat, inner_a=1, inner_b=1):
    """`repeat` samples of each side, alternating a, b, a, b ...; a sample is the mean of `inner` runs.
    Returns the two lists of samples (ms)."""
    sa, sb = [], []
    for _ in range(repeat):
        sa.append(statistics.fmean(a.run(inner_a)))
        sb.append(statistics.fmean(b.run(inner_b)))
    return sa, sb


def runs_per_sample(side):
    """Warms a side up and picks how many runs make one sample of about SAMPLE_MS."""
    side.run(2)
    t = min(side.run(3))
    return max(1, math.ceil(SAMPLE_MS / max(t, 1e-3)))


def driver(case, threads=1):
    argv = [os.path.join(case["dir"], "driver"), "--threads", str(threads)]
    weights = os.path.join(case["dir"], "model.bin")
    if os.path.exists(weights):
        argv += ["--weights", weights]
    for raw in case["inputs"]:
        argv += ["--input", raw]
    return Process(argv + ["--serve"])


# ---- the three measurements ----

def measure_models(cases, repeat, thread_counts, log):
    rows = []
    for case in (c for c in cases if c["kind"] == "model"):
        model = os.path.join(case["dir"], "model.onnx")
        for threads in thread_counts:
            log(f"{case['name']}, {threads} thread(s): {repeat} interleaved runs of xfc and onnxruntime")
            xfc = driver(case, threads)
            ort = OrtSession(model, case["pbs"], threads)
            # warm-up: page the weights in, let onnxruntime allocate its buffers
            xfc.run(1)
            ort.run(2)
            sx, so = interleave(xfc, ort, repeat)
            # the check that both computed the same thing: xfc's output 0 against onnxruntime's
            out = os.path.join(case["dir"], "output_0.raw")
            xfc.ask(f"save {out}")
            want = ort.outputs[0]
            got = np.fromfile(out, dtype=want.dtype).reshape(want.shape)
            xfc.close()
            tx, to = statistics.median(sx), statistics.median(so)
            rows.append(dict(model=case["name"], threads=threads, xfc_threads=xfc.threads, xfc_ms=tx, ort_ms=to,
                             ratio=to / tx, max_abs_diff=float(np.max(np.abs(got.astype(np.float64) - want))),
                             xfc_samples_ms=sx, ort_samples_ms=so))
    return rows


def measure_gemm(cases, repeat, work, log):
    rows = []
    for case in (c for c in cases if c["kind"] == "gemm"):
        m, k, n = case["m"], case["k"], case["n"]
        log(f"GEMM {m}x{k}x{n}: {repeat} interleaved samples of xfc and OpenBLAS")
        xfc = driver(case)
        blas = Process([os.path.join(work, "perf_blas"), str(m), str(k), str(n), "--serve"])
        sx, sb = interleave(xfc, blas, repeat, runs_per_sample(xfc), runs_per_sample(blas))
        xfc.close()
        blas.close()
        tx, tb = statistics.median(sx), statistics.median(sb)
        flops = 2.0 * m * k * n
        rows.append(dict(shape=case["name"], use=case["use"], m=m, k=k, n=n, xfc_ms=tx, xfc_gflops=flops / tx * 1e-6,
                         openblas_ms=tb, openblas_gflops=flops / tb * 1e-6, ratio=tb / tx,
                         xfc_samples_ms=sx, openblas_samples_ms=sb))
    return rows


def measure_memory(cases, repeat, log):
    rows = []
    for case in (c for c in cases if c["kind"] == "memory"):
        log(f"{case['name']}: {repeat} samples, then the read bandwidth over {case['bytes']} bytes")
        xfc = driver(case)
        inner = runs_per_sample(xfc)
        samples = [statistics.fmean(xfc.run(inner)) for _ in range(repeat)]
        xfc.close()
        # the yardstick: a plain streaming read of as many bytes as the kernel moves, same compiler
        argv = [os.path.join(case["dir"], "driver"), "--read-bandwidth", str(case["bytes"]), "--runs", str(repeat)]
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        read = statistics.median([float(x) for x in out.split()])
        t = statistics.median(samples)
        gbs = case["bytes"] / t * 1e-6
        rows.append(dict(kernel=case["name"], shape=case["shape"], bytes=case["bytes"], xfc_ms=t, xfc_gbs=gbs,
                         read_gbs=read, fraction_of_read=gbs / read, xfc_samples_ms=samples))
    return rows


# ---- what it ran on ----

def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(work, args):
    import onnxruntime as ort
    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    lscpu = {}
    for line in (subprocess.run(["lscpu"], capture_output=True, text=True).stdout or "").splitlines():
        key, _, value = line.partition(":")
        lscpu[key.strip()] = value.strip()
    blas = first_line([os.path.join(work, "perf_blas"), "--info"]) or ""
    blas_info = dict(kv.split("=", 1) for kv in blas.split(" ", 1) if "=" in kv)
    return dict(
        cpu=cpu, cores=os.cpu_count(), lscpu={k: lscpu.get(k) for k in ("Model name", "CPU family", "Model",
                                                                        "L2 cache", "L3 cache", "Flags")},
        load_average_start=os.getloadavg(), kernel=platform.release(),
        cc=args.cc_version, cflags=args.cflags, xfc=args.xfc_version, xfc_flags=args.xfc_flags,
        onnxruntime=ort.__version__, numpy=np.__version__, python=platform.python_version(),
        openblas=dict(corename=blas_info.get("corename"), config=blas_info.get("config"),
                      OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE")),
        git_commit=first_line(["git", "rev-parse", "HEAD"]), date=time.strftime("%Y-%m-%d %H:%M:%S %z"))


# ---- the tables ----

def print_tables(result):
    info = result["machine"]
    load = info["load_average_start"][0], result["load_average_end"][0]
    cpu = info["lscpu"]
    print(f"\nCPU: {info['cpu']} (family {cpu['CPU family']}, model {cpu['Model']}; L2 {cpu['L2 cache']}, "
          f"L3 {cpu['L3 cache']}), {info['cores']} cores; 1-minute load average {load[0]:.2f} at the start, "
          f"{load[1]:.2f} at the end (a shared machine: other jobs may have been running)")
    print(f"xfc {info['xfc_flags']} built with {info['cc']} {info['cflags']}; onnxruntime {info['onnxruntime']}; "
          f"{(info['openblas']['config'] or 'OpenBLAS').split(' NO_')[0]}, kernel {info['openblas']['corename']}")
    if result["models"]:
        print(f"\nprefill, sequence {SEQ}, batch 1: median ms of {result['repeat']} interleaved runs; "
              "ratio = ort_ms / xfc_ms (> 1: xfc faster)")
        print(f"{'model':<8} {'threads':>7} {'xfc_threads':>11} {'xfc_ms':>9} {'ort_ms':>9} {'ratio':>6} "
              f"{'max_diff':>9}")
        single = False
        for r in result["models"]:
            mark = "*" if r["xfc_threads"] < r["threads"] else ""
            single |= bool(mark)
            print(f"{r['model']:<8} {r['threads']:>7} {str(r['xfc_threads']) + mark:>11} {r['xfc_ms']:>9.1f} "
                  f"{r['ort_ms']:>9.1f} {r['ratio']:>6.2f} {r['max_abs_diff']:>9.1e}")
        if single:
            print("* xfc's generated code is single-threaded (no <name>_run_ex yet): its time there is with 1 thread")
    if result["gemm"]:
        print(f"\nGEMM y[M,N] = x[M,K] w[K,N], one thread: median of {result['repeat']} interleaved samples; "
              "ratio = openblas_ms / xfc_ms (> 1: xfc faster)")
        print(f"{'MxKxN':<13} {'in the models':<20} {'xfc_ms':>8} {'xfc_GF/s':>9} {'blas_ms':>8} {'blas_GF/s':>9} "
              f"{'ratio':>6}")
        for r in result["gemm"]:
            print(f"{r['shape']:<13} {r['use']:<20} {r['xfc_ms']:>8.3f} {r['xfc_gflops']:>9.1f} "
                  f"{r['openblas_ms']:>8.3f} {r['openblas_gflops']:>9.1f} {r['ratio']:>6.2f}")
    if result["memory"]:
        print(f"\nmemory-bound kernels, one thread: median of {result['repeat']} samples; read_GB/s = a streaming "
              "read of as many bytes; of_read = xfc_GB/s / read_GB/s")
        print(f"{'kernel':<9} {'shape':<20} {'MB moved':>9} {'xfc_ms':>8} {'xfc_GB/s':>9} {'read_GB/s':>10} "
              f"{'of_read':>8}")
        for r in result["memory"]:
            print(f"{r['kernel']:<9} {r['shape']:<20} {r['bytes'] / 1e6:>9.1f} {r['xfc_ms']:>8.3f} "
                  f"{r['xfc_gbs']:>9.1f} {r['read_gbs']:>10.1f} {r['fraction_of_read']:>8.0%}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("models")
    mk.add_argument("work")
    mk.add_argument("cache")
    mk.add_argument("--sections", default="models,gemm,memory")
    ms = sub.add_parser("measure")
    ms.add_argument("work")
    ms.add_argument("--repeat", type=int, default=7)
    ms.add_argument("--json", required=True)
    ms.add_argument("--threads", default="1,2")
    ms.add_argument("--sections", default="models,gemm,memory")
    ms.add_argument("--cc-version", default="")
    ms.add_argument("--cflags", default="")
    ms.add_argument("--xfc-version", default="")
    ms.add_argument("--xfc-flags", default="")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    if not sections <= {"models", "gemm", "memory"}:
        ap.error(f"--sections: a comma-separated list of models, gemm, memory, not '{args.sections}'")
    if args.command == "models":
        make_cases(args.work, args.cache, sections)
        return
    with open(os.path.join(args.work, "cases.json")) as f:
        cases = json.load(f)
    try:
        threads = [int(t) for t in args.threads.split(",")]
        assert min(threads) > 0
    except (ValueError, AssertionError):
        ap.error(f"--threads: a comma-separated list of positive numbers, not '{args.threads}'")
    def log(msg):
        print(msg, file=sys.stderr, flush=True)
    result = dict(machine=machine_info(args.work, args), repeat=args.repeat,
                  models=measure_models(cases, args.repeat, threads, log) if "models" in sections else [],
                  gemm=measure_gemm(cases, args.repeat, args.work, log) if "gemm" in sections else [],
                  memory=measure_memory(cases, args.repeat, log) if "memory" in sections else [])
    result["load_average_end"] = os.getloadavg()
    # written whole or not at all: an earlier perf.json is never left half-overwritten
    with open(args.json + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(args.json + ".tmp", args.json)
    print_tables(result)
    print(f"\nevery figure and sample: {args.json}")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.CalledProcessError) as e:
        sys.exit(f"perf.py: {e}")
