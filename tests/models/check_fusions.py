"""check_fusions.py XFC DATA_DIR EXPECTED

Checks that at -O2 the reference models get the fusions their layer structure calls for: for every
line `ARCH.EXPORT kind=count ...` of EXPECTED, `xfc report --json` on DATA_DIR/ARCH/model.EXPORT.onnx
must report exactly those counts (kinds not listed are not checked). Prints one line per model and
exits 1 on any difference."""
import json
import subprocess
import sys


def main():
    xfc, data, expected = sys.argv[1:4]
    failed = 0
    with open(expected) as f:
        lines = [ln.split('#')[0].split() for ln in f]
    for words in filter(None, lines):
        name, counts = words[0], dict(w.split('=') for w in words[1:])
        arch, export = name.split('.', 1)
        model = f"{data}/{arch}/model.{export}.onnx"
        out = subprocess.run([xfc, "report", model, "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name}: xfc report failed: {out.stderr.strip()}")
            failed += 1
            continue
        got = json.loads(out.stdout)["fusions"]
        wrong = {k: (int(v), got.get(k)) for k, v in counts.items() if got.get(k) != int(v)}
        if wrong:
            failed += 1
            print(f"{name}: " + ", ".join(f"{k} {g} (want {w})" for k, (w, g) in wrong.items()))
            for m in json.loads(out.stdout)["missed"]:
                print(f"  missed {m['pattern']} at {m['node']}: {m['reason']}")
        else:
            print(f"{name}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    sys.exit(1 if failed else 0)


main()
