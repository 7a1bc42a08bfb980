#!/usr/bin/env bash
# Install fcdcc's build and run dependencies from Debian 12 packages (only what is missing).
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc libgsl-dev libopenblas-dev libsqlite3-dev
      libinih-dev libcriterion-dev gnuplot-nox libopenmpi-dev openmpi-bin
      clang libclang-rt-14-dev valgrind sqlite3
      libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata
      dataset-fashion-mnist zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "deps.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
