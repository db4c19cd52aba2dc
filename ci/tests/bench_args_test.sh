#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest test of ci/bench's command line only (ci/tests/CMakeLists.txt): --help and -h exit 0 with
# the usage, every option the help lists is one the parser knows, and bad input (among it a
# --compare-with that is no executable) exits 2 with a message before anything is installed,
# built or started. No benchmark runs here.
#
#   bench_args_test.sh PATH/TO/ci/bench
set -eu

bench=${1:?usage: bench_args_test.sh PATH/TO/ci/bench}
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }
out=$(mktemp)
dir=$(mktemp -d)
trap 'rm -f "$out"; rm -rf "$dir"' EXIT

for h in --help -h; do
    "$bench" "$h" >"$out" 2>&1 || fail "$h exited $?"
    grep -q '^usage: ci/bench' "$out" || fail "$h does not print the usage"
    grep -q -- '--compare-with BIN' "$out" || fail "$h does not list --compare-with"
    ok "$h exits 0 with the usage"
done

# expect_2 WHAT ARGS...: ci/bench ARGS exits 2 and says why on stderr, at once.
expect_2() {
    what=$1
    shift
    st=0
    "$bench" "$@" >"$out" 2>&1 || st=$?
    [ "$st" -eq 2 ] || fail "$what: ci/bench $* exited $st, not 2: $(cat "$out")"
    grep -q "^ci/bench: " "$out" || fail "$what: no message: $(cat "$out")"
    ok "$what: exit 2: $(head -n 1 "$out")"
}
: >"$dir/not-executable"
expect_2 "unknown option" --bogus
expect_2 "missing value" --seconds
expect_2 "missing binary" --compare-with
expect_2 "not a number" --seconds abc
expect_2 "zero seconds" --seconds 0
expect_2 "above the range" --seconds 601
expect_2 "negative" --warmup -1
expect_2 "too many digits" --soak-requests 99999999999999999999
expect_2 "threads above the range" --threads 257
expect_2 "compare with a missing file" --compare-with "$dir/absent"
expect_2 "compare with a directory" --compare-with "$dir"
expect_2 "compare with a file that is not executable" --compare-with "$dir/not-executable"
expect_2 "bad value after a good one" --seconds 5 --threads x

# Every numeric option in --help is parsed (a wrong value gets the range message, not "unknown").
"$bench" --help >"$out"
opts=$(sed -n 's/^  \(--[a-z-]*\) N .*/\1/p' "$out")
[ -n "$opts" ] || fail "no '--option N' lines found in --help"
for o in $opts; do
    st=0
    msg=$("$bench" "$o" x 2>&1) || st=$?
    [ "$st" -eq 2 ] || fail "$o x exited $st"
    case $msg in
    *"$o takes a number"*) ok "$o is parsed and range-checked" ;;
    *) fail "$o: unexpected message: $msg" ;;
    esac
done
echo "ALL OK"
