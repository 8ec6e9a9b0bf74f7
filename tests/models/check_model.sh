#!/usr/bin/env bash
# check_model.sh XFC MODEL.onnx OPT WORKDIR [WEIGHTS]
# Compiles a reference model at the given -O level, checks that the generated C compiles alone and
# warning-free with gcc and clang in C99, then runs it on the reference inputs and requires the
# output to match onnxruntime's within 1e-4 absolute. WEIGHTS is a --weights form (default inline).
set -euo pipefail
xfc=$1 model=$2 opt=$3 work=$4 weights=${5:-inline}
dir=$(dirname "$model")
export_name=$(basename "$model" .onnx)        # model.dynamo18
export_name=${export_name#model.}             # dynamo18
mkdir -p "$work"

"$xfc" "$model" $opt --weights $weights -o "$work/model.c" -v
for cc in gcc clang; do
  command -v $cc >/dev/null || continue
  $cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -c "$work/model.c" -o "$work/model.$cc.o"
done

inputs=()
for f in "$dir"/input_*.pb; do inputs+=(--input "$f"); done
"$xfc" run "$model" $opt --weights $weights "${inputs[@]}" --expect "$dir/output_0.ort.$export_name.pb" --atol 1e-4
