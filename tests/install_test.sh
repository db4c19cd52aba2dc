#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the build into a temporary prefix and runs the INSTALLED binaries from another
# directory: wxpay-mock, wxpay (found its libwxpay through its RUNPATH, no LD_LIBRARY_PATH),
# wxpay-conformance in server and client mode (client mode proves it finds the installed
# fixtures), and man on the installed pages. Then builds two consumer programs of libwxpay as a
# merchant would, one with `pkg-config --cflags --libs libwxpay`, one as a separate CMake project
# with find_package(wxpay CONFIG REQUIRED) and wxpay::wxpay, and checks that every version (the
# installed header's WXPAY_VERSION*, pkg-config's, the CMake package's, each program's --version,
# the .deb's) is the project's. Usage: install_test.sh BUILD_DIR PROJECT_VERSION CC
set -eu
build=$(cd "$1" && pwd)
version=$2
cc=$3
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
test -f "$prefix/include/wxpay/version.h" || fail "wxpay/version.h not installed"
find "$prefix" -name libwxpay.pc | grep -q . || fail "libwxpay.pc not installed"
for f in wxpayConfig.cmake wxpayConfigVersion.cmake wxpayTargets.cmake; do
    find "$prefix" -path "*/cmake/wxpay/$f" | grep -q . || fail "$f not installed"
done
# Shared only, as docs/client.md says: no static library is promised.
if find "$prefix" -name 'libwxpay.a' | grep -q .; then
    fail "libwxpay.a is installed but the docs say libwxpay is shared only"
fi
# wxpayConfig.cmake finds no dependency: the exported targets must name no other package's.
if grep -h 'INTERFACE_LINK_LIBRARIES' "$prefix"/lib*/cmake/wxpay/wxpayTargets*.cmake 2>/dev/null |
    grep -q .; then
    fail "wxpay::wxpay now has link dependencies: wxpayConfig.cmake.in must find_dependency them"
fi
test -f "$share/fixtures/fixtures.json" || fail "fixtures.json not installed"
for d in keys certs tls vectors requests; do
    test -d "$share/fixtures/$d" || fail "fixtures/$d not installed"
done
grep -q "TEST ONLY" "$share/fixtures/README.md" || fail "fixtures/README.md does not say TEST ONLY"
test -x "$share/examples/careless-client.sh" || fail "examples not installed"
for m in man1/wxpay-mock.1 man1/wxpay.1 man1/wxpay-conformance.1 man3/libwxpay.3; do
    test -f "$prefix/share/man/$m" || fail "man page $m not installed"
    grep -q "^\.TH .* \"wxpay-harness $version\" " "$prefix/share/man/$m" ||
        fail "man page $m: $(grep '^\.TH' "$prefix/share/man/$m"), want wxpay-harness $version"
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

# Every version is the project's (project(VERSION) in CMakeLists.txt, the one place it is set).
v=$("$bin/wxpay-mock" --version)
[ "$v" = "wxpay-mock $version" ] || fail "wxpay-mock --version: '$v', want $version"
v=$("$bin/wxpay" --version)
[ "$v" = "wxpay $version (libwxpay $version)" ] || fail "wxpay --version: '$v', want $version"
v=$("$bin/wxpay-conformance" --version)
[ "$v" = "wxpay-conformance $version" ] || fail "wxpay-conformance --version: '$v', want $version"

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

# A consumer of the installed libwxpay: refuses an empty configuration with a local error naming
# mchid, and prints the installed header's version in both spellings.
cat >"$tmp/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <wxpay/wxpay.h>
#if !defined(WXPAY_VERSION_NUM) || WXPAY_VERSION_NUM != \
    ((WXPAY_VERSION_MAJOR << 16) | (WXPAY_VERSION_MINOR << 8) | WXPAY_VERSION_PATCH)
#error "wxpay/version.h: WXPAY_VERSION_NUM"
#endif
int main(void)
{
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;
    memset(&cfg, 0, sizeof cfg);
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_ERR_LOCAL || strstr(r.error, "mchid") == NULL) {
        return 1;
    }
    wxpay_result_free(&r);
    printf("%s %d.%d.%d\n", WXPAY_VERSION, WXPAY_VERSION_MAJOR, WXPAY_VERSION_MINOR,
           WXPAY_VERSION_PATCH);
    return 0;
}
C
want_use="$version $version"

