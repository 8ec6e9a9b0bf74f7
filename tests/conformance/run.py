#!/usr/bin/env python3
"""Runs the official ONNX backend node tests through xfc and checks the results against a list.

    run.py --xfc BUILD/xfc --work BUILD/tests/conformance [--update] [-j N] [PATTERN...]

The archive tests/data/onnx-node-tests/node-1.19.0.tar.xz (1615 tests: node/<test>/model.onnx and
test_data_set_*/input_*.pb, output_*.pb) is unpacked into WORK once and reused. For each test not
skipped by skip.txt, every data set goes through `xfc run MODEL --input ... --expect ... --output ...`
(which compiles the model, builds the C with cc, runs it) and the saved outputs are compared here:
dtype and shape equal, floats within |got - want| <= 1e-5 + 1e-3*|want| (NaN where NaN, equal
infinities), integers and bools exact. A test passes when every output of every data set does.

When xfc says an input must be known at compile time (it suggests `--bind NAME=FILE.pb`), the test
is retried binding exactly the inputs it names, for as long as it names more; such tests are counted.
xfc killed by a signal, exiting other than 0/1/2, or stopped by a sanitizer report (a sanitizer
build's exit status is moved off 1 through ASAN_OPTIONS) is a failure marked CRASH.

A test counts in the per-op table under every distinct operator its model contains (subgraphs and
local functions included), so Constant or Cast rows count the tests that use them as helpers too.

expected_failures.txt lists the tests known to fail, with their first error. The run fails (exit 1)
when a test not on that list fails, and when a test on it passes, is skipped or no longer exists, so
the list stays true. --update rewrites the list from this run. PATTERNs (shell-style, e.g.
'test_reduce_*') select tests; then only their entries are checked or rewritten.

Output: the failures with their first error, the tests that needed --bind, the report's path (a
per-op table, the missing ops by how many tests each would gain, failure kinds, skips), and last the
line `N passed, N failed, N skipped`.
"""
import argparse
import collections
import fnmatch
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ARCHIVE = os.path.join(REPO, "tests", "data", "onnx-node-tests", "node-1.19.0.tar.xz")
SKIP_FILE = os.path.join(HERE, "skip.txt")
EXPECTED_FILE = os.path.join(HERE, "expected_failures.txt")

ATOL, RTOL = 1e-5, 1e-3
T = onnx.TensorProto
FLOAT_TYPES = {T.FLOAT, T.DOUBLE, T.FLOAT16, T.BFLOAT16, T.FLOAT8E4M3FN, T.FLOAT8E4M3FNUZ, T.FLOAT8E5M2,
               T.FLOAT8E5M2FNUZ}
for _name in ("FLOAT4E2M1", "FLOAT8E8M0"):
    if hasattr(T, _name):
        FLOAT_TYPES.add(getattr(T, _name))


# ---- the test data ----

