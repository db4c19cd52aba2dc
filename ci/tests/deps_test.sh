#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest ci.deps_sets: the package sets of ci/deps (--list installs nothing). The build-only set
# (--build: the CI templates and the Dockerfile) has the compiler and -dev packages but none of
# the test tools; the default set adds them. Usage: deps_test.sh CI_DIR
set -eu
deps=${1:?usage: deps_test.sh CI_DIR}/deps
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
has() { printf '%s\n' "$1" | grep -qx -- "$2"; }

build=$(bash "$deps" --build --list) || fail "ci/deps --build --list exited $?"
all=$(bash "$deps" --list) || fail "ci/deps --list exited $?"
for p in build-essential cmake pkg-config libssl-dev libmicrohttpd-dev libcjson-dev \
         libcurl4-openssl-dev curl; do
    has "$build" "$p" || fail "--build lacks $p"
    has "$all" "$p" || fail "the default set lacks $p"
done
for p in clang-format libcmocka-dev python3-yaml cppcheck shellcheck openssl nodejs npm; do
    ! has "$build" "$p" || fail "--build installs the test tool $p"
    has "$all" "$p" || fail "the default set lacks $p"
done
echo "ok: --build: $(printf '%s\n' "$build" | wc -l) packages; default: $(printf '%s\n' "$all" | wc -l)"

st=0; bash "$deps" --no-such-option >/dev/null 2>&1 || st=$?
[ "$st" -eq 2 ] || fail "an unknown option: status $st, want 2"
bash "$deps" --help | grep -q -- '--build' || fail "--help does not describe --build"
echo "ALL OK"
