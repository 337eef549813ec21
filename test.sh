#!/usr/bin/env bash
# Builds Bastion and runs every test: the release-mode suite (unit, simulation, fuzz replay,
# integration), the unit and fuzz-replay tests again under AddressSanitizer + UBSan, and the
# tests where threads meet under ThreadSanitizer (a Clang build, which also checks the locking
# annotations with -Wthread-safety), and clang-tidy (.clang-tidy) over the replication library
# (bft/ and codec/), every warning an error.
#
#   ./test.sh            the default run (what CI runs)
#   ./test.sh --long     also the long simulations and soak tests (label "long")
#   ./test.sh --fuzz S   also run every libFuzzer target for S seconds (clang build in build-fuzz/)
set -uo pipefail
cd "$(dirname "$0")"

long=0
fuzz_seconds=0
while (($#)); do
  case "$1" in
    --long) long=1 ;;
    --fuzz) fuzz_seconds="${2:?--fuzz needs seconds}"; shift ;;
    *) echo "usage: ./test.sh [--long] [--fuzz SECONDS]" >&2; exit 2 ;;
  esac
  shift
done

scripts/install-deps || { echo "test.sh: installing dependencies failed" >&2; exit 1; }
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

set -e
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBASTION_SANITIZE=ON \
  -DBASTION_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs" --target bastion_sanitized_tests
CXX=clang++-14 cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBASTION_TSAN=ON -DBASTION_BENCH=OFF >/dev/null
cmake --build build-tsan -j "$jobs" --target bastion_thread_tests
set +e

status=0
exclude=(-LE long)
((long)) && exclude=()
echo "== tests (RelWithDebInfo) =="
ctest --test-dir build -j "$jobs" "${exclude[@]}" || status=1
echo "== unit and fuzz-replay tests (ASan + UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j "$jobs" -L 'unit|fuzz' || status=1
echo "== tests where threads meet (ThreadSanitizer) =="
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build-tsan -j "$jobs" -L threads || status=1

echo "== clang-tidy (bft/, codec/) =="
run-clang-tidy-14 -p build-tsan -quiet -j "$jobs" "$PWD/(bft|codec)/" \
  >build-tsan/clang-tidy.log 2>&1 ||
  { grep -E 'warning:|error:' build-tsan/clang-tidy.log | sort -u; echo "clang-tidy failed"; status=1; }

if ((fuzz_seconds > 0)); then
  echo "== libFuzzer, ${fuzz_seconds}s per target =="
  CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBASTION_FUZZ=ON -DBASTION_SANITIZE=ON -DBASTION_BENCH=OFF -DBASTION_TESTS=ON >/dev/null &&
    cmake --build build-fuzz -j "$jobs" || status=1
  for t in build-fuzz/bin/fuzz_*; do
    [[ -x "$t" ]] || continue
    corpus="tests/fuzz/corpus/$(basename "$t" | sed 's/^fuzz_//')"
    mkdir -p "build-fuzz/corpus/$(basename "$t")"
    "$t" -max_total_time="$fuzz_seconds" -print_final_stats=1 "build-fuzz/corpus/$(basename "$t")" \
      $( [[ -d "$corpus" ]] && echo "$corpus" ) 2>&1 | tail -n 3 || status=1
  done
fi

if ((status == 0)); then echo "test.sh: all tests passed"; else echo "test.sh: FAILED" >&2; fi
exit $status
