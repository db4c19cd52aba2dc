#!/bin/sh
# SPDX-License-Identifier: MIT
# Server mode against a server with other keys: wxpay-mock configured with a merchant and a
# platform key generated here (TEST ONLY, thrown away at the end), graded by the runner given the
# same identity through --config. Every MUST must pass; without the options the run fails and its
# reasons name the options that are missing; a key that does not match its certificate is refused.
set -eu
mock=$1
runner=$2
tmp=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill $pid 2>/dev/null; [ -z "$pid" ] || wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "other_keys: $*" >&2; exit 1; }

mchid=1239999901
pubid=PUB_KEY_ID_0112300001092026120400000000000099
cd "$tmp"
for who in merchant platform other; do
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $who.key.pem 2>/dev/null
done
openssl req -new -x509 -key merchant.key.pem -out merchant.cert.pem -days 2 \
    -subj "/CN=$mchid TEST ONLY" -set_serial 0x5A5B5C5D5E5F60616263646566676869707172 2>/dev/null
openssl req -new -x509 -key platform.key.pem -out platform.cert.pem -days 2 \
    -subj "/CN=TEST ONLY platform" -set_serial 0x7A7B7C7D7E7F80818283848586878889909192 2>/dev/null
openssl pkey -in platform.key.pem -pubout -out platform.pub.pem
chmod 600 ./*.key.pem
cat >mock.json <<JSON
{"merchants": [{"mchid": "$mchid", "cert": "merchant.cert.pem",
                "appids": ["wxd678efh567hg6787"], "service_ids": ["500001"],
                "apiv3_key": "TestOnlyApiV3KeyOther1239999901x"}],
 "platform": {"key": "platform.key.pem", "cert": "platform.cert.pem",
              "public_key_id": "$pubid", "default": "certificate"}}
JSON
cat >runner.json <<JSON
{"mchid": "$mchid", "mch_key": "merchant.key.pem", "mch_cert": "merchant.cert.pem",
 "platform_certs": ["platform.cert.pem"],
 "platform_public_keys": [{"id": "$pubid", "file": "platform.pub.pem"}],
 "apiv3_key": "TestOnlyApiV3KeyOther1239999901x"}
JSON
"$mock" --listen 127.0.0.1:0 --ready-file url --quiet --config mock.json >/dev/null &
pid=$!
i=0
while [ ! -s url ]; do
    i=$((i + 1))
    [ $i -lt 500 ] || fail "mock not ready"
    sleep 0.02
done
url=$(cat url)

# 1. With the server's keys: every MUST passes (exit 0), and so do the signature SHOULDs.
"$runner" server --base-url "$url" --config runner.json --json ok.json >ok.out 2>&1 ||
    { cat ok.out >&2; fail "graded with the right keys, the run failed"; }
grep -Eq '"ok":[[:space:]]*true' ok.json || fail "ok.json is not ok"
python3 - ok.json <<'PY' || fail "a MUST case, SIG-006 or CERTS-001 did not pass with the right keys"
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
bad = [c["id"] for c in cases
       if c["verdict"] != "pass" and (c["severity"] == "MUST" or c["id"] in ("SIG-006", "CERTS-002"))]
print("not passed:", bad) if bad else None
sys.exit(1 if bad or len(cases) < 100 else 0)
PY

# 2. Without any option: the TEST merchant is unknown there; the reasons say which options.
if "$runner" server --base-url "$url" --only SIG-001 >none.out 2>&1; then
    fail "the TEST identity passed against a server with other keys"
fi
grep -q -- "--mch-key" none.out || { cat none.out >&2; fail "no hint naming --mch-key"; }

# 3. The merchant but not the platform keys: the hint names --platform-cert.
if "$runner" server --base-url "$url" --mchid $mchid --mch-key merchant.key.pem \
    --mch-cert merchant.cert.pem --only SIG-002 >noplat.out 2>&1; then
    fail "answers signed by an unknown platform key passed"
fi
grep -q -- "--platform-cert" noplat.out || { cat noplat.out >&2; fail "no hint naming --platform-cert"; }

# 4. The command line wins over the file, and a key that is not the certificate's is refused.
rc=0
"$runner" server --base-url "$url" --config runner.json --mch-key other.key.pem --only SIG-001 \
    >bad.out 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "a key that does not match its certificate: exit $rc, not 3"
grep -q "does not match the certificate" bad.out || { cat bad.out >&2; fail "no mismatch message"; }

# 5. A config file with an unknown member is a usage error naming the member.
printf '{"mch_keyfile": "x"}' >typo.json
rc=0
"$runner" server --base-url "$url" --config typo.json >typo.out 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "unknown config member: exit $rc, not 2"
grep -q "typo.json: mch_keyfile: unknown member" typo.out || { cat typo.out >&2; fail "bad message"; }
# 6. Repeated members, a wrong type and a base_url that is not http(s) are refused too.
for bad in '{"mchid": "1", "mchid": "2"}|mchid: given twice' \
    '{"platform_certs": "p.pem"}|platform_certs: must be an array' \
    '{"base_url": "ftp://x"}|base_url: must be an http'; do
    printf '%s' "${bad%%|*}" >bad.json
    rc=0
    "$runner" server --config bad.json >bad.out 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "config ${bad%%|*}: exit $rc, not 2"
    grep -q "bad.json: ${bad#*|}" bad.out || { cat bad.out >&2; fail "config ${bad%%|*}: message"; }
done
echo "other_keys: ok"
