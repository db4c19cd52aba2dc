#!/bin/sh
# SPDX-License-Identifier: MIT
# Notifications end to end (docs/notifications.md#walk-through): wxpay-mock sends, `wxpay notify
# listen` receives.
#   apply (notify_url = the listener) -> user-accept -> PAYSCORE.USER_OPEN_SERVICE, whose first
#   delivery the listener fails on purpose (--fail-first 1, answered 500) and whose retry, 15 ms
#   later on the mock's time scale (--notify-time-scale 0.001), it accepts -> user-close ->
#   PAYSCORE.USER_CLOSE_SERVICE, accepted at once; the listener exits after the two (--count 2).
# Checked: the listener's stdout (both events verified and decrypted, in order, neither marked a
# duplicate), its stderr (the failure on purpose), the mock's listing (attempts 500 then 204 for
# the first, 204 for the second, both delivered), and --fail-first's usage error. Then a listener
# given only a merchant id, the platform certificate and the APIv3 key (no private key) accepts a
# notification, and without the APIv3 key or the platform key it names what is missing. And the
# mock maps libcurl only once it sends its first notification (docs/notifications.md#delivery-and-retries).
# usage: notify_e2e.sh MOCK WXPAY FIXTURES
set -eu
mock=$1
wxpay=$2
fixtures=$3

tmp=$(mktemp -d)
mpid=
lpid=
cleanup() {
    for p in $lpid $mpid; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

fail() {
    echo "FAIL: $*" >&2
    for f in mock.err listen.out listen.err; do
        [ -f "$f" ] && sed "s/^/    $f: /" "$f" >&2
    done
    exit 1
}

# wait_file FILE PID WHAT: until FILE is not empty (10 s at most, PID must stay alive).
wait_file() {
    i=0
    until [ -s "$1" ]; do
        kill -0 "$2" 2>/dev/null || fail "$3 exited before it was ready"
        i=$((i + 1))
        [ "$i" -lt 1000 ] || fail "$3 not ready in 10 s"
        sleep 0.01
    done
}

# The usage error first: a value out of range names the option and its range.
if "$wxpay" notify listen --port 0 --fail-first 0 2>usage.err; then
    fail "--fail-first 0 was accepted"
fi
grep -q "^wxpay: --fail-first is 1..1000000, not '0'" usage.err || fail "usage error: $(cat usage.err)"

"$mock" --listen 127.0.0.1:0 --ready-file mock.url --quiet --notify-time-scale 0.001 \
    >mock.out 2>mock.err &
mpid=$!
wait_file mock.url "$mpid" wxpay-mock
WXPAY_BASE_URL=$(cat mock.url)
export WXPAY_BASE_URL

"$wxpay" notify listen --port 0 --ready-file listen.url --fail-first 1 --count 2 \
    >listen.out 2>listen.err &
lpid=$!
wait_file listen.url "$lpid" "wxpay notify listen"
notify_url="$(cat listen.url)/wxpay/notify"

# libcurl is loaded when the first notification is sent, not at start.
if grep -q libcurl "/proc/$mpid/maps"; then
    fail "the mock mapped libcurl before sending any notification"
fi

"$wxpay" payscore permissions apply --service-id 500001 --appid wxd678efh567hg6787 \
    --authorization-code e2e-code-1 --notify-url "$notify_url" >apply.out 2>apply.err ||
    fail "apply: exit status $?"
curl -sS -o accept.out -w '%{http_code}' -X POST "$WXPAY_BASE_URL/__admin/payscore/user-accept" \
    --data '{"service_id":"500001","openid":"o-e2e-1","authorization_code":"e2e-code-1"}' \
    >accept.code
[ "$(cat accept.code)" = 200 ] || fail "user-accept: HTTP $(cat accept.code) $(cat accept.out)"

# The open event is delivered (on its second attempt) before the user closes, so that the two
# arrive in the order they happened.
i=0
until [ -s listen.out ]; do
    kill -0 "$lpid" 2>/dev/null || fail "the listener exited early"
    i=$((i + 1))
    [ "$i" -lt 1000 ] || fail "USER_OPEN_SERVICE not delivered in 10 s"
    sleep 0.01
done
grep -q libcurl "/proc/$mpid/maps" || fail "the mock delivered a notification without libcurl mapped"
curl -sS -o close.out -w '%{http_code}' -X POST "$WXPAY_BASE_URL/__admin/payscore/user-close" \
    --data '{"service_id":"500001","openid":"o-e2e-1"}' >close.code
[ "$(cat close.code)" = 200 ] || fail "user-close: HTTP $(cat close.code) $(cat close.out)"

# --count 2: the listener exits by itself once both are answered.
i=0
while kill -0 "$lpid" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 1000 ] || fail "the listener did not exit after two notifications in 10 s"
    sleep 0.01
