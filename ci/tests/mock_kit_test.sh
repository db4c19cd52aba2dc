#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest e2e test of ci/wxpay-mock-start and ci/wxpay-mock-stop (ci/tests/CMakeLists.txt).
#
#   mock_kit_test.sh http    start -> source the lines in a subshell -> wxpay terminate (204) ->
#                            stop -> pid gone, dir removed; stop is idempotent; --github-env;
#                            a bad argument fails and leaves no process nor directory; SIGKILL
#                            after the stop timeout
#   mock_kit_test.sh https   the same start/call/stop over HTTPS with the fixtures' test CA
#
# Environment (set by ctest): WXPAY_KIT (the ci/ directory), WXPAY_MOCK (the build tree's
# wxpay-mock), WXPAY_CLI (the build tree's wxpay), WXPAY_FIXTURES. Prints "ALL OK" at the end.
set -eu

mode=${1:?usage: mock_kit_test.sh http|https}
: "${WXPAY_KIT:?}" "${WXPAY_MOCK:?}" "${WXPAY_CLI:?}" "${WXPAY_FIXTURES:?}"
# Nothing from an outer ci/wxpay-mock-start may leak in.
unset WXPAY_BASE_URL WXPAY_MOCK_PID WXPAY_MOCK_DIR WXPAY_CACERT WXPAY_MCHID WXPAY_MCH_SERIAL \
      WXPAY_MCH_KEY WXPAY_MCH_CERT WXPAY_PLATFORM_CERT WXPAY_PLATFORM_SERIAL \
      WXPAY_PLATFORM_KEY_KIND WXPAY_APPID WXPAY_SERVICE_ID WXPAY_CONFIG GITHUB_ENV

start=$WXPAY_KIT/wxpay-mock-start
stop=$WXPAY_KIT/wxpay-mock-stop
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }

