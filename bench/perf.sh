#!/usr/bin/env bash
# perf.sh [--repeat N] [--json FILE] [--threads LIST] [--sections LIST] [BUILD_DIR] — xfc's generated
# code side by side with onnxruntime and OpenBLAS on this machine:
#   models: prefill (sequence 128, batch 1) of the bench-size Llama and Mamba (make_models.py) at 1 and
#           2 threads, xfc and onnxruntime runs interleaved, medians, ratio ort/xfc;
#   gemm:   xfc's matrix product on the models' shapes against OpenBLAS cblas_sgemm, one thread;
#   memory: GB/s of RMSNorm, an Add and a GEMV against a streaming read of as many bytes.
# xfc's side is always what a user gets: `xfc -O2` on an ONNX file, the C built with
# `cc -O3 -march=native`, called through bench/perf_driver.c. Prints tables and writes every figure
# (with the CPU, compiler and library versions) to FILE (default bench/perf.json). A report, not a
# test: no thresholds. About a minute on the 2-core project machine, more the first time (the
# bench models are made once into bench/.cache).
#
# Options: --repeat N samples per figure (default $REPEAT or 7); --json FILE (relative to the current
# directory); --threads LIST the thread counts of the model rows (default 1,2); --sections LIST any
# of models,gemm,memory (default all).
# Environment: PYTHON (with onnx, onnxruntime, numpy; default BUILD_DIR/venv/bin/python, else
# python3), CC (default cc).
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
repeat=${REPEAT:-7}
json=bench/perf.json
threads=1,2
sections=models,gemm,memory
build=build
usage() { echo "usage: perf.sh [--repeat N] [--json FILE] [--threads LIST] [--sections LIST] [BUILD_DIR]" >&2; exit 2; }
while (($#)); do
  case $1 in
    --repeat|--json|--threads|--sections) (($# >= 2)) || usage ;;&
    --repeat) repeat=$2; shift 2 ;;
    --json) json=$2; [[ $json == /* ]] || json=$caller_dir/$json; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --sections) sections=$2; shift 2 ;;
    -*) usage ;;
    *) build=$1; shift ;;
  esac
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "perf.sh: --repeat wants a positive number, not '$repeat'" >&2; exit 2; }
[[ $threads =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  { echo "perf.sh: --threads wants positive numbers separated by commas, not '$threads'" >&2; exit 2; }
[[ $sections =~ ^(models|gemm|memory)(,(models|gemm|memory))*$ ]] ||
  { echo "perf.sh: --sections wants models, gemm and/or memory separated by commas, not '$sections'" >&2; exit 2; }
xfc=$build/xfc
[ -x "$xfc" ] || { echo "perf.sh: no xfc at $xfc (build it, or pass the build directory)" >&2; exit 2; }
python=${PYTHON:-$build/venv/bin/python}
[ -x "$python" ] || python=python3
"$python" -c 'import onnx, onnxruntime, numpy' 2>/dev/null ||
  { echo "perf.sh: $python lacks onnx, onnxruntime or numpy (scripts/install-deps.sh makes $build/venv)" >&2; exit 2; }
cc=${CC:-cc}
cflags=(-O3 -march=native)
xfc_flags=(-O2 --weights external)

# OpenBLAS from Debian, the yardstick of the GEMM rows; installed here rather than by
# scripts/install-deps.sh because nothing but this benchmark needs it.
if ! dpkg-query -W -f='${Status}' libopenblas-dev 2>/dev/null | grep -q "install ok installed"; then
  echo "installing libopenblas-dev" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends libopenblas-dev >&2
fi
# One thread for OpenBLAS whatever the caller's environment (perf_blas.c also sets it). Any
# OPENBLAS_CORETYPE the machine sets is left alone: the JSON records it and the kernel it selects.
export OPENBLAS_NUM_THREADS=1

# The bench-size models, made once; again when make_models.py changes (the same rule as fusion.sh,
# so the two share bench/.cache). The cache ignores itself.
cache=bench/.cache
mkdir -p "$cache"
[ -f "$cache/.gitignore" ] || echo '*' >"$cache/.gitignore"
for arch in llama mamba; do
  [[ $sections == *models* ]] || break
  if [ ! -f "$cache/$arch/output_0.ort.pb" ] || [ bench/make_models.py -nt "$cache/$arch/output_0.ort.pb" ]; then
    echo "making $cache/$arch (once)" >&2
    "$python" bench/make_models.py "$cache" --only "$arch" >&2
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" bench/perf.py models "$work" "$cache" --sections "$sections"

# Every case directory gets its model's C (named `model`, so one driver source fits all) and a driver.
# The weights stay in model.bin, read by the driver: the C stays small and quick to build, and a run
# reads its weights from memory as it would with the weights compiled in.
for dir in "$work"/*/; do
  name=$(basename "$dir")
  echo "xfc ${xfc_flags[*]} and $cc ${cflags[*]}: $name" >&2
  "$xfc" "$dir/model.onnx" "${xfc_flags[@]}" --name model -o "$dir/model.c"
  extra=()
  # Threads: the driver calls model_run_ex with the pool xfc writes; perf_driver.c reports the
  # threads it really used either way.
  if grep -q 'model_run_ex' "$dir/model.h" && "$xfc" --emit-pool "$dir" 2>/dev/null; then
    extra=(-DPERF_RUN_EX "$dir/xfc_pool.c" -pthread)
  fi
  "$cc" "${cflags[@]}" -I"$dir" bench/perf_driver.c "$dir/model.c" "${extra[@]}" -o "$dir/driver" -lm
done
"$cc" "${cflags[@]}" bench/perf_blas.c -o "$work/perf_blas" -lopenblas

"$python" bench/perf.py measure "$work" --repeat "$repeat" --json "$json" --threads "$threads" \
  --sections "$sections" --cc-version "$("$cc" --version | head -n 1)" --cflags "${cflags[*]}" \
  --xfc-version "$("$xfc" --version)" --xfc-flags "${xfc_flags[*]}"
