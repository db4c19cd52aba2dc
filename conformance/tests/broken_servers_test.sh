#!/bin/sh
# SPDX-License-Identifier: MIT
# Grading the grader: conformance/examples/broken-server.py in front of wxpay-mock breaks exactly
# one rule per run, and the runner must fail exactly the MUST cases listed for that rule (no more,
# no fewer). The proxy that breaks nothing, and a server that breaks only a SHOULD rule (a second
# terminate succeeds), must fail no MUST case.
set -eu
mock=$1
runner=$2
examples=$3
fixtures=$4
tmp=$(mktemp -d)
mpid=
ppid_=
cleanup() {
    [ -z "$ppid_" ] || { kill "$ppid_" 2>/dev/null; wait "$ppid_" 2>/dev/null || true; }
    [ -z "$mpid" ] || { kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null || true; }
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "broken_servers: $*" >&2; exit 1; }
wait_file() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ $i -lt 500 ] || fail "$1 did not appear"
        sleep 0.02
    done
}

"$mock" --listen 127.0.0.1:0 --ready-file "$tmp/mock.url" --quiet >/dev/null 2>&1 &
mpid=$!
wait_file "$tmp/mock.url"
upstream=$(cat "$tmp/mock.url")

# grade RULE "ID ID ...": the MUST cases that must fail, exactly.
grade() {
    rule=$1
    want=$2
    rm -f "$tmp/proxy.url"
    python3 "$examples/broken-server.py" --break "$rule" --upstream "$upstream" \
        --fixtures "$fixtures" --ready-file "$tmp/proxy.url" &
    ppid_=$!
    wait_file "$tmp/proxy.url"
    rc=0
    "$runner" server --base-url "$(cat "$tmp/proxy.url")" --json "$tmp/$rule.json" \
        --apiv3-key-file "$fixtures/keys/test-merchant-a.apiv3.key" \
        >"$tmp/$rule.out" 2>&1 || rc=$?
    kill "$ppid_"
    wait "$ppid_" 2>/dev/null || true
    ppid_=
    got=$(python3 -c '
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
print(" ".join(sorted(c["id"] for c in cases
                      if c["severity"] == "MUST" and c["verdict"] != "pass")))' "$tmp/$rule.json")
    want=$(echo "$want" | tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
    got=$(echo "$got" | tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
    if [ "$got" != "$want" ]; then
        cat "$tmp/$rule.out" >&2
        fail "--break $rule: MUST failures [$got], expected [$want]"
    fi
    if [ -z "$want" ] && [ $rc -ne 0 ]; then
        fail "--break $rule: exit $rc with no MUST failure"
    fi
    if [ -n "$want" ] && [ $rc -ne 1 ]; then
        fail "--break $rule: exit $rc, not 1"
    fi
    echo "broken_servers: --break $rule: MUST failures [$got]"
}

grade none ""
grade terminate-twice-ok ""
grade no-verify "SIG-008 AUTH-012 AUTH-015 AUTH-016 AUTH-017 AUTH-018 AUTH-019 AUTH-020 AUTH-024
                 AUTH-027 QCODE-007 QOPENID-006"
grade status-200 "SIG-001 SIG-002 SIG-003 SIG-005 SIG-007 AUTH-028 AUTH-029 AUTH-030 AUTH-031
                  TS-001 ROUTE-003 BODY-018 BODY-020 TCODE-001 LIFE-001"
grade no-window "TS-002 TS-005 TS-007"
grade past-only "TS-007"
grade decoded-path "SIG-007 SIG-008"
grade unsigned-2xx "SIG-002 SIG-003 SIG-005 SIG-007 AUTH-028 AUTH-029 AUTH-030 AUTH-031 TS-001
                    ROUTE-003 BODY-018 BODY-020 APPLY-001 QCODE-001 QOPENID-001 QOPENID-002
                    TCODE-001 LIFE-001 CERTS-001 CERTS-005"
echo "broken_servers: ok"