# A private TMPDIR: the start script makes its directory in it, so "nothing left" is checkable.
work=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-ci-test.XXXXXX")
work=$(cd "$work" && pwd)
cleanup() {
    # Last resort: any process still naming our directory is a bug already reported; end it.
    for p in $(procs_in "$work"); do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export TMPDIR="$work/tmp"
mkdir "$TMPDIR"

# Live (non-zombie) processes whose command line mentions $1. A process that exited but was not
# reaped yet (a zombie: its parent, often PID 1 in a container, has not waited for it) is gone.
# One grep over every command line; the first character goes in brackets so that the pattern
# does not match grep's own command line.
procs_in() {
    grep -la -- "[${1%"${1#?}"}]${1#?}" /proc/[0-9]*/cmdline 2>/dev/null | while IFS= read -r f; do
        p=${f#/proc/}; p=${p%/cmdline}
        [ "$p" != $$ ] || continue
        st=$(sed 's/.*) //; s/ .*//' "/proc/$p/stat" 2>/dev/null) || continue
        [ "$st" = Z ] || printf '%s\n' "$p"
    done
}
gone() { # PID
    kill -0 "$1" 2>/dev/null || return 0
    [ "$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

mock_args=
if [ "$mode" = https ]; then
    mock_args="--https $WXPAY_FIXTURES/tls/test-server.cert.pem $WXPAY_FIXTURES/tls/test-server.key.pem"
fi

# ---- start, source, call, stop -------------------------------------------------------------------
# shellcheck disable=SC2086 # mock_args holds paths without spaces (split on purpose)
"$start" $mock_args >"$work/env.sh" 2>"$work/start.err" || { cat "$work/start.err" >&2; fail "start exited $?"; }
grep -q '^export WXPAY_BASE_URL=' "$work/env.sh" || fail "no WXPAY_BASE_URL line in: $(cat "$work/env.sh")"
ok "start printed $(wc -l <"$work/env.sh") lines"

(
    # shellcheck disable=SC1091
    . "$work/env.sh"
    case $mode in
        http) case $WXPAY_BASE_URL in http://127.0.0.1:*) ;; *) fail "base URL $WXPAY_BASE_URL" ;; esac ;;
        https) case $WXPAY_BASE_URL in https://127.0.0.1:*) ;; *) fail "base URL $WXPAY_BASE_URL" ;; esac
               [ "$WXPAY_CACERT" = "$WXPAY_FIXTURES/tls/test-ca.cert.pem" ] || fail "WXPAY_CACERT=$WXPAY_CACERT" ;;
    esac
    [ "$WXPAY_MCHID" = 1900000109 ] || fail "WXPAY_MCHID=$WXPAY_MCHID"
    [ "$WXPAY_MCH_SERIAL" = 3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D ] || fail "WXPAY_MCH_SERIAL"
    [ "$WXPAY_PLATFORM_SERIAL" = 6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2 ] || fail "WXPAY_PLATFORM_SERIAL"
    [ "$WXPAY_PLATFORM_KEY_KIND" = certificate ] || fail "WXPAY_PLATFORM_KEY_KIND"
    [ "$WXPAY_APPID" = wxd678efh567hg6787 ] || fail "WXPAY_APPID=$WXPAY_APPID"
    [ "$WXPAY_SERVICE_ID" = 500001 ] || fail "WXPAY_SERVICE_ID=$WXPAY_SERVICE_ID"
    for f in "$WXPAY_MCH_KEY" "$WXPAY_MCH_CERT" "$WXPAY_PLATFORM_CERT"; do
        [ -r "$f" ] || fail "not readable: $f"
    done
    case $WXPAY_MOCK_DIR in "$TMPDIR"/wxpay-mock.*) ;; *) fail "WXPAY_MOCK_DIR=$WXPAY_MOCK_DIR" ;; esac
    [ "$(cat "$WXPAY_MOCK_DIR/pid")" = "$WXPAY_MOCK_PID" ] || fail "pid file"
    [ "$WXPAY_MOCK_LOG" = "$WXPAY_MOCK_DIR/log" ] || fail "WXPAY_MOCK_LOG=$WXPAY_MOCK_LOG (no --log)"
    ! gone "$WXPAY_MOCK_PID" || fail "mock pid $WXPAY_MOCK_PID is not running"

    # The wxpay command reads every credential from the environment the start script gave.
    set -- payscore permissions terminate --openid "oCiKit$$" --service-id "$WXPAY_SERVICE_ID" \
        --appid "$WXPAY_APPID" --reason "用户主动解除授权"
    cacert=
    [ "$mode" != https ] || cacert="--cacert $WXPAY_CACERT"
    # shellcheck disable=SC2086
    out=$("$WXPAY_CLI" $cacert "$@" 2>&1) || fail "wxpay terminate failed: $out"
    case $out in *"204 No Content"*"signature=valid"*) ;; *) fail "unexpected wxpay output: $out" ;; esac
    ok "wxpay terminate against $WXPAY_BASE_URL: $out"
    # The same authorization again: the mock is stateful, so this one must be refused.
    # shellcheck disable=SC2086
    if out=$("$WXPAY_CLI" $cacert "$@" 2>&1); then fail "second terminate succeeded: $out"; fi
    ok "second terminate refused: $out"

    "$stop" || fail "stop exited $?"
    gone "$WXPAY_MOCK_PID" || fail "pid $WXPAY_MOCK_PID still running after stop"
    [ ! -e "$WXPAY_MOCK_DIR" ] || fail "$WXPAY_MOCK_DIR still exists after stop"
    ok "stop: pid $WXPAY_MOCK_PID gone, $WXPAY_MOCK_DIR removed"
    "$stop" || fail "second stop exited $?"
    ok "second stop exits 0"
)
env -u WXPAY_MOCK_PID -u WXPAY_MOCK_DIR "$stop" || fail "stop without variables exited $?"
ok "stop with nothing to stop exits 0"
[ -z "$(ls -A "$TMPDIR")" ] || fail "left in TMPDIR: $(ls -A "$TMPDIR")"
[ -z "$(procs_in "$TMPDIR")" ] || fail "processes left: $(procs_in "$TMPDIR")"
# A pid that is not a mock started by the kit (reused by another process) is left alone.
sleep 30 &
other=$!
WXPAY_MOCK_PID=$other "$stop" 2>"$work/stop.err" || fail "stop of a foreign pid exited $?"
! gone "$other" || fail "stop killed an unrelated process (pid $other)"
kill -TERM "$other"
ok "stop leaves a foreign pid alone: $(cat "$work/stop.err")"

