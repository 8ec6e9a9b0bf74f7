#!/usr/bin/env bash
# models.sh [BUILD_DIR] — for every reference model in tests/data/hf, at -O0 and -O2: the max abs
# error against onnxruntime, MODEL_ARENA_BYTES against the sum of all intermediates, the size of the
# generated C and xfc's compile time. A report, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
xfc=$build/xfc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-24s %-4s %12s %12s %12s %10s %10s\n' model opt max_abs_err arena_bytes sum_interm c_bytes compile_s
for model in tests/data/hf/*/model.*.onnx; do
  dir=$(dirname "$model")
  arch=$(basename "$dir")
  exp=$(basename "$model" .onnx); exp=${exp#model.}
  inputs=()
  for f in "$dir"/input_*.pb; do inputs+=(--input "$f"); done
  for opt in -O0 -O2; do
    start=$(date +%s.%N)
    summary=$("$xfc" "$model" $opt -o "$work/m.c" -v 2>&1)
    end=$(date +%s.%N)
    arena=$(sed -n 's/.*arena \([0-9]*\) bytes.*/\1/p' <<<"$summary")
    sum=$(sed -n 's/.*intermediates \([0-9]*\) bytes.*/\1/p' <<<"$summary")
    err=$("$xfc" run "$model" $opt "${inputs[@]}" --expect "$dir/output_0.ort.$exp.pb" | sed -n 's/.*max abs error \([^,]*\),.*/\1/p')
    printf '%-24s %-4s %12s %12s %12s %10s %10.3f\n' "$arch.$exp" "$opt" "$err" "$arena" "$sum" \
      "$(stat -c %s "$work/m.c")" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
  done
done
