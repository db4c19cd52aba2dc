#!/bin/sh
# SPDX-License-Identifier: MIT
# Server mode over HTTPS: wxpay-mock --https with the fixtures' TEST server certificate, graded by
# wxpay-conformance --cacert; every MUST must pass, and without --cacert nothing may pass.
set -eu
mock=$1
runner=$2
fixtures=$3
tmp=$(mktemp -d)
"$mock" --listen 127.0.0.1:0 --ready-file "$tmp/url" --quiet \
    --https "$fixtures/tls/test-server.cert.pem" "$fixtures/tls/test-server.key.pem" >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/url" ]; do
    i=$((i + 1))
    [ $i -lt 500 ] || { echo "mock not ready" >&2; exit 1; }
    sleep 0.02
done
url=$(cat "$tmp/url")
case $url in https://127.0.0.1:*) ;; *) echo "not an https URL: $url" >&2; exit 1 ;; esac
"$runner" server --base-url "$url" --cacert "$fixtures/tls/test-ca.cert.pem" --only SIG-001,AUTH-001 \
    --json "$tmp/ok.json" 2>/dev/null
grep -Eq '"ok":[[:space:]]*true' "$tmp/ok.json"
if "$runner" server --base-url "$url" --only SIG-001 2>/dev/null >/dev/null; then
    echo "an untrusted certificate was accepted" >&2
    exit 1
fi
echo "https: ok"