def unpack(archive, work):
    """Unpacks the archive into WORK/node once; a stamp names the archive it came from."""
    node = os.path.join(work, "node")
    stamp = os.path.join(work, "node.stamp")
    st = os.stat(archive)
    want = f"{os.path.basename(archive)} {st.st_size}\n"
    if os.path.isdir(node) and os.path.exists(stamp) and open(stamp).read() == want:
        return node
    os.makedirs(work, exist_ok=True)
    tmp = os.path.join(work, "node.unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(node, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    os.rename(os.path.join(tmp, "node"), node)
    os.rmdir(tmp)
    with open(stamp, "w") as f:
        f.write(want)
    return node


def numbered(directory, prefix, suffix=""):
    """Files or directories PREFIX<n>SUFFIX in directory, in order of n."""
    found = []
    for entry in os.listdir(directory):
        m = re.fullmatch(re.escape(prefix) + r"(\d+)" + re.escape(suffix), entry)
        if m:
            found.append((int(m.group(1)), os.path.join(directory, entry)))
    return [path for _, path in sorted(found)]


# ---- what a model contains ----

def graph_ops(graph, ops):
    for node in graph.node:
        ops.add((node.domain or "ai.onnx", node.op_type))
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                graph_ops(sub, ops)


def model_ops(model):
    """The (domain, op) pairs of every node, in subgraphs and local functions too."""
    ops = set()
    graph_ops(model.graph, ops)
    for fn in model.functions:
        for node in fn.node:
            ops.add((node.domain or "ai.onnx", node.op_type))
    return ops


def op_label(op):
    domain, name = op
    return name if domain in ("ai.onnx", "") else f"{domain}.{name}"


def io_kinds(model):
    """The kinds of the graph's inputs and outputs: tensor, string, sequence, optional, map."""
    kinds = set()
    for v in list(model.graph.input) + list(model.graph.output):
        kind = v.type.WhichOneof("value")
        if kind == "tensor_type":
            kind = "string" if v.type.tensor_type.elem_type == T.STRING else "tensor"
        elif kind == "sequence_type":
            kind = "sequence"
        elif kind == "optional_type":
            kind = "optional"
        elif kind == "map_type":
            kind = "map"
        kinds.add(kind)
    return kinds


def load_skips(path):
    rules = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        selector, _, reason = line.partition(" ")
        rules.append((selector, reason.strip() or "no reason given"))
    return rules


def skip_reason(name, ops, kinds, rules):
    """The reason of the first rule of skip.txt that matches the test, or None."""
    for selector, reason in rules:
        kind, _, arg = selector.partition(":")
        if kind == "type":
            hit = arg in kinds
        elif kind == "op":
            hit = any(op == arg for _, op in ops)
        elif kind == "domain":
            hit = any(domain == arg for domain, _ in ops)
        else:
            hit = fnmatch.fnmatchcase(name, selector)
        if hit:
            return reason
    return None


# ---- running one test ----

class Job:
    """Everything a worker needs, passed once to each pool process."""
    xfc = node_dir = out_dir = None
    rules = []
    timeout = 300


def init_worker(xfc, node_dir, out_dir, rules, timeout):
    Job.xfc, Job.node_dir, Job.out_dir, Job.rules, Job.timeout = xfc, node_dir, out_dir, rules, timeout


def tidy(msg, name):
    """Makes a message independent of where the tests were unpacked and of temporary names; the
    test's own model goes without saying."""
    msg = msg.replace(os.path.join(Job.node_dir, name, "model.onnx") + ": ", "")
    msg = msg.replace(Job.node_dir + "/", "").replace(Job.out_dir + "/", "")
    return re.sub(r"xfc-run-\w{6}", "xfc-run-XXXXXX", msg).strip()


def first_error(stdout, stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    for l in lines:
        if l.startswith("xfc: error:"):
            return l[len("xfc: error:"):].strip()
    for l in stdout.splitlines():
        if "MISMATCH" in l:
            return "xfc run: " + l.strip()
    return lines[-1] if lines else "(no message)"


def dtype_name(data_type):
    return T.DataType.Name(data_type).lower()


def compare(k, name, want_tp, got_path):
    """None when the output at got_path matches want_tp, else what is wrong."""
    if not os.path.exists(got_path):
        return f"output {k} '{name}': xfc wrote no output file"
    got_tp = onnx.load_tensor(got_path)
    if got_tp.data_type != want_tp.data_type:
        return f"output {k} '{name}': dtype {dtype_name(got_tp.data_type)}, expected {dtype_name(want_tp.data_type)}"
    if list(got_tp.dims) != list(want_tp.dims):
        return f"output {k} '{name}': shape {list(got_tp.dims)}, expected {list(want_tp.dims)}"
    want, got = numpy_helper.to_array(want_tp), numpy_helper.to_array(got_tp)
    if want_tp.data_type in FLOAT_TYPES:
        w, g = want.astype(np.float64), got.astype(np.float64)
        with np.errstate(invalid="ignore"):
            err = np.abs(g - w)
            ok = (err <= ATOL + RTOL * np.abs(w)) | (g == w) | (np.isnan(g) & np.isnan(w))
    else:
        w, g = want, got
        ok = w == g
    ok = np.asarray(ok)
    if ok.all():
        return None
    bad = np.argwhere(~ok) if ok.ndim else [()]
    first = tuple(int(i) for i in bad[0])
    where = f" at {list(first)}" if first else ""
    return (f"output {k} '{name}': {len(bad)} of {ok.size} elements differ{where}: "
            f"got {g[first]!r}, want {w[first]!r}")


def run_xfc(cmd):
    env = dict(os.environ, TMPDIR=os.path.join(Job.out_dir, "tmp"))
    # Under a sanitizer build a report must not pass for exit status 1 ("outputs differ").
    if "exitcode=" not in env.get("ASAN_OPTIONS", ""):
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "exitcode=99"]))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=Job.timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, "", f"TIMEOUT: xfc run took more than {Job.timeout} s"
    return p.returncode, p.stdout, p.stderr


