#!/usr/bin/env bash
# gemm.sh [M] — builds bench/gemm.c with the runtime's matrix product and runs it: GFLOP/s of the
# old reference loops and of xf_matmul / xf_linear on the bench-size Llama's shapes, one thread.
# CC (default cc) and CFLAGS (default -O3 -march=native) choose the build: CFLAGS='-O3 -mavx2 -mfma'
# times the AVX2 path on a machine with AVX-512, CFLAGS=-O2 the portable one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-cc}
cflags=${CFLAGS:--O3 -march=native}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086 # CFLAGS is a list of flags
"$cc" $cflags -std=c11 -I"$root" "$root/bench/gemm.c" "$root/runtime/math.c" "$root/runtime/fused.c" \
  "$root/runtime/attention.c" -lm -o "$work/gemm"
echo "$cc $cflags"
"$work/gemm" "$@"
