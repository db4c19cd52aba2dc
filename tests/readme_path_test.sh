#!/bin/sh
# SPDX-License-Identifier: MIT
# README.md's tour puts the commands on PATH with one `export PATH="$PWD/build/<preset>/..."`
# line. Checks that <preset> is the one ci/up builds, and that wxpay-mock, wxpay and
# wxpay-conformance are in the directories the line names, looked up in BUILD (any build tree:
# every preset has the same layout).
#
# Usage: readme_path_test.sh SOURCE_DIR BUILD_DIR
set -u
src=$1 build=$2
fail() {
    echo "FAIL: $*"
    exit 1
}

line=$(grep -E '^export PATH="\$PWD/build/[a-z]+/' "$src/README.md") ||
    fail "README.md: no line 'export PATH=\"\$PWD/build/<preset>/...' for the tour"
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "README.md: more than one export PATH line"
preset=$(printf '%s\n' "$line" | sed -n 's|^export PATH="\$PWD/build/\([a-z]*\)/.*|\1|p')
grep -Eq "^cmake --preset $preset( |\$)" "$src/ci/up" ||
    fail "README.md names build/$preset, but ci/up does not configure the '$preset' preset"
grep -Eq "^cmake --build --preset $preset( |\$)" "$src/ci/up" ||
    fail "README.md names build/$preset, but ci/up does not build the '$preset' preset"

dirs=$(printf '%s\n' "$line" | sed 's|^export PATH="||; s|"$||' | tr ':' '\n' |
    sed -n "s|^\$PWD/build/$preset/||p")
[ -n "$dirs" ] || fail "README.md: the export PATH line names no build/$preset directory"
for cmd in wxpay-mock wxpay wxpay-conformance; do
    found=''
    for d in $dirs; do
        [ -x "$build/$d/$cmd" ] && found=$d
    done
    [ -n "$found" ] || fail "README.md: $cmd is in none of: $(echo $dirs) (looked in $build)"
    echo "ok: $cmd in build/$preset/$found"
done
