#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest test of ci/soak's command line only (ci/tests/CMakeLists.txt): --help and -h exit 0 with
# the usage, every option the help lists is one the parser knows, and bad input exits 2 with a
# message before anything is installed, built or started. The load itself never runs here.
#
#   soak_args_test.sh PATH/TO/ci/soak
set -eu

soak=${1:?usage: soak_args_test.sh PATH/TO/ci/soak}
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for h in --help -h; do
    "$soak" "$h" >"$out" 2>&1 || fail "$h exited $?"
    grep -q '^usage: ci/soak' "$out" || fail "$h does not print the usage"
    ok "$h exits 0 with the usage"
done

# expect_2 WHAT ARGS...: ci/soak ARGS exits 2 and says why on stderr, at once.
expect_2() {
    what=$1
    shift
    st=0
    "$soak" "$@" >"$out" 2>&1 || st=$?
    [ "$st" -eq 2 ] || fail "$what: ci/soak $* exited $st, not 2: $(cat "$out")"
    grep -q "^ci/soak: " "$out" || fail "$what: no message: $(cat "$out")"
    ok "$what: exit 2: $(head -n 1 "$out")"
}
expect_2 "unknown option" --bogus
expect_2 "missing value" --seconds
expect_2 "not a number" --seconds abc
expect_2 "zero seconds" --seconds 0
expect_2 "negative" --requests -5
expect_2 "too many digits" --requests 99999999999999999999
expect_2 "above the range" --connections 10001
expect_2 "race of one" --race-count 1
expect_2 "race above 1000" --race-count 1001
expect_2 "unknown check" --only load,bogus
expect_2 "empty check list" --only ''
expect_2 "bad value after a good one" --seconds 5 --pool 10

# Every numeric option in --help is parsed (a wrong value gets the range message, not "unknown").
"$soak" --help >"$out"
opts=$(sed -n 's/^  \(--[a-z-]*\) N .*/\1/p' "$out")
[ -n "$opts" ] || fail "no '--option N' lines found in --help"
for o in $opts; do
    st=0
    msg=$("$soak" "$o" x 2>&1) || st=$?
    [ "$st" -eq 2 ] || fail "$o x exited $st"
    case $msg in
    *"$o takes a number"*) ok "$o is parsed and range-checked" ;;
    *) fail "$o: unexpected message: $msg" ;;
    esac
done
echo "ALL OK"
