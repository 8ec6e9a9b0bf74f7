#!/usr/bin/env bash
# Installs what building and testing xfc needs, skipping what is already there:
#   Debian packages: a C compiler, CMake, protobuf-c, Check; the Arm toolchains and QEMU that the
#   firmware and aarch64 kernel tests run on;
#   a Python venv (build/venv) with pinned onnx, onnxruntime and numpy, used only by tests to make
#   test models and reference outputs (xfc itself never needs Python).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential clang cmake pkg-config protobuf-c-compiler libprotobuf-c-dev check libsubunit-dev python3-venv
          gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gcc-aarch64-linux-gnu qemu-user)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv=${XF_VENV:-build/venv}
if ! "$venv/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "making the test venv in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-test.txt
fi