def crash_message(rc, stderr):
    if "Sanitizer" in stderr:
        what = "stopped by a sanitizer"
    elif rc < 0:
        try:
            what = f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            what = f"killed by signal {-rc}"
    else:
        what = f"exit status {rc}"
    lines = [l for l in stderr.splitlines() if l.strip()]
    return f"CRASH: xfc {what}" + (f": {lines[-1]}" if lines else "")


def run_test(name):
    """Returns a dict: name, status (pass, fail, skip), message, ops, bound (input names), seconds."""
    start = time.time()
    test_dir = os.path.join(Job.node_dir, name)
    model_path = os.path.join(test_dir, "model.onnx")
    res = {"name": name, "status": "fail", "message": "", "ops": [], "bound": [], "crash": False}
    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as e:  # a test whose model onnx cannot read is broken data, say so
        res["message"] = f"onnx cannot load the model: {e}"
        return res
    ops = model_ops(model)
    res["ops"] = sorted(ops)
    reason = skip_reason(name, ops, io_kinds(model), Job.rules)
    if reason:
        res.update(status="skip", message=reason)
        return res

    initializers = {i.name for i in model.graph.initializer}
    inputs = [v.name for v in model.graph.input if v.name not in initializers]
    outputs = [v.name for v in model.graph.output]
    out_dir = os.path.join(Job.out_dir, name)
    shutil.rmtree(out_dir, ignore_errors=True)
    bound = []
    datasets = numbered(test_dir, "test_data_set_")
    message = None if datasets else "the test has no test_data_set_*"
    for ds in datasets:
        ds_name = os.path.basename(ds)
        in_files, out_files = numbered(ds, "input_", ".pb"), numbered(ds, "output_", ".pb")
        if len(in_files) != len(inputs) or len(out_files) != len(outputs):
            message = (f"{ds_name} has {len(in_files)} inputs and {len(out_files)} outputs, the model "
                       f"{len(inputs)} and {len(outputs)}")
            break
        got_files = [os.path.join(out_dir, ds_name, f"output_{k}.pb") for k in range(len(outputs))]
        os.makedirs(os.path.join(out_dir, ds_name), exist_ok=True)
        while True:
            cmd = [Job.xfc, "run", model_path, "--atol", str(ATOL), "--rtol", str(RTOL)]
            for input_name, f in zip(inputs, in_files):
                cmd += ["--bind", f"{input_name}={f}"] if input_name in bound else ["--input", f]
            for want, got in zip(out_files, got_files):
                cmd += ["--expect", want, "--output", got]
            rc, stdout, stderr = run_xfc(cmd)
            if rc == 2:
                error = first_error(stdout, stderr)
                # "bind it with --bind NAME=FILE.pb", or for a value computed from graph inputs
                # "it depends on the graph input(s) a, b: bind them with --bind NAME=FILE.pb"
                m = re.search(r"bind it with --bind (.+)=FILE\.pb", error)
                names = [m.group(1)] if m else []
                m = re.search(r"depends on the graph input\(s\) (.+): bind them", error)
                names += m.group(1).split(", ") if m else []
                new = [x for x in names if x in inputs and x not in bound]
                if new:
                    bound.extend(new)
                    continue
            break
        if rc is None:
            message = stderr
        elif rc not in (0, 1, 2) or "Sanitizer" in stderr:
            message = crash_message(rc, stderr)
            res["crash"] = True
        elif rc == 2:
            message = first_error(stdout, stderr)
        else:
            for k, (want, got) in enumerate(zip(out_files, got_files)):
                message = compare(k, outputs[k], onnx.load_tensor(want), got)
                if message:
                    break
            if not message and rc == 1:
                message = first_error(stdout, stderr)
        if message:
            if ds_name != "test_data_set_0":
                message = f"{ds_name}: {message}"
            break
    res["bound"] = bound
    if message:
        res["message"] = tidy(message, name)
    else:
        res["status"] = "pass"
    res["seconds"] = time.time() - start
    return res


# ---- the list of expected failures ----

def load_expected(path):
    expected = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                expected[name] = reason.strip()
    return expected


def write_expected(path, entries):
    with open(path + ".tmp", "w") as f:
        f.write("# ONNX node tests that xfc is known to fail, each with its first error, as\n"
                "# tests/conformance/run.py --update writes them. The conformance test fails when a test\n"
                "# not listed here fails, and when one listed here passes: fix the list with --update.\n")
        for name in sorted(entries):
            f.write(f"{name} {entries[name]}\n")
    os.replace(path + ".tmp", path)


# ---- the report ----

