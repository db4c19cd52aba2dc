#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the build into a temporary prefix and runs the INSTALLED binaries from another
# directory: wxpay-mock, wxpay (found its libwxpay through its RUNPATH, no LD_LIBRARY_PATH),
# wxpay-conformance in server and client mode (client mode proves it finds the installed
# fixtures), and man on the installed pages. Usage: install_test.sh BUILD_DIR
set -eu
build=$(cd "$1" && pwd)
tmp=$(mktemp -d)
mock_pid=
cleanup() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() {
    echo "install_test: FAIL: $*" >&2
    exit 1
}

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
bin=$prefix/bin
share=$prefix/share/wxpay-harness

# The layout.
for f in "$bin/wxpay-mock" "$bin/wxpay" "$bin/wxpay-conformance"; do
    test -x "$f" || fail "$f not installed"
done
test -f "$prefix/include/wxpay/wxpay.h" || fail "header not installed"
find "$prefix" -name libwxpay.pc | grep -q . || fail "libwxpay.pc not installed"
test -f "$share/fixtures/fixtures.json" || fail "fixtures.json not installed"
for d in keys certs tls vectors requests; do
    test -d "$share/fixtures/$d" || fail "fixtures/$d not installed"
done
grep -q "TEST ONLY" "$share/fixtures/README.md" || fail "fixtures/README.md does not say TEST ONLY"
test -x "$share/examples/careless-client.sh" || fail "examples not installed"
for m in man1/wxpay-mock.1 man1/wxpay.1 man1/wxpay-conformance.1 man3/libwxpay.3; do
    test -f "$prefix/share/man/$m" || fail "man page $m not installed"
done

# Run everything from somewhere that is neither the source nor the build tree, with no
# LD_LIBRARY_PATH: the installed wxpay must find the installed libwxpay through its RUNPATH.
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
unset LD_LIBRARY_PATH
if command -v ldd >/dev/null; then
    ldd "$bin/wxpay" | grep "libwxpay" | grep -q "$prefix/" ||
        fail "installed wxpay does not load the installed libwxpay: $(ldd "$bin/wxpay" | grep libwxpay)"
fi

"$bin/wxpay-mock" --version | grep -q "wxpay-mock" || fail "wxpay-mock --version"
"$bin/wxpay" --version | grep -q "libwxpay" || fail "wxpay --version"

"$bin/wxpay-mock" --listen 127.0.0.1:0 --ready-file "$tmp/url" --quiet >/dev/null 2>"$tmp/mock.err" &
mock_pid=$!
i=0
while [ ! -s "$tmp/url" ]; do
    i=$((i + 1))
    [ $i -le 100 ] || fail "the installed wxpay-mock did not start: $(cat "$tmp/mock.err")"
    sleep 0.05
done
url=$(cat "$tmp/url")

"$bin/wxpay" --base-url "$url" payscore permissions terminate --openid oInstall1 \
    --service-id 500001 --appid wxd678efh567hg6787 --reason install-test >/dev/null 2>&1 ||
    fail "installed wxpay terminate against the installed mock"

"$bin/wxpay-conformance" server --base-url "$url" --only SIG-001 >/dev/null 2>"$tmp/conf.err" ||
    fail "installed wxpay-conformance server: $(cat "$tmp/conf.err")"

# shellcheck disable=SC2016 # expanded by the runner's sh -c, not here
args='payscore permissions terminate --openid "$WXPAY_OPENID" --service-id "$WXPAY_SERVICE_ID" --appid "$WXPAY_APPID" --reason "$WXPAY_REASON"'
"$bin/wxpay-conformance" client --cmd "'$bin/wxpay' $args" --only CLI-RESP-001 \
    >/dev/null 2>"$tmp/conf.err" || fail "installed wxpay-conformance client: $(cat "$tmp/conf.err")"

# The key paths handed to the client are the installed fixtures, not the source tree's.
# shellcheck disable=SC2016
"$bin/wxpay-conformance" client --cmd "printf '%s\n' \"\$WXPAY_MCH_KEY\" >'$tmp/key'; '$bin/wxpay' $args" \
    --only CLI-RESP-001 >/dev/null 2>"$tmp/conf.err" || fail "client run: $(cat "$tmp/conf.err")"
case $(cat "$tmp/key") in
"$share/fixtures/"*) ;;
*) fail "wxpay-conformance handed the client $(cat "$tmp/key"), not the installed fixtures" ;;
esac

if command -v man >/dev/null; then
    for m in man1/wxpay-mock.1 man1/wxpay.1 man1/wxpay-conformance.1 man3/libwxpay.3; do
        man -l "$prefix/share/man/$m" >/dev/null 2>&1 || fail "man -l $m"
    done
fi
echo "install_test: ok ($prefix)"
