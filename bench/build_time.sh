#!/usr/bin/env bash
# build_time.sh [BUILD_DIR] — how long the bench-size Llama (bench/make_models.py: 8 layers, hidden
# 512, vocab 8192, 32M parameters) takes from ONNX to a built object, for each weights form: xfc's
# time, the generated files' sizes, `cc -O2 -c`'s time and peak memory. A report, not a test; the
# kernel-layer target is under 60 s in all on the project's 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
xfc=$build/xfc
python=${PYTHON:-$build/venv/bin/python}
cc=${CC:-cc}
cache=bench/.cache
if [ ! -f "$cache/llama/model.onnx" ] || [ bench/make_models.py -nt "$cache/llama/model.onnx" ]; then
  mkdir -p "$cache" && echo '*' > "$cache/.gitignore"
  "$python" bench/make_models.py "$cache" --only llama
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
printf '%-9s %8s %12s %12s %9s %12s %8s\n' weights xfc_s c_bytes bin_bytes cc_s cc_peak_kb total_s
for form in inline incbin external; do
  t0=$(date +%s.%N)
  "$xfc" "$cache/llama/model.onnx" --weights "$form" -o "$work/model.c"
  t1=$(date +%s.%N)
  peak=$( { /usr/bin/time -f '%M' "$cc" -O2 -c "$work/model.c" -o "$work/model.o"; } 2>&1 | tail -1)
  t2=$(date +%s.%N)
  bin=0
  [ -f "$work/model.bin" ] && bin=$(stat -c %s "$work/model.bin")
  printf '%-9s %8s %12s %12s %9s %12s %8s\n' "$form" "$(seconds "$t0" "$t1")" "$(stat -c %s "$work/model.c")" \
    "$bin" "$(seconds "$t1" "$t2")" "$peak" "$(seconds "$t0" "$t2")"
  rm -f "$work"/model.*
done
