#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest ci.installed_kit: cmake --install into a temporary prefix, then run the INSTALLED
# wxpay-mock-start and wxpay-mock-stop from another directory with a PATH that lacks the prefix
# and no WXPAY_MOCK or WXPAY_FIXTURES: they must run the installed wxpay-mock with the installed
# fixtures, answer a call from the installed wxpay, and keep a --log file after the stop.
# Usage: installed_kit_test.sh BUILD_DIR. Prints "ALL OK" at the end.
set -eu
build=$(cd "${1:?usage: installed_kit_test.sh BUILD_DIR}" && pwd)
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-ci-install.XXXXXX")
tmp=$(cd "$tmp" && pwd)
prefix=$tmp/prefix
cleanup() {
    if [ -f "$tmp/env.sh" ]; then
        # shellcheck disable=SC1091 # written by wxpay-mock-start at run time
        (. "$tmp/env.sh" && "$prefix/bin/wxpay-mock-stop") >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/elsewhere" "$tmp/tmp"

cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install exited $?"
for s in wxpay-mock-start wxpay-mock-stop; do
    [ -x "$prefix/bin/$s" ] || fail "$prefix/bin/$s not installed (or not executable)"
done
ok "scripts installed in $prefix/bin"

cd "$tmp/elsewhere"
# Only the system's directories on PATH (curl, sed, ...), never the prefix nor the build tree.
clean() {
    env -i PATH=/usr/bin:/bin HOME="$tmp" TMPDIR="$tmp/tmp" "$@"
}
clean "$prefix/bin/wxpay-mock-start" --help | grep -q -- '--log FILE' || fail "installed --help"
# Installed, the help names the kit as it is run (on PATH), not as ci/ in a source tree.
clean "$prefix/bin/wxpay-mock-start" --help >"$tmp/help.txt"
grep -qF 'trap '\''wxpay-mock-stop'\'' EXIT' "$tmp/help.txt" || fail "installed --help: no plain wxpay-mock-start"
! grep -q 'ci/wxpay-mock' "$tmp/help.txt" || fail "installed --help names ci/wxpay-mock-*"
clean "$prefix/bin/wxpay-mock-start" --log "$tmp/mock.log" >"$tmp/env.sh" 2>"$tmp/start.err" ||
    fail "installed wxpay-mock-start exited $?: $(cat "$tmp/start.err")"
(
    # shellcheck disable=SC1091 # written by wxpay-mock-start at run time
    . "$tmp/env.sh"
    fixtures=$prefix/share/wxpay-harness/fixtures
    [ "$WXPAY_MCH_KEY" = "$fixtures/keys/test-merchant-a.key.pem" ] ||
        fail "WXPAY_MCH_KEY=$WXPAY_MCH_KEY, not the installed fixtures"
    [ "$WXPAY_MOCK_LOG" = "$tmp/mock.log" ] || fail "WXPAY_MOCK_LOG=$WXPAY_MOCK_LOG"
    exe=$(readlink "/proc/$WXPAY_MOCK_PID/exe") || fail "no /proc/$WXPAY_MOCK_PID/exe"
    [ "$exe" = "$prefix/bin/wxpay-mock" ] || fail "the mock running is $exe, not the installed one"
    ok "installed start runs $exe with $fixtures"
    out=$(clean WXPAY_BASE_URL="$WXPAY_BASE_URL" WXPAY_MCHID="$WXPAY_MCHID" \
        WXPAY_MCH_SERIAL="$WXPAY_MCH_SERIAL" WXPAY_MCH_KEY="$WXPAY_MCH_KEY" \
        WXPAY_PLATFORM_CERT="$WXPAY_PLATFORM_CERT" \
        "$prefix/bin/wxpay" payscore permissions terminate --openid "oCiInstalled$$" \
        --service-id "$WXPAY_SERVICE_ID" --appid "$WXPAY_APPID" --reason installed 2>&1) ||
        fail "installed wxpay terminate: $out"
    case $out in *"204 No Content"*"signature=valid"*) ;; *) fail "unexpected wxpay output: $out" ;; esac
    ok "installed wxpay: $out"
    clean WXPAY_MOCK_PID="$WXPAY_MOCK_PID" WXPAY_MOCK_DIR="$WXPAY_MOCK_DIR" \
        "$prefix/bin/wxpay-mock-stop" || fail "installed wxpay-mock-stop exited $?"
    ! kill -0 "$WXPAY_MOCK_PID" 2>/dev/null ||
        [ "$(sed 's/.*) //; s/ .*//' "/proc/$WXPAY_MOCK_PID/stat" 2>/dev/null)" = Z ] ||
        fail "pid $WXPAY_MOCK_PID still running after the installed stop"
    [ ! -e "$WXPAY_MOCK_DIR" ] || fail "$WXPAY_MOCK_DIR left after stop"
)
rm -f "$tmp/env.sh"
grep -q "oCiInstalled$$" "$tmp/mock.log" || fail "the kept log lacks the request: $(cat "$tmp/mock.log")"
ok "installed stop: mock gone, directory removed, log kept"
echo "ALL OK"
