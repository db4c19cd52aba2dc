#!/bin/sh
# SPDX-License-Identifier: MIT
# Security (docs/reliability.md#security): end-to-end checks across wxpay-mock, wxpay and
# wxpay-conformance.
#   listen    a non-loopback --listen is refused (exit 2, documented message, nothing listens)
#             unless --allow-remote is given
#   warnings  a private key file open to others draws exactly one warning line naming the file,
#             its mode and the fix, in every program that reads one; 0600 files and copies of
#             the published TEST keys draw none (docs/reliability.md#security)
#   leaks     no private key material appears in any output: start-up errors of every kind, the
#             request log, the journal and other admin answers, the client's trace and errors,
#             the runner's errors and report
# usage: security_test.sh listen|warnings|leaks MOCK WXPAY RUNNER FIXTURES
set -eu
what=$1
mock=$2
wxpay=$3
runner=$4
fixtures=$5

tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# start NAME ARGS...: wxpay-mock on a free loopback port; stdout and stderr to NAME.out/NAME.err;
# sets $pid and $url once the ready file is written.
start() {
    name=$1
    shift
    rm -f "$name.url"
    "$mock" --listen 127.0.0.1:0 --ready-file "$name.url" "$@" >"$name.out" 2>"$name.err" &
    pid=$!
    i=0
    while [ ! -s "$name.url" ]; do
        kill -0 "$pid" 2>/dev/null || fail "$name: wxpay-mock exited: $(cat "$name.err")"
        i=$((i + 1))
        [ $i -lt 500 ] || fail "$name: wxpay-mock not ready"
        sleep 0.02
    done
    url=$(cat "$name.url")
}

stop() {
    kill "$pid"
    wait "$pid" || true
    pid=
}

# A fresh RSA-2048 key (not a fixture: never exempt, and its lines are what must not leak) and a
# self-signed certificate for it, used as merchant certificate and platform certificate alike.
openssl genrsa -out k.pem 2048 2>/dev/null
openssl req -new -x509 -key k.pem -subj "/CN=wxpay-harness security test" -days 2 \
    -set_serial 0x1122334455667788 -out c.pem 2>/dev/null
serial=1122334455667788
chmod 600 k.pem

case $what in
listen)
    for addr in 0.0.0.0:0 '[::]:0' 192.0.2.1:8080; do
        rc=0
        "$mock" --listen "$addr" --ready-file r.url >r.out 2>r.err || rc=$?
        [ "$rc" -eq 2 ] || fail "$addr: exit $rc, want 2"
        grep -qF "wxpay-mock: refusing to listen on $addr: not a loopback address" r.err ||
            fail "$addr: message: $(cat r.err)"
        grep -qF -- "--allow-remote" r.err || fail "$addr: no hint at --allow-remote"
        [ ! -e r.url ] || fail "$addr: a ready file was written"
        [ ! -s r.out ] || fail "$addr: printed $(cat r.out)"
    done
    # The flag is the switch: with it the same address is accepted.
    rm -f a.url
    "$mock" --listen 0.0.0.0:0 --allow-remote --ready-file a.url --quiet >a.out 2>a.err &
    pid=$!
    i=0
    while [ ! -s a.url ]; do
        kill -0 "$pid" 2>/dev/null || fail "--allow-remote: exited: $(cat a.err)"
        i=$((i + 1))
        [ $i -lt 500 ] || fail "--allow-remote: not ready"
        sleep 0.02
    done
    grep -q '^http://0\.0\.0\.0:[1-9][0-9]*$' a.url || fail "--allow-remote: url $(cat a.url)"
    stop
    echo "listen: ok"
    ;;

warnings)
    cp "$fixtures/keys/test-platform.key.pem" fixture-platform.key.pem
    cp "$fixtures/tls/test-server.key.pem" fixture-tls.key.pem
    chmod 644 fixture-platform.key.pem fixture-tls.key.pem
    cat >own.json <<EOF
{"merchants": [{"mchid": "1900000109", "cert": "c.pem", "appids": ["wxd678efh567hg6787"],
                "service_ids": ["500001"]}],
 "platform": {"key": "k.pem", "cert": "c.pem"}}
