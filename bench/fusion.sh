#!/usr/bin/env bash
# fusion.sh [BUILD_DIR] — the fusion benchmark: what -O2 (fusion) buys over -O0 on bench-size Llama
# and Mamba models (made by make_models.py, cached in bench/.cache) and on the small reference
# exports in tests/data/hf. For each model: median latency at -O0 and -O2 and their ratio, node
# counts, arena bytes at both levels and the max abs difference of the outputs (`xfc compare`), then
# the fusion counts at -O2 (`xfc report --json`). A report, not a test: there are no thresholds.
#
# Environment: PYTHON (with onnx, onnxruntime, numpy; default build/venv/bin/python, else python3),
# REPEAT (runs per build for the bench-size models, default 5; the reference models get 20),
# MODELS (a glob on the names in the table's first column, e.g. '*-bench' or 'llama*'; default all).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
xfc=$build/xfc
[ -x "$xfc" ] || { echo "fusion.sh: no xfc at $xfc (build it, or pass the build directory)" >&2; exit 2; }
python=${PYTHON:-build/venv/bin/python}
[ -x "$python" ] || python=python3
repeat=${REPEAT:-5}
pattern=${MODELS:-*}
cache=bench/.cache

# Make the bench-size models once; again only when make_models.py changes. The cache ignores itself.
mkdir -p "$cache"
[ -f "$cache/.gitignore" ] || echo '*' >"$cache/.gitignore"
for arch in llama mamba; do
  # shellcheck disable=SC2053 # $pattern is a glob on purpose
  [[ $arch-bench == $pattern ]] || continue
  if [ ! -f "$cache/$arch/output_0.ort.pb" ] || [ bench/make_models.py -nt "$cache/$arch/output_0.ort.pb" ]; then
    echo "making $cache/$arch (once; this compiles it with xfc -O0 to check it against onnxruntime)" >&2
    "$python" bench/make_models.py "$cache" --only "$arch" --xfc "$xfc" >&2 ||
      echo "fusion.sh: warning: the $arch check against onnxruntime failed; benchmarking it anyway" >&2
  fi
done

# name|model|repeat|inputs...
runs=("llama-bench|$cache/llama/model.onnx|$repeat|$cache/llama/input_0.pb"
      "mamba-bench|$cache/mamba/model.onnx|$repeat|$cache/mamba/input_0.pb")
for model in tests/data/hf/*/model.*.onnx; do
  dir=$(dirname "$model")
  exp=$(basename "$model" .onnx)
  runs+=("$(basename "$dir").${exp#model.}|$model|20|$(echo "$dir"/input_*.pb | tr ' ' '|')")
done

# `xfc report --json` at -O2 as two lines: "nodes_out arena_bytes", then `k=v` pairs of the fusion
# counts and how many near-misses the report lists.
report() {
  local json
  json=$("$xfc" report "$1" -O2 --json 2>/dev/null) || return 1
  "$python" -c '
import json, sys
r = json.load(sys.stdin)
print(r["nodes_out"], r["arena_bytes"])
missed = len(r.get("missed", []))
print(" ".join(f"{k}={v}" for k, v in r["fusions"].items()), f"missed={missed}")' <<<"$json"
}

row() { printf '%-18s %8s %8s %10s %10s %8s %12s %12s %10s' "$@"; }

timing=()
fusion=()
errors=()
for run in "${runs[@]}"; do
  IFS='|' read -r name model n inputs <<<"$run"
  # shellcheck disable=SC2053
  [[ $name == $pattern ]] || continue
  args=()
  IFS='|' read -ra files <<<"$inputs"
  for f in "${files[@]}"; do args+=(--input "$f"); done
  rep=$(report "$model" || true)
  fusion+=("$name $(sed -n 2p <<<"$rep")")
  echo "compare $name ($n runs per build)" >&2
  rc=0
  out=$("$xfc" compare "$model" "${args[@]}" --repeat "$n" 2>&1) || rc=$?
  if [ "$rc" = 0 ]; then
    read -r t0 t2 ratio < <(awk '/^median latency/ {gsub(/[()x]/, "", $7); print $3, $5, $7}' <<<"$out")
    read -r n0 n2 < <(awk '/^nodes/ {print $2, $3}' <<<"$out")
    read -r a0 a2 < <(awk '/^arena bytes/ {print $3, $4}' <<<"$out")
    diff=$(sed -n 's/^max abs difference between the outputs: \([^ ]*\).*/\1/p' <<<"$out")
    timing+=("$(row "$name" "$n0" "$n2" "$t0" "$t2" "${ratio}x" "$a0" "$a2" "$diff")")
    continue
  fi
  # The comparison failed (usually one level cannot build the model): say why, and time -O2 alone.
  errors+=("$name: xfc compare: exit status $rc: $(grep -v '^ *$' <<<"$out" | tail -n 1)")
  echo "run $name at -O2 alone" >&2
  t2=$("$xfc" run "$model" -O2 "${args[@]}" --repeat "$n" 2>/dev/null | sed -n 's/^median time \([^ ]*\) ms.*/\1/p' || true)
  read -r n2 a2 <<<"$(head -n 1 <<<"$rep")"
  timing+=("$(row "$name" - "${n2:--}" - "${t2:--}" - - "${a2:--}" -)")
done

echo
printf '%-18s %8s %8s %10s %10s %8s %12s %12s %10s\n' model nodes_O0 nodes_O2 O0_ms O2_ms speedup \
  arena_O0 arena_O2 max_diff
printf '%s\n' "${timing[@]}"
for e in "${errors[@]}"; do echo "  $e"; done

# The fusion table: one column per kind that `xfc report` knows, in its order, under a short name.
short() {
  case $1 in
    rms_norm) echo rms ;; layer_norm) echo ln ;; attention) echo attn ;; selective_scan) echo scan ;;
    causal_conv1d) echo conv1d ;; matmul_epilogue) echo epilogue ;; elementwise) echo eltwise ;;
    flash_norm) echo flash ;; *) echo "$1" ;;
  esac
}
echo
printf '%-18s' "fusions at -O2"
header=$(printf '%s\n' "${fusion[@]}" | grep -m1 = || true)
for kv in ${header#* }; do printf ' %8s' "$(short "${kv%%=*}")"; done
echo
for line in "${fusion[@]}"; do
  printf '%-18s' "${line%% *}"
  if [[ $line != *=* ]]; then echo " xfc report failed"; continue; fi
  for kv in ${line#* }; do printf ' %8s' "${kv#*=}"; done
  echo
done