def error_kind(message):
    """A failure's message with names and numbers taken out, to group failures of one kind."""
    m = re.search(r"unsupported operator '([^']*)'", message)
    if m:
        return "unsupported operator"
    if message.startswith("CRASH"):
        return message.split(":")[0] + ": " + re.sub(r"\d+", "N", message.split(":", 2)[1].strip())
    kind = re.sub(r"^(test_data_set_\d+: )?", "", message)
    kind = re.sub(r"^[^:]*model\.onnx: ", "", kind)
    kind = re.sub(r"^node '[^']*' \(([^)]*)\): ", "", kind)
    kind = re.sub(r"'[^']*'", "'…'", kind)
    kind = re.sub(r"\[[^\]]*\]", "[…]", kind)
    kind = re.sub(r"(?<![A-Za-z_\d])-?\d+(\.\d+)?(e[-+]?\d+)?", "N", kind)
    kind = re.sub(r"(got|want) .*", r"\1 …", kind)
    return kind[:110]


def write_report(path, results, elapsed, args):
    by_status = collections.Counter(r["status"] for r in results)
    lines = [f"ONNX node tests through {args.xfc}",
             f"{by_status['pass']} passed, {by_status['fail']} failed, {by_status['skip']} skipped "
             f"in {elapsed:.0f} s with {args.jobs} jobs; tolerance |got - want| <= {ATOL} + {RTOL}*|want|",
             "", "A test counts under every distinct operator its model contains.", ""]

    table = collections.defaultdict(lambda: {"pass": 0, "fail": 0, "skip": 0, "why": collections.Counter()})
    for r in results:
        for op in r["ops"]:
            row = table[op_label(tuple(op))]
            row[r["status"]] += 1
            if r["status"] == "skip":
                row["why"][r["message"]] += 1
    lines.append(f"{'operator':34} {'passed':>6} {'failed':>6} {'skipped':>7}  skip reasons")
    for op in sorted(table, key=lambda op: (op.startswith("ai.onnx."), op.lower())):
        row = table[op]
        why = ", ".join(f"{w} ({n})" for w, n in row["why"].most_common())
        lines.append(f"{op:34} {row['pass']:6} {row['fail']:6} {row['skip']:7}  {why}".rstrip())

    # Missing operators: those xfc named as unsupported in some test. A failing test gains from an op
    # when that op is the only missing one it contains.
    failed = [r for r in results if r["status"] == "fail"]
    missing = set()
    for r in failed:
        m = re.search(r"unsupported operator '([^']*)' \(domain '([^']*)'\)", r["message"])
        if m:
            missing.add((m.group(2) or "ai.onnx", m.group(1)))
        m = re.search(r"node '[^']*' \(([^)]*)\): not supported yet", r["message"])
        if m:  # in xfc's op table, not implemented
            missing.add(("ai.onnx", m.group(1)))
    gain, blocked = collections.Counter(), collections.Counter()
    for r in failed:
        mine = {tuple(op) for op in r["ops"]} & missing
        for op in mine:
            blocked[op] += 1
        if len(mine) == 1:
            gain[next(iter(mine))] += 1
    lines += ["", "Missing operators (named unsupported, or not supported yet, by some failure), by the failing",
              "tests in which each is the only missing operator ('alone': at most what adding it gains), then",
              "by all failing tests that contain it ('in'):",
              f"{'operator':34} {'alone':>6} {'in':>6}"]
    for op in sorted(missing, key=lambda o: (-gain[o], -blocked[o], op_label(o))):
        lines.append(f"{op_label(op):34} {gain[op]:6} {blocked[op]:6}")

    kinds = collections.Counter(error_kind(r["message"]) for r in failed)
    lines += ["", "Failures by kind:"]
    lines += [f"{n:6}  {kind}" for kind, n in kinds.most_common()]

    lines += ["", "Failures:"]
    lines += [f"{r['name']}: {r['message']}" for r in sorted(failed, key=lambda r: r["name"])]

    bound = sorted((r for r in results if r["bound"]), key=lambda r: r["name"])
    lines += ["", f"Tests that needed --bind ({len(bound)}):"]
    lines += [f"{r['name']} [{r['status']}]: {' '.join(r['bound'])}" for r in bound]

    skips = collections.defaultdict(list)
    for r in results:
        if r["status"] == "skip":
            skips[r["message"]].append(r["name"])
    lines += ["", "Skipped (rules in tests/conformance/skip.txt):"]
    for why in sorted(skips):
        lines.append(f"{why} ({len(skips[why])}): {' '.join(sorted(skips[why]))}")

    timed = sorted((r for r in results if "seconds" in r), key=lambda r: -r["seconds"])[:15]
    lines += ["", "Slowest tests:"]
    lines += [f"{r['seconds']:7.2f} s  {r['name']}" for r in timed]

    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# ---- main ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xfc", required=True, help="the xfc executable")
    ap.add_argument("--work", required=True, help="a directory in the build tree for the tests and outputs")
    ap.add_argument("--archive", default=ARCHIVE, help="the node tests archive")
    ap.add_argument("--update", action="store_true", help="rewrite expected_failures.txt from this run")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="parallel tests (default: CPUs)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds one xfc run may take")
    ap.add_argument("patterns", nargs="*", help="run only the tests matching these shell-style patterns")
    args = ap.parse_args()

    xfc = os.path.abspath(args.xfc)
    if not os.access(xfc, os.X_OK):
        sys.exit(f"run.py: error: xfc '{args.xfc}' is not an executable")
    if not os.path.exists(args.archive):
        sys.exit(f"run.py: error: the node tests archive '{args.archive}' is missing")
    work = os.path.abspath(args.work)
    start = time.time()
    node_dir = unpack(args.archive, work)
    out_dir = os.path.join(work, "out")
    shutil.rmtree(os.path.join(out_dir, "tmp"), ignore_errors=True)
    os.makedirs(os.path.join(out_dir, "tmp"), exist_ok=True)

    names = sorted(n for n in os.listdir(node_dir) if os.path.exists(os.path.join(node_dir, n, "model.onnx")))
    if args.patterns:
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in args.patterns)]
        if not names:
            sys.exit("run.py: error: no test matches " + " ".join(args.patterns))

    rules = load_skips(SKIP_FILE)
    with multiprocessing.Pool(args.jobs, init_worker, (xfc, node_dir, out_dir, rules, args.timeout)) as pool:
        results = list(pool.imap_unordered(run_test, names))
    results.sort(key=lambda r: r["name"])
    elapsed = time.time() - start

    report = os.path.join(work, "report.txt")
    write_report(report, results, elapsed, args)

    failed = [r for r in results if r["status"] == "fail"]
    print(f"Failures ({len(failed)}):")
    for r in failed:
        print(f"  {r['name']}: {r['message']}")
    crashes = [r for r in failed if r["crash"]]
    if crashes:
        print(f"Crashes ({len(crashes)}): " + " ".join(r["name"] for r in crashes))
    nbound = sum(1 for r in results if r["bound"])
    print(f"{nbound} tests needed --bind ({sum(1 for r in results if r['bound'] and r['status'] == 'pass')} of them pass)")

    expected = load_expected(EXPECTED_FILE)
    selected = set(names)
    status = {r["name"]: r for r in results}
    rc = 0
    if args.update:
        entries = {n: reason for n, reason in expected.items() if args.patterns and n not in selected}
        entries.update({r["name"]: r["message"] for r in failed})
        write_expected(EXPECTED_FILE, entries)
        print(f"rewrote {EXPECTED_FILE} ({len(entries)} tests)")
    else:
        regressions = [r for r in failed if r["name"] not in expected]
        fixed = [n for n in sorted(expected) if n in selected and status[n]["status"] == "pass"]
        skipped = [n for n in sorted(expected) if n in selected and status[n]["status"] == "skip"]
        gone = [n for n in sorted(expected) if not args.patterns and n not in status]
        if regressions:
            print(f"REGRESSIONS: {len(regressions)} tests fail that are not in expected_failures.txt:")
            for r in regressions:
                print(f"  {r['name']}: {r['message']}")
        if fixed:
            print(f"NOW PASSING: {len(fixed)} tests in expected_failures.txt pass; remove them (run.py --update):")
            print("  " + " ".join(fixed))
        if skipped or gone:
            print(f"STALE: {len(skipped) + len(gone)} tests in expected_failures.txt are skipped or do not exist:")
            print("  " + " ".join(skipped + gone))
        changed = sum(1 for r in failed if r["name"] in expected and expected[r["name"]] != r["message"])
        if changed:
            print(f"note: {changed} expected failures now fail with another first error (see the report)")
        rc = 1 if regressions or fixed or skipped or gone else 0
    print(f"report: {report}")
    print(f"run time {elapsed:.0f} s")
    counts = collections.Counter(r["status"] for r in results)
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return rc


if __name__ == "__main__":
    sys.exit(main())