if [ "$mode" = https ]; then
    echo "ALL OK"
    exit 0
fi

# ---- --github-env ----------------------------------------------------------------------------------
: >"$work/github.env"
GITHUB_ENV=$work/github.env "$start" --github-env --quiet >"$work/env2.sh" 2>"$work/start.err" ||
    { cat "$work/start.err" >&2; fail "start --github-env exited $?"; }
for v in WXPAY_BASE_URL WXPAY_MOCK_PID WXPAY_MOCK_DIR WXPAY_MOCK_LOG WXPAY_MCHID WXPAY_MCH_SERIAL WXPAY_MCH_KEY \
         WXPAY_MCH_CERT WXPAY_PLATFORM_CERT WXPAY_PLATFORM_SERIAL WXPAY_PLATFORM_KEY_KIND \
         WXPAY_APPID WXPAY_SERVICE_ID; do
    grep -q "^$v=." "$work/github.env" || fail "no $v= line in GITHUB_ENV"
done
if grep -v '^WXPAY_[A-Z_]*=' "$work/github.env"; then fail "other lines in GITHUB_ENV"; fi
pid=$(sed -n 's/^WXPAY_MOCK_PID=//p' "$work/github.env")
dir=$(sed -n 's/^WXPAY_MOCK_DIR=//p' "$work/github.env")
# A later step sees the variables only in the environment, as GitHub Actions exports them.
WXPAY_MOCK_DIR=$dir "$stop" || fail "stop (pid from the pid file) exited $?"
gone "$pid" || fail "pid $pid still running after stop"
[ ! -e "$dir" ] || fail "$dir still exists"
ok "--github-env: NAME=value lines written; stopped through WXPAY_MOCK_DIR's pid file"

# ---- --log FILE: the log outlives the stop ---------------------------------------------------------
mkdir "$work/logs"
"$start" --log "$work/logs/mock.log" >"$work/env4.sh" 2>"$work/start.err" ||
    { cat "$work/start.err" >&2; fail "start --log exited $?"; }
(
    # shellcheck disable=SC1091
    . "$work/env4.sh"
    [ "$WXPAY_MOCK_LOG" = "$work/logs/mock.log" ] || fail "WXPAY_MOCK_LOG=$WXPAY_MOCK_LOG"
    [ ! -e "$WXPAY_MOCK_DIR/log" ] || fail "a log in $WXPAY_MOCK_DIR as well"
    out=$("$WXPAY_CLI" payscore permissions terminate --openid "oCiKitLog$$" \
        --service-id "$WXPAY_SERVICE_ID" --appid "$WXPAY_APPID" --reason log 2>&1) ||
        fail "wxpay terminate (--log) failed: $out"
    "$stop" || fail "stop (--log) exited $?"
    [ ! -e "$WXPAY_MOCK_DIR" ] || fail "$WXPAY_MOCK_DIR still exists after stop"
)
grep -q "oCiKitLog$$" "$work/logs/mock.log" ||
    fail "the kept log lacks the request: $(cat "$work/logs/mock.log")"
