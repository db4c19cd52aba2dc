#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# careless-client.sh: a WeChat Pay APIv3 client that is WRONG ON PURPOSE. TEST ONLY.
#
# It calls POST /v3/payscore/permissions/openid/{openid}/terminate the way many hand-written
# integrations do: it builds the body, signs the request correctly (RSA-SHA256 with the merchant
# key, openssl CLI) and sends it with curl, but it never verifies the answer's signature. Any 2xx
# counts as success (exit 0), whatever its Wechatpay-* headers say; anything else is exit 1.
#
# It exists so that `wxpay-conformance client` has something to catch: it passes the request
# cases and the valid-204 case, and must be graded FAIL on every forged 2xx (bad or missing
# signature, SIGNTEST probe, unknown serial, stale or future timestamp). See
# conformance/examples/README.md. Never copy it into real code, never give it real keys.
#
# Reads the variables wxpay-conformance sets (docs/client.md): WXPAY_BASE_URL, WXPAY_MCHID,
# WXPAY_MCH_SERIAL (or WXPAY_MCH_CERT), WXPAY_MCH_KEY, WXPAY_PLATFORM_SERIAL, WXPAY_OPENID,
# WXPAY_SERVICE_ID, WXPAY_APPID, WXPAY_REASON.
set -euo pipefail

for v in WXPAY_BASE_URL WXPAY_MCHID WXPAY_MCH_KEY WXPAY_OPENID WXPAY_SERVICE_ID WXPAY_APPID \
    WXPAY_REASON; do
    if [ -z "${!v:-}" ]; then
        echo "careless-client: $v is not set" >&2
        exit 2
    fi
done

# It implements one operation; for any other the runner asks for, it says so with exit status 64
# (docs/conformance.md#the-client-contract), and those cases are not applicable.
if [ "${WXPAY_OPERATION:-payscore.permissions.terminate-by-openid}" != \
    payscore.permissions.terminate-by-openid ]; then
    echo "careless-client: operation $WXPAY_OPERATION is not supported" >&2
    exit 64
fi

serial="${WXPAY_MCH_SERIAL:-}"
if [ -z "$serial" ]; then
    serial="$(openssl x509 -in "$WXPAY_MCH_CERT" -noout -serial | cut -d= -f2)"
fi

# JSON string escaping: enough for the values the runner gives (no control characters).
json_str() {
    local s="$1"
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    printf '"%s"' "$s"
}

path="/v3/payscore/permissions/openid/${WXPAY_OPENID}/terminate"
body="{\"service_id\":$(json_str "$WXPAY_SERVICE_ID"),\"appid\":$(json_str "$WXPAY_APPID"),\"reason\":$(json_str "$WXPAY_REASON")}"
ts="$(date +%s)"
nonce="$(openssl rand -hex 16 | tr 'a-f' 'A-F')"

# The signing string: METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n (docs/protocol.md).
signature="$(printf 'POST\n%s\n%s\n%s\n%s\n' "$path" "$ts" "$nonce" "$body" |
    openssl dgst -sha256 -sign "$WXPAY_MCH_KEY" | base64 -w0)"
authz="WECHATPAY2-SHA256-RSA2048 mchid=\"$WXPAY_MCHID\",nonce_str=\"$nonce\",timestamp=\"$ts\",serial_no=\"$serial\",signature=\"$signature\""

headers=(
    -H "Authorization: $authz"
    -H "Accept: application/json"
    -H "Content-Type: application/json"
    -H "User-Agent: careless-client/0.1 (TEST ONLY) curl"
)
if [ -n "${WXPAY_PLATFORM_SERIAL:-}" ]; then
    headers+=(-H "Wechatpay-Serial: $WXPAY_PLATFORM_SERIAL")
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status="$(curl -sS -o "$out" -w '%{http_code}' -X POST "${headers[@]}" --data-binary "$body" \
    "${WXPAY_BASE_URL%/}$path")" || status=000

# THE BUG, on purpose: no look at Wechatpay-Signature, -Timestamp, -Nonce or -Serial.
case "$status" in
2??)
    echo "HTTP $status: success (response signature NOT verified)"
    exit 0
    ;;
*)
    echo "HTTP $status: $(cat "$out")" >&2
    exit 1
    ;;
esac