EOF
    cat >fixture.json <<EOF
{"platform": {"key": "fixture-platform.key.pem", "cert": "$fixtures/certs/test-platform.cert.pem"}}
EOF
    # wxpay-mock, config file: one line, the resolved path, the mode, the fix; it still starts.
    for mode in 644 640 604; do
        chmod "$mode" k.pem
        start conf --config "$tmp/own.json" --quiet
        stop
        want="wxpay-mock: warning: private key $tmp/k.pem is readable by others (mode 0$mode); run chmod 600 $tmp/k.pem"
        [ "$(cat conf.err)" = "$want" ] || fail "config $mode: stderr '$(cat conf.err)', want '$want'"
    done
    chmod 600 k.pem
    start conf --config "$tmp/own.json" --quiet
    stop
    [ ! -s conf.err ] || fail "config 0600: stderr $(cat conf.err)"
    start fixture --config "$tmp/fixture.json" --quiet
    stop
    [ ! -s fixture.err ] || fail "config with a 0644 TEST key: stderr $(cat fixture.err)"

    # wxpay-mock --https KEY.
    chmod 644 k.pem
    start https --https c.pem k.pem --quiet
    stop
    want="wxpay-mock: warning: private key k.pem is readable by others (mode 0644); run chmod 600 k.pem"
    [ "$(cat https.err)" = "$want" ] || fail "--https 0644: stderr '$(cat https.err)'"
    start https --https "$fixtures/tls/test-server.cert.pem" fixture-tls.key.pem --quiet
    stop
    [ ! -s https.err ] || fail "--https with a 0644 TEST key: stderr $(cat https.err)"

    # wxpay: the call goes through; the warning is on stderr, also with --json (stdout stays one
    # JSON object).
    chmod 600 k.pem
    start served --config "$tmp/own.json" --quiet
    chmod 644 k.pem
    call() {
        "$wxpay" --base-url "$url" --mchid 1900000109 --mch-key k.pem --mch-cert c.pem \
            --platform-cert c.pem "$@" payscore permissions terminate --openid "o$$-$n" \
            --service-id 500001 --appid wxd678efh567hg6787 --reason test >cli.out 2>cli.err
    }
    n=1
    call || fail "wxpay 0644: exit $?: $(cat cli.err)"
    want="wxpay: warning: private key k.pem is readable by others (mode 0644); run chmod 600 k.pem"
    [ "$(cat cli.err)" = "$want" ] || fail "wxpay 0644: stderr '$(cat cli.err)'"
    grep -q '^204 No Content' cli.out || fail "wxpay 0644: stdout $(cat cli.out)"
    n=2
    call --json || fail "wxpay --json 0644: exit $?"
    [ "$(cat cli.err)" = "$want" ] || fail "wxpay --json 0644: stderr '$(cat cli.err)'"
    grep -q '^{"ok":true,' cli.out || fail "wxpay --json 0644: stdout $(cat cli.out)"
    chmod 600 k.pem
    n=3
    call || fail "wxpay 0600: exit $?"
    [ ! -s cli.err ] || fail "wxpay 0600: stderr $(cat cli.err)"

    # wxpay-conformance server --mch-key.
    chmod 644 k.pem
    "$runner" server --base-url "$url" --mchid 1900000109 --mch-serial "$serial" \
        --mch-key k.pem --only SIG-001 >run.out 2>run.err || true
    want="wxpay-conformance: warning: private key k.pem is readable by others (mode 0644); run chmod 600 k.pem"
    [ "$(grep warning run.err)" = "$want" ] || fail "runner 0644: stderr '$(cat run.err)'"
    grep -q 'Result: PASS' run.out || fail "runner 0644: did not run: $(cat run.out run.err)"
    chmod 600 k.pem
    "$runner" server --base-url "$url" --mchid 1900000109 --mch-serial "$serial" \
        --mch-key k.pem --only SIG-001 >run.out 2>run.err || true
    ! grep -q warning run.err || fail "runner 0600: stderr $(cat run.err)"
    stop
    echo "warnings: ok"
    ;;

