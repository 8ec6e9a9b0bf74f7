#!/usr/bin/env bash
# check_firmware.sh XFC PYTHON MODEL.onnx WORKDIR
# The firmware test of one reference model (tests/data/hf/ARCH/model.EXPORT.onnx):
#  1. xfc compiles it with --target cortex-m4; the C must compile warning-free as C99 with
#     -Wdouble-promotion (no double arithmetic on a single-precision FPU), with arm-none-eabi-gcc
#     and (where installed) clang, and the object may reference nothing but
#     memcpy/memmove/memset/memcmp and libgcc's helpers (__aeabi_*);
#  2. an image is built from it, test_main.c and the reference tensors (pb2c.py) with the startup
#     code and linker script of examples/firmware, without any C library (-nostdlib);
#  3. QEMU's mps2-an386 (a Cortex-M4 with FPU) runs it; the image compares its output with
#     onnxruntime's (max abs error <= 1e-4) and exits 0 only when it matches;
#  4. the stack the image measured must not exceed the bound `xfc report --target` computed;
#  5. the same model is compiled for cortex-m0 (soft float) and linked, proving that path links;
#  6. without arm-none-eabi-gcc on PATH, xfc report --target fails with a one-line error.
# It prints the size of each build (text/data/bss of the model's object) and the footprint report.
set -euo pipefail
xfc=$1 python=$2 model=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
fw=$here/../../examples/firmware
dir=$(dirname "$model")
export_name=$(basename "$model" .onnx)
export_name=${export_name#model.}
for tool in arm-none-eabi-gcc arm-none-eabi-size arm-none-eabi-nm qemu-system-arm; do
  command -v $tool >/dev/null || { echo "check_firmware.sh: $tool is missing (scripts/install-deps.sh installs it)"; exit 1; }
done
mkdir -p "$work"

inputs=("$dir"/input_*.pb)
"$python" "$here/pb2c.py" "$work/ref.c" "${inputs[@]}" --expect "$dir/output_0.ort.$export_name.pb"

declare -A cpu=(
  [cortex-m4]="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
  [cortex-m0]="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"
)
cflags="-O2 -std=c99 -Wall -Wextra -Werror -ffreestanding -ffunction-sections -fdata-sections"
for target in cortex-m4 cortex-m0; do
  out=$work/$target
  mkdir -p "$out"
  flags="${cpu[$target]} $cflags"
  "$xfc" "$model" --target $target --weights-section .xfc_weights --name model -o "$out/model.c"
  arm-none-eabi-gcc $flags -pedantic -Wdouble-promotion -c "$out/model.c" -o "$out/model.o"
  # what the model needs from outside: the memory functions and libgcc, nothing of libc or libm
  extra=$(arm-none-eabi-nm -u "$out/model.o" | awk '{print $2}' | grep -Ev '^(memcpy|memmove|memset|memcmp|__aeabi_[a-z0-9_]+)$' || true)
  if [ -n "$extra" ]; then echo "FAIL: $target: the model needs $(echo $extra)"; exit 1; fi
  # clang, where installed, must accept the same C warning-free (it warns about more unused code)
  if [ $target = cortex-m4 ] && command -v clang >/dev/null; then
    clang --target=thumbv7em-none-eabihf $flags -pedantic -Wdouble-promotion -c "$out/model.c" -o "$out/model.clang.o"
  fi
  for src in "$here/test_main.c" "$work/ref.c" "$fw/startup.c" "$fw/semihost.c"; do
    arm-none-eabi-gcc $flags -I"$out" -I"$fw" -c "$src" -o "$out/$(basename "$src" .c).o"
  done
  arm-none-eabi-gcc ${cpu[$target]} -nostdlib -T "$fw/mps2-an386.ld" -Wl,--gc-sections -o "$out/image.elf" \
    "$out/model.o" "$out/test_main.o" "$out/ref.o" "$out/startup.o" "$out/semihost.o" -lgcc
  echo "$target: $(arm-none-eabi-size "$out/model.o" | awk 'NR == 2 {printf "model.o text %d data %d bss %d", $1, $2, $3}'); \
image.elf $(arm-none-eabi-size "$out/image.elf" | awk 'NR == 2 {printf "text %d data %d bss %d", $1, $2, $3}')"
done

# the report measures the build the image was made from: the same options (the weights' section
# changes the code around the weights, and so model_run's frame)
report=$("$xfc" report "$model" --target cortex-m4 --weights-section .xfc_weights --name model --json)
field() { echo "$report" | sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p"; }
bound=$(field stack_bytes)
echo "cortex-m4: footprint (xfc report): flash $(field flash_bytes) bytes for $(field weight_bytes) bytes of weights, \
ram $(field ram_bytes) bytes (arena $(field arena_bytes) + stack $bound)"

# QEMU exits with the image's status (semihosting SYS_EXIT_EXTENDED); timeout guards a hung image.
set +e
log=$(timeout 120 qemu-system-arm -M mps2-an386 -nographic -semihosting -kernel "$work/cortex-m4/image.elf" 2>&1)
status=$?
set -e
echo "$log"
[ $status -eq 0 ] && echo "$log" | grep -q '^PASS' || { echo "FAIL: the image exited with status $status"; exit 1; }
used=$(echo "$log" | sed -n 's/.*stack \([0-9]*\) bytes.*/\1/p')
echo "stack: $used bytes used in QEMU, bound $bound bytes (xfc report, heaviest call chain from model_run)"
[ "$used" -le "$bound" ] || { echo "FAIL: the stack used exceeds the computed bound"; exit 1; }

# without the toolchain, the footprint report fails with one clear line
set +e
msg=$(PATH=/nonexistent "$xfc" report "$model" --target cortex-m4 2>&1)
status=$?
set -e
[ $status -eq 2 ] && [[ $msg == "xfc: error: --target cortex-m4 needs arm-none-eabi-gcc"* ]] ||
  { echo "FAIL: xfc report without arm-none-eabi-gcc said ($status): $msg"; exit 1; }
