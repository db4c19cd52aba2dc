#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ops-client.sh: a test client for wxpay-conformance's client mode that serves every operation of
# the table with the wxpay CLI: terminate-by-openid through its own command, the others through
# its generic signed call (`wxpay request METHOD TARGET [--data BODY]`, which signs and verifies
# like every command). TEST ONLY.
#
# (wxpay call --from-env is the reference client for every operation; this one is built by hand
# so that it can be told to make a known mistake.)
#
# usage: ops-client.sh WXPAY [BUG]
#   WXPAY  the wxpay executable
#   BUG    optional, to be graded as wrong on purpose: "second-question-mark" builds the query by
#          openid as ?service_id=X?appid=Y (a published client's bug)
# Reads the contract variables of docs/conformance.md#the-client-contract (WXPAY_OPERATION,
# WXPAY_OPENID, WXPAY_AUTHORIZATION_CODE, ...); wxpay itself reads WXPAY_BASE_URL and the keys.
# An operation it does not know exits 64: not applicable.
set -euo pipefail

wxpay="$1"
bug="${2:-}"

# Percent-encodes $1 for a path segment or a query value: RFC 3986 unreserved bytes as they are.
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

# JSON string: enough for the values the runner gives (no control characters).
json_str() {
    local s="$1"
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    printf '"%s"' "$s"
}

sid="$(pct "$WXPAY_SERVICE_ID")"
appid="$(pct "$WXPAY_APPID")"
code="$(pct "$WXPAY_AUTHORIZATION_CODE")"
openid="$(pct "$WXPAY_OPENID")"

case "${WXPAY_OPERATION:-payscore.permissions.terminate-by-openid}" in
payscore.permissions.terminate-by-openid)
    exec "$wxpay" payscore permissions terminate --openid "$WXPAY_OPENID" \
        --service-id "$WXPAY_SERVICE_ID" --appid "$WXPAY_APPID" --reason "$WXPAY_REASON"
    ;;
payscore.permissions.apply)
    exec "$wxpay" request POST /v3/payscore/permissions --data \
        "{\"service_id\":$(json_str "$WXPAY_SERVICE_ID"),\"appid\":$(json_str "$WXPAY_APPID"),\"authorization_code\":$(json_str "$WXPAY_AUTHORIZATION_CODE"),\"notify_url\":$(json_str "$WXPAY_NOTIFY_URL")}"
    ;;
payscore.permissions.query-by-code)
    exec "$wxpay" request GET "/v3/payscore/permissions/authorization-code/$code?service_id=$sid"
    ;;
payscore.permissions.query-by-openid)
    if [ "$bug" = second-question-mark ]; then
        exec "$wxpay" request GET "/v3/payscore/permissions/openid/$openid?service_id=$sid?appid=$appid"
    fi
    exec "$wxpay" request GET "/v3/payscore/permissions/openid/$openid?appid=$appid&service_id=$sid"
    ;;
payscore.permissions.terminate-by-code)
    exec "$wxpay" request POST "/v3/payscore/permissions/authorization-code/$code/terminate" \
        --data "{\"service_id\":$(json_str "$WXPAY_SERVICE_ID"),\"reason\":$(json_str "$WXPAY_REASON")}"
    ;;
*)
    echo "ops-client: operation ${WXPAY_OPERATION} is not supported" >&2
    exit 64
    ;;
esac
