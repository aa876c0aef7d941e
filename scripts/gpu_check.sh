#!/usr/bin/env bash
# The GPU checks in one command, for a machine with an NVIDIA GPU, Python 3.12, CuPy and PyTorch
# that cannot reach a package registry. Two steps:
#
#   with network:    bash scripts/gpu_check.sh --download
#       fills .wheels/ (git-ignored) with what the build and tests need that the GPU machine lacks
#   on the GPU machine (with .wheels/ copied along):    bash scripts/gpu_check.sh
#       builds shendu with its CUDA module for the GPU found there, then writes to $OUT (or
#       ./gpu-check): info.txt, gpu-tests.txt (pytest -m gpu) and the bench-gpu tables.
#
# The build for one architecture takes a few minutes on 16 cores, the tests and the bench a few
# more.
set -uo pipefail
cd "$(dirname "$0")/.."
wheels=.wheels

if [[ "${1:-}" == "--download" ]]; then
  # Pure-Python build requirements plus the binary ones for the GPU machine's CPython 3.12.
  python3 -m pip download --quiet --dest "$wheels" --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
    "scikit-build-core>=0.10" "pybind11>=2.12" cmake ninja h5py pytest hypothesis
  rm -f "$wheels"/numpy-*.whl  # the GPU machine's CuPy brings its NumPy; keep .wheels/ small
  du -sh "$wheels"
  exit 0
fi

out=${OUT:-gpu-check}
mkdir -p "$out"
log() { echo "[gpu_check $(date +%T)] $*" | tee -a "$out/steps.txt"; }

# CMake finds nvcc through CUDACXX or PATH; a toolkit in its default place need not be on PATH.
export CUDACXX=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[[ -x "$CUDACXX" ]] || { log "no CUDA compiler: set CUDACXX to nvcc's path"; exit 1; }
log "nvcc: $CUDACXX ($("$CUDACXX" --version | tail -1))"
log "GPU: $(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo 'nvidia-smi not found')"
# Build for the architecture that is there only: four architectures would take four times as long.
arch=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')}
log "pip install of the build requirements from $wheels"
python3 -m pip install --quiet --no-index --find-links "$wheels" \
  scikit-build-core pybind11 cmake ninja h5py pytest hypothesis >>"$out/steps.txt" 2>&1
log "building shendu (CUDA architecture ${arch:-default})"
python3 -m pip install --no-build-isolation --no-index --find-links "$wheels" \
  -Ccmake.define.SHENDU_CUDA=ON ${arch:+-Ccmake.define.CMAKE_CUDA_ARCHITECTURES=$arch} \
  . >"$out/build.txt" 2>&1 || { log "build failed: see build.txt"; tail -30 "$out/build.txt"; exit 1; }
cd /tmp  # import the installed package, not the source tree
python3 -m shendu info | tee "$out/info.txt"
log "pytest -m gpu"
python3 -m pytest -m gpu -q -p no:cacheprovider -o addopts="" \
  "$OLDPWD/tests/gpu" \
  >"$out/gpu-tests.txt" 2>&1
log "pytest exit code $?: $(tail -1 "$out/gpu-tests.txt")"
log "bench-gpu"
python3 -m shendu bench-gpu --out "$out" >"$out/bench-gpu.txt" 2>&1
log "bench-gpu exit code $?"
cat "$out"/*-gpu.md 2>/dev/null || log "no bench-gpu table: see bench-gpu.txt"
exit 0