# With pkg-config, as docs/client.md shows.
PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name libwxpay.pc | head -n 1)")
export PKG_CONFIG_PATH
v=$(pkg-config --modversion libwxpay)
[ "$v" = "$version" ] || fail "pkg-config --modversion libwxpay: $v, want $version"
[ "$(pkg-config --static --libs libwxpay)" = "$(pkg-config --libs libwxpay)" ] ||
    fail "pkg-config --static promises private libraries, but no static libwxpay is installed"
mkdir "$tmp/pc"
# shellcheck disable=SC2046 # the flags are words
"$cc" -std=c11 -Wall -Werror -o "$tmp/pc/use" "$tmp/use.c" $(pkg-config --cflags --libs libwxpay) \
    2>"$tmp/pc.err" || fail "pkg-config consumer does not build: $(cat "$tmp/pc.err")"
v=$(LD_LIBRARY_PATH=$(pkg-config --variable=libdir libwxpay) "$tmp/pc/use") ||
    fail "pkg-config consumer failed"
[ "$v" = "$want_use" ] || fail "pkg-config consumer: '$v', want '$want_use'"

# With CMake: a separate project, found through CMAKE_PREFIX_PATH, as docs/client.md shows.
mkdir "$tmp/cm" "$tmp/cm/build"
cp "$tmp/use.c" "$tmp/cm/use.c"
cat >"$tmp/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(wxpay-consumer LANGUAGES C)
find_package(wxpay $version CONFIG REQUIRED)
if(NOT wxpay_VERSION STREQUAL "$version")
  message(FATAL_ERROR "wxpay_VERSION is \${wxpay_VERSION}, want $version")
endif()
add_executable(use use.c)
target_link_libraries(use PRIVATE wxpay::wxpay)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    >"$tmp/cm.log" 2>&1 || fail "CMake consumer does not configure: $(cat "$tmp/cm.log")"
cmake --build "$tmp/cm/build" >"$tmp/cm.log" 2>&1 ||
    fail "CMake consumer does not build: $(cat "$tmp/cm.log")"
# CMake's build RPATH finds the installed libwxpay: no LD_LIBRARY_PATH.
v=$("$tmp/cm/build/use") || fail "CMake consumer failed"
[ "$v" = "$want_use" ] || fail "CMake consumer: '$v', want '$want_use'"
# The version file refuses another MINOR (0.x: minors may break the API).
sed -i "s/find_package(wxpay $version /find_package(wxpay 99.0 /" "$tmp/cm/CMakeLists.txt"
if cmake -S "$tmp/cm" -B "$tmp/cm/build99" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cm.log" 2>&1; then
    fail "find_package(wxpay 99.0) accepted version $version"
fi
# (CMake wraps its messages at spaces: join the lines first.)
tr '\n' ' ' <"$tmp/cm.log" | tr -s ' ' | grep -q "compatible with requested version" ||
    fail "find_package(wxpay 99.0) failed for another reason: $(cat "$tmp/cm.log")"

# The .deb carries the same version (CPack, from project(VERSION)).
grep -q "^set(CPACK_PACKAGE_VERSION \"$version\")" "$build/CPackConfig.cmake" ||
    fail "CPackConfig.cmake: $(grep 'CPACK_PACKAGE_VERSION ' "$build/CPackConfig.cmake")"
# The installed wxpay-mock-start needs curl: the .deb recommends it.
grep -q '^set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "curl")' "$build/CPackConfig.cmake" ||
    fail "CPackConfig.cmake: the .deb does not recommend curl (wxpay-mock-start needs it)"

if command -v man >/dev/null; then
    for m in man1/wxpay-mock.1 man1/wxpay.1 man1/wxpay-conformance.1 man3/libwxpay.3; do
        man -l "$prefix/share/man/$m" >/dev/null 2>&1 || fail "man -l $m"
    done
fi
echo "install_test: ok ($prefix)"
