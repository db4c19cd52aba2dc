#!/bin/sh
# SPDX-License-Identifier: MIT
# Notify mode against the two example handlers (conformance/examples/): the careful one (libwxpay)
# passes every MUST and SHOULD case, acts once per notification id and is graded in under 10 s;
# the careless one (200 to anything) fails exactly the MUST cases that refuse a notification.
set -eu
runner=$1
careful=$2
careless=$3
fixtures=$4
tmp=$(mktemp -d)
hpid=
cleanup() {
    [ -z "$hpid" ] || { kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null || true; }
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "notify_handlers: $*" >&2; exit 1; }
wait_file() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ $i -lt 500 ] || fail "$1 did not appear"
        sleep 0.02
    done
}
stop_handler() {
    kill "$hpid"
    wait "$hpid" 2>/dev/null || true
    hpid=
}
# failed NAME SEVERITY: the ids of the cases of that severity that did not pass, sorted
failed() {
    python3 -c '
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
print(" ".join(sorted(c["id"] for c in cases
                      if c["severity"] == sys.argv[2] and c["verdict"] != "pass")))' "$1" "$2"
}

# --- the careful handler ---
"$careful" --platform-cert "$fixtures/certs/test-platform.cert.pem" \
    --apiv3-key-file "$fixtures/keys/test-merchant-a.apiv3.key" \
    --ready-file "$tmp/careful.url" >"$tmp/careful.acted" 2>"$tmp/careful.err" &
hpid=$!
wait_file "$tmp/careful.url"
t0=$(date +%s%N)
rc=0
"$runner" notify --url "$(cat "$tmp/careful.url")/wxpay/notify" --json "$tmp/careful.json" \
    >"$tmp/careful.out" 2>&1 || rc=$?
t1=$(date +%s%N)
stop_handler
if [ $rc -ne 0 ]; then
    cat "$tmp/careful.out" >&2
    fail "careful handler: exit $rc, not 0"
fi
[ -z "$(failed "$tmp/careful.json" MUST)" ] || fail "careful: MUST not passed: $(failed "$tmp/careful.json" MUST)"
[ -z "$(failed "$tmp/careful.json" SHOULD)" ] || fail "careful: SHOULD not passed: $(failed "$tmp/careful.json" SHOULD)"
ms=$(( (t1 - t0) / 1000000 ))
[ $ms -lt 10000 ] || fail "careful: the catalogue took $ms ms (limit 10000)"
grep -q "only HTTP answers are graded" "$tmp/careful.out" || fail "careful: the summary has no side-effect note"
# It acted on each accepted notification once: the duplicate id is printed once, and only
# notifications the runner meant as valid were acted on (5 distinct ids: OK-001..005).
acted=$(wc -l <"$tmp/careful.acted")
distinct=$(cut -d' ' -f2 "$tmp/careful.acted" | sort -u | wc -l)
[ "$acted" -eq "$distinct" ] || fail "careful: acted $acted times on $distinct ids"
[ "$acted" -eq 5 ] || fail "careful: acted on $acted notifications, expected 5"
echo "notify_handlers: careful: every MUST and SHOULD passed in $ms ms, acted on $acted ids once"

# --- the careless handler ---
"$careless" --ready-file "$tmp/careless.url" &
hpid=$!
wait_file "$tmp/careless.url"
rc=0
"$runner" notify --url "$(cat "$tmp/careless.url")/" --json "$tmp/careless.json" \
    --junit "$tmp/careless.xml" --html "$tmp/careless.html" -v \
    >"$tmp/careless.out" 2>&1 || rc=$?
stop_handler
[ $rc -eq 1 ] || { cat "$tmp/careless.out" >&2; fail "careless: exit $rc, not 1"; }
want="NOTIFY-ENV-001 NOTIFY-ENV-002 NOTIFY-RES-001 NOTIFY-RES-002 NOTIFY-RES-003 NOTIFY-SIG-001 NOTIFY-SIG-004 NOTIFY-SIG-005 NOTIFY-SIG-006 NOTIFY-SIG-007 NOTIFY-SIG-008 NOTIFY-SIG-009 NOTIFY-SIG-010 NOTIFY-SIG-011"
got=$(failed "$tmp/careless.json" MUST)
[ "$got" = "$want" ] || { cat "$tmp/careless.out" >&2; fail "careless: MUST failures [$got], expected [$want]"; }
got=$(failed "$tmp/careless.json" SHOULD)
[ "$got" = "NOTIFY-FAIL-001 NOTIFY-FAIL-002" ] || fail "careless: SHOULD failures [$got]"
echo "notify_handlers: careless: failed exactly the 14 refusal MUST cases and both FAIL-body SHOULD cases"
# The reports: JSON carries the note and the mode, JUnit names the failures by id, HTML the note,
# and -v shows what was sent (the forged Wechatpay-Signature) and what came back.
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mode"] == "notify" and r["ok"] is False, (r["mode"], r["ok"])
assert "only HTTP answers are graded" in r["note"], r.get("note")
c = [x for x in r["cases"] if x["id"] == "NOTIFY-SIG-001"][0]
assert "Wechatpay-Signature: " in c["request"] and "HTTP 200" in c["response"], c
assert c["reason"].startswith("expected a 4xx or 5xx, got 200"), c["reason"]
' "$tmp/careless.json" || fail "careless: JSON report"
grep -q 'classname="wxpay-conformance.notify.notification" name="NOTIFY-SIG-001 ' "$tmp/careless.xml" ||
    fail "careless: JUnit has no NOTIFY-SIG-001 testcase"
grep -q "only HTTP answers are graded" "$tmp/careless.html" || fail "careless: HTML has no note"
grep -q "Wechatpay-Signature: " "$tmp/careless.out" || fail "careless: -v shows no request"
# A handler that is gone (the careless one's port, now closed) stops the run: exit 3, one case.
rc=0
"$runner" notify --url "$(cat "$tmp/careless.url")/" --json "$tmp/gone.json" >"$tmp/gone.out" 2>&1 ||
    rc=$?
[ $rc -eq 3 ] || { cat "$tmp/gone.out" >&2; fail "unreachable handler: exit $rc, not 3"; }
grep -q "could not be reached" "$tmp/gone.out" || fail "unreachable handler: no reason given"
echo "notify_handlers: ok"