ok "--log: the log is kept after stop: $(grep "oCiKitLog$$" "$work/logs/mock.log" | head -1)"
st=0; "$start" --log "$work/no-such-dir/mock.log" >"$work/out" 2>"$work/err" || st=$?
[ "$st" -eq 1 ] || fail "start --log in a missing directory: status $st, want 1"
grep -q 'cannot write' "$work/err" || fail "start --log in a missing directory: $(cat "$work/err")"
st=0; "$start" --log >"$work/out" 2>"$work/err" || st=$?
[ "$st" -eq 2 ] || fail "start --log without a file: status $st, want 2"
# A mock that fails to start: the reason stays in the --log file.
if "$start" --log "$work/logs/bad.log" --no-such-flag >"$work/out" 2>"$work/err"; then
    fail "start --log with a bad argument succeeded"
fi
grep -q "no-such-flag" "$work/logs/bad.log" || fail "bad.log lacks the complaint: $(cat "$work/logs/bad.log")"
ok "--log: bad paths refused (1, 2); a failed start leaves its complaint in the log file"

# ---- failures leave nothing behind ------------------------------------------------------------------
if "$start" --no-such-flag >"$work/out" 2>"$work/err"; then fail "start with a bad argument succeeded"; fi
[ ! -s "$work/out" ] || fail "start with a bad argument printed on stdout: $(cat "$work/out")"
grep -q "no-such-flag" "$work/err" || fail "the error does not show the mock's complaint: $(cat "$work/err")"
ok "bad argument: non-zero, stdout empty, stderr: $(head -1 "$work/err")"
st=0; "$start" --listen 127.0.0.1:9 >"$work/out" 2>"$work/err" || st=$?
[ "$st" -eq 2 ] || fail "start --listen: status $st, want 2"
st=0; WXPAY_MOCK=$work/nonexistent "$start" >"$work/out" 2>"$work/err" || st=$?
[ "$st" -eq 1 ] || fail "start with a missing WXPAY_MOCK: status $st, want 1"
grep -q 'WXPAY_MOCK' "$work/err" || fail "start with a missing WXPAY_MOCK: no clear message: $(cat "$work/err")"
st=0; GITHUB_ENV='' "$start" --github-env >"$work/out" 2>"$work/err" || st=$?
[ "$st" -eq 2 ] || fail "start --github-env without GITHUB_ENV: status $st, want 2"
[ -z "$(ls -A "$TMPDIR")" ] || fail "failed starts left: $(ls -A "$TMPDIR")"
[ -z "$(procs_in "$TMPDIR")" ] || fail "failed starts left processes: $(procs_in "$TMPDIR")"
ok "failed starts leave no directory and no process"

# ---- a mock that ignores SIGTERM is killed -----------------------------------------------------------
# The wrapper's command line carries --ready-file DIR/url (so stop recognises it) and it ignores
# SIGTERM; the real mock it runs is reaped by the cleanup below.
cat >"$work/stubborn" <<EOF
#!/bin/sh
trap '' TERM
"$WXPAY_MOCK" "\$@" &
echo \$! >"$work/stubborn.child"
while :; do sleep 1; done
EOF
chmod +x "$work/stubborn"
WXPAY_MOCK=$work/stubborn "$start" --quiet >"$work/env3.sh" 2>"$work/start.err" ||
    { cat "$work/start.err" >&2; fail "start with the stubborn wrapper exited $?"; }
(
    # shellcheck disable=SC1091
    . "$work/env3.sh"
    WXPAY_MOCK_STOP_TIMEOUT=0 "$stop" 2>"$work/stop.err" || fail "stop exited $?"
    grep -q SIGKILL "$work/stop.err" || fail "stop did not say SIGKILL: $(cat "$work/stop.err")"
    gone "$WXPAY_MOCK_PID" || fail "stubborn pid still running"
    [ ! -e "$WXPAY_MOCK_DIR" ] || fail "dir left"
)
kill -TERM "$(cat "$work/stubborn.child")" 2>/dev/null || true
ok "SIGTERM ignored: SIGKILL after WXPAY_MOCK_STOP_TIMEOUT"

echo "ALL OK"
