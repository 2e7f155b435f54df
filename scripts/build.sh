#!/bin/sh
# Configures and builds DHA Studio in ./build (Release, Ninja). Extra arguments go to CMake's configure step,
# for example -DDHA_BUILD_GUI=OFF or -DDHA_SANITIZE=address\;undefined.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${DHA_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
