#!/usr/bin/env bash
# check_threads.sh XFC MODEL.onnx WORKDIR
# Runs a reference model through model_run_ex with 1, 2 and 3 threads (xfc run --threads, the pool
# of runtime/pool/): each run must match onnxruntime's output within 1e-4, and the three outputs
# must be the same bytes, since every output element is computed by one range with the same
# arithmetic whatever the split. The generated code must split some calls, or nothing is tested.
set -euo pipefail
xfc=$1 model=$2 work=$3
dir=$(dirname "$model")
export_name=$(basename "$model" .onnx)
export_name=${export_name#model.}
mkdir -p "$work"

"$xfc" "$model" -O2 -o "$work/model.c"
# the pool xfc writes is the one xfc run uses (runtime/pool/), and builds with the model in C99
"$xfc" --emit-pool "$work"
here=$(cd "$(dirname "$0")/../.." && pwd)
cmp "$work/xfc_pool.h" "$here/runtime/pool/xfc_pool.h"
cmp "$work/xfc_pool.c" "$here/runtime/pool/xfc_pool.c"
for cc in gcc clang; do
  command -v $cc >/dev/null || continue
  $cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -c "$work/xfc_pool.c" -o "$work/xfc_pool.$cc.o"
done
splits=$(grep -c 'ex->parallel_for(' "$work/model.c" || true)
if [ "$splits" -eq 0 ]; then
  echo "no call of $model is split over threads: the test would prove nothing" >&2
  exit 1
fi

inputs=()
for f in "$dir"/input_*.pb; do inputs+=(--input "$f"); done
for threads in 1 2 3; do
  "$xfc" run "$model" -O2 --threads $threads "${inputs[@]}" --expect "$dir/output_0.ort.$export_name.pb" \
    --atol 1e-4 --output "$work/output.$threads.pb"
done
cmp "$work/output.1.pb" "$work/output.2.pb"
cmp "$work/output.1.pb" "$work/output.3.pb"
echo "$splits calls split; 1, 2 and 3 threads give the same bytes"
