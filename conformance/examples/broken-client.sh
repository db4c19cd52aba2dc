#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# broken-client.sh: a WeChat Pay APIv3 client in bash, curl and the openssl CLI that is correct
# except for the ONE mistake it is told to make. TEST ONLY: never copy it into real code, never
# give it real keys.
#
# usage: broken-client.sh [BUG]
#   (no BUG)                  a correct client: signs the request, verifies the answer's signature
#                             (any status), its Wechatpay-Timestamp (decimal seconds, 300 s
#                             window) and Wechatpay-Serial, refuses SIGNTEST probes, and writes
#                             the result file. wxpay-conformance passes it on every MUST case.
#   ignore-error-signatures   checks the signature of 2xx answers only; its "verified" flag starts
#                             as true and is never set for an error answer, so a forged signed
#                             error is reported verified (fails CLI-RESP-032/033, MUST, and 034).
#   trust-nan-timestamp       compares Wechatpay-Timestamp with the clock the way JavaScript does:
#                             a value that is not a number compares false, so the window check is
#                             skipped and a signature over "NaN" is believed (fails CLI-RESP-035).
#   lowercase-serial          sends serial_no in lower-case hex, as a library printing the
#                             certificate serial its own way does (fails CLI-REQ-012, SHOULD).
#   double-question-mark      builds the query by openid as ?appid=X?service_id=Y (fails
#                             CLI-OP-003, MUST).
#
# It implements payscore.permissions.terminate-by-openid and query-by-openid, and exits 64 for
# any other WXPAY_OPERATION (not applicable). It reads the variables of
# docs/conformance.md#the-client-contract and writes WXPAY_RESULT_FILE when it is set
# (docs/conformance.md#the-result-file). Exit 0 only when the call succeeded and verified.
set -euo pipefail

bug="${1:-}"
case "$bug" in
"" | ignore-error-signatures | trust-nan-timestamp | lowercase-serial | double-question-mark) ;;
*)
    echo "broken-client: unknown BUG '$bug'" >&2
    exit 2
    ;;
esac

for v in WXPAY_BASE_URL WXPAY_MCHID WXPAY_MCH_KEY WXPAY_PLATFORM_CERT WXPAY_PLATFORM_SERIAL \
    WXPAY_OPENID WXPAY_SERVICE_ID WXPAY_APPID WXPAY_REASON; do
    if [ -z "${!v:-}" ]; then
        echo "broken-client: $v is not set" >&2
        exit 2
    fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The result file: {"status", "code", "verified": true|false|null, "error"}.
status=null code=null verified=null error=null
finish() {
    local rc="$1" msg="${2:-}"
    if [ -n "$msg" ]; then
        msg="${msg//\"/}"
        error="\"${msg//\\/}\""
        echo "broken-client: $msg" >&2
    fi
    if [ -n "${WXPAY_RESULT_FILE:-}" ]; then
        printf '{"status":%s,"code":%s,"verified":%s,"error":%s}\n' \
            "$status" "$code" "$verified" "$error" >"$WXPAY_RESULT_FILE"
    fi
    exit "$rc"
}

# Percent-encodes $1 for a path segment or a query value (RFC 3986 unreserved bytes kept).
pct() {
    local s="$1" out="" c i
    local LC_ALL=C
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
        [A-Za-z0-9._~-]) out+="$c" ;;
        *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

json_str() {
    local s="$1"
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    printf '"%s"' "$s"
}

openid="$(pct "$WXPAY_OPENID")"
case "${WXPAY_OPERATION:-payscore.permissions.terminate-by-openid}" in
payscore.permissions.terminate-by-openid)
    method=POST
    target="/v3/payscore/permissions/openid/$openid/terminate"
    body="{\"service_id\":$(json_str "$WXPAY_SERVICE_ID"),\"appid\":$(json_str "$WXPAY_APPID"),\"reason\":$(json_str "$WXPAY_REASON")}"
    ;;
payscore.permissions.query-by-openid)
    method=GET
    body=""
    sep='&'
    if [ "$bug" = double-question-mark ]; then
        sep='?' # THE BUG (this mode): a second '?' instead of '&'
    fi
    target="/v3/payscore/permissions/openid/$openid?appid=$(pct "$WXPAY_APPID")${sep}service_id=$(pct "$WXPAY_SERVICE_ID")"
    ;;
*)
    echo "broken-client: operation $WXPAY_OPERATION is not supported" >&2
    exit 64
    ;;
esac

serial="${WXPAY_MCH_SERIAL:-}"
if [ -z "$serial" ]; then
    serial="$(openssl x509 -in "$WXPAY_MCH_CERT" -noout -serial | cut -d= -f2)"
fi
if [ "$bug" = lowercase-serial ]; then
    serial="$(printf '%s' "$serial" | tr 'A-F' 'a-f')" # THE BUG (this mode)
fi

