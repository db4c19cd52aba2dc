#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the build into a temporary prefix and compiles, links and runs a small program against
# libwxpay through pkg-config, as a merchant would.
set -eu
build=$1
cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(dirname "$(find "$tmp/prefix" -name libwxpay.pc | head -n 1)")
cat > "$tmp/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <wxpay/wxpay.h>
int main(void)
{
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;
    memset(&cfg, 0, sizeof cfg);
    /* No merchant configured: the library must refuse with a local error naming mchid. */
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_ERR_LOCAL || strstr(r.error, "mchid") == NULL) {
        return 1;
    }
    wxpay_result_free(&r);
    printf("libwxpay %s ok\n", WXPAY_VERSION);
    return 0;
}
C
PKG_CONFIG_PATH=$pc
export PKG_CONFIG_PATH
# shellcheck disable=SC2046
"$cc" -o "$tmp/use" "$tmp/use.c" $(pkg-config --cflags --libs libwxpay)
LD_LIBRARY_PATH=$(pkg-config --variable=libdir libwxpay) "$tmp/use"
test -x "$tmp/prefix/bin/wxpay"
test -x "$tmp/prefix/bin/wxpay-mock"