leaks)
    mkdir out
    # Besides k (RSA-2048), an EC P-256 and an Ed25519 key: their PEMs are short enough to fit
    # whole in a message, as config member names or option words.
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
    openssl genpkey -algorithm ED25519 -out ed.pem 2>/dev/null
    chmod 600 ec.pem ed.pem
    # What must not appear: every 16-character window (offsets 1, 17, 33, 49) of every base64
    # line of the three keys, the first line too (the ASN.1 header: shared by all keys of a kind,
    # but no output has any reason to hold it). The PEM markers are not needles: messages name
    # them ("no unencrypted private key (BEGIN PRIVATE KEY …) found").
    for key in k.pem ec.pem ed.pem; do
        grep -v '^-----' "$key" | while IFS= read -r line; do
            for o in 1 17 33 49; do
                s=$(printf '%s' "$line" | cut -c"$o-$((o + 15))")
                if [ ${#s} -eq 16 ]; then
                    printf '%s\n' "$s"
                fi
            done
        done
    done >needles
    [ "$(wc -l <needles)" -gt 90 ] || fail "too few needles"
    pem_json=$(awk '{printf "%s\\n", $0}' k.pem)
    pem_text=$(cat k.pem)

    # Broken key files: a line of the body replaced by garbage, the key cut short, a certificate
    # label around the key's bytes, and the key encrypted (no passphrase is ever asked for).
    awk 'NR == 10 {print "!!not*base64!!"; next} {print}' k.pem >bad-body.pem
    { head -n 12 k.pem; echo "-----END PRIVATE KEY-----"; } >trunc.pem
    sed 's/PRIVATE KEY/CERTIFICATE/' k.pem >label.pem
    openssl pkcs8 -topk8 -in k.pem -v2 aes-256-cbc -passout pass:secret -out enc.pem
    bad_body_json=$(awk '{printf "%s\\n", $0}' bad-body.pem)
    chmod 600 ./*.pem

    # 1. wxpay-mock refusing to start. Each config names the key in a wrong way.
    n=0
    refuse() {
        n=$((n + 1))
        printf '%s\n' "$1" >"conf$n.json"
        rc=0
        "$mock" --listen 127.0.0.1:0 --config "conf$n.json" >"out/mock-conf$n.out" \
            2>"out/mock-conf$n.err" || rc=$?
        [ "$rc" -eq 1 ] || fail "config $n: exit $rc, want 1: $(cat "out/mock-conf$n.err")"
        grep -q 'config refused' "out/mock-conf$n.err" || fail "config $n: $(cat "out/mock-conf$n.err")"
    }
    refuse "{\"platform\": {\"key\": \"$pem_json\", \"cert\": \"c.pem\"}}"
    refuse "{\"platform\": {\"key_pem\": \"$bad_body_json\", \"cert\": \"c.pem\"}}"
    refuse '{"platform": {"key": "bad-body.pem", "cert": "c.pem"}}'
    refuse '{"platform": {"key": "trunc.pem", "cert": "c.pem"}}'
    refuse '{"platform": {"key": "label.pem", "cert": "c.pem"}}'
    refuse '{"platform": {"key": "enc.pem", "cert": "c.pem"}}'
    refuse "{\"platform\": {\"key_pem\": [\"$pem_json\"], \"cert\": \"c.pem\"}}"
    refuse "{\"platform\": {\"key_pem\": \"$pem_json\", \"cert_pem\": \"$pem_json\"}}"
    refuse "{\"merchants\": [{\"mchid\": \"1900000109\", \"cert\": \"$pem_json\"}]}"
    refuse "{\"merchants\": [{\"mchid\": \"1900000109\", \"cert_pem\": \"$pem_json\"}]}"
    refuse "{\"private_key\": \"$pem_json\"}"
    refuse "{\"platform\": {\"key_pem\": \"$pem_json\" \"cert\": \"c.pem\"}}"
    # PEM text, or one line of it, pasted as a member name: "unknown member" names no key.
    for key in k.pem ec.pem ed.pem; do
        kj=$(awk '{printf "%s\\n", $0}' "$key")
        refuse "{\"$kj\": 1}"
        refuse "{\"platform\": {\"$kj\": \"x\", \"cert\": \"c.pem\"}}"
        refuse "{\"merchants\": [{\"mchid\": \"1900000109\", \"$kj\": 1}]}"
        refuse "{\"$(sed -n 2p "$key")\": 1}"
        # The same as a scenario rule's member name, and as an option word.
        printf '[{"%s": 1}]\n' "$kj" >"scn-$key.json"
        rc=0
        "$mock" --listen 127.0.0.1:0 --scenario "scn-$key.json" >"out/mock-scn-$key.out" \
            2>"out/mock-scn-$key.err" || rc=$?
        [ "$rc" -eq 1 ] || fail "scenario $key: exit $rc, want 1: $(cat "out/mock-scn-$key.err")"
        rc=0
        "$mock" "$(cat "$key")" >"out/mock-opt-$key.out" 2>"out/mock-opt-$key.err" || rc=$?
        [ "$rc" -eq 2 ] || fail "mock option $key: exit $rc, want 2"
        rc=0
        "$runner" server "$(cat "$key")" >"out/runner-opt-$key.out" 2>"out/runner-opt-$key.err" ||
            rc=$?
        [ "$rc" -eq 2 ] || fail "runner option $key: exit $rc, want 2"
    done
    # wxpay-mock --https with the key's text or a broken key file.
    for key in "$pem_text" bad-body.pem trunc.pem enc.pem; do
        n=$((n + 1))
        rc=0
        "$mock" --listen 127.0.0.1:0 --https c.pem "$key" >"out/mock-https$n.out" \
            2>"out/mock-https$n.err" || rc=$?
        [ "$rc" -eq 1 ] || fail "--https $n: exit $rc, want 1"
    done

    # 2. A running mock whose signing key is k (from a file, then inline), with request logs on:
    # calls that succeed and fail, then every admin GET.
    for variant in file inline; do
        if [ $variant = file ]; then
            platform='"key": "k.pem"'
            log=text
        else
            platform="\"key_pem\": \"$pem_json\""
            log=json
        fi
        cat >run-$variant.json <<EOF
{"merchants": [{"mchid": "1900000109", "cert": "c.pem", "appids": ["wxd678efh567hg6787"],
                "service_ids": ["500001"]}],
 "platform": {$platform, "cert": "c.pem"}, "admin_token": "tok"}
EOF
        start "out/mock-$variant" --config "$tmp/run-$variant.json" --log-format $log --sign-errors
        for m in "" --json; do
            "$wxpay" -v $m --base-url "$url" --mchid 1900000109 --mch-key k.pem --mch-cert c.pem \
                --platform-cert c.pem payscore permissions terminate --openid "o-$variant$m" \
                --service-id 500001 --appid wxd678efh567hg6787 --reason test \
                >"out/call-$variant$m.out" 2>"out/call-$variant$m.err" ||
                fail "call $variant$m: $(cat "out/call-$variant$m.err")"
            # A signature that does not verify (the TEST key under k's serial): 401 with detail.
            rc=0
            "$wxpay" -v $m --base-url "$url" --mchid 1900000109 \
                --mch-key "$fixtures/keys/test-merchant-a.key.pem" --mch-serial "$serial" \
                --platform-cert c.pem payscore permissions terminate --openid "o-$variant-bad" \
                --service-id 500001 --appid wxd678efh567hg6787 --reason test \
                >"out/bad-$variant$m.out" 2>"out/bad-$variant$m.err" || rc=$?
            [ "$rc" -eq 1 ] || fail "bad signature $variant$m: exit $rc"
        done
        "$runner" server --base-url "$url" --mchid 1900000109 --mch-serial "$serial" \
            --mch-key k.pem --only SIG-001,SIG-002 --json "out/runner-$variant.json" \
            >"out/runner-$variant.out" 2>"out/runner-$variant.err" || true
        [ -s "out/runner-$variant.json" ] || fail "runner $variant: no report"
        for path in "requests" "requests?limit=1000" "state" "scenarios" "health"; do
            curl -s -H 'X-Admin-Token: tok' "$url/__admin/$path" \
                >"out/admin-$variant-$(printf '%s' "$path" | tr -c 'a-z' _).json"
        done
        grep -q '/v3/payscore/permissions/openid/o-' "out/admin-$variant-requests.json" ||
            fail "the journal is empty: $(cat "out/admin-$variant-requests.json")"
        stop
    done

    # 3. wxpay given the key's text, a broken key, or a key that does not match the certificate.
    cli() {
        name=$1
        shift
        rc=0
        "$@" >"out/cli-$name.out" 2>"out/cli-$name.err" || rc=$?
        [ "$rc" -eq 2 ] || fail "wxpay $name: exit $rc, want 2: $(cat "out/cli-$name.err")"
    }
    plat="--platform-cert c.pem"
    term="payscore permissions terminate --openid o --service-id 500001 --appid a --reason r"
    # shellcheck disable=SC2086
    {
        cli text "$wxpay" --mchid 1 --mch-key "$pem_text" --mch-serial "$serial" $plat $term
        cli text-json "$wxpay" --json --mchid 1 --mch-key "$pem_text" --mch-serial "$serial" \
            $plat $term
        cli eq "$wxpay" --mchid 1 "--mch-key=$pem_text" --mch-serial "$serial" $plat $term
        cli env env WXPAY_MCHID=1 "WXPAY_MCH_KEY=$pem_text" WXPAY_MCH_SERIAL="$serial" \
            WXPAY_PLATFORM_CERT=c.pem "$wxpay" $term
        printf '{"mchid": "1", "mch_key": "%s", "mch_serial": "%s", "platform_certs": ["c.pem"]}\n' \
            "$pem_json" "$serial" >cli.json
        cli config "$wxpay" --config cli.json $term
        for key in k.pem ec.pem ed.pem; do
            printf '{"mchid": "1", "%s": 1}\n' "$(awk '{printf "%s\\n", $0}' "$key")" >"cli-$key.json"
            cli "member-$key" "$wxpay" --config "cli-$key.json" $term
            printf '{"mchid": "1", "platform_public_keys": [{"%s": 1}]}\n' "$(sed -n 2p "$key")" \
                >"cli-pk-$key.json"
            cli "pk-member-$key" "$wxpay" --config "cli-pk-$key.json" $term
            cli "option-$key" "$wxpay" "$(cat "$key")" $term
        done
        cli split "$wxpay" --mchid 1 --mch-key $pem_text --mch-serial "$serial" $plat $term
        cli split-after "$wxpay" $term --mchid 1 --mch-serial "$serial" $plat --mch-key $pem_text
        for f in bad-body trunc label enc; do
            cli "$f" "$wxpay" --mchid 1 --mch-key "$f.pem" --mch-serial "$serial" $plat $term
            cli "$f-json" "$wxpay" --json --mchid 1 --mch-key "$f.pem" --mch-serial "$serial" \
                $plat $term
        done
        cli mismatch "$wxpay" --mchid 1 --mch-key k.pem \
            --mch-cert "$fixtures/certs/test-merchant-a.cert.pem" $plat $term
    }

    # 4. wxpay-conformance given the key's text or a broken key.
    for key in "$pem_text" bad-body.pem trunc.pem; do
        n=$((n + 1))
        rc=0
        "$runner" server --base-url http://127.0.0.1:9 --mchid 1900000109 --mch-serial "$serial" \
            --mch-key "$key" --only SIG-001 >"out/runner-bad$n.out" 2>"out/runner-bad$n.err" || rc=$?
        [ "$rc" -ne 0 ] || fail "runner with a bad key $n: exit 0"
        grep -q 'merchant key' "out/runner-bad$n.err" || fail "runner $n: $(cat "out/runner-bad$n.err")"
    done

    # The check itself finds a leak when there is one, in each key.
    for key in k.pem ec.pem ed.pem; do
        grep -qF -f needles "$key" || fail "the needles do not match $key itself"
        sed -n 2p "$key" | grep -qF -f needles || fail "the needles miss line 2 of $key"
    done
    if grep -lF -f needles out/*; then
        for f in $(grep -lF -f needles out/*); do
            echo "--- $f:" >&2
            grep -F -f needles "$f" | cut -c1-200 >&2
        done
        fail "private key material in the files above"
    fi
    echo "leaks: ok ($(ls out | wc -l) outputs, $(wc -l <needles) needles)"
    ;;
*)
    fail "unknown check $what"
    ;;
esac
