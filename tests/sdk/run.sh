#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest label sdk (tests/CMakeLists.txt, docs/sdks.md#tests): real npm SDKs against wxpay-mock.
#
#   run.sh install SRC_DIR WORK_DIR
#       npm ci of SRC_DIR's package.json and package-lock.json (exact versions) into WORK_DIR
#       (the build tree). Needs node and npm (ci/deps) and the npm registry; npm's own timeouts
#       end a missing network in well under a minute with a FAIL line that says so.
#   run.sh SCRIPT SRC_DIR WORK_DIR WXPAY_MOCK FIXTURES_DIR
#       SCRIPT (axios-plugin.js, node-v3.js, node-v3-certificates.js) three times: against the mock over HTTPS (the
#       fixtures' TEST CA trusted) in certificate mode, then over HTTP in public-key mode (a mock
#       whose platform signs with its PUB_KEY_ID), where every answer must be one the SDK
#       verified; then over HTTP with --scenario forged.json, where the SDK must refuse every
#       answer.
#   run.sh notify-SDK SRC_DIR WORK_DIR WXPAY_MOCK FIXTURES_DIR
#       notify.js --sdk SDK (axios-plugin, node-v3): the SDK's own notification code receives the
#       mock's notifications, in certificate mode and in public-key mode (each mock makes one
#       attempt per notification: the refused faults are not retried).
# Prints "ALL OK" at the end; any failure is a "FAIL:" line and exit status 1.
set -eu

fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
usage="usage: run.sh install SRC_DIR WORK_DIR | run.sh SCRIPT SRC_DIR WORK_DIR WXPAY_MOCK FIXTURES_DIR"

command -v node >/dev/null 2>&1 || fail "node not found: install nodejs and npm (ci/deps does)"
command -v npm >/dev/null 2>&1 || fail "npm not found: install nodejs and npm (ci/deps does)"

what=${1:?$usage}
src=${2:?$usage}
work=${3:?$usage}

if [ "$what" = install ]; then
    rm -rf "$work"
    mkdir -p "$work"
    cp "$src/package.json" "$src/package-lock.json" "$work/"
    # Retries and timeouts bound a dead network: 2 tries of at most 15 s per request.
    if ! (cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
              --fetch-timeout=15000 --fetch-retries=1 --fetch-retry-mintimeout=1000 \
              --fetch-retry-maxtimeout=2000 >npm.log 2>&1); then
        cat "$work/npm.log"
        fail "npm ci could not install the pinned SDKs (is the npm registry reachable? $(npm config get registry))"
    fi
    (cd "$work" && node -e 'for (const m of ["wechatpay-axios-plugin", "wechatpay-node-v3", "superagent", "@fidm/x509"])
        console.log("ok: installed " + m + " " + require(m + "/package.json").version)') ||
        fail "the installed SDKs do not load"
    echo "ALL OK"
    exit 0
fi

mock=${4:?$usage}
fixtures=${5:?$usage}
[ -d "$work/node_modules" ] || fail "$work/node_modules is missing: the sdk.npm_ci test installs it"
case $what in
notify-*) [ -f "$src/notify.js" ] || fail "no script $src/notify.js" ;;
*) [ -f "$src/$what" ] || fail "no script $src/$what" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-sdk.XXXXXX")
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# Starts the mock with extra arguments; sets url once the ready file is there.
start() {
    rm -f "$tmp/url"
    "$mock" --listen 127.0.0.1:0 --ready-file "$tmp/url" --quiet "$@" >"$tmp/mock.log" 2>&1 &
    pid=$!
    i=0
    until [ -s "$tmp/url" ]; do
        kill -0 "$pid" 2>/dev/null || { cat "$tmp/mock.log"; fail "wxpay-mock exited before it was ready"; }
        i=$((i + 1))
        [ "$i" -lt 1000 ] || fail "wxpay-mock not ready in 10 s"
        sleep 0.01
    done
    url=$(cat "$tmp/url")
}
stop() {
    kill "$pid"
    wait "$pid" || fail "wxpay-mock exit status $?"
    pid=
}
# The script, with the installed modules; its output as it comes, its status as ours.
sdk() {
    NODE_PATH="$work/node_modules" node "$src/$what" --base "$url" --fixtures "$fixtures" "$@" ||
        fail "$what $* (exit status $?)"
}

if [ "${what#notify-}" != "$what" ]; then
    sdk=${what#notify-}
    what=notify.js
    printf '{"notify": {"schedule": [0]}}\n' >"$tmp/notify.json"
    start --config "$tmp/notify.json"
    sdk --sdk "$sdk" --expect verified --openid "oSdk-notify-$sdk"
    stop
    cat >"$tmp/notify-pubkey.json" <<JSON
{"notify": {"schedule": [0]},
 "platform": {"key": "$fixtures/keys/test-platform.key.pem",
              "public_key_id": "PUB_KEY_ID_0119000001092025112400000000000001",
              "default": "public_key"}}
JSON
    start --config "$tmp/notify-pubkey.json"
    sdk --sdk "$sdk" --expect verified --mode pubkey --openid "oSdk-notify-$sdk-pk"
    stop
    echo "ALL OK"
    exit 0
fi

start --https "$fixtures/tls/test-server.cert.pem" "$fixtures/tls/test-server.key.pem"
case $url in https://127.0.0.1:*) ;; *) fail "not an HTTPS mock: $url" ;; esac
sdk --expect verified --openid "oSdk-${what%.js}" --cacert "$fixtures/tls/test-ca.cert.pem"
stop

# Public-key mode, as for a merchant that never had platform certificates: the platform has no
# certificate, only the key and its PUB_KEY_ID, which signs every answer.
cat >"$tmp/pubkey.json" <<JSON
{"platform": {"key": "$fixtures/keys/test-platform.key.pem",
              "public_key_id": "PUB_KEY_ID_0119000001092025112400000000000001",
              "default": "public_key"}}
JSON
start --config "$tmp/pubkey.json"
sdk --expect verified --mode pubkey --openid "oSdk-${what%.js}-pk"
stop

start --scenario "$src/forged.json"
sdk --expect forged --openid "oSdk-${what%.js}"
stop
echo "ALL OK"