# The request: METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n signed with the merchant key.
ts="$(date +%s)"
nonce="$(openssl rand -hex 16 | tr 'a-f' 'A-F')"
signature="$(printf '%s\n%s\n%s\n%s\n%s\n' "$method" "$target" "$ts" "$nonce" "$body" |
    openssl dgst -sha256 -sign "$WXPAY_MCH_KEY" | base64 -w0)"
authz="WECHATPAY2-SHA256-RSA2048 mchid=\"$WXPAY_MCHID\",nonce_str=\"$nonce\",timestamp=\"$ts\",serial_no=\"$serial\",signature=\"$signature\""
args=(-sS -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' -X "$method"
    -H "Authorization: $authz" -H "Accept: application/json"
    -H "User-Agent: broken-client/0.1 (TEST ONLY) curl"
    -H "Wechatpay-Serial: $WXPAY_PLATFORM_SERIAL")
if [ "$method" = POST ]; then
    args+=(-H "Content-Type: application/json" --data-binary "$body")
fi
http="$(curl "${args[@]}" "${WXPAY_BASE_URL%/}$target")" || finish 1 "no answer (curl failed)"
status="$http"

# A header of the answer (last occurrence, case-insensitive), without CR and surrounding blanks.
header() {
    tr -d '\r' <"$tmp/head" | awk -v n="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" '
        { i = index($0, ":"); if (i == 0) next
          k = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1)
          gsub(/^[ \t]+|[ \t]+$/, "", v); if (k == n) val = v }
        END { printf "%s", val }'
}

# Verifies the answer; prints why it fails, nothing when it verifies.
verify() {
    local rts rnonce rsig rserial now
    rts="$(header Wechatpay-Timestamp)"
    rnonce="$(header Wechatpay-Nonce)"
    rsig="$(header Wechatpay-Signature)"
    rserial="$(header Wechatpay-Serial)"
    if [ -z "$rsig" ] || [ -z "$rts" ] || [ -z "$rnonce" ] || [ -z "$rserial" ]; then
        echo "a Wechatpay-* header is missing"
        return
    fi
    now="$(date +%s)"
    if [ -z "$(header Request-ID)" ]; then
        echo "Request-ID is missing"
        return
    fi
    if [ "$bug" = trust-nan-timestamp ] && ! [[ "$rts" =~ [0-9] ]]; then
        : # THE BUG (this mode): a value without a digit is NaN, and NaN is never "out of window"
    elif ! [[ "$rts" =~ ^[0-9]{1,18}$ ]]; then
        echo "Wechatpay-Timestamp '$rts' is not decimal seconds"
        return
    elif [ $((now - rts)) -gt 300 ] || [ $((rts - ts)) -gt 300 ]; then
        # Behind the clock now, or ahead of it when the request left ($ts): whole seconds on
        # both sides, so a 301 s skew is never read as 300.
        echo "Wechatpay-Timestamp is outside the 300 s window"
        return
    fi
    if [ "$rserial" != "$WXPAY_PLATFORM_SERIAL" ]; then
        echo "Wechatpay-Serial '$rserial' is not the platform key's"
        return
    fi
    case "$rsig" in
    WECHATPAY/SIGNTEST/*)
        echo "a WECHATPAY/SIGNTEST/ probe"
        return
        ;;
    esac
    if [ "${WXPAY_PLATFORM_KEY_KIND:-certificate}" = public_key ]; then
        cp "$WXPAY_PLATFORM_CERT" "$tmp/pub.pem"
    else
        openssl x509 -in "$WXPAY_PLATFORM_CERT" -noout -pubkey >"$tmp/pub.pem"
    fi
    { printf '%s\n%s\n' "$rts" "$rnonce"; cat "$tmp/body"; printf '\n'; } >"$tmp/msg"
    if ! printf '%s' "$rsig" | base64 -d >"$tmp/sig" 2>/dev/null ||
        ! openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig" "$tmp/msg" \
            >/dev/null 2>&1; then
        echo "the signature does not verify"
    fi
}

case "$http" in
2??)
    why="$(verify)"
    if [ -n "$why" ]; then
        verified=false
        finish 1 "HTTP $http refused as forged: $why"
    fi
    verified=true
    echo "HTTP $http: verified"
    cat "$tmp/body"
    finish 0
    ;;
esac

# An error answer: its code, and its signature when it has one (WeChat Pay signs its answers to
# authenticated requests; 401s come unsigned).
c="$(grep -o '"code":"[A-Z_]*"' "$tmp/body" | head -n 1 | cut -d'"' -f4 || true)"
if [ -n "$c" ]; then
    code="\"$c\""
fi
if [ "$bug" = ignore-error-signatures ]; then
    verified=true # THE BUG (this mode): the flag is only ever set for 2xx answers
elif [ -n "$(header Wechatpay-Signature)" ]; then
    why="$(verify)"
    verified=$([ -z "$why" ] && echo true || echo false)
else
    verified=false
fi
finish 1 "HTTP $http ${c:-}"
