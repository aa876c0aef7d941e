#!/usr/bin/env bash
# Developer build: compiles shendu._cpu into python/shendu/ so `PYTHONPATH=python pytest` runs the
# source tree without reinstalling. Usage: ./dev-build.sh [build-dir]
# SHENDU_CUDA=ON adds the CUDA module; CMAKE_CUDA_ARCHITECTURES=90 (say) builds it for one
# architecture only, which is much faster than the default four.
# SHENDU_SANITIZE=address,undefined builds a sanitized module that stays in the build directory
# (scripts/sanitize.sh builds one and runs the tests with it).
set -euo pipefail
cd "$(dirname "$0")"
dir=${1:-build/dev}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHENDU_CUDA="${SHENDU_CUDA:-OFF}" \
  ${CMAKE_CUDA_ARCHITECTURES:+-DCMAKE_CUDA_ARCHITECTURES="$CMAKE_CUDA_ARCHITECTURES"} \
  -DSHENDU_SANITIZE="${SHENDU_SANITIZE:-}" \
  -Dpybind11_DIR="$(python3 -c 'import pybind11; print(pybind11.get_cmake_dir())')" >/dev/null
cmake --build "$dir"