done
status=0
wait "$lpid" || status=$?
lpid=
[ "$status" -eq 0 ] || fail "wxpay notify listen exit status $status"

grep -q '^failed on purpose (1 of 1, --fail-first): PAYSCORE.USER_OPEN_SERVICE id=' listen.err ||
    fail "no failure on purpose on the listener's stderr"
curl -sS "$WXPAY_BASE_URL/__admin/notifications" >list.json

python3 - listen.out list.json <<'EOF' || fail "the notifications are not as expected"
import json, sys

lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
listing = json.load(open(sys.argv[2], encoding="utf-8"))
items = listing["notifications"] if isinstance(listing, dict) else listing
bad = []
if len(lines) != 2:
    bad.append(f"{len(lines)} lines on stdout, not 2")
else:
    got = [json.loads(x) for x in lines]
    for n, (event, status) in enumerate([("PAYSCORE.USER_OPEN_SERVICE", "USER_OPEN_SERVICE"),
                                          ("PAYSCORE.USER_CLOSE_SERVICE", "USER_CLOSE_SERVICE")]):
        g, r = got[n], got[n]["resource"]
        if (g["event_type"] != event or g["duplicate"] is not False or r["openid"] != "o-e2e-1"
                or r["user_service_status"] != status or r["service_id"] != "500001"
                or r["mchid"] != "1900000109" or len(r["openorclose_time"]) != 14):
            bad.append(f"line {n + 1}: {lines[n]}")
    if got[0]["resource"].get("authorization_code") != "e2e-code-1":
        bad.append("the open event has no authorization_code e2e-code-1")
statuses = [[a["status"] for a in it["attempts"]] for it in items]
states = [it["state"] for it in items]
if statuses != [[500, 204], [204]] or states != ["delivered", "delivered"]:
    bad.append(f"mock listing: attempts {statuses}, states {states}")
elif [it["id"] for it in items] != [json.loads(x)["id"] for x in lines]:
    bad.append("the ids printed are not the ids the mock sent")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF

# Only the platform keys and the APIv3 key: a merchant id without its private key is enough for
# the notify commands, and each missing piece is named.
if "$wxpay" notify listen --port 0 --mchid 1900000109 2>only.err; then
    fail "notify listen without an APIv3 key was accepted"
fi
grep -q "^wxpay: no APIv3 key to decrypt notifications with" only.err || fail "$(cat only.err)"
if "$wxpay" notify listen --port 0 --mchid 1900000109 \
    --apiv3-key-file "$fixtures/keys/test-merchant-a.apiv3.key" 2>only.err; then
    fail "notify listen without a platform key was accepted"
fi
grep -q "^wxpay: no platform key to verify notifications with" only.err || fail "$(cat only.err)"
"$wxpay" notify listen --port 0 --ready-file only.url --count 1 --mchid 1900000109 \
    --apiv3-key-file "$fixtures/keys/test-merchant-a.apiv3.key" \
    --platform-cert "$fixtures/certs/test-platform.cert.pem" >only.out 2>only.err &
lpid=$!
wait_file only.url "$lpid" "wxpay notify listen (notifications only)"
curl -sS -o sent.out -w '%{http_code}' -X POST "$WXPAY_BASE_URL/__admin/notifications" --data \
    "{\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\",\"summary\":\"ok\",\"url\":\"$(cat only.url)/n\",\"resource\":{\"openid\":\"o-only\"}}" \
    >sent.code
[ "$(cat sent.code)" = 201 ] || fail "POST /__admin/notifications: HTTP $(cat sent.code) $(cat sent.out)"
status=0
wait "$lpid" || status=$?
lpid=
[ "$status" -eq 0 ] || fail "notifications-only listener: exit status $status: $(cat only.err)"
grep -q '"resource":{"openid":"o-only"}' only.out || fail "notifications-only listener printed: $(cat only.out)"
if grep -q "built-in TEST merchant" only.err; then
    fail "the notifications-only listener fell back to the built-in TEST merchant"
fi
echo "ALL OK"
