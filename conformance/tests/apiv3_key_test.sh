#!/bin/sh
# SPDX-License-Identifier: MIT
# The runner's APIv3 key (--apiv3-key-file, --apiv3-key, config apiv3_key_file): server mode's
# CERTS-005 decrypts the bundled mock's certificate list with it (not applicable without a key,
# a failure with another merchant's key); a key that is not 32 bytes, or given twice, is a usage
# error; the key never appears in the output or the reports. Notify mode encrypts with it: the
# careful example handler, which holds merchant A's key, refuses what merchant B's key encrypted.
set -eu
runner=$1
careful=$2
fixtures=$3
tmp=$(mktemp -d)
hpid=
cleanup() {
    [ -z "$hpid" ] || { kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null || true; }
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "apiv3_key: $*" >&2; exit 1; }
keyA=$fixtures/keys/test-merchant-a.apiv3.key
keyB=$fixtures/keys/test-merchant-b.apiv3.key
# verdict JSON ID: "verdict|reason" of case ID in the JSON report
verdict() {
    python3 -c '
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["cases"] if c["id"] == sys.argv[2]][0]
print(c["verdict"] + "|" + c["reason"])' "$1" "$2"
}
run() { # NAME ARGS...: runs server mode on CERTS-005, exit status into $rc
    name=$1
    shift
    rc=0
    "$runner" server --only CERTS-005 --json "$tmp/$name.json" "$@" >"$tmp/$name.out" 2>&1 || rc=$?
}

run none
[ $rc -eq 0 ] || fail "no key: exit $rc"
case $(verdict "$tmp/none.json" CERTS-005) in
"skip|not applicable: no APIv3 key given"*) ;;
*) fail "no key: $(verdict "$tmp/none.json" CERTS-005)" ;;
esac

run a --apiv3-key-file "$keyA"
[ $rc -eq 0 ] || { cat "$tmp/a.out" >&2; fail "key A: exit $rc"; }
[ "$(verdict "$tmp/a.json" CERTS-005)" = "pass|1 certificate decrypted and checked" ] ||
    fail "key A: $(verdict "$tmp/a.json" CERTS-005)"

run b --apiv3-key "$(cat "$keyB")" -v
[ $rc -eq 1 ] || fail "key B: exit $rc, not 1"
case $(verdict "$tmp/b.json" CERTS-005) in
"fail|the certificate list does not check out with the APIv3 key: data[0].encrypt_certificate: "*) ;;
*) fail "key B: $(verdict "$tmp/b.json" CERTS-005)" ;;
esac
for f in "$tmp"/none.* "$tmp"/a.* "$tmp"/b.*; do
    if grep -q -e "$(cat "$keyA")" -e "$(cat "$keyB")" "$f"; then
        fail "$f shows an APIv3 key"
    fi
done

# the config file's member, relative to the file
mkdir "$tmp/conf"
cp "$keyA" "$tmp/conf/apiv3.key"
printf '{"apiv3_key_file": "apiv3.key"}\n' >"$tmp/conf/runner.json"
run conf --config "$tmp/conf/runner.json"
case $(verdict "$tmp/conf.json" CERTS-005) in
"pass|"*) ;;
*) fail "config: $(verdict "$tmp/conf.json" CERTS-005)" ;;
esac

run short --apiv3-key short
[ $rc -eq 2 ] || fail "a 5-byte key: exit $rc, not 2"
grep -q "must be 32 bytes, not 5" "$tmp/short.out" || fail "a 5-byte key: $(cat "$tmp/short.out")"
run twice --apiv3-key-file "$keyA" --apiv3-key "$(cat "$keyA")"
[ $rc -eq 2 ] || fail "two keys: exit $rc, not 2"
run missing --apiv3-key-file "$tmp/no-such.key"
[ $rc -eq 2 ] || fail "a missing key file: exit $rc, not 2"

# notify mode encrypts with the given key: merchant B's key makes the valid notifications
# undecryptable for a handler holding merchant A's
"$careful" --platform-cert "$fixtures/certs/test-platform.cert.pem" --apiv3-key-file "$keyA" \
    --ready-file "$tmp/h.url" >/dev/null 2>&1 &
hpid=$!
i=0
while [ ! -s "$tmp/h.url" ]; do
    i=$((i + 1))
    [ $i -lt 500 ] || fail "the handler did not start"
    sleep 0.02
done
rc=0
"$runner" notify --url "$(cat "$tmp/h.url")/n" --only NOTIFY-OK-001,NOTIFY-SIG-001 \
    --apiv3-key-file "$keyB" --json "$tmp/nb.json" >"$tmp/nb.out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "notify with key B: exit $rc, not 1"
case $(verdict "$tmp/nb.json" NOTIFY-OK-001) in
"fail|expected a 2xx, got 401"*) ;;
*) fail "notify with key B: $(verdict "$tmp/nb.json" NOTIFY-OK-001)" ;;
esac
echo "apiv3_key: ok"
