#!/usr/bin/env bash
# Builds shendu._cpu with sanitizers (default AddressSanitizer + UndefinedBehaviorSanitizer) into
# build/sanitize and runs the tests against it. Any sanitizer report fails the run: UBSan halts at
# its first report, ASan at its first error.
#   scripts/sanitize.sh                       # the whole suite
#   scripts/sanitize.sh tests/test_pool2d.py  # arguments go to pytest
#   SHENDU_SANITIZE=undefined scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/sanitize
SHENDU_SANITIZE=${SHENDU_SANITIZE:-address,undefined} ./dev-build.sh "$dir"

# The package as the source tree has it, with the sanitized module in place of the developer one.
stage=$dir/python/shendu
rm -rf "$dir/python"
mkdir -p "$stage"
for entry in python/shendu/*; do
  case $entry in */_cpu*.so) continue ;; esac
  ln -s "$PWD/$entry" "$stage/"
done
cp "$dir"/_cpu*.so "$stage/"

# Python itself is not instrumented: its allocator's arenas look like leaks, hence detect_leaks=0.
# The ASan runtime must be loaded before Python's own libraries, hence LD_PRELOAD; so must
# libstdc++, or ASan's C++ exception interceptor finds no __cxa_throw to forward to and aborts at
# the first exception a binding throws.
if [[ ${SHENDU_SANITIZE:-address} == *address* ]]; then
  export LD_PRELOAD
  LD_PRELOAD="$(${CXX:-c++} -print-file-name=libasan.so) $(${CXX:-c++} -print-file-name=libstdc++.so)"
fi
# allocator_may_return_null: tests ask NumPy for arrays too large to exist and expect MemoryError.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# --capture=sys: the sanitizers write their reports to file descriptor 2, which pytest's default
# capture would swallow when the process aborts.
PYTHONPATH=$dir/python exec python3 -m pytest -q -p no:cacheprovider --capture=sys "${@:-tests}"
